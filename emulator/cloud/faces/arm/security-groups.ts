import { z } from 'zod';
import type { SecurityGroup } from '../../model/cloud.ts';
import { ModelError } from '../../model/errors.ts';
import type { SecurityRule } from '../../model/security-types.ts';
import { notFound, operationHeaders, page, readBody, type ArmAction, type ArmCall } from './actions.ts';
import { ArmError, armResponse, validResourceName } from './errors.ts';
import { parseJsonBody } from './request-body.ts';
import { armIds } from './ids.ts';
import { normalizeLocation } from './nic-put.ts';
import { subnetJson } from './resources.ts';
import { lookup, referencedGroup, resourceTypes } from './security-refs.ts';
import { asgJson, defaultRuleDocuments, nsgJson, ruleDocuments, ruleJson } from './security-resources.ts';
import { checkRuleSet, isCompanionRule, parseRule, securityRuleSchema, type AsgResolver } from './security-rules.ts';
import type { ArmGroupType, ArmRuleDocument } from './security-state.ts';

/**
 * NetworkSecurityGroups, SecurityRules, DefaultSecurityRules and
 * ApplicationSecurityGroups over the model's security groups (kinds `nsg`
 * and `asg`). Writes are long-running operations, as ARM documents them.
 * An NSG or ASG belongs to a model VPC: the first VNet of its location,
 * since ARM ties neither to a VNet while the model ties every group to one.
 */

const groupBodySchema = z
  .object({
    location: z.string().nullish(),
    tags: z.record(z.string(), z.string()).nullish(),
    properties: z.object({ securityRules: z.array(securityRuleSchema).nullish() }).loose().nullish(),
  })
  .loose();

function find(call: ArmCall, type: ArmGroupType, name: string): SecurityGroup {
  const group = lookup(call, type, name);
  if (!group) throw notFound(resourceTypes[type], name);
  return group;
}

/** The VPC a new group of `location` goes in. */
function vpcOfLocation(call: ArmCall, location: string, type: ArmGroupType): string {
  const vpc = call.model.listVpcs().find((candidate) => normalizeLocation(candidate.region) === normalizeLocation(location));
  if (!vpc) throw new ArmError(400, 'LocationNotAvailableForResourceType', `The provided location '${location}' is not available for resource type '${resourceTypes[type]}'.`);
  return vpc.id;
}

/** Creates or updates a group from a PUT body: location checked, tags replaced; `rules` runs before a new group is kept. */
async function putGroup(call: ArmCall, type: ArmGroupType, apply: (group: SecurityGroup, body: z.infer<typeof groupBodySchema>) => void): Promise<{ group: SecurityGroup; created: boolean }> {
  const name = call.params[0] ?? '';
  validResourceName(name);
  const body = parseJsonBody(await readBody(call), groupBodySchema);
  const existing = lookup(call, type, name);
  if (existing) {
    const region = call.model.getVpc(existing.vpcId).region;
    if (body.location && normalizeLocation(body.location) !== normalizeLocation(region)) {
      throw new ArmError(400, 'InvalidResourceLocation', `The resource '${name}' already exists in location '${region}'. A resource with the same name cannot be created in location '${body.location}'.`);
    }
    apply(existing, body);
    call.model.security.setTags(existing.id, body.tags ?? {});
    return { group: call.model.getSecurityGroup(existing.id), created: false };
  }
  if (!body.location) throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  const created = call.model.createSecurityGroup(vpcOfLocation(call, body.location, type), name, body.tags ?? {}, { kind: type });
  call.state.security.bind(type, name, created.id);
  try {
    apply(created, body);
  } catch (err) {
    // A refused body leaves nothing behind.
    call.model.deleteSecurityGroup(created.id);
    call.state.security.forget(type, created.id);
    throw err;
  }
  return { group: call.model.getSecurityGroup(created.id), created: true };
}

