/**
 * A tiny container image built here from Debian's busybox-static, written as
 * a Docker image archive (manifest.json, config, one layer) that
 * `ctr images import` reads: no registry is reachable, and none is needed.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from '../../lib/command.ts';

export const busyboxBinary = '/bin/busybox';
export const busyboxImageRef = 'vpc-cni.local/busybox:latest';

/** The applets the containers use (busybox picks the applet from the name it is called by). */
const applets = ['sh', 'ping', 'nc', 'wget', 'httpd', 'sleep', 'ip', 'cat', 'echo', 'dd', 'mkdir', 'ls', 'true'];

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Builds the image archive under `dir` and returns its path. */
export async function buildBusyboxImage(dir: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  const archive = join(dir, 'archive');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  for (const empty of ['etc', 'tmp', 'proc', 'sys', 'dev']) await mkdir(join(rootfs, empty), { recursive: true });
  await mkdir(archive, { recursive: true });
  await copyFile(busyboxBinary, join(rootfs, 'bin', 'busybox'));
  for (const applet of applets) await symlink('busybox', join(rootfs, 'bin', applet));

  // A reproducible layer: fixed owner and time, sorted names.
  const layerPath = join(dir, 'layer.tar');
  await runOk('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', rootfs, '-cf', layerPath, '.']);
  const layer = await readFile(layerPath);
  const layerDigest = sha256(layer);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
  });
  const configDigest = sha256(config);
  await writeFile(join(archive, `${layerDigest}.tar`), layer);
  await writeFile(join(archive, `${configDigest}.json`), config);
  await writeFile(join(archive, 'manifest.json'), JSON.stringify([{ Config: `${configDigest}.json`, RepoTags: [busyboxImageRef], Layers: [`${layerDigest}.tar`] }]));

  const imagePath = join(dir, 'busybox-image.tar');
  await runOk('tar', ['-C', archive, '-cf', imagePath, '.']);
  return imagePath;
}
