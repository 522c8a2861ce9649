import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { run } from '../../lib/command.ts';
import { alreadyThere, ipBatch, namespaceArgs, splitJsonOutputs, type BatchLine } from '../../lib/iproute.ts';
import type { OpLine } from '../../lib/netlink/ops.ts';
import { ipToNumber } from '../../lib/ipv4.ts';
import { hostVethName } from '../../wire/names.ts';
import { podGateway } from './gateways.ts';
import { interfaceRulePriority, podRulePriority, routeTableFor } from './routing.ts';
import type { AttachmentRef, NodeNetworkSpec, PodAttachment, PodLinks, PodNetwork } from './types.ts';
import { cleanUpNode, prepareNode, type NodeOptions } from './node.ts';
import { PodRuleIndex, type RuleJson } from './pod-rules.ts';
import { IpLinkOps, LinkOpsError, type LinkOps } from './link-ops.ts';

/**
 * The pod data plane, in the namespace this process runs in
 * (the node's root namespace in production, a node namespace of the emulated
 * VPC in the end-to-end tests).
 *
 * One ADD is one request to the link executor (link-ops.ts: the netlink
 * helper, or `ip -batch` per segment) in two segments: in the pod's
 * namespace, the veth created with its peer born in ours (no namespace move:
 * concurrent ADDs do not queue on the kernel's rcu_barrier) and the pod end
 * configured completely; then here, the host route and rules. Both MAC
 * addresses are chosen up front, so the pod's permanent neighbour for the
 * gateway goes into the first segment without a query.
 *
 * The gateway 169.254.1.1: the pod reaches it through a permanent neighbour
 * entry (the host veth's MAC), so it never asks for it, as with AWS VPC CNI.
 * The host veth gets no address: an address there would become the source of
 * every packet the host sends to the pod (probes would come from 169.254.1.1
 * instead of the node's address). As a fallback for a pod whose neighbour
 * entry was flushed, the host veth has proxy_arp on (with no delay): the host
 * answers for 169.254.1.1 as long as it routes that address through another
 * interface (its default route does) and forwards (`prepareNode` turns
 * forwarding on; pod-to-pod traffic needs it anyway). proxy_arp never
 * answers for an address routed back through the asking veth, so the pod's
 * own address is safe.
 *
 * Per pod on the host: `IP/32 dev VETH scope link` in main, `to IP lookup
 * main` at 512, and for an address of a secondary ENI `from IP lookup
 * <deviceIndex + 1>` at 1536, so its traffic leaves through the ENI that owns
 * it (the VPC drops it otherwise). Pod traffic leaving the VPC is steered to
 * the primary interface for SNAT by a mark (see node.ts).
 *
 * Concurrency: every name, route and rule is per pod (the veth name derives
 * from the attachment, MACs are random), so calls for different pods never
 * touch the same object and need no lock.
 *
 * No batch line is a delete that normally finds nothing: rules are deleted
 * only where PodRuleIndex knows them to exist, the veth only where its
 * sysctl directory shows it does (a lookup in /proc, not an exec). What an
 * earlier run left (a crash, a failed clean-up) is still found and removed:
 * the index starts from the kernel's rules.
 */

export type PodNetworkFailure = 'invalid-argument' | 'interface-exists' | 'netns-missing' | 'failed';

export class PodNetworkError extends Error {
  constructor(
    readonly reason: PodNetworkFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PodNetworkError';
  }
}

export interface IpRoutePodNetworkOptions {
  /** SNAT table, mark and sysctl root used by `prepareNode`. */
  node?: NodeOptions;
  /** Where sysctls live (default /proc/sys; the host veth's proxy_arp). */
  sysctlRoot?: string;
  /** Who runs the link steps of ADD and DEL (default: `ip -batch`; ipamd passes the netlink helper). */
  linkOps?: LinkOps;
}

const interfaceName = /^[A-Za-z0-9_.@-]{1,15}$/;

function invalid(message: string): PodNetworkError {
  return new PodNetworkError('invalid-argument', message);
}

function checkIp(ip: string): void {
  try {
    ipToNumber(ip);
  } catch (err) {
    throw invalid((err as Error).message);
  }
}

function validateAttachment(a: PodAttachment): void {
  if (!interfaceName.test(a.ifName) || a.ifName === '.' || a.ifName === '..') throw invalid(`invalid interface name ${JSON.stringify(a.ifName)}`);
  checkIp(a.ip);
  if (!Number.isInteger(a.mtu) || a.mtu < 68 || a.mtu > 65535) throw invalid(`invalid MTU ${a.mtu}`);
  if (!Number.isInteger(a.owner.deviceIndex) || a.owner.deviceIndex < 0) throw invalid(`invalid device index ${a.owner.deviceIndex}`);
  if (typeof a.netns !== 'string' || !a.netns.startsWith('/')) throw invalid(`network namespace must be an absolute path, got ${JSON.stringify(a.netns)}`);
}

