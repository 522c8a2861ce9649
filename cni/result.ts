/**
 * The ADD result in the cniVersion of the request, and what CHECK reads back
 * from prevResult.
 *
 * 1.0.0 / 1.1.0:
 *   interfaces: [ {name: hostVeth, mac}, {name: CNI_IFNAME, mac, sandbox: CNI_NETNS, mtu} ]
 *   ips:        [ {address: "IP/32", gateway: "169.254.1.1", interface: 1} ]
 *   routes:     [ {dst: "0.0.0.0/0", gw: "169.254.1.1"} ]
 *   dns:        {}
 * - `mtu` on an interface exists from spec 1.1.0 on (spec-upgrades: "new
 *   fields mtu, socketPath and pciID have been added to interfaces"), so a
 *   1.0.0 result leaves it out.
 * - The host veth comes first and has no sandbox; the pod interface has one
 *   and every ips[].interface points at it: bandwidth finds the host veth as
 *   the peer of the pod interface in this list, portmap only maps IPs whose
 *   interface is in a sandbox and named CNI_IFNAME, containerd looks for eth0.
 * - The route and gateway are what the pod really has (ipamd installs
 *   `default via 169.254.1.1` with the gateway answered by the host veth),
 *   so that chained plugins and people reading the result see the pod's
 *   actual next hop. The on-link route to 169.254.1.1 itself is not listed:
 *   `scope` only exists in 1.1.0 routes, and older readers would take it for
 *   a gatewayless route.
 * 0.3.0 / 0.3.1 / 0.4.0: the same, with ips[].version ("4" or "6") and
 * interfaces keeping only name, mac and sandbox.
 */
import type { AddResult } from '../wire/protocol.ts';
import { versionAtLeast, isObject, type CniVersion } from './config.ts';
import { Code, CniError } from './errors.ts';
import { ifNameProblem } from './env.ts';

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
  mtu?: number;
}

export interface CniIp {
  version?: '4' | '6';
  address: string;
  gateway?: string;
  interface: number;
}

export interface CniResult {
  cniVersion: CniVersion;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: Array<{ dst: string; gw?: string }>;
  dns: Record<string, unknown>;
}

function ipVersion(address: string): '4' | '6' {
  return address.includes(':') ? '6' : '4';
}

/** Refuse an answer from ipamd that lacks what the result needs (code 102): never print a half result. */
function checkAddResult(add: AddResult): void {
  const missing: string[] = [];
  if (typeof add?.address !== 'string' || !add.address.includes('/')) missing.push('address');
  if (typeof add?.hostInterface?.name !== 'string' || ifNameProblem(add.hostInterface.name)) missing.push('hostInterface.name');
  if (typeof add?.podInterface?.mac !== 'string') missing.push('podInterface.mac');
  if (typeof add?.podGateway !== 'string' || add.podGateway === '') missing.push('podGateway');
  if (missing.length > 0) throw new CniError(Code.ipamd, `ipamd answered add without a usable ${missing.join(', ')}`, 'the plugin and ipamd versions may not match');
}

/** The ADD result, in `cniVersion`. */
export function addResult(cniVersion: CniVersion, add: AddResult, ifName: string, netns: string): CniResult {
  checkAddResult(add);
  const legacy = !versionAtLeast(cniVersion, '1.0.0');
  const pod: CniInterface = { name: ifName, mac: add.podInterface.mac, sandbox: netns };
  if (versionAtLeast(cniVersion, '1.1.0') && Number.isInteger(add.mtu) && add.mtu > 0) pod.mtu = add.mtu;
  const ip: CniIp = legacy
    ? { version: ipVersion(add.address), address: add.address, gateway: add.podGateway, interface: 1 }
    : { address: add.address, gateway: add.podGateway, interface: 1 };
  const defaultDst = ipVersion(add.address) === '6' ? '::/0' : '0.0.0.0/0';
  const host: CniInterface = { name: add.hostInterface.name };
  if (typeof add.hostInterface.mac === 'string' && add.hostInterface.mac !== '') host.mac = add.hostInterface.mac;
  return {
    cniVersion,
    interfaces: [host, pod],
    ips: [ip],
    routes: [{ dst: defaultDst, gw: add.podGateway }],
    dns: {},
  };
}

export interface Expected {
  address: string;
  hostInterface?: string;
}

/**
 * What CHECK compares with the live state, from prevResult (any version from
 * 0.3.0 on: the fields read here did not change). The address is the one on
 * CNI_IFNAME in the sandbox; the host interface is the first one without a
 * sandbox (ours: vpc-cni is first in the chain, and later plugins append).
 */
export function expectedFromPrevResult(prev: Record<string, unknown>, ifName: string): Expected {
  const interfaces = Array.isArray(prev.interfaces) ? prev.interfaces.filter(isObject) : [];
  const ips = Array.isArray(prev.ips) ? prev.ips.filter(isObject) : [];
  const onPod = ips.find((ip) => {
    const idx = ip.interface;
    if (typeof idx !== 'number') return false;
    const intf = interfaces[idx];
    return intf !== undefined && intf.name === ifName && typeof intf.sandbox === 'string' && intf.sandbox !== '';
  });
  const chosen = onPod ?? (ips.length === 1 ? ips[0] : undefined);
  const address = chosen?.address;
  if (typeof address !== 'string' || address === '' || address.length > 64) {
    throw new CniError(Code.invalidConfig, `"prevResult" lists no address for interface ${JSON.stringify(ifName)}`, 'CHECK needs the result of the ADD it checks');
  }
  const expected: Expected = { address };
  const host = interfaces.find((i) => (i.sandbox === undefined || i.sandbox === '') && typeof i.name === 'string');
  if (host && typeof host.name === 'string' && !ifNameProblem(host.name)) expected.hostInterface = host.name;
  return expected;
}
