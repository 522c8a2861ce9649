import { createHash } from 'node:crypto';
import type { CloudName } from '../../../providers/catalogs/catalog.ts';
import { azureLoadBalancerAddress } from './security-limits.ts';
import type { Direction, Peer, PortRange, SecurityGroup, SecurityRule } from './security-types.ts';

/**
 * Compiles the model's security groups into a firewall plan: named address
 * sets (group memberships), chains of match → verdict rules, and the chain
 * each interface's inbound and outbound traffic enters. The plan is pure
 * data in nftables' terms (the fabric renders it with `nft`; `evaluate.ts`
 * runs it in memory for tests), and each cloud's semantics are decided here:
 *
 * - EC2: one chain per group and direction whose rules accept; an interface's
 *   chain jumps to each of its groups and drops what none accepted (a union).
 * - ARM: one chain per NSG and direction in priority order, allow → return
 *   (this NSG is satisfied), deny → drop; the interface's chain runs the
 *   subnet's NSG then the NIC's inbound, the NIC's then the subnet's
 *   outbound, and accepts what both let through.
 * - ECS: the rules of all an ENI's groups sorted together (priority, then
 *   drop before accept), then the defaults of the groups' kind.
 *
 * Replies of allowed flows never reach these chains: the fabric accepts
 * tracked connections first.
 */

export interface AddressMatch {
  cidrs?: string[];
  /** A named set of the plan. */
  set?: string;
  negate?: boolean;
}

export interface PlanMatch {
  protocol?: 'tcp' | 'udp' | 'icmp';
  saddr?: AddressMatch;
  daddr?: AddressMatch;
  sport?: PortRange[];
  dport?: PortRange[];
  icmpType?: number;
  icmpCode?: number;
}

export type PlanVerdict = { kind: 'accept' } | { kind: 'drop' } | { kind: 'return' } | { kind: 'jump'; chain: string };

export interface PlanRule {
  match: PlanMatch;
  verdict: PlanVerdict;
  /** Which model rule it came from (shown in `nft list` as a comment). */
  origin?: string;
}

export interface FirewallPlan {
  /** Set name → elements (addresses and CIDRs). */
  sets: Map<string, string[]>;
  chains: Map<string, PlanRule[]>;
  /** Interface id → the chain its inbound traffic enters. */
  ingress: Map<string, string>;
  egress: Map<string, string>;
}

export interface InterfaceView {
  id: string;
  vpcId: string;
  subnetId: string;
  securityGroupIds: string[];
  /** Its primary and secondary addresses and delegated prefixes. */
  addresses: string[];
  /** ARM: address → the application security groups its ipConfiguration names. */
  applicationGroups: Record<string, string[]>;
}

export interface SecurityView {
  cloud: CloudName;
  groups: SecurityGroup[];
  vpcs: Array<{ id: string; cidrs: string[] }>;
  subnets: Array<{ id: string; networkSecurityGroupId?: string | undefined }>;
  interfaces: InterfaceView[];
}

/** An nftables-safe name for an id: readable, with a short hash so two ids never meet. */
export function planName(prefix: string, id: string, suffix = ''): string {
  const readable = id.toLowerCase().replace(/[^a-z0-9]/g, '_').slice(0, 40);
  const hash = createHash('sha1').update(id).digest('hex').slice(0, 4);
  return `${prefix}_${readable}_${hash}${suffix}`;
}

const accept: PlanVerdict = { kind: 'accept' };
const drop: PlanVerdict = { kind: 'drop' };
const back: PlanVerdict = { kind: 'return' };

class PlanBuilder {
  readonly plan: FirewallPlan = { sets: new Map(), chains: new Map(), ingress: new Map(), egress: new Map() };
  private readonly groups: Map<string, SecurityGroup>;
  private readonly vpcCidrs: Map<string, string[]>;
  private readonly members = new Map<string, string[]>();

