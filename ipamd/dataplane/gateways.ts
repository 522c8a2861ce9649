import { numberToIp, parseCidr } from '../../lib/ipv4.ts';

/** The link-local next hop of every pod: answered by the host end of its veth. */
export const podGateway = '169.254.1.1';

/** The gateway of a subnet the node routes through: its first usable address (base + 1). */
export function subnetGateway(subnetCidr: string): string {
  return numberToIp(parseCidr(subnetCidr).base + 1);
}