/** A write's answer: 201 or 200 with the resource and an operation to poll. */
function written(call: ArmCall, body: Record<string, unknown>, region: string, created: boolean): ReturnType<ArmAction> {
  const operation = call.state.startOperation(0);
  return armResponse(created ? 201 : 200, body, { ...operationHeaders(call, operation, region, false), etag: String(body.etag) });
}

/** A delete's answer: 202 with Location and Azure-AsyncOperation. */
function deleted(call: ArmCall, region: string): ReturnType<ArmAction> {
  return armResponse(202, undefined, operationHeaders(call, call.state.startOperation(0), region, true));
}

const regionOf = (call: ArmCall, group: SecurityGroup): string => call.model.getVpc(group.vpcId).region;

// ---- network security groups -------------------------------------------

function asgResolver(call: ArmCall, referrer: string): AsgResolver {
  return (id, path) => {
    const group = referencedGroup(call, 'asg', id, path, referrer);
    return { modelId: group.id, id: armIds.asg(call.state.security.nameOf(group.id)) };
  };
}

/** Replaces an NSG's rules with `documents` (checked) and the model rules they stand for. */
function storeRules(call: ArmCall, group: SecurityGroup, documents: ArmRuleDocument[], inputs: Parameters<typeof call.model.security.replaceRules>[1]): void {
  checkRuleSet(documents);
  call.model.security.replaceRules(group.id, inputs);
  call.state.security.setRuleDocuments(group.id, documents);
}

type GroupJson = (model: ArmCall['model'], state: ArmCall['state'], group: SecurityGroup) => Record<string, unknown>;

/** Get and list of one type of group: the same but for the JSON. */
const getGroup =
  (type: ArmGroupType, json: GroupJson): ArmAction =>
  (call) => {
    const body = json(call.model, call.state, find(call, type, call.params[0] ?? ''));
    return armResponse(200, body, { etag: String(body.etag) });
  };

const listGroups =
  (type: ArmGroupType, json: GroupJson): ArmAction =>
  (call) =>
    page(
      call,
      call.model
        .listSecurityGroups()
        .filter((group) => group.kind === type)
        .map((group) => json(call.model, call.state, group)),
    );

export const getNsg = getGroup('nsg', nsgJson);
export const listNsgs = listGroups('nsg', nsgJson);

export const putNsg: ArmAction = (call) =>
  call.state.exclusive(`nsg:${call.params[0] ?? ''}`, async () => {
    const { group, created } = await putGroup(call, 'nsg', (target, body) => {
      const nsgId = armIds.nsg(call.state.security.nameOf(target.id));
      const parsed = (body.properties?.securityRules ?? []).map((rule, index) =>
        parseRule(rule, (ruleName) => `${nsgId}/securityRules/${ruleName}`, asgResolver(call, nsgId), `properties.securityRules[${index}]`),
      );
      storeRules(
        call,
        target,
        parsed.map((entry) => entry.document),
        parsed.flatMap((entry) => entry.inputs),
      );
    });
    return written(call, nsgJson(call.model, call.state, group), regionOf(call, group), created);
  });

export const deleteNsg: ArmAction = (call) =>
  call.state.exclusive(`nsg:${call.params[0] ?? ''}`, () => {
    const group = lookup(call, 'nsg', call.params[0] ?? '');
    // ARM answers a delete of something absent with 204: deletes are idempotent.
    if (!group) return Promise.resolve(armResponse(204, undefined));
    const json = nsgJson(call.model, call.state, group);
    const properties = json.properties as { networkInterfaces?: Array<{ id: string }>; subnets?: Array<{ id: string }> };
    const users = [...(properties.networkInterfaces ?? []), ...(properties.subnets ?? [])].map((user) => user.id);
    if (users.length > 0) {
      throw new ArmError(
        400,
        'InUseNetworkSecurityGroupCannotBeDeleted',
        `Network security group ${String(json.id)} cannot be deleted because it is in use by the following resources: ${users.join(', ')}. In order to delete the Network security group, remove the association with the resource(s). To learn more, see aka.ms/deletensg.`,
      );
    }
    const region = regionOf(call, group);
    call.model.deleteSecurityGroup(group.id);
    call.state.security.forget('nsg', group.id);
    return Promise.resolve(deleted(call, region));
  });

