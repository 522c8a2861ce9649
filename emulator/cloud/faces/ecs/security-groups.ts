import type { CloudModel, SecurityGroup } from '../../model/cloud.ts';
import type { Direction, GroupKind, RuleInput } from '../../model/security-types.ts';
import { eniGroupHandlers } from './eni-groups.ts';
import { RpcError, invalid, type RpcParams } from './params.ts';
import { namesRuleFields, parsePermissions, permissionJson, sameRule } from './security-rules.ts';
import { inRegion, region, regionOfVpc, tagsJson, tokenPage, type Handler } from './shared.ts';

/**
 * ECS's security group actions (API version 2014-05-26) over the model:
 * groups (basic = `normal`, advanced = `enterprise`), their rules, the
 * internal access policy, and ENI membership (./eni-groups.ts). Each cloud's
 * firewall semantics live in the model (firewall-plan.ts); this file speaks
 * ECS's parameters, shapes and codes (docs/fidelity/ecs.md).
 */

const groupNotFound = (id: string): RpcError => new RpcError('InvalidSecurityGroupId.NotFound', `The specified SecurityGroupId does not exist: ${id}.`, 404);

/** The group, if it exists in this region. */
function groupInRegion(model: CloudModel, id: string, regionId: string): SecurityGroup {
  return inRegion(model, regionId, () => model.getSecurityGroup(id), () => groupNotFound(id));
}

const securityGroupType = (kind: GroupKind): 'normal' | 'enterprise' => (kind === 'enterprise' ? 'enterprise' : 'normal');

/** Names and descriptions: 2 to 128 (256) characters, a letter first, never a URL (CreateSecurityGroup's page). */
const namePattern = /^\p{L}[\p{L}\p{N}.:_-]{1,127}$/u;
const isUrl = (value: string): boolean => /^https?:\/\//i.test(value);

const createSecurityGroup: Handler = (model, params) => {
  const regionId = region(params);
  const vpcId = params.optional('VpcId') ?? '';
  // The emulated cloud has VPCs only; ECS words a missing VpcId so.
  if (vpcId === '') throw new RpcError('InvalidVpcId.NotFound', 'vpc id must not empty when only support vpc vm.', 403);
  if (!model.listVpcs().some((vpc) => vpc.id === vpcId && vpc.region === regionId)) throw new RpcError('InvalidVpcId.NotFound', `Specified VPC does not exist: ${vpcId}.`, 404);
  const name = params.optional('SecurityGroupName') ?? '';
  if (name !== '' && (!namePattern.test(name) || isUrl(name))) throw new RpcError('InvalidSecurityGroupName.Malformed', 'Specified security group name is not valid: 2 to 128 characters, a letter first, then letters, digits, periods, colons, underscores or hyphens.');
  const description = params.optional('Description') ?? '';
  if (description !== '' && (description.length < 2 || description.length > 256 || isUrl(description))) {
    throw new RpcError('InvalidDescription.Malformed', 'The specified parameter "Description" is not valid: 2 to 256 characters, not starting with http:// or https://.');
  }
  const type = params.optional('SecurityGroupType') ?? 'normal';
  if (type !== 'normal' && type !== 'enterprise') throw invalid('SecurityGroupType', 'Expected normal or enterprise.');
  const group = model.createSecurityGroup(vpcId, name, params.tags(), { description, kind: type === 'enterprise' ? 'enterprise' : 'basic' });
  return { SecurityGroupId: group.id };
};

/** Refused (DependencyViolation) while an ENI is in the group or another group's rule names it. */
const deleteSecurityGroup: Handler = (model, params) => {
  const regionId = region(params);
  const group = groupInRegion(model, params.required('SecurityGroupId'), regionId);
  model.deleteSecurityGroup(group.id);
  return {};
};

