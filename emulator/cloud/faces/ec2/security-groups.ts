import type { CloudModel } from '../../model/cloud.ts';
import { ModelError } from '../../model/errors.ts';
import type { Direction, SecurityGroup, SecurityRule } from '../../model/security-types.ts';
import { ec2Arn, ownerId, tagSet, tagSpecifications, type Ec2Action, type Handler } from './handler.ts';
import { ipPermissionsXml, ipProtocol, parsePermissions, revokedRuleXml, securityGroupRuleXml } from './ip-permissions.ts';
import { matchesFilters, page } from './listing.ts';
import { QueryError, type QueryParams } from './query.ts';
import type { XmlObject } from './xml.ts';

/**
 * EC2's security-group actions over the model's groups (kind `aws`): create
 * and delete, the two Describe calls, and Authorize/Revoke in both
 * directions. Sources for every rule and code: docs/fidelity/ec2.md.
 */

/** What CreateSecurityGroup accepts in a name or description (API_CreateSecurityGroup). */
const allowedText = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;

function checkText(value: string, parameter: string): void {
  if (value.length > 255 || !allowedText.test(value)) {
    throw new QueryError('InvalidParameterValue', `Value (${value}) for parameter ${parameter} is invalid. Up to 255 characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*`);
  }
}

/** The EC2 group `GroupId` names: well-formed, existing, and of kind `aws` (another cloud's group is not EC2's to see). */
function requireGroup(model: CloudModel, params: QueryParams): SecurityGroup {
  const id = params.required('GroupId');
  checkGroupId(id);
  const group = model.getSecurityGroup(id);
  if (group.kind !== 'aws') throw new ModelError('SecurityGroupNotFound', `The security group '${id}' does not exist`);
  return group;
}

