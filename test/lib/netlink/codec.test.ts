import { describe, expect, it } from 'vitest';
import { decode, describeErrno, encode, linkByName, requestFor } from '../../../lib/netlink/codec.ts';

/** The attributes of a message body after its fixed part: [type, payload] in order. */
function attributes(body: Uint8Array, fixed: number): Array<[number, Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = fixed;
  while (offset + 4 <= body.byteLength) {
    const length = view.getUint16(offset, true);
    out.push([view.getUint16(offset + 2, true), body.slice(offset + 4, offset + length)]);
    offset += (length + 3) & ~3;
  }
  return out;
}
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const u32 = (bytes: Uint8Array): number => new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);

describe('rtnetlink encoding', () => {
  it('frames a request: length, type, flags, sequence', () => {
    const message = encode(linkByName('eth0'), 7);
    const view = new DataView(message.buffer);
    expect(view.getUint32(0, true)).toBe(message.byteLength);
    expect(view.getUint16(4, true)).toBe(18); // RTM_GETLINK
    expect(view.getUint16(6, true)).toBe(1); // NLM_F_REQUEST, no ack: the answer is the link
    expect(view.getUint32(8, true)).toBe(7);
    expect(attributes(message.slice(16), 16)).toEqual([[3, new TextEncoder().encode('eth0\0')]]);
  });

  it('builds a veth with its peer born in another namespace', () => {
    const request = requestFor(
      { kind: 'veth-add', name: 'eth0', mtu: 9001, mac: '02:00:00:00:00:01', peer: { name: 'vpc1234', mtu: 9001, mac: '02:00:00:00:00:02', netns: '/proc/1/ns/net' } },
      { peerNamespaceFd: 42 },
    );
    expect(request.type).toBe(16); // RTM_NEWLINK
    expect(request.flags).toBe(0x1 | 0x4 | 0x400 | 0x200); // request, ack, create, exclusive: an existing name fails
    const [name, mtu, mac, linkInfo] = attributes(request.body, 16);
    expect(text(name![1])).toBe('eth0\0');
    expect(u32(mtu![1])).toBe(9001);
    expect([...mac![1]]).toEqual([2, 0, 0, 0, 0, 1]);
    expect(linkInfo![0]).toBe(18); // IFLA_LINKINFO
    const [kind, data] = attributes(linkInfo![1], 0);
    expect(text(kind![1])).toBe('veth\0');
    const [peer] = attributes(data![1], 0);
    expect(peer![0]).toBe(1); // VETH_INFO_PEER: an ifinfomsg, then the peer's attributes
    const peerAttributes = attributes(peer![1], 16);
    expect(peerAttributes.map(([type]) => type)).toEqual([3, 4, 1, 28]);
    expect(text(peerAttributes[0]![1])).toBe('vpc1234\0');
    expect(u32(peerAttributes[3]![1])).toBe(42); // IFLA_NET_NS_FD
  });

  it('puts addresses in network order and the device index in the fixed part', () => {
    const request = requestFor({ kind: 'address-add', dev: 'eth0', cidr: '10.0.1.2/32' }, { index: 5 });
    expect([...request.body.slice(0, 8)]).toEqual([2, 32, 0, 0, 5, 0, 0, 0]);
    expect(attributes(request.body, 8).map(([type, payload]) => [type, [...payload]])).toEqual([
      [2, [10, 0, 1, 2]],
      [1, [10, 0, 1, 2]],
    ]);
  });

  it('routes: a default via the gateway, and a scope link host route, both in main', () => {
    const viaGateway = requestFor({ kind: 'route-add', dst: 'default', via: '169.254.1.1', dev: 'eth0' }, { index: 2 });
    expect([...viaGateway.body.slice(0, 8)]).toEqual([2, 0, 0, 0, 254, 3, 0, 1]);
    expect(attributes(viaGateway.body, 12).map(([type]) => type)).toEqual([5, 4]);
    const direct = requestFor({ kind: 'route-add', dst: '10.0.1.2/32', dev: 'vpc1', scope: 'link' }, { index: 9 });
    expect([...direct.body.slice(0, 8)]).toEqual([2, 32, 0, 0, 254, 3, 253, 1]);
    expect(attributes(direct.body, 12).map(([type, payload]) => [type, type === 4 ? u32(payload) : [...payload]])).toEqual([
      [1, [10, 0, 1, 2]],
      [4, 9],
    ]);
  });

  it('rules: add names its table and priority; delete matches address and priority only', () => {
    const add = requestFor({ kind: 'rule-add', match: 'from', cidr: '10.0.1.2/32', table: 3, priority: 1536 });
    expect([...add.body.slice(0, 8)]).toEqual([2, 0, 32, 0, 3, 0, 0, 1]);
    expect(attributes(add.body, 12).map(([type, payload]) => [type, type === 2 ? [...payload] : u32(payload)])).toEqual([
      [2, [10, 0, 1, 2]],
      [6, 1536],
      [15, 3],
    ]);
    const del = requestFor({ kind: 'rule-del', match: 'to', cidr: '10.0.1.2/32', priority: 512 });
    expect(del.type).toBe(33);
    expect([...del.body.slice(0, 8)]).toEqual([2, 32, 0, 0, 0, 0, 0, 0]);
  });

  it('a permanent neighbour with its MAC', () => {
    const request = requestFor({ kind: 'neigh-add', dst: '169.254.1.1', lladdr: '02:aa:bb:cc:dd:ee', dev: 'eth0' }, { index: 2 });
    expect(new DataView(request.body.buffer).getUint16(8, true)).toBe(0x80);
    expect(attributes(request.body, 12).map(([, payload]) => [...payload])).toEqual([
      [169, 254, 1, 1],
      [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee],
    ]);
  });

  it('refuses what it cannot encode, naming it', () => {
    expect(() => requestFor({ kind: 'neigh-add', dst: '169.254.1.1', lladdr: 'zz', dev: 'eth0' }, { index: 2 })).toThrow(/invalid MAC address "zz"/);
    expect(() => requestFor({ kind: 'address-add', dev: 'eth0', cidr: '10.0.0.1/33' }, { index: 2 })).toThrow(/invalid prefix length/);
    expect(() => requestFor({ kind: 'address-add', dev: 'eth0', cidr: '10.0.0.1/32' })).toThrow(/index was not resolved/);
  });
});

