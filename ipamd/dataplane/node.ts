import { readFileSync, writeFileSync } from 'node:fs';
import { ipToNumber, parseCidr } from '../../lib/ipv4.ts';
import type { NodeNetworkSpec } from './types.ts';
import { run, nftApply } from '../../lib/command.ts';
import { alreadyGone, ipBatch, ipJson } from '../../lib/iproute.ts';
import { hostVethPrefix } from '../../wire/names.ts';
import { snatRulePriority } from './routing.ts';

/**
 * What a routed CNI needs from the node once per start: forwarding, loose
 * reverse-path filtering where pod traffic arrives asymmetrically, and SNAT
 * of pod traffic that leaves the VPC.
 *
 * SNAT lives in one dedicated nftables table (`ip vpc_cni`), replaced in a
 * single atomic `nft -f` transaction (declare, delete, recreate): running it
 * twice leaves exactly one table with one set of rules, and nothing outside
 * that table is ever touched (kube-proxy's iptables chains, iptables-nft or
 * legacy, live in other tables and hooks and are unaffected).
 *
 * Pod traffic leaving the VPC is recognised in prerouting (after DNAT, so a
 * Service address counts as its backend): it comes in on a pod veth, in the
 * original direction of its connection, to an address outside the no-SNAT
 * CIDRs. It gets a mark bit, which
 * - makes the rule `fwmark MARK lookup main` (priority 1024, before the
 *   per-pod `from POD lookup <ENI table>` rules at 1536) send it out of the
 *   primary interface even when the pod's address belongs to a secondary
 *   ENI: SNATed to the primary address, it must leave through the interface
 *   that owns that address or the VPC drops it;
 * - selects it for SNAT to the primary address on the primary interface.
 * Replies of connections opened from outside to a pod are not marked, so they
 * go back through the pod's own ENI, unSNATed. Except when the connection came
 * in through the node's primary interface to one of the node's own addresses
 * and was DNATed to the pod (a NodePort, a hostPort): its conntrack entry
 * carries the mark bit, which the pod's replies copy, so they leave through
 * the primary interface, where they are unDNATed to the node's address. Out of
 * a secondary ENI with the primary address as source, the VPC would drop them.
 * (AWS VPC CNI reaches the same with connmark rules in iptables and per-CIDR
 * `from POD to VPC` rules.)
 */

export const snatTableName = 'vpc_cni';
/** The mark bit of pod traffic leaving the VPC (AWS VPC CNI's default, clear of kube-proxy's 0x4000/0x8000). */
export const defaultSnatMark = 0x80;

export interface NodeOptions {
  /** nftables table (family ip) holding the SNAT rules. */
  tableName?: string;
  /** A single bit: pod traffic leaving the VPC. */
  mark?: number;
  /** Where sysctls live (tests may point elsewhere). */
  sysctlRoot?: string;
}

const interfaceName = /^[A-Za-z0-9_.@-]{1,15}$/;

export function validateNodeSpec(spec: NodeNetworkSpec): void {
  if (!interfaceName.test(spec.primaryInterface)) throw new Error(`invalid primary interface name ${JSON.stringify(spec.primaryInterface)}`);
  ipToNumber(spec.primaryIp);
  for (const cidr of spec.noSnatCidrs) parseCidr(cidr);
}

function markText(mark: number): string {
  if (!Number.isInteger(mark) || mark <= 0 || mark > 0xffffffff || (mark & (mark - 1)) !== 0) {
    throw new Error(`SNAT mark must be a single bit, got ${mark}`);
  }
  return `0x${mark.toString(16)}`;
}