  constructor(private readonly view: SecurityView) {
    this.groups = new Map(view.groups.map((group) => [group.id, group]));
    this.vpcCidrs = new Map(view.vpcs.map((vpc) => [vpc.id, vpc.cidrs]));
    for (const nic of view.interfaces) {
      for (const groupId of nic.securityGroupIds) this.addMembers(groupId, nic.addresses);
      for (const address of nic.addresses) {
        for (const groupId of nic.applicationGroups[address] ?? []) this.addMembers(groupId, [address]);
      }
    }
  }

  /** The set of a group's members, created on first use. */
  memberSet(groupId: string): string {
    const name = planName('m', groupId);
    if (!this.plan.sets.has(name)) this.plan.sets.set(name, [...new Set(this.members.get(groupId) ?? [])].sort());
    return name;
  }

  group(groupId: string): SecurityGroup | undefined {
    return this.groups.get(groupId);
  }

  chain(name: string, build: () => PlanRule[]): string {
    if (!this.plan.chains.has(name)) this.plan.chains.set(name, build());
    return name;
  }

  /** One plan match per combination of the rule's peers (a rule names several sources as alternatives). */
  matches(rule: SecurityRule, vpcId: string): PlanMatch[] {
    const base: PlanMatch = {};
    if (rule.protocol !== 'all') base.protocol = rule.protocol;
    if (rule.ports) base.dport = rule.ports;
    if (rule.sourcePorts) base.sport = rule.sourcePorts;
    if (rule.protocol === 'icmp' && rule.icmpType >= 0) base.icmpType = rule.icmpType;
    if (rule.protocol === 'icmp' && rule.icmpCode >= 0) base.icmpCode = rule.icmpCode;
    const [remoteField, localField] = rule.direction === 'ingress' ? (['saddr', 'daddr'] as const) : (['daddr', 'saddr'] as const);
    const out: PlanMatch[] = [];
    for (const remote of rule.remote) {
      for (const local of rule.local) {
        const match: PlanMatch = { ...base };
        const far = this.address(remote, vpcId);
        const near = this.address(local, vpcId);
        if (far === null || near === null) continue; // a peer that can match nothing
        if (far) match[remoteField] = far;
        if (near) match[localField] = near;
        out.push(match);
      }
    }
    return out;
  }

  private address(peer: Peer, vpcId: string): AddressMatch | undefined | null {
    switch (peer.kind) {
      case 'any':
        return undefined;
      case 'cidr':
        return peer.cidr === '0.0.0.0/0' ? undefined : { cidrs: [peer.cidr] };
      case 'group':
        return this.groups.has(peer.groupId) ? { set: this.memberSet(peer.groupId) } : null;
      case 'tag': {
        const cidrs = this.vpcCidrs.get(vpcId) ?? [];
        if (peer.tag === 'AzureLoadBalancer') return { cidrs: [azureLoadBalancerAddress] };
        if (peer.tag === 'VirtualNetwork') return { cidrs };
        return { cidrs, negate: true };
      }
    }
  }

  private addMembers(groupId: string, addresses: string[]): void {
    const list = this.members.get(groupId) ?? [];
    list.push(...addresses);
    this.members.set(groupId, list);
  }
}

const directions: Direction[] = ['ingress', 'egress'];
const suffix = (direction: Direction): string => (direction === 'ingress' ? '_in' : '_out');

function rulesFor(builder: PlanBuilder, group: SecurityGroup, rules: SecurityRule[], verdictOf: (rule: SecurityRule) => PlanVerdict): PlanRule[] {
  return rules.flatMap((rule) => builder.matches(rule, group.vpcId).map((match) => ({ match, verdict: verdictOf(rule), origin: `${group.id}/${rule.id}` })));
}

/** By priority; at the same priority deny first (ECS documents drop over accept; ARM priorities are unique). */
function ordered(rules: SecurityRule[]): SecurityRule[] {
  return [...rules].sort((a, b) => a.priority - b.priority || (a.action === b.action ? 0 : a.action === 'deny' ? -1 : 1));
}

