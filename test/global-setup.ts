/**
 * Builds what the end-to-end and plugin suites exec, once per run: the
 * daemon bundle and the plugin executable, exactly as shipped.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

export default function setup(): void {
  const started = Date.now();
  // Chunk names carry content hashes: drop the previous build's, which nothing imports any more.
  rmSync(new URL('../dist/ipamd-chunks', import.meta.url), { recursive: true, force: true });
  for (const script of ['build', 'build:plugin']) execFileSync('npm', ['run', '--silent', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.stderr.write(`global setup: dist/ipamd.mjs and dist/vpc-cni built in ${Date.now() - started} ms\n`);
}