/** A random locally administered unicast MAC. */
export function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfe) | 0x02;
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

interface LinkJson {
  ifindex: number;
  ifname: string;
  link_index?: number;
  flags?: string[];
  mtu?: number;
  address?: string;
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}
interface RouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
}
interface NeighJson {
  dst: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}

/** What one set-up names and knows before it starts. */
interface LinkNames {
  hostVeth: string;
  podMac: string;
  hostMac: string;
  /** The pod rules of this address that already exist. */
  leftover: { to: boolean; from: boolean };
}

const sameMac = (a: string | undefined, b: string | undefined): boolean => !!a && !!b && a.toLowerCase() === b.toLowerCase();

export class IpRoutePodNetwork implements PodNetwork {
  private readonly sysctlRoot: string;
  private readonly rules = new PodRuleIndex();
  private readonly linkOps: LinkOps;

  constructor(private readonly options: IpRoutePodNetworkOptions = {}) {
    this.sysctlRoot = options.sysctlRoot ?? '/proc/sys';
    this.linkOps = options.linkOps ?? new IpLinkOps();
  }

  /** Which executor runs the link steps (logged at start, reported by the bench). */
  get linkOpsKind(): LinkOps['kind'] {
    return this.linkOps.kind;
  }

  /** Stops the netlink helper, if there is one. */
  close(): Promise<void> {
    return this.linkOps.close();
  }

  prepareNode(spec: NodeNetworkSpec): Promise<void> {
    return prepareNode(spec, { sysctlRoot: this.sysctlRoot, ...this.options.node });
  }

  /** Removes the SNAT table and mark rule `prepareNode` made (not the sysctls). */
  cleanUpNode(): Promise<void> {
    return cleanUpNode(this.options.node);
  }

  hasNamespace(netns: string): boolean {
    return existsSync(netns);
  }

  async setUp(a: PodAttachment): Promise<PodLinks> {
    validateAttachment(a);
    const hostVeth = hostVethName(a.network, a.containerId, a.ifName);
    if (!existsSync(a.netns)) throw new PodNetworkError('netns-missing', `network namespace ${a.netns} does not exist`);
    const podMac = randomMac();
    const hostMac = randomMac();
    const leftover = { to: await this.rules.has('to', a.ip), from: await this.rules.has('from', a.ip) };
    await this.createLinks(a, { hostVeth, podMac, hostMac, leftover }, true);
    try {
      // Fresh device: no need to read first.
      writeFileSync(`${this.sysctlRoot}/net/ipv4/conf/${hostVeth}/proxy_arp`, '1');
      writeFileSync(`${this.sysctlRoot}/net/ipv4/neigh/${hostVeth}/proxy_delay`, '0');
    } catch (err) {
      await this.removeHostSide(hostVeth, [a.ip]).catch(() => undefined);
      throw new PodNetworkError('failed', `setting up the host side of ${a.ifName} (${hostVeth}): ${(err as Error).message}`, { cause: err });
    }
    return { hostInterface: { name: hostVeth, mac: hostMac }, podInterface: { name: a.ifName, mac: podMac } };
  }

  /**
   * Both ends in one request to the link executor: the pod's segment (the
   * veth born in the pod's namespace with its peer here, the pod end
   * configured), then the host's (route and rules). The rule index follows
   * what the host segment did.
   */
  private async createLinks(a: PodAttachment, made: LinkNames, mayRetry: boolean): Promise<void> {
    try {
      await this.linkOps.run([
        // No tolerating line: the segment stops at its first failure, so what exists is known.
        { netns: a.netns, lines: podLines(a, made.hostVeth, made.podMac, made.hostMac) },
        { lines: hostLines(a, made.hostVeth, made.leftover) },
      ]);
    } catch (err) {
      if (err instanceof LinkOpsError && err.segment === 0 && !err.progressUnknown) return this.podSideFailed(err, a, made, mayRetry);
      this.rules.forget();
      // The rules go only if our route went in: if the route failed, the
      // address is routed to another device and the rules may be its owner's.
      // Unknown progress (the helper died) keeps them: a leftover rule of this
      // address is found and replaced by its next ADD.
      const routeAdded = err instanceof LinkOpsError && !err.progressUnknown && !err.failures.has(2);
      await this.removeHostSide(made.hostVeth, routeAdded ? [a.ip] : []).catch(() => undefined);
      throw new PodNetworkError('failed', `setting up the host side of ${a.ifName} (${made.hostVeth}): ${(err as Error).message}`, { cause: err });
    }
    await this.rules.added('to', a.ip);
    await (a.owner.isPrimary ? this.rules.removed('from', a.ip) : this.rules.added('from', a.ip));
  }

