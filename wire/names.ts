/**
 * Names derived from an attachment's identity alone, so that either side
 * finds them without the other: the plugin's DEL removes the host veth and
 * records a pending release while ipamd is away, and ipamd finds both later.
 * Loaded by the plugin only on that DEL path (node:crypto costs start-up).
 */
import { createHash } from 'node:crypto';
import type { AllocationKey } from './protocol.ts';

/** sha1 of "network/containerId/ifName", in hex: the attachment's stable digest. */
export function attachmentDigest(key: AllocationKey): string {
  return createHash('sha1').update(`${key.network}/${key.containerId}/${key.ifName}`).digest('hex');
}

/** Every host veth starts with this; the node's SNAT rules match pod traffic by it. */
export const hostVethPrefix = 'vcni';
const HOST_VETH_DIGEST_LENGTH = 11;
const HOST_VETH = new RegExp(`^${hostVethPrefix}[0-9a-f]{${HOST_VETH_DIGEST_LENGTH}}$`);

/** The host end of a pod's veth: the prefix and the digest's start, 15 bytes (IFNAMSIZ). */
export function hostVethName(network: string, containerId: string, ifName: string): string {
  return `${hostVethPrefix}${attachmentDigest({ network, containerId, ifName }).slice(0, HOST_VETH_DIGEST_LENGTH)}`;
}

/** Whether `name` is one hostVethName makes (the plugin deletes nothing else). */
export function isHostVethName(name: string): boolean {
  return HOST_VETH.test(name);
}