function compileAws(builder: PlanBuilder, nic: InterfaceView): void {
  for (const direction of directions) {
    const jumps: PlanRule[] = [];
    for (const groupId of nic.securityGroupIds) {
      const group = builder.group(groupId);
      if (!group) continue;
      const chain = builder.chain(planName('g', group.id, suffix(direction)), () =>
        rulesFor(builder, group, group.rules.filter((rule) => rule.direction === direction), () => accept),
      );
      jumps.push({ match: {}, verdict: { kind: 'jump', chain } });
    }
    const port = builder.chain(planName('p', nic.id, suffix(direction)), () => [...jumps, { match: {}, verdict: drop }]);
    builder.plan[direction].set(nic.id, port);
  }
}

function compileAzure(builder: PlanBuilder, nic: InterfaceView, subnetNsg: string | undefined): void {
  const nsgChain = (groupId: string | undefined, direction: Direction): string | undefined => {
    const group = groupId ? builder.group(groupId) : undefined;
    if (!group) return undefined;
    return builder.chain(planName('n', group.id, suffix(direction)), () => {
      const rules = ordered([...group.rules, ...group.defaultRules].filter((rule) => rule.direction === direction));
      return [...rulesFor(builder, group, rules, (rule) => (rule.action === 'allow' ? back : drop)), { match: {}, verdict: drop }];
    });
  };
  const nicNsg = nic.securityGroupIds[0];
  for (const direction of directions) {
    const order = direction === 'ingress' ? [subnetNsg, nicNsg] : [nicNsg, subnetNsg];
    const stages = order.map((groupId) => nsgChain(groupId, direction)).filter((chain): chain is string => chain !== undefined);
    if (stages.length === 0) continue; // no NSG anywhere: Azure lets everything through
    const port = builder.chain(planName('p', nic.id, suffix(direction)), () => [
      ...stages.map((chain): PlanRule => ({ match: {}, verdict: { kind: 'jump', chain } })),
      { match: {}, verdict: accept },
    ]);
    builder.plan[direction].set(nic.id, port);
  }
}

function compileAlibaba(builder: PlanBuilder, nic: InterfaceView): void {
  const groups = nic.securityGroupIds.map((id) => builder.group(id)).filter((group): group is SecurityGroup => group !== undefined);
  const basic = groups.filter((group) => group.kind === 'basic');
  for (const direction of directions) {
    const custom = groups.flatMap((group) => group.rules.filter((rule) => rule.direction === direction).map((rule) => ({ group, rule })));
    const sorted = ordered(custom.map(({ rule }) => rule));
    const owner = new Map(custom.map(({ group, rule }) => [rule, group]));
    const rules = sorted.flatMap((rule) => {
      const group = owner.get(rule);
      return group ? rulesFor(builder, group, [rule], (r) => (r.action === 'allow' ? accept : drop)) : [];
    });
    // The implicit defaults: a basic group lets its members in and everything out; an enterprise group neither.
    if (direction === 'ingress') {
      for (const group of basic) {
        if (group.innerAccess === 'accept') rules.push({ match: { saddr: { set: builder.memberSet(group.id) } }, verdict: accept, origin: `${group.id}/inner-access` });
      }
      rules.push({ match: {}, verdict: drop });
    } else {
      rules.push({ match: {}, verdict: basic.length > 0 ? accept : drop });
    }
    const port = builder.chain(planName('p', nic.id, suffix(direction)), () => rules);
    builder.plan[direction].set(nic.id, port);
  }
}

export function compileFirewall(view: SecurityView): FirewallPlan {
  const builder = new PlanBuilder(view);
  const subnetNsgs = new Map(view.subnets.map((subnet) => [subnet.id, subnet.networkSecurityGroupId]));
  for (const nic of view.interfaces) {
    if (view.cloud === 'aws') compileAws(builder, nic);
    else if (view.cloud === 'azure') compileAzure(builder, nic, subnetNsgs.get(nic.subnetId));
    else compileAlibaba(builder, nic);
  }
  return builder.plan;
}
