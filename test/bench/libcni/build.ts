/**
 * Builds the bench's libcni runtime (main.go beside this file) with Debian's
 * Go toolchain against Debian's copy of the CNI library's source
 * (golang-go, golang-github-appc-cni-dev: test/host-setup.sh installs both).
 * Offline: GOPATH mode over /usr/share/gocode, no module download. The binary
 * and Go's build cache live under node_modules/.cache, so a rebuild after
 * the first is a cache hit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('./main.go', import.meta.url));
const goPath = '/usr/share/gocode';
const libcniSource = join(goPath, 'src/github.com/containernetworking/cni/libcni');

export function buildLibcniRuntime(cacheDir: string): string {
  if (!existsSync(libcniSource)) throw new Error(`${libcniSource} is missing: install golang-go and golang-github-appc-cni-dev (test/host-setup.sh)`);
  mkdirSync(cacheDir, { recursive: true });
  const binary = join(cacheDir, 'libcni-runtime');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cacheDir, GO111MODULE: 'off', GOPATH: goPath, GOCACHE: join(cacheDir, 'go-build'), GOFLAGS: '', CGO_ENABLED: '0' };
  try {
    execFileSync('go', ['build', '-o', binary, source], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`go build of the libcni runtime failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  return binary;
}
