import { ipToNumber, parseCidr } from '../../../../lib/ipv4.ts';
import type { CloudModel, SecurityGroup } from '../../model/cloud.ts';
import type { Direction, Peer, PortRange, Protocol, RuleInput, SecurityRule } from '../../model/security-types.ts';
import { RpcError, invalid, missing, type RpcParams } from './params.ts';
import type { JsonObject } from './shared.ts';

/**
 * ECS security group rules in ECS's words: the parameters of
 * AuthorizeSecurityGroup(Egress) and RevokeSecurityGroup(Egress) (flat, or
 * Permissions.N.*) into the model's rules, and a rule back into the
 * Permission of DescribeSecurityGroupAttribute. Codes and limits from the
 * actions' API reference pages (docs/fidelity/ecs.md).
 */

/** The fields of one permission, flat or under Permissions.N. */
const ruleFields = ['Policy', 'Priority', 'IpProtocol', 'PortRange', 'SourcePortRange', 'SourceCidrIp', 'SourceGroupId', 'DestCidrIp', 'DestGroupId', 'NicType', 'Description'];

/** Fields ECS documents that the emulated VPC cannot honour (IPv4 only, no prefix or port lists, one account). */
const unsupportedFields = [
  'Ipv6SourceCidrIp',
  'Ipv6DestCidrIp',
  'SourcePrefixListId',
  'DestPrefixListId',
  'PortRangeListId',
  'SourceGroupOwnerAccount',
  'SourceGroupOwnerId',
  'DestGroupOwnerAccount',
  'DestGroupOwnerId',
];

/** How ECS names the far side of a rule and refuses it, per direction. */
interface Side {
  remoteCidr: string;
  remoteGroup: string;
  localCidr: string;
  remoteMalformed: (name: string) => RpcError;
  localMalformed: (name: string) => RpcError;
  missingRemote: () => RpcError;
  groupNotFound: (id: string) => RpcError;
  groupMismatch: (id: string) => RpcError;
  groupIsSelf: () => RpcError;
}

const sides: Readonly<Record<Direction, Side>> = {
  ingress: {
    remoteCidr: 'SourceCidrIp',
    remoteGroup: 'SourceGroupId',
    localCidr: 'DestCidrIp',
    remoteMalformed: (name) => new RpcError('InvalidSourceCidrIp.Malformed', `The specified parameter "${name}" is not valid.`),
    localMalformed: (name) => new RpcError('InvalidDestCidrIp.Malformed', `The specified parameter "${name}" is not valid.`),
    missingRemote: () => new RpcError('MissingParameter.Source', 'Either SourceCidrIp or SourceGroupId must be specified.'),
    groupNotFound: (id) => new RpcError('InvalidSourceGroupId.NotFound', `The SourceGroupId provided does not exist in our records: ${id}.`, 404),
    groupMismatch: (id) => new RpcError('InvalidSourceGroupId.Mismatch', `Specified security group and source group ${id} are not in the same VPC.`),
    groupIsSelf: () => new RpcError('InvalidParamter.Conflict', 'The specified SecurityGroupId should be different from the SourceGroupId.', 403),
  },
  egress: {
    remoteCidr: 'DestCidrIp',
    remoteGroup: 'DestGroupId',
    localCidr: 'SourceCidrIp',
    remoteMalformed: (name) => new RpcError('InvalidDestCidrIp.Malformed', `The specified parameter "${name}" is not valid.`),
    localMalformed: (name) => new RpcError('InvalidSourceCidrIp.Malformed', `The specified parameter "${name}" is not valid.`),
    missingRemote: () => new RpcError('MissingParameter.Dest', 'Either DestCidrIp or DestGroupId must be specified.'),
    groupNotFound: (id) => new RpcError('InvalidDestGroupId.NotFound', `The DestGroupId provided does not exist in our records: ${id}.`, 404),
    groupMismatch: (id) => new RpcError('InvalidDestGroupId.Mismatch', `Specified security group and destination group ${id} are not in the same VPC.`),
    groupIsSelf: () => new RpcError('InvalidSecurityGroup.IsSame', 'The authorized SecurityGroupId should be different from the DestGroupId.', 403),
  },
};

/** The parameters of one permission: `field('Policy')` reads `Policy` or `Permissions.N.Policy`. */
interface PermissionParams {
  field(name: string): string | undefined;
  label(name: string): string;
}

/** Whether the call names a rule by its fields (flat or Permissions.N), as against by SecurityGroupRuleId.N. */
export function namesRuleFields(params: RpcParams): boolean {
  return ruleFields.some((name) => params.has(name)) || params.structuredIndexes('Permissions', 100).length > 0;
}

