/**
 * The image's three layers, each an uncompressed, reproducible tar:
 *  - base: Debian made by mmdebstrap with the packages the Dockerfile's
 *    final stage installs (what node:<major>-slim plus its apt-get gives);
 *  - node: Node's distribution under /usr/local, as node:<major>-slim
 *    installs it, minus the paths the Dockerfile removes;
 *  - app: what the final stage copies out of the build stage, built by the
 *    build stage's own commands from the sources it copies.
 * Every layer's entries have fixed owners, sorted names and one mtime
 * (SOURCE_DATE_EPOCH), so equal inputs give byte-equal layers.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { repoRoot } from './cache.ts';
import { buildContextSources, type CopyFact, type DockerfileFacts } from './dockerfile.ts';
import type { NodeDistribution } from './node-dist.ts';
import { debianMirror, debianSuite, nodePrefix, nodeRuntimePackages, slimDpkgFilter } from './recipe.ts';
import { runTool } from './tools.ts';

/** Normalizes modes (0755 directories and executables, 0644 the rest) so the host's umask does not leak in. */
async function normalizeModes(path: string): Promise<void> {
  const info = await stat(path);
  if (info.isDirectory()) {
    await chmod(path, 0o755);
    for (const entry of await readdir(path)) await normalizeModes(join(path, entry));
  } else if (info.isFile()) {
    await chmod(path, info.mode & 0o111 ? 0o755 : 0o644);
  }
}

