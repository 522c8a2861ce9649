import { Address4 } from 'ip-address';
import { ruleInput } from '../../model/security-limits.ts';
import type { Direction, Peer, Protocol, RuleInput, SecurityRule } from '../../model/security-types.ts';
import { ownerId } from './handler.ts';
import { QueryError, type QueryParams } from './query.ts';
import type { XmlObject } from './xml.ts';

/**
 * EC2's IpPermission in the model's terms, both ways. A request's
 * `IpPermissions.N` (protocol, ports, then CIDRs in `IpRanges.M` and groups in
 * `Groups.M`) becomes one model rule per CIDR and per group, as EC2 gives each
 * its own sgr- id; an EC2 rule always allows, has no priority and applies to
 * the whole interface (local `any`). Rules go back out either grouped into
 * IpPermissions (DescribeSecurityGroups) or one by one (SecurityGroupRule).
 */

/** What makes a rule's traffic: the part of an IpPermission shared by its ranges and groups. */
interface TrafficSpec {
  protocol: Protocol;
  ports: RuleInput['ports'];
  icmpType: number;
  icmpCode: number;
}

/** Protocol numbers EC2 accepts in place of names (https://www.iana.org/assignments/protocol-numbers). */
const protocolNumbers: Readonly<Record<string, Protocol>> = { '-1': 'all', '1': 'icmp', '6': 'tcp', '17': 'udp' };

function parseProtocol(raw: string): Protocol {
  const name = raw.toLowerCase();
  if (name === 'tcp' || name === 'udp' || name === 'icmp') return name;
  const byNumber = protocolNumbers[name];
  if (byNumber) return byNumber;
  if (/^\d+$/.test(name) && Number(name) <= 255) {
    // A real protocol EC2 accepts (GRE, ESP, icmpv6, ...) that the emulated VPC cannot filter.
    throw new QueryError('InvalidParameterValue', `Invalid value '${raw}' for IP protocol. The emulator filters tcp (6), udp (17), icmp (1) and -1 only.`);
  }
  throw new QueryError('InvalidParameterValue', `Invalid value '${raw}' for IP protocol. Unknown protocol.`);
}

function portNumber(params: QueryParams, name: string): number | undefined {
  const raw = params.optional(name);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) throw new QueryError('InvalidParameterValue', `Value (${raw}) for parameter ${name} is invalid. Expected an integer.`);
  return Number(raw);
}

/** Protocol, ports and ICMP type/code of one permission, validated as EC2 documents them. */
function parseTraffic(params: QueryParams, prefix: string): TrafficSpec {
  const rawProtocol = params.optional(`${prefix}IpProtocol`);
  if (rawProtocol === undefined || rawProtocol === '') throw new QueryError('InvalidPermission.Malformed', `The permission ${prefix.replace(/\.$/, '')} has no IpProtocol`);
  const protocol = parseProtocol(rawProtocol);
  const from = portNumber(params, `${prefix}FromPort`);
  const to = portNumber(params, `${prefix}ToPort`);
  // -1: every protocol and port, whatever ports were given (API_IpPermission).
  if (protocol === 'all') return { protocol, ports: null, icmpType: -1, icmpCode: -1 };
  if (protocol === 'icmp') {
    // For ICMP, FromPort is the type and ToPort the code; -1 is any.
    const icmpType = from ?? -1;
    const icmpCode = to ?? -1;
    if (icmpType < -1 || icmpType > 255 || icmpCode < -1 || icmpCode > 255) throw new QueryError('InvalidParameterValue', `Invalid ICMP type ${icmpType} or code ${icmpCode}`);
    if (icmpType === -1 && icmpCode !== -1) throw new QueryError('InvalidParameterValue', `Invalid ICMP code ${icmpCode}: with any type (-1) the code must be -1`);
    return { protocol, ports: null, icmpType, icmpCode };
  }
  if (from === undefined || to === undefined) throw new QueryError('InvalidParameterValue', 'Invalid value for portRange. Must specify both from and to ports with TCP/UDP.');
  if (from < 0 || to > 65535 || from > to) throw new QueryError('InvalidParameterValue', `Invalid value '${from}-${to}' for portRange. Ports must be from 0 to 65535, from not above to.`);
  return { protocol, ports: [{ from, to }], icmpType: -1, icmpCode: -1 };
}