function checkGroupId(id: string): void {
  if (!/^sg-[0-9a-f]+$/.test(id)) throw new QueryError('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`);
}

/** The EC2 groups only: the model may also hold other clouds' kinds. */
function ec2Groups(model: CloudModel): SecurityGroup[] {
  return model.listSecurityGroups().filter((group) => group.kind === 'aws');
}

function ruleArn(model: CloudModel, group: SecurityGroup, rule: SecurityRule): string {
  return ec2Arn(model, group.vpcId, 'security-group-rule', rule.id);
}

const createSecurityGroup: Handler = (model, params) => {
  const name = params.required('GroupName');
  const description = params.required('GroupDescription');
  checkText(name, 'GroupName');
  checkText(description, 'GroupDescription');
  if (name.toLowerCase().startsWith('sg-')) throw new QueryError('InvalidParameterValue', `Group names may not be in the format sg-*: ${name}`);
  // The emulated VPCs are all nondefault VPCs, for which EC2 requires the VpcId.
  const vpcId = params.optional('VpcId');
  if (vpcId === undefined) throw new QueryError('VPCIdNotSpecified', 'No default VPC for this user');
  model.getVpc(vpcId);
  if (name.toLowerCase() === 'default') throw new QueryError('InvalidGroup.Reserved', "The security group 'default' is reserved");
  // Names are case-insensitive within a VPC; the model compares them exactly.
  if (ec2Groups(model).some((group) => group.vpcId === vpcId && group.name.toLowerCase() === name.toLowerCase())) {
    throw new ModelError('DuplicateSecurityGroup', `The security group '${name}' already exists for VPC '${vpcId}'`);
  }
  const tags = tagSpecifications(params)['security-group'] ?? {};
  const group = model.createSecurityGroup(vpcId, name, tags, { description, kind: 'aws' });
  return { return: true, groupId: group.id, tagSet: tagSet(group.tags), securityGroupArn: ec2Arn(model, vpcId, 'security-group', group.id) };
};

const deleteSecurityGroup: Handler = (model, params) => {
  if (params.optional('GroupId') === undefined && params.optional('GroupName') !== undefined) {
    throw new QueryError('InvalidParameterValue', 'A group name identifies a group in a default VPC only: name the group by GroupId');
  }
  const group = requireGroup(model, params);
  const groupId = group.id;
  if (model.defaultSecurityGroup(group.vpcId)?.id === groupId) {
    throw new QueryError('CannotDelete', `the specified group: "${groupId}" name: "${group.name}" cannot be deleted by a user`);
  }
  model.deleteSecurityGroup(groupId);
  return { return: true, groupId };
};

function groupField(group: SecurityGroup, name: string): string[] | undefined {
  const [direction, field] = name.startsWith('egress.ip-permission.') ? (['egress', name.slice('egress.'.length)] as const) : (['ingress', name] as const);
  const rules = group.rules.filter((rule) => rule.direction === direction);
  const peers = rules.flatMap((rule) => rule.remote);
  switch (field) {
    case 'group-id':
      return [group.id];
    case 'group-name':
      return [group.name];
    case 'vpc-id':
      return [group.vpcId];
    case 'owner-id':
      return [ownerId];
    case 'description':
      return [group.description];
    case 'ip-permission.protocol':
      return rules.map(ipProtocol);
    case 'ip-permission.from-port':
      return rules.flatMap((rule) => (rule.protocol === 'icmp' ? [String(rule.icmpType)] : (rule.ports ?? []).map((range) => String(range.from))));
    case 'ip-permission.to-port':
      return rules.flatMap((rule) => (rule.protocol === 'icmp' ? [String(rule.icmpCode)] : (rule.ports ?? []).map((range) => String(range.to))));
    case 'ip-permission.cidr':
      return peers.flatMap((peer) => (peer.kind === 'cidr' ? [peer.cidr] : []));
    case 'ip-permission.group-id':
      return peers.flatMap((peer) => (peer.kind === 'group' ? [peer.groupId] : []));
    case 'ip-permission.user-id':
      return peers.some((peer) => peer.kind === 'group') ? [ownerId] : [];
    default:
      return undefined;
  }
}

function groupXml(model: CloudModel, group: SecurityGroup): XmlObject {
  return {
    ownerId,
    groupId: group.id,
    groupName: group.name,
    groupDescription: group.description,
    vpcId: group.vpcId,
    securityGroupArn: ec2Arn(model, group.vpcId, 'security-group', group.id),
    ipPermissions: ipPermissionsXml(group.rules.filter((rule) => rule.direction === 'ingress')),
    ipPermissionsEgress: ipPermissionsXml(group.rules.filter((rule) => rule.direction === 'egress')),
    tagSet: tagSet(group.tags),
  };
}

const describeSecurityGroups: Handler = (model, params) => {
  const ids = params.list('GroupId');
  ids.forEach(checkGroupId);
  const names = params.list('GroupName');
  // GroupName.N looks a group up in the default VPC, which the emulated account does not have.
  if (names.length > 0) throw new ModelError('SecurityGroupNotFound', `The security group '${names.join(', ')}' does not exist in default VPC`);
  const filters = params.filters();
  let groups = ec2Groups(model);
  if (ids.length > 0) {
    // As EC2: one unknown id in GroupId.N fails the whole call (a group-id filter does not).
    const missing = ids.filter((id) => !groups.some((group) => group.id === id));
    if (missing.length > 0) throw new ModelError('SecurityGroupNotFound', `The security group '${missing.join(', ')}' does not exist`);
    groups = groups.filter((group) => ids.includes(group.id));
  }
  const matching = groups.filter((group) => matchesFilters(filters, (name) => groupField(group, name), group.tags));
  const paged = page(matching, params, [5, 1000]);
  return { securityGroupInfo: paged.items.map((group) => groupXml(model, group)), nextToken: paged.nextToken };
};

const describeSecurityGroupRules: Handler = (model, params) => {
  const ids = params.list('SecurityGroupRuleId');
  const filters = params.filters();
  let rules = ec2Groups(model).flatMap((group) => group.rules.map((rule) => ({ group, rule })));
  if (ids.length > 0) {
    const missing = ids.filter((id) => !rules.some(({ rule }) => rule.id === id));
    if (missing.length > 0) throw new QueryError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${missing.join(', ')}' does not exist`);
    rules = rules.filter(({ rule }) => ids.includes(rule.id));
  }
  const matching = rules.filter(({ group, rule }) => matchesFilters(filters, (name) => ({ 'group-id': [group.id], 'security-group-rule-id': [rule.id] })[name], {}));
  const paged = page(matching, params, [5, 1000]);
  return {
    securityGroupRuleSet: paged.items.map(({ group, rule }) => securityGroupRuleXml(group.id, rule, ruleArn(model, group, rule))),
    nextToken: paged.nextToken,
  };
};

/** AuthorizeSecurityGroupIngress/Egress: all the permission's rules or none (the model refuses duplicates and the quota). */
function authorize(direction: Direction): Handler {
  return (model, params) => {
    const group = requireGroup(model, params);
    const groupId = group.id;
    const added = model.security.addRules(groupId, parsePermissions(params, direction));
    return { return: true, securityGroupRuleSet: added.map((rule) => securityGroupRuleXml(groupId, rule, ruleArn(model, group, rule))) };
  };
}

/**
 * RevokeSecurityGroupIngress/Egress, by rule ids or by permissions that must
 * match existing rules exactly (but the description). The emulated VPCs are
 * nondefault VPCs, where EC2 refuses the whole call when one does not match.
 */
function revoke(direction: Direction): Handler {
  return (model, params) => {
    const group = requireGroup(model, params);
    const groupId = group.id;
    const ruleIds = params.list('SecurityGroupRuleId');
    let gone: SecurityRule[];
    if (ruleIds.length > 0) {
      if (params.names().some((name) => name.startsWith('IpPermissions.'))) {
        throw new QueryError('InvalidParameterCombination', 'The parameter SecurityGroupRuleIds cannot be used with the parameter IpPermissions');
      }
      const unknown = ruleIds.filter((id) => !group.rules.some((rule) => rule.id === id && rule.direction === direction));
      if (unknown.length > 0) throw new QueryError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${unknown.join(', ')}' does not exist in ${groupId}`);
      gone = group.rules.filter((rule) => ruleIds.includes(rule.id));
    } else {
      gone = parsePermissions(params, direction).map((spec) => {
        const found = model.security.findRule(groupId, spec);
        if (!found) throw new ModelError('RuleNotFound', `The specified rule does not exist in this security group (${ipProtocol(spec)} from ${JSON.stringify(spec.remote[0])})`);
        return found;
      });
    }
    model.security.removeRules(groupId, [...new Set(gone.map((rule) => rule.id))]);
    return { return: true, unknownIpPermissionSet: [], revokedSecurityGroupRuleSet: gone.map((rule) => revokedRuleXml(groupId, rule)) };
  };
}

/**
 * EC2's throttling page puts Authorize/Revoke among the resource-intensive
 * actions and the other mutations in the mutating bucket; Describe* is non-mutating.
 */
export const securityGroupActions: Record<string, Ec2Action> = {
  CreateSecurityGroup: { run: createSecurityGroup, bucket: 'other' },
  DeleteSecurityGroup: { run: deleteSecurityGroup, bucket: 'other' },
  DescribeSecurityGroups: { run: describeSecurityGroups, bucket: 'describe' },
  DescribeSecurityGroupRules: { run: describeSecurityGroupRules, bucket: 'describe' },
  AuthorizeSecurityGroupIngress: { run: authorize('ingress'), bucket: 'resource-intensive' },
  AuthorizeSecurityGroupEgress: { run: authorize('egress'), bucket: 'resource-intensive' },
  RevokeSecurityGroupIngress: { run: revoke('ingress'), bucket: 'resource-intensive' },
  RevokeSecurityGroupEgress: { run: revoke('egress'), bucket: 'resource-intensive' },
};