/** A layer tar of everything under `root` (the root directory itself is not an entry: it would override /'s mode). */
export async function reproducibleTar(root: string, out: string, epoch: number): Promise<void> {
  await normalizeModes(root);
  const top = readdirSync(root).sort();
  if (top.length === 0) throw new Error(`layer ${out}: nothing under ${root}`);
  await runTool('tar', ['--sort=name', '--format=gnu', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`, '-C', root, '-cf', out, '--', ...top]);
}

/** The mmdebstrap command line of the base (also the base's cache key). */
export function baseCommand(facts: DockerfileFacts, out: string): string[] {
  return [
    '--variant=minbase',
    `--include=${[...nodeRuntimePackages, ...facts.aptPackages].join(',')}`,
    ...slimDpkgFilter.map((line) => `--dpkgopt=${line}`),
    // A container's /dev is the runtime's: no device nodes in the layer (the directory and its symlinks stay).
    '--skip=output/mknod',
    '--format=tar',
    debianSuite,
    out,
    debianMirror,
  ];
}

export async function buildBaseLayer(facts: DockerfileFacts, out: string, epoch: number): Promise<void> {
  // mmdebstrap clamps every mtime to SOURCE_DATE_EPOCH and leaves apt's lists and caches out (its cleanup hooks).
  await runTool('mmdebstrap', ['--quiet', ...baseCommand(facts, out)], { env: { SOURCE_DATE_EPOCH: String(epoch) } }).catch((err: unknown) => {
    throw new Error(`mmdebstrap could not make the ${debianSuite} base from ${debianMirror}: ${String(err)}`);
  });
}

/** A path the final stage removes, as a glob-free path under the node prefix; other patterns cannot match Node's files. */
function removedUnderPrefix(facts: DockerfileFacts): string[] {
  return facts.removedPaths.filter((path) => path.startsWith(`${nodePrefix}/`) && !/[*?[]/.test(path)).map((path) => path.slice(nodePrefix.length + 1));
}

export async function buildNodeLayer(node: NodeDistribution, facts: DockerfileFacts, stage: string, out: string, epoch: number): Promise<void> {
  const prefix = join(stage, nodePrefix);
  await mkdir(prefix, { recursive: true });
  // Node's own tarball layout (bin, include, share): what the official image unpacks into /usr/local.
  for (const part of ['bin', 'include', 'share']) if (existsSync(join(node.dir, part))) await cp(join(node.dir, part), join(prefix, part), { recursive: true });
  for (const removed of removedUnderPrefix(facts)) await rm(join(prefix, removed), { recursive: true, force: true });
  await reproducibleTar(stage, out, epoch);
}

/** Docker's COPY: a directory source copies its contents; several sources or a trailing slash mean "into this directory". */
async function copyLikeDocker(copy: CopyFact, resolveSource: (source: string) => string, resolveDestination: (destination: string) => string): Promise<void> {
  const intoDirectory = copy.destination.endsWith('/') || copy.sources.length > 1;
  const destination = resolveDestination(copy.destination);
  for (const source of copy.sources) {
    const from = resolveSource(source);
    if (!existsSync(from)) throw new Error(`COPY ${source}: ${from} does not exist`);
    if (statSync(from).isDirectory()) {
      await mkdir(destination, { recursive: true });
      await cp(from, destination, { recursive: true });
    } else {
      const target = intoDirectory ? join(destination, basename(from)) : destination;
      await mkdir(dirname(target), { recursive: true });
      await cp(from, target);
    }
  }
}

const under = (root: string, workdir: string | undefined, path: string): string => join(root, isAbsolute(path) ? path : join(workdir ?? '/', path));

/** The build stage's commands (`RUN npm run build && npm run build:plugin`), i.e. every RUN after `npm ci`. */
function buildCommands(facts: DockerfileFacts): string[][] {
  const commands = facts.build.runs.flatMap((run) => run.split('&&').map((command) => command.trim().split(/\s+/)));
  const built = commands.filter((words) => !(words[0] === 'npm' && words[1] === 'ci'));
  for (const words of built) if (words[0] !== 'npm' || words[1] !== 'run') throw new Error(`Dockerfile build stage: "${words.join(' ')}" is not an npm script; the offline recipe runs only npm scripts`);
  return built;
}

/**
 * Runs the build stage offline: its context sources copied into `stage`
 * (at the stage's WORKDIR), the checkout's node_modules (installed by
 * `npm ci` from the same lock file) hard-linked in, then its npm scripts.
 * Returns the stage's root, where the final stage's `--from=build` paths resolve.
 */
export async function runBuildStage(facts: DockerfileFacts, stage: string): Promise<string> {
  for (const copy of facts.build.copies) {
    if (copy.from !== undefined) throw new Error(`Dockerfile build stage: COPY --from=${copy.from} is not understood by the offline recipe`);
    await copyLikeDocker(
      copy,
      (source) => join(repoRoot, source),
      (destination) => under(stage, facts.build.workdir, destination),
    );
  }
  const workdir = under(stage, facts.build.workdir, '.');
  if (!existsSync(join(repoRoot, 'node_modules'))) throw new Error('node_modules is missing: run npm ci first (the build stage needs esbuild and bun)');
  // Hard links, not a symlink: esbuild resolves a symlink to its target, and the source maps would name
  // paths out of the stage (../../../commander/...) instead of ../node_modules/... as the tests' build does.
  await mkdir(join(workdir, 'node_modules'));
  const entries = readdirSync(join(repoRoot, 'node_modules')).filter((entry) => entry !== '.cache');
  await runTool('cp', ['-al', '--', ...entries.map((entry) => join(repoRoot, 'node_modules', entry)), join(workdir, 'node_modules')]);
  for (const [, , script] of buildCommands(facts)) {
    await runTool('npm', ['run', '--silent', script!], { cwd: workdir }).catch((err: unknown) => {
      throw new Error(`npm run ${script} in the staged build (${workdir}) failed: ${String(err)}`);
    });
  }
  return stage;
}

/** Sources of the build stage: the inputs of the app layer's cache key. */
export const appInputs = (facts: DockerfileFacts): string[] => buildContextSources(facts);

export async function buildAppLayer(facts: DockerfileFacts, buildStage: string, layerRoot: string, out: string, epoch: number): Promise<void> {
  const stageName = facts.build.name;
  for (const copy of facts.final.copies) {
    if (copy.from === undefined || copy.from !== stageName) throw new Error(`Dockerfile final stage: COPY ${copy.from ? `--from=${copy.from}` : 'from the context'} is not understood by the offline recipe (only --from=${stageName})`);
    await copyLikeDocker(
      copy,
      (source) => under(buildStage, facts.build.workdir, source),
      (destination) => under(layerRoot, facts.final.workdir, destination),
    );
  }
  await reproducibleTar(layerRoot, out, epoch);
}
