import type { BatchLine } from '../iproute.ts';
import { alreadyGone, alreadyThere } from '../iproute.ts';

/**
 * The few link, address, route, neighbour and rule changes a pod ADD and DEL
 * make, as data. Two executors run them with the same outcome: the netlink
 * helper (in-process rtnetlink, no exec per pod) and `ip -batch` (the
 * fallback, and the reference the helper's tests compare against).
 *
 * Addresses are IPv4 dotted quads, `cidr` is `a.b.c.d/len`, MACs are
 * `xx:xx:xx:xx:xx:xx`, a namespace is a path (`/proc/PID/ns/net`, CNI_NETNS).
 */
export type LinkOp =
  /** A veth pair: this end here, the peer born in `peer.netns`. */
  | { kind: 'veth-add'; name: string; mtu: number; mac: string; peer: { name: string; mtu: number; mac: string; netns: string } }
  | { kind: 'address-add'; dev: string; cidr: string }
  | { kind: 'link-up'; dev: string }
  | { kind: 'link-del'; dev: string }
  /** In the main table. `via` absent: a direct route (scope link when asked). */
  | { kind: 'route-add'; dst: string | 'default'; dev: string; via?: string; scope?: 'link' }
  /** A permanent neighbour entry. */
  | { kind: 'neigh-add'; dst: string; lladdr: string; dev: string }
  | { kind: 'rule-add'; match: 'to' | 'from'; cidr: string; table: number | 'main'; priority: number }
  | { kind: 'rule-del'; match: 'to' | 'from'; cidr: string; priority: number };

/**
 * One step of a batch. `tolerate`: the failure that is not an error (adding
 * what is there, deleting what is gone). As with `ip -batch`, a batch with no
 * tolerating line stops at its first failure; one with such a line carries on
 * past every failure and reports them all.
 */
export interface OpLine {
  op: LinkOp;
  tolerate?: 'exists' | 'gone';
}

export const mainTable = 254;

export function tableNumber(table: number | 'main'): number {
  return table === 'main' ? mainTable : table;
}

/** The same step as an `ip -batch` line. */
export function ipBatchLine(line: OpLine): BatchLine {
  const tolerate = line.tolerate === 'exists' ? alreadyThere : line.tolerate === 'gone' ? alreadyGone : undefined;
  return tolerate ? { tokens: ipTokens(line.op), tolerate } : { tokens: ipTokens(line.op) };
}

export function ipTokens(op: LinkOp): string[] {
  switch (op.kind) {
    case 'veth-add':
      return ['link', 'add', op.name, 'mtu', String(op.mtu), 'address', op.mac, 'type', 'veth'].concat(
        ['peer', 'name', op.peer.name, 'mtu', String(op.peer.mtu), 'address', op.peer.mac, 'netns', op.peer.netns],
      );
    case 'address-add':
      return ['address', 'add', op.cidr, 'dev', op.dev];
    case 'link-up':
      return ['link', 'set', op.dev, 'up'];
    case 'link-del':
      return ['link', 'del', 'dev', op.dev];
    case 'route-add':
      return ['route', 'add', op.dst, ...(op.via ? ['via', op.via] : []), 'dev', op.dev, ...(op.scope ? ['scope', op.scope] : [])];
    case 'neigh-add':
      return ['neigh', 'add', op.dst, 'lladdr', op.lladdr, 'dev', op.dev, 'nud', 'permanent'];
    case 'rule-add':
      return ['rule', 'add', op.match, op.cidr, 'lookup', String(op.table), 'priority', String(op.priority)];
    case 'rule-del':
      return ['rule', 'del', op.match, op.cidr, 'priority', String(op.priority)];
  }
}

/** Whether a failure message is the one a line tolerates (the same test for both executors). */
export function isTolerated(line: OpLine | undefined, message: string): boolean {
  if (line?.tolerate === 'exists') return alreadyThere.test(message);
  if (line?.tolerate === 'gone') return alreadyGone.test(message);
  return false;
}
