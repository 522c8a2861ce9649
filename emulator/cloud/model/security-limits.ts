import type { CloudName } from '../../../providers/catalogs/catalog.ts';
import type { GroupKind, RuleInput } from './security-types.ts';

/**
 * Each cloud's documented security-group quotas and the rules its groups are
 * born with (sources in docs/fidelity/security-groups.md).
 */
export interface SecurityLimits {
  /** The kind a group gets when the caller names none. */
  defaultKind: GroupKind;
  /** Groups one interface may be in (EC2: 5, a quota; ECS: 5 by default, raised by ticket); ARM: one NSG per NIC. */
  groupsPerInterface: number;
  /** Rules per group and direction (EC2: 60 inbound, 60 outbound), or in all (ARM: 1000; ECS: 200). */
  rulesPerGroup: number;
  rulesCountedPerDirection: boolean;
  /** Application security groups one ipConfiguration may name (ARM). */
  groupsPerAddress: number;
}

export const securityLimits: Readonly<Record<CloudName, SecurityLimits>> = {
  aws: { defaultKind: 'aws', groupsPerInterface: 5, rulesPerGroup: 60, rulesCountedPerDirection: true, groupsPerAddress: 0 },
  azure: { defaultKind: 'nsg', groupsPerInterface: 1, rulesPerGroup: 1000, rulesCountedPerDirection: false, groupsPerAddress: 20 },
  alibaba: { defaultKind: 'basic', groupsPerInterface: 5, rulesPerGroup: 200, rulesCountedPerDirection: false, groupsPerAddress: 0 },
};

const anywhere = [{ kind: 'cidr', cidr: '0.0.0.0/0' }] as const;

function rule(input: Partial<RuleInput> & Pick<RuleInput, 'direction' | 'action' | 'remote'>): RuleInput {
  return {
    priority: 0,
    protocol: 'all',
    ports: null,
    sourcePorts: null,
    icmpType: -1,
    icmpCode: -1,
    local: [{ kind: 'any' }],
    description: '',
    ...input,
  };
}

/** EC2: a new group allows all outbound traffic and no inbound. */
export function awsNewGroupRules(): RuleInput[] {
  return [rule({ direction: 'egress', action: 'allow', remote: [...anywhere] })];
}

/** EC2: the VPC's default group also allows inbound traffic from its own members. */
export function awsDefaultGroupRules(groupId: string): RuleInput[] {
  return [rule({ direction: 'ingress', action: 'allow', remote: [{ kind: 'group', groupId }] }), ...awsNewGroupRules()];
}

/** ARM's defaultSecurityRules of every NSG, with their documented names and priorities. */
export function azureDefaultRules(): RuleInput[] {
  const vnet = [{ kind: 'tag', tag: 'VirtualNetwork' }] as const;
  return [
    rule({ id: 'AllowVnetInBound', direction: 'ingress', action: 'allow', priority: 65000, remote: [...vnet], local: [...vnet], description: 'Allow inbound traffic from all VMs in VNET' }),
    rule({ id: 'AllowAzureLoadBalancerInBound', direction: 'ingress', action: 'allow', priority: 65001, remote: [{ kind: 'tag', tag: 'AzureLoadBalancer' }], description: 'Allow inbound traffic from azure load balancer' }),
    rule({ id: 'DenyAllInBound', direction: 'ingress', action: 'deny', priority: 65500, remote: [{ kind: 'any' }], description: 'Deny all inbound traffic' }),
    rule({ id: 'AllowVnetOutBound', direction: 'egress', action: 'allow', priority: 65000, remote: [...vnet], local: [...vnet], description: 'Allow outbound traffic from all VMs to all VMs in VNET' }),
    rule({ id: 'AllowInternetOutBound', direction: 'egress', action: 'allow', priority: 65001, remote: [{ kind: 'tag', tag: 'Internet' }], description: 'Allow outbound traffic from all VMs to Internet' }),
    rule({ id: 'DenyAllOutBound', direction: 'egress', action: 'deny', priority: 65500, remote: [{ kind: 'any' }], description: 'Deny all outbound traffic' }),
  ];
}

/** The address ARM's AzureLoadBalancer tag stands for (the platform's virtual IP). */
export const azureLoadBalancerAddress = '168.63.129.16/32';

export { rule as ruleInput };
