import type { AddressMatch, FirewallPlan, PlanMatch, PlanRule, PlanVerdict } from '../model/firewall-plan.ts';
import type { PortRange } from '../model/security-types.ts';

/**
 * Renders a firewall plan as nftables transactions: the whole table the
 * first time, then only the difference from what was applied. `nft -f`
 * commits a file as one transaction, so a change is never half in force.
 *
 * Two base chains on the fabric's forward hook: the sender's outbound chain
 * (by the port the packet came in on), then the receiver's inbound chain (by
 * the port it goes out of). Both accept tracked connections first: replies
 * of an allowed flow pass whatever the rules say, and a connection outlives
 * the rule that let it in, as the clouds document for tracked connections.
 */

export const firewallTable = 'vpcsg';

/** What the fabric enforces: a plan, and the fabric port of each interface it covers. */
export interface AppliedFirewall {
  plan: FirewallPlan;
  /** Interface id → its fabric port (only attached interfaces have one). */
  ports: Map<string, string>;
}

const table = `ip ${firewallTable}`;

function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '')}"`;
}

function ranges(list: PortRange[]): string {
  const items = list.map((range) => (range.from === range.to ? `${range.from}` : `${range.from}-${range.to}`));
  return items.length === 1 ? (items[0] ?? '') : `{ ${items.join(', ')} }`;
}

function address(field: 'saddr' | 'daddr', match: AddressMatch): string {
  const op = match.negate ? '!= ' : '';
  if (match.set) return `ip ${field} ${op}@${match.set}`;
  const cidrs = match.cidrs ?? [];
  return `ip ${field} ${op}${cidrs.length === 1 ? cidrs[0] : `{ ${cidrs.join(', ')} }`}`;
}

export function renderMatch(match: PlanMatch): string {
  const parts: string[] = [];
  if (match.saddr) parts.push(address('saddr', match.saddr));
  if (match.daddr) parts.push(address('daddr', match.daddr));
  if (match.protocol) {
    const ports = match.protocol === 'tcp' || match.protocol === 'udp';
    if (!ports || (!match.sport && !match.dport)) parts.push(`meta l4proto ${match.protocol}`);
    if (ports && match.sport) parts.push(`${match.protocol} sport ${ranges(match.sport)}`);
    if (ports && match.dport) parts.push(`${match.protocol} dport ${ranges(match.dport)}`);
    if (match.protocol === 'icmp' && match.icmpType !== undefined) parts.push(`icmp type ${match.icmpType}`);
    if (match.protocol === 'icmp' && match.icmpCode !== undefined) parts.push(`icmp code ${match.icmpCode}`);
  }
  return parts.join(' ');
}

function renderVerdict(verdict: PlanVerdict): string {
  return verdict.kind === 'jump' ? `jump ${verdict.chain}` : verdict.kind;
}

export function renderRule(rule: PlanRule): string {
  const match = renderMatch(rule.match);
  const comment = rule.origin ? ` comment ${quote(rule.origin.slice(0, 120))}` : '';
  return `${match ? `${match} ` : ''}${renderVerdict(rule.verdict)}${comment}`;
}

function portElements(direction: 'ingress' | 'egress', state: AppliedFirewall): Map<string, string> {
  const out = new Map<string, string>();
  for (const [interfaceId, chain] of state.plan[direction]) {
    const port = state.ports.get(interfaceId);
    if (port) out.set(port, chain);
  }
  return out;
}

/** The table's frame: the port maps and the two base chains. */
export function frameScript(): string[] {
  return [
    `add table ${table}`,
    `add map ${table} egress_ports { type ifname : verdict; }`,
    `add map ${table} ingress_ports { type ifname : verdict; }`,
    `add chain ${table} egress { type filter hook forward priority 0; policy accept; }`,
    `add chain ${table} ingress { type filter hook forward priority 10; policy accept; }`,
    `add rule ${table} egress ct state established,related accept`,
    `add rule ${table} egress iifname vmap @egress_ports`,
    `add rule ${table} ingress ct state established,related accept`,
    `add rule ${table} ingress oifname vmap @ingress_ports`,
  ];
}

function elements(list: string[]): string {
  return `{ ${list.join(', ')} }`;
}

/**
 * The commands that take the fabric from `before` (null: nothing but the
 * frame) to `after`, ordered so every reference resolves inside the
 * transaction: new sets and chains first, then elements, then chain bodies,
 * then the port maps, then what is gone.
 */
export function transition(before: AppliedFirewall | null, after: AppliedFirewall): string[] {
  const lines: string[] = [];
  const oldSets = before?.plan.sets ?? new Map<string, string[]>();
  const oldChains = before?.plan.chains ?? new Map<string, PlanRule[]>();

  for (const name of after.plan.sets.keys()) {
    if (!oldSets.has(name)) lines.push(`add set ${table} ${name} { type ipv4_addr; flags interval; }`);
  }
  for (const name of after.plan.chains.keys()) {
    if (!oldChains.has(name)) lines.push(`add chain ${table} ${name}`);
  }
  for (const [name, members] of after.plan.sets) {
    const had = new Set(oldSets.get(name) ?? []);
    const has = new Set(members);
    const removed = [...had].filter((member) => !has.has(member));
    const added = members.filter((member) => !had.has(member));
    if (removed.length > 0) lines.push(`delete element ${table} ${name} ${elements(removed)}`);
    if (added.length > 0) lines.push(`add element ${table} ${name} ${elements(added)}`);
  }
  for (const [name, rules] of after.plan.chains) {
    const rendered = rules.map(renderRule);
    const previous = oldChains.get(name);
    if (previous && previous.map(renderRule).join('\n') === rendered.join('\n')) continue;
    if (previous) lines.push(`flush chain ${table} ${name}`);
    for (const rule of rendered) lines.push(`add rule ${table} ${name} ${rule}`);
  }
  for (const direction of ['egress', 'ingress'] as const) {
    const map = `${direction}_ports`;
    const had = before ? portElements(direction, before) : new Map<string, string>();
    const has = portElements(direction, after);
    for (const [port, chain] of had) {
      if (has.get(port) !== chain) lines.push(`delete element ${table} ${map} { ${quote(port)} }`);
    }
    for (const [port, chain] of has) {
      if (had.get(port) !== chain) lines.push(`add element ${table} ${map} { ${quote(port)} : jump ${chain} }`);
    }
  }
  // Chains may jump to each other: empty every chain that goes before deleting any.
  const goneChains = [...oldChains.keys()].filter((name) => !after.plan.chains.has(name));
  for (const name of goneChains) lines.push(`flush chain ${table} ${name}`);
  for (const name of goneChains) lines.push(`delete chain ${table} ${name}`);
  for (const name of oldSets.keys()) {
    if (!after.plan.sets.has(name)) lines.push(`delete set ${table} ${name}`);
  }
  return lines;
}