// ---- security rules (a child resource of an NSG) -------------------------

const ruleNotFound = (call: ArmCall, collection: string): ArmError => {
  const [nsgName = '', ruleName = ''] = call.params;
  return new ArmError(404, 'NotFound', `Resource ${armIds.nsg(nsgName)}/${collection}/${ruleName} not found.`);
};

const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
/** The ARM rule a model rule belongs to (the udp half of a '*' rule belongs to its tcp half's name). */
const armNameOf = (rule: SecurityRule): string => (isCompanionRule(rule) ? rule.id.slice(0, rule.id.lastIndexOf(':')) : rule.id);

type RuleCollection = 'securityRules' | 'defaultSecurityRules';
const collections: Record<RuleCollection, (state: ArmCall['state'], group: SecurityGroup) => ArmRuleDocument[]> = {
  securityRules: ruleDocuments,
  defaultSecurityRules: defaultRuleDocuments,
};

/** List and get of an NSG's rules or default rules: the same but for where the rules come from. */
const listRuleCollection =
  (collection: RuleCollection): ArmAction =>
  (call) => {
    const group = find(call, 'nsg', call.params[0] ?? '');
    const name = call.state.security.nameOf(group.id);
    return page(
      call,
      collections[collection](call.state, group).map((document) => ruleJson(name, document, collection)),
    );
  };

const getRuleOf =
  (collection: RuleCollection): ArmAction =>
  (call) => {
    const group = find(call, 'nsg', call.params[0] ?? '');
    const document = collections[collection](call.state, group).find((candidate) => sameName(candidate.name, call.params[1] ?? ''));
    if (!document) throw ruleNotFound(call, collection);
    const body = ruleJson(call.state.security.nameOf(group.id), document, collection);
    return armResponse(200, body, { etag: String(body.etag) });
  };

export const listRules = listRuleCollection('securityRules');
export const getRule = getRuleOf('securityRules');
export const listDefaultRules = listRuleCollection('defaultSecurityRules');
export const getDefaultRule = getRuleOf('defaultSecurityRules');

export const putRule: ArmAction = (call) =>
  call.state.exclusive(`nsg:${call.params[0] ?? ''}`, async () => {
    const group = find(call, 'nsg', call.params[0] ?? '');
    const ruleName = call.params[1] ?? '';
    const body = parseJsonBody(await readBody(call), securityRuleSchema);
    const nsgId = armIds.nsg(call.state.security.nameOf(group.id));
    const { document, inputs } = parseRule({ ...body, name: ruleName }, (name) => `${nsgId}/securityRules/${name}`, asgResolver(call, nsgId), '(body)');
    const documents = ruleDocuments(call.state, group);
    const created = !documents.some((candidate) => sameName(candidate.name, ruleName));
    const kept = group.rules.filter((rule) => !sameName(armNameOf(rule), ruleName));
    storeRules(call, group, [...documents.filter((candidate) => !sameName(candidate.name, ruleName)), document], [...kept, ...inputs]);
    return written(call, ruleJson(call.state.security.nameOf(group.id), document, 'securityRules'), regionOf(call, group), created);
  });

export const deleteRule: ArmAction = (call) =>
  call.state.exclusive(`nsg:${call.params[0] ?? ''}`, () => {
    const group = find(call, 'nsg', call.params[0] ?? '');
    const ruleName = call.params[1] ?? '';
    const documents = ruleDocuments(call.state, group);
    if (!documents.some((candidate) => sameName(candidate.name, ruleName))) return Promise.resolve(armResponse(204, undefined));
    storeRules(
      call,
      group,
      documents.filter((candidate) => !sameName(candidate.name, ruleName)),
      group.rules.filter((rule) => !sameName(armNameOf(rule), ruleName)),
    );
    return Promise.resolve(deleted(call, regionOf(call, group)));
  });

