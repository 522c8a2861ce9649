import type { CloudModel } from '../../model/cloud.ts';
import { ModelError } from '../../model/errors.ts';
import { ArmError, fromModelError } from './errors.ts';
import { armIds, nameFromId } from './ids.ts';
import { lookup, referencedGroup, type GroupScope } from './security-refs.ts';

/**
 * The security groups a NIC PUT names: its network security group, and the
 * application security groups of its ipConfigurations. ARM requires every
 * ipConfiguration of a NIC to name the same set of ASGs (NRP's
 * AllIpConfigurationsOnANicMustBelongToTheSameApplicationSecurityGroups,
 * docs/fidelity/arm.md), so the set applies to every address of the NIC.
 */

export interface WantedSecurity {
  nsg: string | null;
  /** Model ids, sorted. */
  asgs: string[];
}

export interface SecurityRefs {
  networkSecurityGroup?: { id: string } | null | undefined;
  /** Per ipConfiguration: its name and the ASG references it carries. */
  configs: Array<{ name: string; applicationSecurityGroups?: Array<{ id: string }> | null | undefined }>;
}

function wantedNsg(scope: GroupScope, refs: SecurityRefs, nicId: string): string | null {
  const ref = refs.networkSecurityGroup;
  if (!ref) return null;
  const name = nameFromId(ref.id, ['Microsoft.Network', 'networkSecurityGroups']);
  const group = name === undefined ? undefined : lookup(scope, 'nsg', name);
  if (!group) {
    throw new ArmError(400, 'InvalidResourceReference', `Resource ${ref.id} referenced by resource ${nicId} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`);
  }
  return group.id;
}

export function wantedSecurity(scope: GroupScope, refs: SecurityRefs, nicName: string, vpcId: string): WantedSecurity {
  const nicId = armIds.nic(nicName);
  const sets = refs.configs.map((config, index) =>
    [
      ...new Set(
        (config.applicationSecurityGroups ?? []).map((ref, at) =>
          referencedGroup(scope, 'asg', ref.id, `properties.ipConfigurations[${index}].properties.applicationSecurityGroups[${at}].id`, nicId).id,
        ),
      ),
    ].sort(),
  );
  const first = sets[0] ?? [];
  const differing = sets.findIndex((set) => set.join(',') !== first.join(','));
  if (differing > 0) {
    const shown = (set: string[]): string => set.map((id) => armIds.asg(scope.state.security.nameOf(id))).join(', ');
    throw new ArmError(
      400,
      'AllIpConfigurationsOnANicMustBelongToTheSameApplicationSecurityGroups',
      `All IPConfigurations on a Network Interface should reference the same set of Application Security Groups. IPConfiguration ${armIds.ipConfiguration(nicName, refs.configs[0]?.name ?? '')} references ASG(s) ${shown(first)}, whereas IPConfiguration ${armIds.ipConfiguration(nicName, refs.configs[differing]?.name ?? '')} references ASG(s) ${shown(sets[differing] ?? [])}.`,
    );
  }
  // Checked before any address changes, so a refusal leaves the NIC as it was.
  const limit = scope.model.security.limits.groupsPerAddress;
  if (first.length > limit) throw fromModelError(new ModelError('GroupLimitExceeded', `an IP configuration may be in at most ${limit} application security groups, not ${first.length}`));
  const elsewhere = first.find((id) => scope.model.getSecurityGroup(id).vpcId !== vpcId);
  if (elsewhere) throw fromModelError(new ModelError('InvalidParameter', `application security group ${armIds.asg(scope.state.security.nameOf(elsewhere))} has members in another virtual network`));
  return { nsg: wantedNsg(scope, refs, nicId), asgs: first };
}

/** Puts a NIC in the groups a PUT named, touching the model only where something changed. */
export function applySecurity(model: CloudModel, nicId: string, wanted: WantedSecurity): void {
  const nic = model.getInterface(nicId);
  if ((nic.securityGroupIds[0] ?? null) !== wanted.nsg) model.setSecurityGroups(nicId, wanted.nsg ? [wanted.nsg] : [], { optional: true });
  const addresses = [nic.primaryIp, ...nic.secondaryIps];
  const same = addresses.every((ip) => [...(nic.applicationGroups[ip] ?? [])].sort().join(',') === wanted.asgs.join(','));
  if (!same) model.setApplicationGroups(nicId, Object.fromEntries(addresses.map((ip) => [ip, wanted.asgs])));
}