/** SecurityGroupIds is a JSON array of up to 100 ids, not a `.N` list. */
function securityGroupIdsParam(params: RpcParams): string[] | undefined {
  const raw = params.optional('SecurityGroupIds');
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid('SecurityGroupIds', 'Expected a JSON array of security group ids.');
  }
  if (!Array.isArray(parsed) || !parsed.every((id): id is string => typeof id === 'string' && id !== '')) throw invalid('SecurityGroupIds', 'Expected a JSON array of security group ids.');
  if (parsed.length > 100) throw invalid('SecurityGroupIds', 'At most 100 ids are allowed.');
  return parsed;
}

const groupReferences = (group: SecurityGroup): number => group.rules.filter((rule) => rule.remote.some((peer) => peer.kind === 'group')).length;

/** Unknown ids are left out of the answer, not an error, as on ECS. */
const describeSecurityGroups: Handler = (model, params) => {
  const regionId = region(params);
  const ids = securityGroupIdsParam(params);
  const single = params.optional('SecurityGroupId');
  const vpcId = params.optional('VpcId');
  const name = params.optional('SecurityGroupName');
  const type = params.optional('SecurityGroupType');
  if (type !== undefined && type !== 'normal' && type !== 'enterprise') throw invalid('SecurityGroupType', 'Expected normal or enterprise.');
  const tagFilters = params.tagFilters();
  const byNextToken = params.has('NextToken') || params.has('MaxResults');
  const pageNumber = params.int('PageNumber', 1, 1_000_000) ?? 1;
  const pageSize = params.int('PageSize', 1, 50) ?? 10;
  const regionOf = regionOfVpc(model);
  const matching = model
    .listSecurityGroups()
    .filter(
      (group) =>
        regionOf(group.vpcId) === regionId &&
        (ids === undefined || ids.includes(group.id)) &&
        (single === undefined || group.id === single) &&
        (vpcId === undefined || group.vpcId === vpcId) &&
        (name === undefined || group.name === name) &&
        (type === undefined || securityGroupType(group.kind) === type) &&
        tagFilters.every((tag) => Object.hasOwn(group.tags, tag.key) && (tag.value === undefined || group.tags[tag.key] === tag.value)),
    );
  // Two paging styles, as DescribeNetworkInterfaces: NextToken/MaxResults, or PageNumber/PageSize (the default, 10 a page).
  const paged = byNextToken ? tokenPage(matching, params, [10, 100], 10) : { items: matching.slice((pageNumber - 1) * pageSize, pageNumber * pageSize), nextToken: '' };
  return {
    RegionId: regionId,
    TotalCount: matching.length,
    PageNumber: byNextToken ? 1 : pageNumber,
    PageSize: byNextToken ? paged.items.length : pageSize,
    NextToken: paged.nextToken,
    SecurityGroups: {
      SecurityGroup: paged.items.map((group) => ({
        SecurityGroupId: group.id,
        SecurityGroupName: group.name,
        SecurityGroupType: securityGroupType(group.kind),
        Description: group.description,
        VpcId: group.vpcId,
        RuleCount: group.rules.length,
        GroupToGroupRuleCount: groupReferences(group),
        ResourceGroupId: '',
        ServiceManaged: false,
        Tags: tagsJson(group.tags),
      })),
    },
  };
};

const directions = new Set(['ingress', 'egress', 'all']);

/** The group and its rules; an advanced group's members never reach each other without a rule (Drop). */
const describeSecurityGroupAttribute: Handler = (model, params) => {
  const regionId = region(params);
  const group = groupInRegion(model, params.required('SecurityGroupId'), regionId);
  const direction = params.optional('Direction') ?? 'all';
  if (!directions.has(direction)) throw invalid('Direction', 'Expected ingress, egress or all.');
  const rules = group.rules.filter((rule) => direction === 'all' || rule.direction === direction);
  const byNextToken = params.has('NextToken') || params.has('MaxResults');
  const paged = byNextToken ? tokenPage(rules, params, [10, 1000], 500) : { items: rules, nextToken: '' };
  const names = new Map(model.listSecurityGroups().map((other) => [other.id, other.name]));
  const inner = group.kind === 'basic' && group.innerAccess === 'accept' ? 'Accept' : 'Drop';
  return {
    RegionId: regionId,
    SecurityGroupId: group.id,
    SecurityGroupName: group.name,
    Description: group.description,
    VpcId: group.vpcId,
    InnerAccessPolicy: inner,
    NextToken: paged.nextToken,
    Permissions: { Permission: paged.items.map((rule) => permissionJson(rule, (id) => names.get(id) ?? '')) },
  };
};

