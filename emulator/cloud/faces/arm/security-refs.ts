import type { CloudModel, SecurityGroup } from '../../model/cloud.ts';
import { ArmError } from './errors.ts';
import { nameFromId } from './ids.ts';
import type { ArmGroupType } from './security-state.ts';
import type { ArmState } from './state.ts';

/** Security groups by ARM name or by reference in a body (NSGs on NICs and subnets, ASGs on ipConfigurations and rules). */

export interface GroupScope {
  model: CloudModel;
  state: ArmState;
}

export const resourceTypes: Record<ArmGroupType, string> = { nsg: 'Microsoft.Network/networkSecurityGroups', asg: 'Microsoft.Network/applicationSecurityGroups' };
export const idTypes: Record<ArmGroupType, string[]> = { nsg: ['Microsoft.Network', 'networkSecurityGroups'], asg: ['Microsoft.Network', 'applicationSecurityGroups'] };

/** The group of a type an ARM name stands for, if any. */
export function lookup(call: GroupScope, type: ArmGroupType, name: string): SecurityGroup | undefined {
  const id = call.state.security.modelIdOf(type, name);
  if (!call.model.security.has(id)) return undefined;
  const group = call.model.getSecurityGroup(id);
  return group.kind === type ? group : undefined;
}

/** A security group a reference in a body names; ARM's codes for a malformed or dangling one. */
export function referencedGroup(call: GroupScope, type: ArmGroupType, id: string, path: string, referrer: string): SecurityGroup {
  const name = nameFromId(id, idTypes[type]);
  if (name === undefined) {
    throw new ArmError(
      400,
      'LinkedInvalidPropertyId',
      `Property id '${id}' at path '${path}' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.`,
    );
  }
  const group = lookup(call, type, name);
  if (!group) {
    throw new ArmError(400, 'InvalidResourceReference', `Resource ${id} referenced by resource ${referrer} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`);
  }
  return group;
}

