import { cidrContains } from '../../../lib/ipv4.ts';
import type { AddressMatch, FirewallPlan, PlanMatch } from './firewall-plan.ts';

/**
 * Runs a firewall plan on one new flow in memory, as the fabric's nftables
 * would: the sender's outbound chain, then the receiver's inbound chain; an
 * interface without a chain lets everything through. For tests of each
 * cloud's semantics without namespaces, and for the state endpoint.
 */
export interface Flow {
  src: string;
  dst: string;
  protocol: 'tcp' | 'udp' | 'icmp';
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  /** The interfaces the flow leaves and enters by (absent: outside the VPC). */
  from?: string;
  to?: string;
}

function inAddress(plan: FirewallPlan, match: AddressMatch, ip: string): boolean {
  const elements = [...(match.cidrs ?? []), ...(match.set ? (plan.sets.get(match.set) ?? []) : [])];
  const hit = elements.some((element) => (element.includes('/') ? cidrContains(element, ip) : element === ip));
  return match.negate ? !hit : hit;
}

function inRanges(ranges: PlanMatch['dport'], port: number | undefined): boolean {
  if (!ranges) return true;
  if (port === undefined) return false;
  return ranges.some((range) => port >= range.from && port <= range.to);
}

function matches(plan: FirewallPlan, match: PlanMatch, flow: Flow): boolean {
  if (match.protocol && match.protocol !== flow.protocol) return false;
  if (match.saddr && !inAddress(plan, match.saddr, flow.src)) return false;
  if (match.daddr && !inAddress(plan, match.daddr, flow.dst)) return false;
  if (!inRanges(match.sport, flow.sport) || !inRanges(match.dport, flow.dport)) return false;
  if (match.icmpType !== undefined && match.icmpType !== flow.icmpType) return false;
  if (match.icmpCode !== undefined && match.icmpCode !== flow.icmpCode) return false;
  return true;
}

type Outcome = 'accept' | 'drop' | 'fallthrough';

function runChain(plan: FirewallPlan, name: string, flow: Flow, depth = 0): Outcome {
  if (depth > 16) throw new Error(`firewall plan: chain ${name} nests too deep`);
  const rules = plan.chains.get(name);
  if (!rules) throw new Error(`firewall plan: no chain ${name}`);
  for (const rule of rules) {
    if (!matches(plan, rule.match, flow)) continue;
    const verdict = rule.verdict;
    if (verdict.kind === 'accept' || verdict.kind === 'drop') return verdict.kind;
    if (verdict.kind === 'return') return 'fallthrough';
    const inner = runChain(plan, verdict.chain, flow, depth + 1);
    if (inner !== 'fallthrough') return inner;
  }
  return 'fallthrough';
}

/** Whether a new flow gets through (replies of an allowed flow always do). */
export function allows(plan: FirewallPlan, flow: Flow): boolean {
  const out = flow.from ? plan.egress.get(flow.from) : undefined;
  if (out && runChain(plan, out, flow) === 'drop') return false;
  const into = flow.to ? plan.ingress.get(flow.to) : undefined;
  if (into && runChain(plan, into, flow) === 'drop') return false;
  return true;
}