/** Authorizing a rule that exists succeeds and adds nothing, as ECS documents; the rest are added all or nothing. */
function authorize(direction: Direction): Handler {
  return (model, params) => {
    const regionId = region(params);
    const group = groupInRegion(model, params.required('SecurityGroupId'), regionId);
    const fresh: RuleInput[] = [];
    for (const spec of parsePermissions(model, group, direction, params)) {
      if (model.security.findRule(group.id, spec) || fresh.some((other) => sameRule(other, spec))) continue;
      fresh.push(spec);
    }
    if (fresh.length > 0) model.security.addRules(group.id, fresh);
    return {};
  };
}

/** By SecurityGroupRuleId.N, or by the rule's fields; a rule that matches nothing is no error, as ECS documents. */
function revoke(direction: Direction): Handler {
  return (model, params) => {
    const regionId = region(params);
    const group = groupInRegion(model, params.required('SecurityGroupId'), regionId);
    const ruleIds = params.list('SecurityGroupRuleId', 100);
    if (ruleIds.length > 0) {
      if (namesRuleFields(params)) throw invalid('SecurityGroupRuleId', 'SecurityGroupRuleId.N and the rule fields cannot be given together.');
      const missingId = ruleIds.find((id) => !group.rules.some((rule) => rule.id === id && rule.direction === direction));
      if (missingId !== undefined) throw new RpcError('InvalidSecurityGroupRuleId.NotFound', `The specified SecurityGroupRuleId is not exists: no ${direction} rule ${missingId} in ${group.id}.`, 404);
      model.security.removeRules(group.id, [...new Set(ruleIds)]);
      return {};
    }
    const matched = parsePermissions(model, group, direction, params).flatMap((spec) => model.security.findRule(group.id, spec)?.id ?? []);
    if (matched.length > 0) model.security.removeRules(group.id, [...new Set(matched)]);
    return {};
  };
}

/** A basic group's internal access policy; an advanced group's is always Drop (the model refuses the change). */
const modifySecurityGroupPolicy: Handler = (model, params) => {
  const regionId = region(params);
  const group = groupInRegion(model, params.required('SecurityGroupId'), regionId);
  const policy = params.required('InnerAccessPolicy').toLowerCase();
  if (policy !== 'accept' && policy !== 'drop') throw new RpcError('InvalidPolicy.Malformed', "The Policy is invalid. Only 'Accept' and 'Drop' are supported. Ignore case.");
  model.security.setInnerAccess(group.id, policy);
  return {};
};

/** The security group actions, for the face's action table (500 calls a minute each, as the table's default). */
export const securityGroupActions = {
  CreateSecurityGroup: { run: createSecurityGroup, perMinute: 500 },
  DeleteSecurityGroup: { run: deleteSecurityGroup, perMinute: 500 },
  DescribeSecurityGroups: { run: describeSecurityGroups, perMinute: 500 },
  DescribeSecurityGroupAttribute: { run: describeSecurityGroupAttribute, perMinute: 500 },
  AuthorizeSecurityGroup: { run: authorize('ingress'), perMinute: 500 },
  AuthorizeSecurityGroupEgress: { run: authorize('egress'), perMinute: 500 },
  RevokeSecurityGroup: { run: revoke('ingress'), perMinute: 500 },
  RevokeSecurityGroupEgress: { run: revoke('egress'), perMinute: 500 },
  ModifySecurityGroupPolicy: { run: modifySecurityGroupPolicy, perMinute: 500 },
  JoinSecurityGroup: { run: eniGroupHandlers.joinSecurityGroup, perMinute: 500 },
  LeaveSecurityGroup: { run: eniGroupHandlers.leaveSecurityGroup, perMinute: 500 },
} satisfies Record<string, { run: Handler; perMinute: number }>;
