import { describe, expect, it } from 'vitest';
import type { Answer } from '../../../lib/netlink/codec.ts';
import { executeOps, type NetlinkSystem } from '../../../lib/netlink/execute.ts';
import { ipBatchLine, type OpLine } from '../../../lib/netlink/ops.ts';

/** A kernel that knows a few links by name and fails the message types it is told to. */
class FakeKernel implements NetlinkSystem {
  readonly sent: number[] = [];
  readonly opened: string[] = [];
  readonly closed: number[] = [];
  constructor(
    private readonly links: Record<string, number>,
    private readonly failing: Record<number, number> = {},
  ) {}

  exchange(message: Uint8Array, seq: number): Answer[] {
    const type = new DataView(message.buffer).getUint16(4, true);
    this.sent.push(type);
    if (type === 18) {
      const name = new TextDecoder().decode(message.slice(36, message.byteLength)).replace(/\0.*$/s, '');
      const index = this.links[name];
      return index === undefined ? [{ type: 2, seq, errno: 19 }] : [{ type: 16, seq, index }];
    }
    return [{ type: 2, seq, errno: this.failing[type] ?? 0 }];
  }

  openNamespace(path: string): number {
    if (path === '/missing') throw new Error('open /missing: No such file or directory');
    this.opened.push(path);
    return 99;
  }

  close(fd: number): void {
    this.closed.push(fd);
  }
}

const podLines: OpLine[] = [
  { op: { kind: 'veth-add', name: 'eth0', mtu: 9001, mac: '02:00:00:00:00:01', peer: { name: 'vpc1', mtu: 9001, mac: '02:00:00:00:00:02', netns: '/proc/1/ns/net' } } },
  { op: { kind: 'address-add', dev: 'eth0', cidr: '10.0.1.2/32' } },
  { op: { kind: 'link-up', dev: 'eth0' } },
  { op: { kind: 'route-add', dst: '169.254.1.1', dev: 'eth0', scope: 'link' } },
  { op: { kind: 'route-add', dst: 'default', via: '169.254.1.1', dev: 'eth0' } },
];

describe('executeOps', () => {
  it('runs every line, looks a device up once, and closes the peer namespace it opened', () => {
    const kernel = new FakeKernel({ eth0: 2 });
    expect(executeOps(podLines, kernel)).toEqual(new Map());
    // veth, getlink once, addr, link up (by name), two routes.
    expect(kernel.sent).toEqual([16, 18, 20, 16, 24, 24]);
    expect(kernel.opened).toEqual(['/proc/1/ns/net']);
    expect(kernel.closed).toEqual([99]);
  });

  it('without a tolerating line, stops at the first failure, with ip\'s words', () => {
    const kernel = new FakeKernel({ eth0: 2 }, { 20: 17 });
    expect(executeOps(podLines, kernel)).toEqual(new Map([[2, 'RTNETLINK answers: File exists']]));
    expect(kernel.sent).toEqual([16, 18, 20]);
  });

  it('with a tolerating line, carries on past every failure and reports them all', () => {
    const lines: OpLine[] = [
      { op: { kind: 'rule-del', match: 'to', cidr: '10.0.1.2/32', priority: 512 }, tolerate: 'gone' },
      { op: { kind: 'link-del', dev: 'vpc1' }, tolerate: 'gone' },
      { op: { kind: 'address-add', dev: 'nope', cidr: '10.0.1.2/32' } },
    ];
    const kernel = new FakeKernel({}, { 33: 2, 17: 19 });
    expect(executeOps(lines, kernel)).toEqual(
      new Map([
        [1, 'RTNETLINK answers: No such file or directory'],
        [2, 'RTNETLINK answers: No such device'],
        [3, 'Cannot find device "nope"'],
      ]),
    );
  });

  it('a peer namespace that will not open fails its line and runs nothing after it', () => {
    const lines: OpLine[] = [{ op: { ...(podLines[0]!.op as Extract<OpLine['op'], { kind: 'veth-add' }>), peer: { name: 'vpc1', mtu: 9001, mac: '02:00:00:00:00:02', netns: '/missing' } } }, podLines[1]!];
    const kernel = new FakeKernel({ eth0: 2 });
    expect(executeOps(lines, kernel)).toEqual(new Map([[1, 'Cannot open network namespace "/missing": open /missing: No such file or directory']]));
    expect(kernel.sent).toEqual([]);
  });

  it('a step it cannot encode fails its line, and nothing after it runs even in a tolerating batch', () => {
    const lines: OpLine[] = [
      { op: { kind: 'neigh-add', dst: '169.254.1.1', lladdr: 'not-a-mac', dev: 'eth0' } },
      { op: { kind: 'link-del', dev: 'vpc1' }, tolerate: 'gone' },
    ];
    expect(executeOps(lines, new FakeKernel({ eth0: 2 }))).toEqual(new Map([[1, 'invalid MAC address "not-a-mac"']]));
  });
});

describe('the same steps for ip -batch', () => {
  it('renders each step as the ip line it replaces, with the tolerance patterns', () => {
    expect(podLines.map((line) => ipBatchLine(line).tokens.join(' '))).toEqual([
      'link add eth0 mtu 9001 address 02:00:00:00:00:01 type veth peer name vpc1 mtu 9001 address 02:00:00:00:00:02 netns /proc/1/ns/net',
      'address add 10.0.1.2/32 dev eth0',
      'link set eth0 up',
      'route add 169.254.1.1 dev eth0 scope link',
      'route add default via 169.254.1.1 dev eth0',
    ]);
    const rule = ipBatchLine({ op: { kind: 'rule-add', match: 'to', cidr: '10.0.1.2/32', table: 'main', priority: 512 }, tolerate: 'exists' });
    expect(rule.tokens.join(' ')).toBe('rule add to 10.0.1.2/32 lookup main priority 512');
    expect(rule.tolerate?.test('RTNETLINK answers: File exists')).toBe(true);
    const gone = ipBatchLine({ op: { kind: 'link-del', dev: 'vpc1' }, tolerate: 'gone' });
    expect(['Cannot find device "vpc1"', 'RTNETLINK answers: No such device'].every((message) => gone.tolerate?.test(message))).toBe(true);
  });
});
