import { ipToNumber } from '../ipv4.ts';
import { mainTable, tableNumber, type LinkOp } from './ops.ts';

/**
 * rtnetlink messages for the steps of ops.ts, as bytes (host order: the
 * kernel's, little-endian on x86-64), and the parsing of its answers. Pure:
 * no socket, so it is tested under Node; the helper sends what this builds.
 * Layouts from linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h,
 * neighbour.h, fib_rules.h and veth.h.
 */

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const RTM_NEWNEIGH = 28;
const RTM_NEWRULE = 32;
const RTM_DELRULE = 33;

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const create = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const change = NLM_F_REQUEST | NLM_F_ACK;

const AF_UNSPEC = 0;
const AF_INET = 2;
const IFF_UP = 0x1;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const NDA_DST = 1;
const NDA_LLADDR = 2;
const FRA_DST = 1;
const FRA_SRC = 2;
const FRA_PRIORITY = 6;
const FRA_TABLE = 15;

const RTPROT_BOOT = 3; // what `ip route add` records
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RTN_UNICAST = 1;
const NUD_PERMANENT = 0x80;
const FR_ACT_TO_TBL = 1;

const headerSize = 16;
const align = (n: number): number => (n + 3) & ~3;

/** A netlink attribute: its type and payload (nested attributes are payloads built the same way). */
type Attr = [type: number, payload: Uint8Array];

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return bytes;
}

function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

function ipv4(address: string): Uint8Array {
  return u32be(ipToNumber(address));
}

function u32be(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, false);
  return bytes;
}

function mac(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6 || parts.some((part) => !/^[0-9a-fA-F]{2}$/.test(part))) throw new Error(`invalid MAC address ${JSON.stringify(text)}`);
  return Uint8Array.from(parts.map((part) => parseInt(part, 16)));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + align(part.byteLength), 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += align(part.byteLength);
  }
  return out;
}

function attrs(list: Attr[]): Uint8Array {
  return concat(
    list.map(([type, payload]) => {
      const attr = new Uint8Array(4 + payload.byteLength);
      const view = new DataView(attr.buffer);
      view.setUint16(0, 4 + payload.byteLength, true);
      view.setUint16(2, type, true);
      attr.set(payload, 4);
      return attr;
    }),
  );
}

function ifinfomsg(index: number, flags = 0, changeMask = 0): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  bytes[0] = AF_UNSPEC;
  view.setInt32(4, index, true);
  view.setUint32(8, flags, true);
  view.setUint32(12, changeMask, true);
  return bytes;
}

function ifaddrmsg(prefixLength: number, index: number): Uint8Array {
  const bytes = new Uint8Array(8);
  bytes[0] = AF_INET;
  bytes[1] = prefixLength;
  bytes[3] = RT_SCOPE_UNIVERSE;
  new DataView(bytes.buffer).setUint32(4, index, true);
  return bytes;
}

function rtmsg(dstLength: number, scope: number): Uint8Array {
  return Uint8Array.of(AF_INET, dstLength, 0, 0, mainTable, RTPROT_BOOT, scope, RTN_UNICAST, 0, 0, 0, 0);
}

function ndmsg(index: number): Uint8Array {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  bytes[0] = AF_INET;
  view.setInt32(4, index, true);
  view.setUint16(8, NUD_PERMANENT, true);
  return bytes;
}

function fibRuleHeader(match: 'to' | 'from', table: number, action: number): Uint8Array {
  return Uint8Array.of(AF_INET, match === 'to' ? 32 : 0, match === 'from' ? 32 : 0, 0, table < 256 ? table : 0, 0, 0, action, 0, 0, 0, 0);
}

/** One request: header (length and sequence filled in), fixed part, attributes. */
export interface Request {
  type: number;
  flags: number;
  body: Uint8Array;
}

export function encode(request: Request, seq: number): Uint8Array {
  const message = new Uint8Array(headerSize + request.body.byteLength);
  const view = new DataView(message.buffer);
  view.setUint32(0, message.byteLength, true);
  view.setUint16(4, request.type, true);
  view.setUint16(6, request.flags, true);
  view.setUint32(8, seq, true);
  message.set(request.body, headerSize);
  return message;
}

function splitCidr(cidr: string): { address: string; length: number } {
  const [address = '', length = '32'] = cidr.split('/');
  const prefix = Number(length);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`invalid prefix length in ${JSON.stringify(cidr)}`);
  return { address, length: prefix };
}

/** The request that finds a link's index by name (RTM_GETLINK). */
export function linkByName(name: string): Request {
  return { type: RTM_GETLINK, flags: NLM_F_REQUEST, body: concat([ifinfomsg(0), attrs([[IFLA_IFNAME, cString(name)]])]) };
}

/** What a step needs besides itself: the index of its device, and for a veth the open peer namespace. */
export interface Resolved {
  index?: number;
  peerNamespaceFd?: number;
}