  private async podSideFailed(err: LinkOpsError, a: PodAttachment, made: LinkNames, mayRetry: boolean): Promise<void> {
    const line = err.firstFailedLine;
    if (line === 1 && alreadyThere.test(err.failures.get(1) ?? '')) {
      // Nothing was created. Either name may be the one taken.
      if (await linkExists(namespaceArgs(a.netns), a.ifName)) {
        throw new PodNetworkError('interface-exists', `interface ${a.ifName} already exists in network namespace ${a.netns}`, { cause: err });
      }
      if (mayRetry && (await linkExists([], made.hostVeth))) {
        // A leftover of an earlier ADD for this very attachment (the name
        // derives from network, container and interface, and the runtime
        // never runs two operations for one container at once).
        await this.removeHostSide(made.hostVeth, []);
        return this.createLinks(a, made, false);
      }
    } else if (line > 1) {
      // The veth exists: deleting its host end removes the pod end too.
      await this.removeHostSide(made.hostVeth, []).catch(() => undefined);
    } else if (!existsSync(a.netns)) {
      throw new PodNetworkError('netns-missing', `network namespace ${a.netns} does not exist`, { cause: err });
    }
    throw new PodNetworkError('failed', `setting up ${a.ifName} in ${a.netns}: ${err.message}`, { cause: err });
  }

