/**
 * DEL while ipamd is away: record the release for ipamd to finish, then
 * remove the host veth by its deterministic name. Record first: if anything
 * after it fails, or the runtime kills the plugin, the release is already
 * durable. Loaded lazily by DEL only (its imports cost start-up time).
 */
import { hostVethName } from '../wire/names.ts';
import type { AllocationKey } from '../wire/protocol.ts';
import { recordPendingRelease } from './pending-release.ts';
import { removeHostVeth } from './veth.ts';

export async function delWithoutIpamd(pendingDir: string, key: AllocationKey, log: (line: string) => void): Promise<void> {
  const file = recordPendingRelease(pendingDir, key);
  log(`recorded the release in ${file} for ipamd to finish`);
  const veth = hostVethName(key.network, key.containerId, key.ifName);
  const outcome = await removeHostVeth(veth);
  if (outcome.removed) log(`deleted host veth ${veth}`);
  else if (outcome.absent) log(`host veth ${veth} was already gone`);
  else log(`could not delete host veth ${veth} (ipamd will when it finishes the release): ${outcome.error}`);
}