/** EC2 stores a CIDR in canonical form (100.68.0.18/18 becomes 100.68.0.0/18). */
function canonicalCidr(raw: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(raw) || !Address4.isValid(raw)) {
    throw new QueryError('InvalidParameterValue', `Value (${raw}) for parameter cidrIp is invalid. This is not a valid CIDR block.`);
  }
  const address = new Address4(raw);
  return `${address.startAddress().correctForm()}/${address.subnetMask}`;
}

/** `Name.N.Field` items of a list, in order, until the first index with none of `fields`. */
function listItems(params: QueryParams, name: string, fields: string[]): string[] {
  const prefixes: string[] = [];
  for (let i = 1; fields.some((field) => params.optional(`${name}.${i}.${field}`) !== undefined); i++) prefixes.push(`${name}.${i}.`);
  return prefixes;
}

/** A peer with the description its range or group pair carries. */
interface DescribedPeer {
  peer: Peer;
  description: string;
}

function parsePeers(params: QueryParams, prefix: string): DescribedPeer[] {
  const unsupported = ['Ipv6Ranges.1.CidrIpv6', 'PrefixListIds.1.PrefixListId'].find((name) => params.optional(`${prefix}${name}`) !== undefined);
  if (unsupported) throw new QueryError('InvalidParameterValue', `${prefix}${unsupported.split('.')[0]} is not supported: the emulated VPC is IPv4 only and has no prefix lists`);
  const peers: DescribedPeer[] = [];
  for (const item of listItems(params, `${prefix}IpRanges`, ['CidrIp', 'Description'])) {
    peers.push({ peer: { kind: 'cidr', cidr: canonicalCidr(params.required(`${item}CidrIp`)) }, description: params.optional(`${item}Description`) ?? '' });
  }
  // The SDK sends `Groups.N` (the member's query name); the API reference names the field UserIdGroupPairs.
  for (const list of ['Groups', 'UserIdGroupPairs']) {
    for (const item of listItems(params, `${prefix}${list}`, ['GroupId', 'GroupName', 'UserId', 'Description'])) {
      if (params.optional(`${item}GroupId`) === undefined && params.optional(`${item}GroupName`) !== undefined) {
        throw new QueryError('InvalidParameterValue', 'A group name identifies a group in a default VPC only: name the group by GroupId');
      }
      peers.push({ peer: { kind: 'group', groupId: params.required(`${item}GroupId`) }, description: params.optional(`${item}Description`) ?? '' });
    }
  }
  return peers;
}

/** The rules that `IpPermissions.N` (and, for ingress, the older top-level CidrIp form) asks for, one per CIDR and per group. */
export function parsePermissions(params: QueryParams, direction: Direction): RuleInput[] {
  const prefixes = listItems(params, 'IpPermissions', ['IpProtocol', 'FromPort', 'ToPort', 'IpRanges.1.CidrIp', 'Groups.1.GroupId', 'UserIdGroupPairs.1.GroupId']);
  const topLevel = ['IpProtocol', 'CidrIp', 'FromPort', 'ToPort', 'SourceSecurityGroupName'].filter((name) => params.optional(name) !== undefined);
  if (topLevel.length > 0) {
    if (direction === 'egress') throw new QueryError('InvalidParameterValue', `${topLevel[0]} is not supported for egress rules: use IpPermissions`);
    if (prefixes.length > 0) throw new QueryError('InvalidParameterCombination', 'The parameter IpPermissions cannot be used with CidrIp, IpProtocol, FromPort or ToPort');
    if (params.optional('SourceSecurityGroupName') !== undefined) throw new QueryError('InvalidParameterValue', 'SourceSecurityGroupName identifies a group in a default VPC only: use IpPermissions with a GroupId');
    const traffic = parseTraffic(params, '');
    return [ruleInput({ ...traffic, direction, action: 'allow', remote: [{ kind: 'cidr', cidr: canonicalCidr(params.required('CidrIp')) }] })];
  }
  if (prefixes.length === 0) throw new QueryError('MissingParameter', 'The request must contain the parameter IpPermissions');
  return prefixes.flatMap((prefix) => {
    const traffic = parseTraffic(params, prefix);
    const peers = parsePeers(params, prefix);
    if (peers.length === 0) throw new QueryError('InvalidPermission.Malformed', `The permission ${prefix.replace(/\.$/, '')} names no IpRanges and no Groups`);
    return peers.map(({ peer, description }) => ruleInput({ ...traffic, direction, action: 'allow', remote: [peer], description }));
  });
}