// ---- application security groups ---------------------------------------

export const getAsg = getGroup('asg', asgJson);
export const listAsgs = listGroups('asg', asgJson);

export const putAsg: ArmAction = (call) =>
  call.state.exclusive(`asg:${call.params[0] ?? ''}`, async () => {
    const { group, created } = await putGroup(call, 'asg', () => undefined);
    return written(call, asgJson(call.model, call.state, group), regionOf(call, group), created);
  });

export const deleteAsg: ArmAction = (call) =>
  call.state.exclusive(`asg:${call.params[0] ?? ''}`, () => {
    const name = call.params[0] ?? '';
    const group = lookup(call, 'asg', name);
    if (!group) return Promise.resolve(armResponse(204, undefined));
    const configs = call.model
      .listInterfaces()
      .flatMap((nic) => Object.entries(nic.applicationGroups).filter(([, ids]) => ids.includes(group.id)).map(([ip]) => call.state.configName(nic, ip)));
    const region = regionOf(call, group);
    try {
      if (configs.length > 0) throw new ModelError('SecurityGroupInUse', `referenced by IpConfiguration(s) ${configs.join(', ')}`);
      call.model.deleteSecurityGroup(group.id);
    } catch (err) {
      if (!(err instanceof ModelError) || err.code !== 'SecurityGroupInUse') throw err;
      // ARM's message for an ASG still named by ipConfigurations or NSG rules; the code is not in the logs found.
      throw new ArmError(400, 'BadRequest', `Application Security Group ${name} cannot be deleted because it is ${configs.length > 0 ? `referenced by IpConfiguration(s) ${configs.join(', ')}` : 'referenced by a security rule'}.`);
    }
    call.state.security.forget('asg', group.id);
    return Promise.resolve(deleted(call, region));
  });

// ---- a subnet's network security group -----------------------------------

const subnetBodySchema = z
  .object({
    properties: z
      .object({
        addressPrefix: z.string().nullish(),
        addressPrefixes: z.array(z.string()).nullish(),
        networkSecurityGroup: z.object({ id: z.string() }).loose().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

/** Subnets_CreateOrUpdate on an existing subnet: its NSG association; its address space stays as it is. */
export const putSubnet: ArmAction = (call) =>
  call.state.exclusive(`subnet:${call.params[0] ?? ''}/${call.params[1] ?? ''}`, async () => {
    const [vnetName = '', subnetName = ''] = call.params;
    const vnet = call.model.listVpcs().find((candidate) => candidate.id === vnetName.toLowerCase());
    if (!vnet) throw notFound('Microsoft.Network/virtualNetworks', vnetName);
    const subnet = call.model.listSubnets().find((candidate) => candidate.vpcId === vnet.id && candidate.id === subnetName.toLowerCase());
    const subnetId = armIds.subnet(vnet.id, subnetName);
    if (!subnet) throw new ArmError(400, 'BadRequest', `Creating subnet ${subnetId} is not supported by the emulator.`);
    const body = parseJsonBody(await readBody(call), subnetBodySchema);
    const prefixes = [...(body.properties?.addressPrefix ? [body.properties.addressPrefix] : []), ...(body.properties?.addressPrefixes ?? [])];
    if (prefixes.some((prefix) => prefix !== subnet.cidr)) throw new ArmError(400, 'BadRequest', `Changing the address prefix of ${subnetId} is not supported by the emulator.`);
    const ref = body.properties?.networkSecurityGroup;
    const group = ref ? referencedGroup(call, 'nsg', ref.id, 'properties.networkSecurityGroup.id', subnetId) : null;
    call.model.setSubnetSecurityGroup(subnet.id, group?.id ?? null);
    const operation = call.state.startOperation(0);
    const json = subnetJson(call.model.getSubnet(subnet.id), (modelId) => call.state.security.nameOf(modelId));
    return armResponse(200, json, { ...operationHeaders(call, operation, vnet.region, false), etag: String(json.etag) });
  });
