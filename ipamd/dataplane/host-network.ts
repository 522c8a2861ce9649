import { ipBatch, ipJson, type BatchLine } from '../../lib/iproute.ts';
import { parseCidr } from '../../lib/ipv4.ts';
import { interfaceRulePriority, routeTableFor } from './routing.ts';

/**
 * The host side of the node's secondary interfaces: each gets its own route
 * table (device index + 1) with the subnet gateway as default, the MTU, and a
 * rule sending traffic from its primary address into that table, so replies
 * leave through the interface that owns the source address (the VPC drops
 * anything else).
 */
export interface HostInterfaceSpec {
  mac: string;
  deviceIndex: number;
  primaryIp: string;
  subnetCidr: string;
  /** The subnet's router (where it sits is the cloud's rule: the provider says). */
  gateway: string;
  mtu: number;
}

export interface HostNetwork {
  configureInterface(spec: HostInterfaceSpec): Promise<void>;
  removeInterface(spec: HostInterfaceSpec): Promise<void>;
  /** The name of the link with this MAC (the primary interface, for SNAT). */
  linkName(mac: string): Promise<string>;
}

async function linkByMac(mac: string): Promise<string> {
  const { stdout } = await ipBatch([{ tokens: ['link', 'show'] }], { json: true });
  const links = JSON.parse(stdout) as Array<{ ifname: string; address?: string }>;
  const found = links.find((link) => link.address?.toLowerCase() === mac.toLowerCase());
  if (!found) throw new Error(`no link with MAC ${mac} on this host`);
  return found.ifname;
}

/**
 * What an earlier run left for this interface (its rule, its table), read
 * first so that only what exists is deleted: a delete of what is not there
 * fails, and the first configuration of an interface would fail every line.
 */
async function clearLines(spec: HostInterfaceSpec): Promise<BatchLine[]> {
  const table = String(routeTableFor(spec.deviceIndex));
  const [rules, routes] = await Promise.all([
    ipJson<Array<{ priority: number; src?: string; srclen?: number; dst?: string; table?: string }>>([], ['-4', 'rule', 'show']),
    ipJson<Array<{ table?: string }>>([], ['-4', 'route', 'show', 'table', 'all']),
  ]);
  const lines: BatchLine[] = rules
    .filter((rule) => rule.priority === interfaceRulePriority && rule.src === spec.primaryIp && (rule.srclen ?? 32) === 32 && !rule.dst)
    .map((rule) => ({ tokens: ['rule', 'del', 'from', `${spec.primaryIp}/32`, 'lookup', rule.table ?? table, 'priority', String(interfaceRulePriority)] }));
  if (routes.some((route) => route.table === table)) lines.push({ tokens: ['route', 'flush', 'table', table] });
  return lines;
}

/** Whether main holds the subnet route the kernel adds with an address (a re-configuration finds it gone). */
async function hasSubnetRoute(link: string, subnetCidr: string): Promise<boolean> {
  const routes = await ipJson<Array<{ dst: string }>>([], ['-4', 'route', 'show', 'table', 'main', 'dev', link]);
  return routes.some((route) => route.dst === subnetCidr);
}

/** Applies the configuration with `ip -batch` in the namespace this process runs in. */
export class IpRouteHostNetwork implements HostNetwork {
  linkName(mac: string): Promise<string> {
    return linkByMac(mac);
  }

  async configureInterface(spec: HostInterfaceSpec): Promise<void> {
    const link = await linkByMac(spec.mac);
    const table = String(routeTableFor(spec.deviceIndex));
    const { gateway } = spec;
    const { prefixLength } = parseCidr(spec.subnetCidr);
    // Idempotent: clear what an earlier run left, then add.
    await ipBatch(await clearLines(spec), { force: true });
    await ipBatch([
      ['link', 'set', 'dev', link, 'mtu', String(spec.mtu), 'up'],
      ['address', 'replace', `${spec.primaryIp}/${prefixLength}`, 'dev', link],
      ['route', 'replace', `${gateway}/32`, 'dev', link, 'scope', 'link', 'table', table],
      ['route', 'replace', 'default', 'via', gateway, 'dev', link, 'table', table],
      ['rule', 'add', 'from', `${spec.primaryIp}/32`, 'lookup', table, 'priority', String(interfaceRulePriority)],
    ]);
    // The kernel adds a subnet route in main for the address; traffic to the subnet must leave via eth0.
    if (await hasSubnetRoute(link, spec.subnetCidr)) await ipBatch([['route', 'del', spec.subnetCidr, 'dev', link, 'table', 'main']]);
  }

  async removeInterface(spec: HostInterfaceSpec): Promise<void> {
    await ipBatch(await clearLines(spec), { force: true });
  }
}