describe('rtnetlink answers', () => {
  function message(type: number, seq: number, payload: number[]): number[] {
    const bytes = new Uint8Array(16 + payload.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, bytes.byteLength, true);
    view.setUint16(4, type, true);
    view.setUint32(8, seq, true);
    bytes.set(payload, 16);
    return [...bytes];
  }
  const int32 = (value: number): number[] => [...new Uint8Array(Int32Array.of(value).buffer)];

  it('splits acks, errors and a link into messages', () => {
    const buffer = Uint8Array.from([
      ...message(2, 1, int32(0)),
      ...message(2, 2, int32(-17)),
      ...message(16, 3, [0, 0, 1, 0, ...int32(12), 0, 0, 0, 0, 0, 0, 0, 0]),
      0, 0, 0, 0, // trailing bytes shorter than a header are ignored
    ]);
    expect(decode(buffer, buffer.byteLength)).toEqual([
      { type: 2, seq: 1, errno: 0 },
      { type: 2, seq: 2, errno: 17 },
      { type: 16, seq: 3, index: 12 },
    ]);
  });

  it("words errors as ip prints them, so the same tolerance patterns apply", () => {
    expect(describeErrno(17)).toBe('File exists');
    expect(describeErrno(19)).toBe('No such device');
    expect(describeErrno(2)).toBe('No such file or directory');
    expect(describeErrno(4242)).toBe('errno 4242');
  });
});