/** The whole nft transaction: (re)creates the table atomically. */
export function snatRuleset(spec: NodeNetworkSpec, options: NodeOptions = {}): string {
  validateNodeSpec(spec);
  const table = options.tableName ?? snatTableName;
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(table)) throw new Error(`invalid nftables table name ${JSON.stringify(table)}`);
  const mark = markText(options.mark ?? defaultSnatMark);
  const elements = spec.noSnatCidrs.length > 0 ? [`    elements = { ${spec.noSnatCidrs.join(', ')} }`] : [];
  return [
    // Declaring first makes the delete valid on the first run; the three run as one transaction.
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    '  set no_snat {',
    '    type ipv4_addr',
    '    flags interval',
    '    auto-merge',
    ...elements,
    '  }',
    // Before DNAT: a connection that reaches the node through its primary interface (a NodePort, a hostPort).
    '  chain mark_primary_inbound {',
    '    type filter hook prerouting priority dstnat - 10; policy accept;',
    `    iifname "${spec.primaryInterface}" fib daddr type local ct state new ct mark set ct mark | ${mark}`,
    '  }',
    '  chain prerouting {',
    '    type filter hook prerouting priority dstnat + 10; policy accept;',
    `    iifname "${hostVethPrefix}*" ct direction original ip daddr != @no_snat meta mark set meta mark | ${mark}`,
    // The pod's replies to such a connection go back out of the primary interface, where they came in.
    `    iifname "${hostVethPrefix}*" ct direction reply ct mark & ${mark} == ${mark} meta mark set meta mark | ${mark}`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${spec.primaryInterface}" meta mark & ${mark} == ${mark} ip daddr != @no_snat snat to ${spec.primaryIp} fully-random`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The sysctls a routed CNI needs, as [path under /proc/sys, value]. */
export function nodeSysctls(spec: NodeNetworkSpec): Array<[string, string]> {
  return [
    ['net/ipv4/ip_forward', '1'],
    // Effective rp_filter is max(all, interface). Replies to SNATed pod
    // traffic arrive on the primary interface for a pod whose own `from`
    // rule points at another ENI's table: strict filtering would drop them.
    ['net/ipv4/conf/all/rp_filter', '2'],
    [`net/ipv4/conf/${spec.primaryInterface}/rp_filter`, '2'],
  ];
}

export function writeSysctl(root: string, path: string, value: string): void {
  const file = `${root}/${path}`;
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read sysctl ${path}: ${(err as Error).message}`);
  }
  if (current !== value) writeFileSync(file, value);
}

function fwmarkRule(mark: number): string[] {
  const text = markText(mark);
  return ['fwmark', `${text}/${text}`, 'lookup', 'main', 'priority', String(snatRulePriority)];
}

/** Whether the mark rule is there: asked first, so neither a restart's add nor a repeated clean-up's delete fails as a matter of course. */
async function hasFwmarkRule(mark: number): Promise<boolean> {
  const text = markText(mark);
  const rules = await ipJson<Array<{ priority: number; fwmark?: string; fwmask?: string; table?: string }>>([], ['-4', 'rule', 'show']);
  return rules.some((rule) => rule.priority === snatRulePriority && rule.fwmark === text && (rule.fwmask ?? text) === text && rule.table === 'main');
}

/** Sysctls, the SNAT table and the mark rule, in the namespace this process runs in. Idempotent. */
export async function prepareNode(spec: NodeNetworkSpec, options: NodeOptions = {}): Promise<void> {
  const ruleset = snatRuleset(spec, options);
  const root = options.sysctlRoot ?? '/proc/sys';
  for (const [path, value] of nodeSysctls(spec)) writeSysctl(root, path, value);
  const nft = await nftApply(ruleset);
  if (nft.code !== 0) throw new Error(`nft: cannot install the SNAT table: ${nft.stderr.trim()}`);
  const mark = options.mark ?? defaultSnatMark;
  if (!(await hasFwmarkRule(mark))) await ipBatch([['rule', 'add', ...fwmarkRule(mark)]]);
}

/** Undoes `prepareNode` except the sysctls (other software may rely on them). Idempotent. */
export async function cleanUpNode(options: NodeOptions = {}): Promise<void> {
  const table = options.tableName ?? snatTableName;
  const nft = await run('nft', ['delete', 'table', 'ip', table]);
  if (nft.code !== 0 && !alreadyGone.test(nft.stderr)) throw new Error(`nft: cannot delete table ${table}: ${nft.stderr.trim()}`);
  const mark = options.mark ?? defaultSnatMark;
  if (await hasFwmarkRule(mark)) await ipBatch([{ tokens: ['rule', 'del', ...fwmarkRule(mark)], tolerate: alreadyGone }]);
}