/** The permissions of an Authorize or Revoke call, flat or Permissions.N, never both. */
function permissionParams(params: RpcParams): PermissionParams[] {
  const flat = [...ruleFields, ...unsupportedFields].some((name) => params.has(name));
  const indexes = params.structuredIndexes('Permissions', 100);
  if (flat && indexes.length > 0) throw invalid('Permissions', 'Parameters and their Permissions.N counterparts cannot be given together.');
  if (indexes.length === 0) return [{ field: (name) => params.optional(name), label: (name) => name }];
  return indexes.map((n) => ({ field: (name) => params.optional(`Permissions.${n}.${name}`), label: (name) => `Permissions.${n}.${name}` }));
}

/** `a/b`: TCP and UDP take 1–65535, ICMP and ALL only -1/-1. Null means every port. */
function portRange(raw: string, protocol: Protocol, name: string, malformed: () => RpcError): PortRange[] | null {
  const match = /^(-?\d{1,5})\/(-?\d{1,5})$/.exec(raw);
  if (!match) throw malformed();
  const [from, to] = [Number(match[1]), Number(match[2])];
  const all = from === -1 && to === -1;
  if (protocol === 'tcp' || protocol === 'udp') {
    if (all) throw new RpcError('InvalidParam.ProtocolAndPortRangeMismatch', `The specified Protocol ${protocol.toUpperCase()} and ${name} ${raw} do not match: TCP and UDP take ports 1 to 65535.`);
    if (from < 1 || to > 65535 || from > to) throw malformed();
    return [{ from, to }];
  }
  if (!all) throw new RpcError('InvalidParam.ProtocolAndPortRangeMismatch', `The specified Protocol ${protocol.toUpperCase()} and ${name} ${raw} do not match: it takes -1/-1.`);
  return null;
}

/** An IPv4 CIDR block or address (an address is its /32). */
function cidrPeer(value: string, malformed: () => RpcError): Peer {
  const cidr = value.includes('/') ? value : `${value}/32`;
  try {
    if (!value.includes('/')) ipToNumber(value);
    parseCidr(cidr);
  } catch {
    throw malformed();
  }
  return { kind: 'cidr', cidr };
}

function protocolOf(raw: string | undefined, label: string): Protocol {
  if (raw === undefined || raw === '') throw missing(label);
  const value = raw.toLowerCase();
  if (value === 'gre') throw new RpcError('InvalidIpProtocol.ValueNotSupported', `The emulated VPC carries no GRE: ${label} must be TCP, UDP, ICMP or ALL.`);
  if (value !== 'tcp' && value !== 'udp' && value !== 'icmp' && value !== 'all') {
    throw new RpcError('InvalidIpProtocol.ValueNotSupported', `The parameter ${label} must be specified with case insensitive TCP, UDP, ICMP, GRE or All.`);
  }
  return value;
}

function priorityOf(raw: string, label: string): number {
  if (!/^\d{1,9}$/.test(raw)) throw new RpcError('InvalidPriority.Malformed', `The parameter ${label} is invalid: ${JSON.stringify(raw)}.`);
  const value = Number(raw);
  if (value < 1 || value > 100) throw new RpcError('InvalidPriority.ValueNotSupported', `The parameter ${label} is invalid: it ranges from 1 to 100, got ${value}.`);
  return value;
}

/** The far side: a CIDR block wins over a group when both are given, as ECS documents. */
function remotePeer(model: CloudModel, group: SecurityGroup, side: Side, permission: PermissionParams): Peer {
  const cidr = permission.field(side.remoteCidr);
  if (cidr !== undefined && cidr !== '') return cidrPeer(cidr, () => side.remoteMalformed(permission.label(side.remoteCidr)));
  const groupId = permission.field(side.remoteGroup);
  if (groupId === undefined || groupId === '') throw side.missingRemote();
  if (groupId === group.id) throw side.groupIsSelf();
  let other: SecurityGroup;
  try {
    other = model.getSecurityGroup(groupId);
  } catch {
    throw side.groupNotFound(groupId);
  }
  if (other.vpcId !== group.vpcId) throw side.groupMismatch(groupId);
  // Advanced groups neither authorize groups nor may be authorized (basic and advanced security groups page).
  if (group.kind === 'enterprise') throw invalid(permission.label(side.remoteGroup), `${group.id} is an advanced (enterprise) security group: its rules cannot reference security groups.`);
  if (other.kind === 'enterprise') throw invalid(permission.label(side.remoteGroup), `${groupId} is an advanced (enterprise) security group: it cannot be the authorization object of a rule.`);
  return { kind: 'group', groupId };
}

