/**
 * Removing a pod's host veth without ipamd: `ip link del dev <name>` in the
 * plugin's own network namespace (the host's, where runtimes run plugins).
 * Deleting either end of a veth removes both, so the pod end goes too, even
 * when the pod's namespace is already gone. The name is derived from the
 * attachment (hostVethName) and checked again here; `ip` is run by absolute
 * path with a fixed environment, never through a shell or $PATH.
 */
import { accessSync, constants } from 'node:fs';
import { execFile } from 'node:child_process';
import { isHostVethName } from '../wire/names.ts';

const IP_BINARIES = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];

export type VethOutcome = { removed: true } | { removed: false; absent: true } | { removed: false; absent: false; error: string };

function findIp(): string | undefined {
  for (const path of IP_BINARIES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return undefined;
}

export function removeHostVeth(name: string): Promise<VethOutcome> {
  if (!isHostVethName(name)) return Promise.resolve({ removed: false, absent: false, error: `refusing to delete ${JSON.stringify(name)}: not a vpc-cni host veth name` });
  const ip = findIp();
  if (!ip) return Promise.resolve({ removed: false, absent: false, error: `no ip binary in ${IP_BINARIES.join(', ')}` });
  return new Promise((resolve) => {
    execFile(ip, ['link', 'del', 'dev', name], { timeout: 10_000, env: { LC_ALL: 'C', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, _stdout, stderr) => {
      if (!err) resolve({ removed: true });
      else if (/Cannot find device|does not exist|No such device/i.test(String(stderr))) resolve({ removed: false, absent: true });
      else resolve({ removed: false, absent: false, error: `${ip} link del dev ${name}: ${String(stderr).trim() || err.message}` });
    });
  });
}
