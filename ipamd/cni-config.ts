import { mkdir } from 'node:fs/promises';
import { writeFileAtomically } from './common/atomic-file.ts';
import { join } from 'node:path';

export const conflistName = '10-vpc-cni.conflist';
export const networkName = 'vpc-cni';

/**
 * The conflist kubelet waits for. Written atomically, and only once ipamd can
 * serve adds: a node becomes Ready when a conflist appears. `cniVersions`
 * lists older versions for runtimes on libcni 1.1 (containerd 1.7).
 */
export function conflist(options: { socketPath: string; pendingDir: string }): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      cniVersions: ['0.4.0', '1.0.0', '1.1.0'],
      name: networkName,
      plugins: [{ type: 'vpc-cni', ipamdSocket: options.socketPath, pendingDir: options.pendingDir }],
    },
    null,
    2,
  )}\n`;
}

export async function writeConflist(dir: string, text: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, conflistName);
  // The temporary name has no .conflist ending: the runtime never loads a half-written list.
  await writeFileAtomically(path, text, 0o644, join(dir, `.${conflistName}.tmp`));
  return path;
}
