/**
 * What the Dockerfile says its image holds, against an image as built: the
 * files each final-stage COPY puts where (with their bytes, from the dist/
 * the tests build), the paths it removes, the Debian packages it installs,
 * the Node major of its base, and ENTRYPOINT, CMD and USER. Returns the
 * differences, one line each; none means the two recipes agree.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import type { DockerfileFacts } from '../../image/dockerfile.ts';

export interface ImageView {
  config: { Entrypoint?: string[] | null; Cmd?: string[] | null; User?: string };
  /** The unpacked root filesystem. */
  rootfs: string;
  /** `node --version` run from the image. */
  nodeVersion: string;
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function walk(dir: string, prefix: string, into: Map<string, string>): void {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, posix.join(prefix, entry), into);
    else into.set(posix.join(prefix, entry), path);
  }
}

/** Image path -> the file the Dockerfile copies there, with the build stage's /src resolved to `buildRoot`. */
export function expectedFiles(facts: DockerfileFacts, buildRoot: string): Map<string, string> {
  const files = new Map<string, string>();
  const workdir = facts.build.workdir ?? '/';
  for (const copy of facts.final.copies) {
    const intoDirectory = copy.destination.endsWith('/') || copy.sources.length > 1;
    for (const source of copy.sources) {
      const local = join(buildRoot, posix.relative(workdir, source));
      if (existsSync(local) && statSync(local).isDirectory()) walk(local, copy.destination, files);
      else files.set(intoDirectory ? posix.join(copy.destination, basename(source)) : copy.destination, local);
    }
  }
  return files;
}

/** Every file under the directories the final stage copies into. */
function shippedFiles(rootfs: string, facts: DockerfileFacts): Map<string, string> {
  const files = new Map<string, string>();
  const roots = new Set(facts.final.copies.map((copy) => (copy.destination.endsWith('/') ? copy.destination : posix.dirname(copy.destination))));
  for (const root of roots) if (existsSync(join(rootfs, root))) walk(join(rootfs, root), root, files);
  return files;
}

function dpkgInstalled(rootfs: string): Set<string> {
  const status = readFileSync(join(rootfs, 'var/lib/dpkg/status'), 'utf8');
  const installed = new Set<string>();
  for (const stanza of status.split('\n\n')) {
    const name = /^Package: (.+)$/m.exec(stanza)?.[1];
    if (name && /^Status: install ok installed$/m.test(stanza)) installed.add(name);
  }
  return installed;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function imageDifferences(facts: DockerfileFacts, image: ImageView, buildRoot: string): string[] {
  const differences: string[] = [];
  const { config } = image;
  if (!same(config.Entrypoint ?? [], facts.entrypoint)) differences.push(`ENTRYPOINT: image ${JSON.stringify(config.Entrypoint)}, Dockerfile ${JSON.stringify(facts.entrypoint)}`);
  if (!same(config.Cmd ?? [], facts.cmd)) differences.push(`CMD: image ${JSON.stringify(config.Cmd)}, Dockerfile ${JSON.stringify(facts.cmd)}`);
  if ((config.User ?? '') !== facts.user) differences.push(`USER: image ${config.User}, Dockerfile ${facts.user}`);

  const major = Number(/^v(\d+)\./.exec(image.nodeVersion)?.[1]);
  if (major !== facts.nodeMajor) differences.push(`Node: image ${image.nodeVersion}, Dockerfile node:${facts.nodeMajor}`);

  const installed = dpkgInstalled(image.rootfs);
  for (const pkg of facts.aptPackages) if (!installed.has(pkg)) differences.push(`package ${pkg}: installed by the Dockerfile, not in the image`);

  for (const path of facts.removedPaths) {
    if (/[*?[]/.test(path)) continue;
    if (existsSync(join(image.rootfs, path))) differences.push(`${path}: removed by the Dockerfile, present in the image`);
  }

  const expected = expectedFiles(facts, buildRoot);
  const shipped = shippedFiles(image.rootfs, facts);
  for (const [path, local] of expected) {
    const inImage = shipped.get(path);
    if (!inImage) differences.push(`${path}: copied by the Dockerfile, missing from the image`);
    else if (sha256(inImage) !== sha256(local)) differences.push(`${path}: differs from the build's ${local}`);
    else if ((statSync(inImage).mode & 0o111) !== (statSync(local).mode & 0o111)) differences.push(`${path}: executable bits differ from the build's`);
  }
  for (const path of shipped.keys()) if (!expected.has(path)) differences.push(`${path}: in the image, not copied by the Dockerfile`);
  return differences;
}
