import type { CloudModel, SecurityGroup } from '../../model/cloud.ts';
import { armIds, stableGuid } from './ids.ts';
import { documentFromModel, isCompanionRule } from './security-rules.ts';
import type { ArmRuleDocument } from './security-state.ts';
import type { ArmState } from './state.ts';

/** The JSON ARM shows for network and application security groups and their rules (api-version 2025-05-01 shapes). */

type Json = Record<string, unknown>;

const etagOf = (seed: unknown): string => `W/"${stableGuid(`etag:${JSON.stringify(seed)}`)}"`;

/** An NSG's own rules as ARM shows them: as written through ARM, else derived from the model. */
export function ruleDocuments(state: ArmState, group: SecurityGroup): ArmRuleDocument[] {
  const written = new Map(state.security.ruleDocuments(group.id).map((document) => [document.name, document]));
  const asgId = (modelId: string): string => armIds.asg(state.security.nameOf(modelId));
  return group.rules.filter((rule) => !isCompanionRule(rule)).map((rule) => written.get(rule.id) ?? documentFromModel(rule, asgId));
}

export function defaultRuleDocuments(state: ArmState, group: SecurityGroup): ArmRuleDocument[] {
  return group.defaultRules.map((rule) => documentFromModel(rule, (modelId) => armIds.asg(state.security.nameOf(modelId))));
}

export function ruleJson(nsgName: string, document: ArmRuleDocument, collection: 'securityRules' | 'defaultSecurityRules'): Json {
  return {
    name: document.name,
    id: `${armIds.nsg(nsgName)}/${collection}/${document.name}`,
    etag: etagOf(document),
    type: `Microsoft.Network/networkSecurityGroups/${collection}`,
    properties: { provisioningState: 'Succeeded', ...document.properties },
  };
}

/** An NSG with its rules, its default rules, and the NICs and subnets it is associated with. */
export function nsgJson(model: CloudModel, state: ArmState, group: SecurityGroup): Json {
  const name = state.security.nameOf(group.id);
  const rules = ruleDocuments(state, group).map((document) => ruleJson(name, document, 'securityRules'));
  const nics = model
    .listInterfaces()
    .filter((nic) => nic.securityGroupIds.includes(group.id))
    .map((nic) => ({ id: armIds.nic(state.nicName(nic.id)) }));
  const subnets = model
    .listSubnets()
    .filter((subnet) => subnet.networkSecurityGroupId === group.id)
    .map((subnet) => ({ id: armIds.subnet(subnet.vpcId, subnet.id) }));
  return {
    name,
    id: armIds.nsg(name),
    etag: etagOf([group.id, rules, group.tags]),
    type: 'Microsoft.Network/networkSecurityGroups',
    location: model.getVpc(group.vpcId).region,
    tags: { ...group.tags },
    properties: {
      provisioningState: 'Succeeded',
      resourceGuid: stableGuid(group.id),
      securityRules: rules,
      defaultSecurityRules: defaultRuleDocuments(state, group).map((document) => ruleJson(name, document, 'defaultSecurityRules')),
      ...(nics.length > 0 ? { networkInterfaces: nics } : {}),
      ...(subnets.length > 0 ? { subnets } : {}),
    },
  };
}

export function asgJson(model: CloudModel, state: ArmState, group: SecurityGroup): Json {
  const name = state.security.nameOf(group.id);
  return {
    name,
    id: armIds.asg(name),
    etag: etagOf([group.id, group.tags]),
    type: 'Microsoft.Network/applicationSecurityGroups',
    location: model.getVpc(group.vpcId).region,
    tags: { ...group.tags },
    properties: { provisioningState: 'Succeeded', resourceGuid: stableGuid(group.id) },
  };
}
