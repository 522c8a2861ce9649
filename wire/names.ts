import { createHash } from 'node:crypto';

/**
 * The host end of a pod's veth, derived from the attachment's identity alone,
 * so that DEL finds it without the pod's namespace and without ipamd.
 */
export function hostVethName(network: string, containerId: string, ifName: string): string {
  return `vcni${createHash('sha1').update(`${network}/${containerId}/${ifName}`).digest('hex').slice(0, 11)}`;
}

/** The link-local next hop of every pod: answered by the host end of its veth. */
export const podGateway = '169.254.1.1';