  async tearDown(a: AttachmentRef & { ip?: string; netns?: string }): Promise<void> {
    if (a.ip) checkIp(a.ip);
    const hostVeth = hostVethName(a.network, a.containerId, a.ifName);
    // Without the address, the host route on the veth tells it (rules do not name the veth).
    const ips = a.ip ? [a.ip] : this.hostLinkExists(hostVeth) ? await addressesRoutedTo(hostVeth) : [];
    try {
      await this.removeHostSide(hostVeth, ips);
    } catch (err) {
      throw new PodNetworkError('failed', `tearing down ${hostVeth}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Rules first, then the veth (its pod end and the /32 route go with it).
   * Everything may already be gone; any other failure is reported.
   */
  private async removeHostSide(hostVeth: string, ips: string[]): Promise<void> {
    const lines: OpLine[] = [];
    const removed: Array<() => Promise<void>> = [];
    for (const ip of ips) {
      // Tolerating absence here covers only the unexpected (someone else removed the rule).
      if (await this.rules.has('to', ip)) {
        lines.push({ op: { kind: 'rule-del', match: 'to', cidr: `${ip}/32`, priority: podRulePriority }, tolerate: 'gone' });
        removed.push(() => this.rules.removed('to', ip));
      }
      if (await this.rules.has('from', ip)) {
        lines.push({ op: { kind: 'rule-del', match: 'from', cidr: `${ip}/32`, priority: interfaceRulePriority }, tolerate: 'gone' });
        removed.push(() => this.rules.removed('from', ip));
      }
    }
    if (this.hostLinkExists(hostVeth)) lines.push({ op: { kind: 'link-del', dev: hostVeth }, tolerate: 'gone' });
    try {
      await this.linkOps.run([{ lines }]);
    } catch (err) {
      this.rules.forget();
      throw err;
    }
    for (const update of removed) await update();
  }

  /** Whether a link exists in this process's namespace: its IPv4 sysctl directory is there (no exec). */
  private hostLinkExists(name: string): boolean {
    return existsSync(`${this.sysctlRoot}/net/ipv4/conf/${name}`);
  }

  async verify(a: PodAttachment & { hostInterface?: string }): Promise<string[]> {
    try {
      validateAttachment(a);
    } catch (err) {
      return [(err as Error).message];
    }
    const hostVeth = hostVethName(a.network, a.containerId, a.ifName);
    const problems: string[] = [];
    if (a.hostInterface !== undefined && a.hostInterface !== hostVeth) {
      problems.push(`host interface is recorded as ${a.hostInterface}, but this attachment's veth is ${hostVeth}`);
    }
    const [pod, host] = await Promise.all([podState(a), hostState(hostVeth, a.ip)]);
    problems.push(...pod.problems, ...host.problems);

    const table = String(routeTableFor(a.owner.deviceIndex));
    if (host.link) {
      if (!host.link.flags?.includes('UP')) problems.push(`host veth ${hostVeth} is down`);
      if (host.link.mtu !== a.mtu) problems.push(`host veth ${hostVeth} has MTU ${host.link.mtu}, expected ${a.mtu}`);
      const proxyArp = readSysctl(`${this.sysctlRoot}/net/ipv4/conf/${hostVeth}/proxy_arp`);
      if (proxyArp !== '1') problems.push(`host veth ${hostVeth} has proxy_arp ${proxyArp ?? 'unreadable'}, expected 1`);
      const route = host.routes.find((r) => r.dst === a.ip);
      if (!route) problems.push(`no host route ${a.ip}/32 dev ${hostVeth} in the main table`);
      else if (route.dev !== hostVeth) problems.push(`host route to ${a.ip}/32 goes through ${route.dev ?? '?'}, not ${hostVeth}`);
    } else if (host.linkError !== undefined) {
      problems.push(`host veth ${hostVeth} is missing (${host.linkError})`);
    }
    const isPodRule = (r: RuleJson): boolean => r.priority === podRulePriority && r.dst === a.ip && (r.dstlen ?? 32) === 32 && (r.src ?? 'all') === 'all';
    if (host.rules && !host.rules.some((r) => isPodRule(r) && r.table === 'main')) {
      problems.push(`no rule 'to ${a.ip} lookup main' at priority ${podRulePriority}`);
    }
    const fromRules = (host.rules ?? []).filter((r) => r.priority === interfaceRulePriority && r.src === a.ip && (r.srclen ?? 32) === 32 && !r.dst);
    if (host.rules && !a.owner.isPrimary && !fromRules.some((r) => r.table === table)) {
      problems.push(`no rule 'from ${a.ip} lookup ${table}' at priority ${interfaceRulePriority}`);
    }
    for (const rule of fromRules) {
      if (a.owner.isPrimary || rule.table !== table) problems.push(`unexpected rule 'from ${a.ip} lookup ${rule.table ?? '?'}' at priority ${interfaceRulePriority}`);
    }

    if (pod.link) {
      const link = pod.link;
      if (!link.flags?.includes('UP')) problems.push(`pod interface ${a.ifName} is down`);
      if (link.mtu !== a.mtu) problems.push(`pod interface ${a.ifName} has MTU ${link.mtu}, expected ${a.mtu}`);
      if (!link.addr_info?.some((ad) => ad.family === 'inet' && ad.local === a.ip && ad.prefixlen === 32)) {
        problems.push(`pod interface ${a.ifName} lacks address ${a.ip}/32`);
      }
      if (host.link && link.link_index !== host.link.ifindex) problems.push(`pod interface ${a.ifName} is not the peer of ${hostVeth}`);
      const routes = pod.routes ?? [];
      if (!routes.some((r) => r.dst === podGateway && r.dev === a.ifName && r.scope === 'link' && !r.gateway)) {
        problems.push(`pod lacks the route ${podGateway} dev ${a.ifName} scope link`);
      }
      if (!routes.some((r) => r.dst === 'default' && r.gateway === podGateway && r.dev === a.ifName)) {
        problems.push(`pod lacks the route default via ${podGateway} dev ${a.ifName}`);
      }
      const neighbour = (pod.neighbours ?? []).find((n) => n.dst === podGateway);
      if (!neighbour) problems.push(`pod has no neighbour entry for ${podGateway} on ${a.ifName}`);
      else {
        if (!neighbour.state?.includes('PERMANENT')) problems.push(`pod neighbour ${podGateway} is not permanent (${neighbour.state?.join(',') ?? '?'})`);
        if (host.link && !sameMac(neighbour.lladdr, host.link.address)) {
          problems.push(`pod neighbour ${podGateway} is ${neighbour.lladdr ?? 'incomplete'}, host veth MAC is ${host.link.address ?? '?'}`);
        }
      }
    }
    return problems;
  }
}

function podLines(a: PodAttachment, hostVeth: string, podMac: string, hostMac: string): OpLine[] {
  const dev = a.ifName;
  return [
    { op: { kind: 'veth-add', name: dev, mtu: a.mtu, mac: podMac, peer: { name: hostVeth, mtu: a.mtu, mac: hostMac, netns: `/proc/${process.pid}/ns/net` } } },
    { op: { kind: 'address-add', dev, cidr: `${a.ip}/32` } },
    { op: { kind: 'link-up', dev: 'lo' } },
    { op: { kind: 'link-up', dev } },
    { op: { kind: 'route-add', dst: podGateway, dev, scope: 'link' } },
    { op: { kind: 'route-add', dst: 'default', via: podGateway, dev } },
    { op: { kind: 'neigh-add', dst: podGateway, lladdr: hostMac, dev } },
  ];
}

/**
 * The host side of a pod. `leftover`: the pod rules of this address that
 * already exist (an earlier pod's, or this attachment's from a crashed run).
 * Line 2 is the route (setUp's clean-up depends on it).
 */
function hostLines(a: PodAttachment, hostVeth: string, leftover: { to: boolean; from: boolean }): OpLine[] {
  const cidr = `${a.ip}/32`;
  const lines: OpLine[] = [
    { op: { kind: 'link-up', dev: hostVeth } },
    // `add`, not `replace`: a route to this address through another device is a conflict to report.
    { op: { kind: 'route-add', dst: cidr, dev: hostVeth, scope: 'link' } },
  ];
  // The same rule for every pod of this address: one that is there already is kept.
  if (!leftover.to) lines.push({ op: { kind: 'rule-add', match: 'to', cidr, table: 'main', priority: podRulePriority }, tolerate: 'exists' });
  // A leftover `from` rule (another table, or the address now on the primary ENI) must not win.
  if (leftover.from) lines.push({ op: { kind: 'rule-del', match: 'from', cidr, priority: interfaceRulePriority }, tolerate: 'gone' });
  if (!a.owner.isPrimary) {
    lines.push({ op: { kind: 'rule-add', match: 'from', cidr, table: routeTableFor(a.owner.deviceIndex), priority: interfaceRulePriority } });
  }
  return lines;
}

async function linkExists(namespace: string[], name: string): Promise<boolean> {
  const result = await run('ip', [...namespace, 'link', 'show', 'dev', name]);
  return result.code === 0;
}

async function addressesRoutedTo(hostVeth: string): Promise<string[]> {
  const result = await run('ip', ['-j', '-4', 'route', 'show', 'table', 'main', 'dev', hostVeth]);
  if (result.code !== 0) return []; // no such device: nothing routed to it
  const routes = JSON.parse(result.stdout.trim() || '[]') as RouteJson[];
  return routes.map((route) => route.dst).filter((dst) => /^\d+\.\d+\.\d+\.\d+$/.test(dst));
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

interface PodState {
  problems: string[];
  link?: LinkJson;
  routes?: RouteJson[];
  neighbours?: NeighJson[];
}

async function podState(a: PodAttachment): Promise<PodState> {
  if (!existsSync(a.netns)) return { problems: [`network namespace ${a.netns} does not exist`] };
  // `addr show` first: in a batch, a `link show` before it leaves a filter that hides the addresses.
  const lines: BatchLine[] = [
    { tokens: ['address', 'show', 'dev', a.ifName] },
    { tokens: ['route', 'show', 'table', 'main'] },
    { tokens: ['neigh', 'show', 'dev', a.ifName] },
  ];
  const outcome = await ipBatch(lines, { namespace: namespaceArgs(a.netns), json: true, force: true });
  const [links, routes, neighbours] = splitJsonOutputs(lines.length, outcome) as [LinkJson[]?, RouteJson[]?, NeighJson[]?];
  const link = links?.[0];
  if (!link) {
    const why = outcome.failures.get(1) ?? 'not found';
    return { problems: [`pod interface ${a.ifName} is missing in ${a.netns} (${why})`] };
  }
  const problems = [...outcome.failures].filter(([line]) => line > 1).map(([line, message]) => `pod: ${lines[line - 1]?.tokens.join(' ')}: ${message}`);
  return { problems, link, routes, neighbours };
}

interface HostState {
  problems: string[];
  link?: LinkJson;
  linkError?: string;
  routes: RouteJson[];
  rules?: RuleJson[];
}

async function hostState(hostVeth: string, ip: string): Promise<HostState> {
  const lines: BatchLine[] = [
    { tokens: ['address', 'show', 'dev', hostVeth] },
    { tokens: ['route', 'show', 'table', 'main', 'exact', `${ip}/32`] },
    { tokens: ['rule', 'show'] },
  ];
  const outcome = await ipBatch(lines, { json: true, force: true });
  const [links, routes, rules] = splitJsonOutputs(lines.length, outcome) as [LinkJson[]?, RouteJson[]?, RuleJson[]?];
  const problems = [...outcome.failures].filter(([line]) => line > 1).map(([line, message]) => `host: ${lines[line - 1]?.tokens.join(' ')}: ${message}`);
  return { problems, link: links?.[0], linkError: outcome.failures.get(1) ?? (links?.[0] ? undefined : 'not found'), routes: routes ?? [], rules };
}