function parsePermission(model: CloudModel, group: SecurityGroup, direction: Direction, permission: PermissionParams): RuleInput {
  const { field, label } = permission;
  for (const name of unsupportedFields) {
    if ((field(name) ?? '') !== '') throw new RpcError('UnsupportedParameter', `The emulated VPC is IPv4 only, without prefix lists, port lists or other accounts: ${label(name)} is not supported.`);
  }
  const policy = (field('Policy') ?? 'accept').toLowerCase();
  if (policy !== 'accept' && policy !== 'drop') throw new RpcError('InvalidPolicy.Malformed', `The specified parameter "${label('Policy')}" is not valid: accept or drop.`);
  const priority = priorityOf(field('Priority') ?? '1', label('Priority'));
  const protocol = protocolOf(field('IpProtocol'), label('IpProtocol'));
  const portsRaw = field('PortRange');
  if (portsRaw === undefined || portsRaw === '') throw missing(label('PortRange'));
  const ports = portRange(portsRaw, protocol, label('PortRange'), () => new RpcError('InvalidParam.PortRange', `The specified parameter ${label('PortRange')} is not valid. It should be two integers less than 65535 in ?/? format.`));
  const sourcePortsRaw = field('SourcePortRange');
  const sourcePorts =
    sourcePortsRaw === undefined || sourcePortsRaw === ''
      ? null
      : portRange(sourcePortsRaw, protocol, label('SourcePortRange'), () => new RpcError('InvalidSourcePortRange.Malformed', `The specified parameter "${label('SourcePortRange')}" is not valid.`));
  const nicType = field('NicType');
  // A VPC group's rules are intranet rules (internet is the classic network's).
  if (nicType !== undefined && nicType !== 'intranet') throw new RpcError('InvalidNicType.ValueNotSupported', `The specified ${label('NicType')} is not valid: a VPC security group takes intranet.`);
  const description = field('Description') ?? '';
  if (description.length > 512) throw new RpcError('InvalidSecurityGroupDiscription.Malformed', 'The specified security group rule description is not valid: at most 512 characters.');
  const side = sides[direction];
  const remote = remotePeer(model, group, side, permission);
  const localRaw = field(side.localCidr);
  const local: Peer = localRaw === undefined || localRaw === '' ? { kind: 'any' } : cidrPeer(localRaw, () => side.localMalformed(label(side.localCidr)));
  if (remote.kind === 'cidr' && local.kind === 'cidr' && remote.cidr === local.cidr) {
    throw new RpcError('InvalidParamter.Conflict', 'The specified SourceCidrIp should be different from the DestCidrIp.');
  }
  return { direction, action: policy === 'accept' ? 'allow' : 'deny', priority, protocol, ports, sourcePorts, icmpType: -1, icmpCode: -1, remote: [remote], local: [local], description };
}

/** The rules an Authorize or Revoke call names, in order. */
export function parsePermissions(model: CloudModel, group: SecurityGroup, direction: Direction, params: RpcParams): RuleInput[] {
  return permissionParams(params).map((permission) => parsePermission(model, group, direction, permission));
}

/** Two rule specs that are the same rule (the description does not count). */
export function sameRule(a: RuleInput, b: RuleInput): boolean {
  const key = (rule: RuleInput): string => JSON.stringify([rule.direction, rule.action, rule.priority, rule.protocol, rule.ports, rule.sourcePorts, rule.remote, rule.local]);
  return key(a) === key(b);
}

const rangeText = (ranges: PortRange[] | null): string => (ranges?.[0] ? `${ranges[0].from}/${ranges[0].to}` : '-1/-1');

/** One rule as DescribeSecurityGroupAttribute lists it. */
export function permissionJson(rule: SecurityRule, groupName: (id: string) => string): JsonObject {
  const ingress = rule.direction === 'ingress';
  const [remote, local] = [rule.remote[0], rule.local[0]];
  const cidr = (peer: Peer | undefined): string => (peer?.kind === 'cidr' ? peer.cidr : '');
  const group = (peer: Peer | undefined): string => (peer?.kind === 'group' ? peer.groupId : '');
  const sourceGroupId = ingress ? group(remote) : '';
  const destGroupId = ingress ? '' : group(remote);
  return {
    SecurityGroupRuleId: rule.id,
    Direction: rule.direction,
    Policy: rule.action === 'allow' ? 'Accept' : 'Drop',
    Priority: String(rule.priority),
    IpProtocol: rule.protocol.toUpperCase(),
    PortRange: rangeText(rule.ports),
    SourcePortRange: rule.sourcePorts ? rangeText(rule.sourcePorts) : '',
    SourceCidrIp: ingress ? cidr(remote) : cidr(local),
    DestCidrIp: ingress ? cidr(local) : cidr(remote),
    SourceGroupId: sourceGroupId,
    SourceGroupName: sourceGroupId ? groupName(sourceGroupId) : '',
    SourceGroupOwnerAccount: '',
    DestGroupId: destGroupId,
    DestGroupName: destGroupId ? groupName(destGroupId) : '',
    DestGroupOwnerAccount: '',
    Ipv6SourceCidrIp: '',
    Ipv6DestCidrIp: '',
    SourcePrefixListId: '',
    DestPrefixListId: '',
    NicType: 'intranet',
    Description: rule.description,
  };
}
