/**
 * `npm run image` against the Dockerfile: the image built offline holds
 * what the Dockerfile's image holds (the files each COPY puts there, byte
 * for byte the dist/ the tests build and exec; the packages it installs; the
 * paths it removes; its base's Node major) and runs the way it says
 * (ENTRYPOINT, CMD, USER). The image is built once and cached by its
 * inputs' hash; needs root, mmdebstrap, umoci and skopeo (test/host-setup.sh).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from '../../image/build.ts';
import { repoRoot } from '../../image/cache.ts';
import { imageDifferences, type ImageView } from './compare.ts';

let image: BuiltImage & { created: string };
let view: ImageView;
let unpacked: string;
let layers: string[];

/** Runs a program of the image inside its root filesystem (a private mount namespace: /proc and /dev go with it). */
function inImage(argv: string[]): string {
  const script = `mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" && exec chroot "$0" "$@"`;
  return execFileSync('unshare', ['--mount', '--propagation', 'private', '--fork', 'sh', '-c', script, view.rootfs, ...argv], { encoding: 'utf8', env: { PATH: '/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } });
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('unpacking the image and running its programs needs root');
  const built = await buildImage({ log: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write(`image: ${built.ref} ${built.imageId}, ${(built.archiveBytes / 1e6).toFixed(1)} MB, ${(built.compressedBytes / 1e6).toFixed(1)} MB compressed (${built.cached ? 'cached' : `built in ${built.seconds.toFixed(1)} s`})\n`);
  unpacked = mkdtempSync(join(tmpdir(), 'vpc-cni-image-'));
  const archive = join(unpacked, 'archive');
  const rootfs = join(unpacked, 'rootfs');
  execFileSync('mkdir', ['-p', archive, rootfs]);
  execFileSync('tar', ['-xf', built.archive, '-C', archive]);
  const manifest = JSON.parse(readFileSync(join(archive, 'manifest.json'), 'utf8')) as Array<{ Config: string; Layers: string[] }>;
  // Layers in order, as a runtime stacks them (the recipe writes no whiteouts).
  layers = manifest[0]!.Layers.map((layer) => join(archive, layer));
  for (const layer of layers) execFileSync('tar', ['--same-owner', '-xf', layer, '-C', rootfs]);
  const config = JSON.parse(readFileSync(join(archive, manifest[0]!.Config), 'utf8')) as { created: string; config: ImageView['config'] };
  image = { ...built, created: config.created };
  view = { config: config.config, rootfs, nodeVersion: '' };
  view.nodeVersion = inImage(['node', '--version']).trim();
}, 900_000);

afterAll(() => {
  if (unpacked) rmSync(unpacked, { recursive: true, force: true });
});

describe('the image npm run image builds', () => {
  it('holds what the Dockerfile puts in its image, byte for byte the dist/ the tests run, and runs as it says', () => {
    expect(imageDifferences(image.facts, view, repoRoot)).toEqual([]);
  });

  it('would fail on any fact of the Dockerfile it did not follow', () => {
    const wrong = {
      ...image.facts,
      entrypoint: [...image.facts.entrypoint, '--inspect'],
      cmd: ['max-pods'],
      user: 'node',
      nodeMajor: 24,
      aptPackages: [...image.facts.aptPackages, 'iptables'],
      removedPaths: [...image.facts.removedPaths, '/usr/local/bin/node'],
      final: { ...image.facts.final, copies: [...image.facts.final.copies, { from: 'build', sources: ['/src/package.json'], destination: '/opt/vpc-cni/' }] },
    };
    const differences = imageDifferences(wrong, view, repoRoot);
    for (const expected of [/^ENTRYPOINT/, /^CMD/, /^USER/, /^Node/, /^package iptables/, /^\/usr\/local\/bin\/node: removed/, /^\/opt\/vpc-cni\/package\.json: copied/]) {
      expect(differences.some((line) => expected.test(line)), `${expected}: ${differences.join('\n')}`).toBe(true);
    }
  });

  it("carries the pinned Node, and the ip and nft ipamd execs, all runnable with the image's own libraries", () => {
    expect(view.nodeVersion).toBe(`v${image.nodeVersion}`);
    expect(inImage(['ip', '-V'])).toMatch(/iproute2/);
    expect(inImage(['nft', '--version'])).toMatch(/nftables/);
    expect(inImage(['node', '/opt/vpc-cni/ipamd.mjs', '--help'])).toMatch(/run/);
  });

  it('is reproducible: no time after SOURCE_DATE_EPOCH, and root-owned entries at that one time in the layers it writes itself', () => {
    const epoch = Date.parse(image.created) / 1000;
    layers.forEach((layer, index) => {
      const listing = execFileSync('tar', ['--full-time', '--numeric-owner', '-tvf', layer], { encoding: 'utf8', maxBuffer: 256 << 20 });
      const entries = listing.split('\n').filter(Boolean).map((line) => line.split(/\s+/));
      const times = new Set(entries.map((fields) => Date.parse(`${fields[3]}T${fields[4]}Z`) / 1000));
      expect(Math.max(...times), layer).toBeLessThanOrEqual(epoch);
      // The base is Debian's as dpkg installs it (root:shadow and the like), its times clamped to the epoch
      // by mmdebstrap; Node's layer and the app's are written by the recipe: root's, at the epoch.
      if (index > 0) {
        expect(new Set(entries.map((fields) => fields[1])), layer).toEqual(new Set(['0/0']));
        expect([...times], layer).toEqual([epoch]);
      }
    });
    expect(image.ref).toMatch(/^vpc-cni\.local\/vpc-cni:\d+\.\d+\.\d+$/);
    expect(image.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