/** The request that carries out one step. */
export function requestFor(op: LinkOp, resolved: Resolved = {}): Request {
  const index = (): number => {
    if (resolved.index === undefined) throw new Error(`${op.kind}: the device's index was not resolved`);
    return resolved.index;
  };
  switch (op.kind) {
    case 'veth-add': {
      if (resolved.peerNamespaceFd === undefined) throw new Error('veth-add: the peer namespace was not opened');
      const peer = concat([
        ifinfomsg(0),
        attrs([
          [IFLA_IFNAME, cString(op.peer.name)],
          [IFLA_MTU, u32(op.peer.mtu)],
          [IFLA_ADDRESS, mac(op.peer.mac)],
          [IFLA_NET_NS_FD, u32(resolved.peerNamespaceFd)],
        ]),
      ]);
      const linkInfo = attrs([
        [IFLA_INFO_KIND, cString('veth')],
        [IFLA_INFO_DATA, attrs([[VETH_INFO_PEER, peer]])],
      ]);
      const body = concat([
        ifinfomsg(0),
        attrs([
          [IFLA_IFNAME, cString(op.name)],
          [IFLA_MTU, u32(op.mtu)],
          [IFLA_ADDRESS, mac(op.mac)],
          [IFLA_LINKINFO, linkInfo],
        ]),
      ]);
      return { type: RTM_NEWLINK, flags: create, body };
    }
    case 'link-up':
      return { type: RTM_NEWLINK, flags: change, body: concat([ifinfomsg(0, IFF_UP, IFF_UP), attrs([[IFLA_IFNAME, cString(op.dev)]])]) };
    case 'link-del':
      return { type: RTM_DELLINK, flags: change, body: concat([ifinfomsg(0), attrs([[IFLA_IFNAME, cString(op.dev)]])]) };
    case 'address-add': {
      const { address, length } = splitCidr(op.cidr);
      return {
        type: RTM_NEWADDR,
        flags: create,
        body: concat([ifaddrmsg(length, index()), attrs([[IFA_LOCAL, ipv4(address)], [IFA_ADDRESS, ipv4(address)]])]),
      };
    }
    case 'route-add': {
      const { address, length } = op.dst === 'default' ? { address: '0.0.0.0', length: 0 } : splitCidr(op.dst);
      const list: Attr[] = [];
      if (length > 0) list.push([RTA_DST, ipv4(address)]);
      if (op.via) list.push([RTA_GATEWAY, ipv4(op.via)]);
      list.push([RTA_OIF, u32(index())]);
      return { type: RTM_NEWROUTE, flags: create, body: concat([rtmsg(length, op.scope === 'link' ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE), attrs(list)]) };
    }
    case 'neigh-add':
      return {
        type: RTM_NEWNEIGH,
        flags: create,
        body: concat([ndmsg(index()), attrs([[NDA_DST, ipv4(op.dst)], [NDA_LLADDR, mac(op.lladdr)]])]),
      };
    case 'rule-add': {
      const table = tableNumber(op.table);
      const { address } = splitCidr(op.cidr);
      return {
        type: RTM_NEWRULE,
        flags: create,
        body: concat([
          fibRuleHeader(op.match, table, FR_ACT_TO_TBL),
          attrs([
            [op.match === 'to' ? FRA_DST : FRA_SRC, ipv4(address)],
            [FRA_PRIORITY, u32(op.priority)],
            [FRA_TABLE, u32(table)],
          ]),
        ]),
      };
    }
    case 'rule-del': {
      const { address } = splitCidr(op.cidr);
      return {
        type: RTM_DELRULE,
        flags: change,
        body: concat([fibRuleHeader(op.match, 0, 0), attrs([[op.match === 'to' ? FRA_DST : FRA_SRC, ipv4(address)], [FRA_PRIORITY, u32(op.priority)]])]),
      };
    }
  }
}

/** Which device a step names, when the kernel wants its index rather than its name. */
export function deviceToResolve(op: LinkOp): string | undefined {
  return op.kind === 'address-add' || op.kind === 'route-add' || op.kind === 'neigh-add' ? op.dev : undefined;
}

/** One message of an answer. */
export interface Answer {
  type: number;
  seq: number;
  /** NLMSG_ERROR: 0 for an acknowledgement, else the (positive) errno. */
  errno?: number;
  /** For RTM_NEWLINK: the link's index. */
  index?: number;
}

/** Splits what one recv returned into its messages. */
export function decode(buffer: Uint8Array, length: number): Answer[] {
  const view = new DataView(buffer.buffer, buffer.byteOffset, length);
  const answers: Answer[] = [];
  let offset = 0;
  while (offset + headerSize <= length) {
    const size = view.getUint32(offset, true);
    if (size < headerSize || offset + size > length) break;
    const type = view.getUint16(offset + 4, true);
    const seq = view.getUint32(offset + 8, true);
    const answer: Answer = { type, seq };
    if (type === NLMSG_ERROR && size >= headerSize + 4) answer.errno = 0 - view.getInt32(offset + headerSize, true); // an ack is +0, not -0
    if (type === RTM_NEWLINK && size >= headerSize + 16) answer.index = view.getInt32(offset + headerSize + 4, true);
    answers.push(answer);
    offset += align(size);
  }
  return answers;
}

/** The kernel's words for the errors these steps meet, as `ip` prints them (the tolerance patterns of ops.ts match these). */
const errnoText: Record<number, string> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  12: 'Cannot allocate memory',
  16: 'Device or resource busy',
  17: 'File exists',
  19: 'No such device',
  22: 'Invalid argument',
  34: 'Numerical result out of range',
  95: 'Operation not supported',
  99: 'Cannot assign requested address',
  101: 'Network is unreachable',
  105: 'No buffer space available',
};

export function describeErrno(errno: number): string {
  return errnoText[errno] ?? `errno ${errno}`;
}