/** EC2's protocol name of a model rule. */
export function ipProtocol(rule: Pick<SecurityRule, 'protocol'>): string {
  return rule.protocol === 'all' ? '-1' : rule.protocol;
}

/** FromPort/ToPort as EC2 shows them: the port range, the ICMP type and code, or -1 for every protocol. */
function portFields(rule: SecurityRule): { fromPort: number; toPort: number } {
  if (rule.protocol === 'icmp') return { fromPort: rule.icmpType, toPort: rule.icmpCode };
  if (rule.protocol === 'all') return { fromPort: -1, toPort: -1 };
  const range = rule.ports?.[0];
  return range ? { fromPort: range.from, toPort: range.to } : { fromPort: 0, toPort: 65535 };
}

/** The one peer an EC2 rule names (the face writes one peer per rule; the model may hold more). */
function firstPeer(rule: SecurityRule): Peer {
  return rule.remote.find((peer) => peer.kind === 'cidr' || peer.kind === 'group') ?? { kind: 'cidr', cidr: '0.0.0.0/0' };
}

/** One SecurityGroupRule (DescribeSecurityGroupRules, AuthorizeSecurityGroup*). */
export function securityGroupRuleXml(groupId: string, rule: SecurityRule, arn: string): XmlObject {
  const peer = firstPeer(rule);
  return {
    securityGroupRuleId: rule.id,
    groupId,
    groupOwnerId: ownerId,
    isEgress: rule.direction === 'egress',
    ipProtocol: ipProtocol(rule),
    ...portFields(rule),
    cidrIpv4: peer.kind === 'cidr' ? peer.cidr : undefined,
    referencedGroupInfo: peer.kind === 'group' ? { groupId: peer.groupId, userId: ownerId } : undefined,
    description: rule.description || undefined,
    tagSet: [],
    securityGroupRuleArn: arn,
  };
}

/** One RevokedSecurityGroupRule (RevokeSecurityGroup*). */
export function revokedRuleXml(groupId: string, rule: SecurityRule): XmlObject {
  const peer = firstPeer(rule);
  return {
    securityGroupRuleId: rule.id,
    groupId,
    isEgress: rule.direction === 'egress',
    ipProtocol: ipProtocol(rule),
    ...portFields(rule),
    cidrIpv4: peer.kind === 'cidr' ? peer.cidr : undefined,
    referencedGroupId: peer.kind === 'group' ? peer.groupId : undefined,
    description: rule.description || undefined,
  };
}

/** A direction's rules as IpPermissions: rules of the same protocol and ports share one, with all their ranges and groups. */
export function ipPermissionsXml(rules: SecurityRule[]): XmlObject[] {
  const byTraffic = new Map<string, { rule: SecurityRule; peers: DescribedPeer[] }>();
  for (const rule of rules) {
    const key = JSON.stringify([ipProtocol(rule), portFields(rule)]);
    const entry = byTraffic.get(key) ?? { rule, peers: [] };
    entry.peers.push(...rule.remote.map((peer) => ({ peer, description: rule.description })));
    byTraffic.set(key, entry);
  }
  return [...byTraffic.values()].map(({ rule, peers }) => ({
    ipProtocol: ipProtocol(rule),
    // EC2 leaves the ports out of an all-protocols permission.
    ...(rule.protocol === 'all' ? {} : portFields(rule)),
    groups: peers.flatMap(({ peer, description }) => (peer.kind === 'group' ? [{ userId: ownerId, groupId: peer.groupId, description: description || undefined }] : [])),
    ipRanges: peers.flatMap(({ peer, description }) => (peer.kind === 'cidr' ? [{ cidrIp: peer.cidr, description: description || undefined }] : [])),
    ipv6Ranges: [],
    prefixListIds: [],
  }));
}
