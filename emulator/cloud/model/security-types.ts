/**
 * Security groups in cloud-neutral terms. One shape carries the three clouds'
 * firewalls; what differs is the group's `kind`, which decides how its rules
 * are evaluated (docs/security-groups.md gives each cloud's semantics):
 *
 * - `aws`: allow-only rules; an interface's groups are a union (any match allows).
 * - `nsg`: an Azure network security group; rules ordered by priority, allow
 *   and deny; on a NIC and on a subnet, both must allow.
 * - `asg`: an Azure application security group; no rules, only members
 *   (the addresses of the ipConfigurations that name it).
 * - `basic` / `enterprise`: ECS groups; the rules of all an ENI's groups are
 *   sorted together by priority, drop before accept at the same priority.
 */

export type Direction = 'ingress' | 'egress';
export type RuleAction = 'allow' | 'deny';
export type Protocol = 'all' | 'tcp' | 'udp' | 'icmp';
export type GroupKind = 'aws' | 'nsg' | 'asg' | 'basic' | 'enterprise';

/** Azure's service tags the emulated VPC can tell apart. */
export type ServiceTag = 'VirtualNetwork' | 'Internet' | 'AzureLoadBalancer';

export interface PortRange {
  from: number;
  to: number;
}

/** One side of a flow as a rule names it. */
export type Peer =
  | { kind: 'any' }
  | { kind: 'cidr'; cidr: string }
  /** Every address of every member: an AWS or ECS group's interfaces, an ASG's ipConfigurations. */
  | { kind: 'group'; groupId: string }
  | { kind: 'tag'; tag: ServiceTag };

export interface SecurityRule {
  /** sgr-… on EC2, the rule's name on ARM, SecurityGroupRuleId on ECS. */
  id: string;
  direction: Direction;
  action: RuleAction;
  /** Lower is evaluated first: ARM 100–4096 (defaults 65000+), ECS 1–100; EC2 has none (0). */
  priority: number;
  protocol: Protocol;
  /** Destination ports of tcp/udp; null = all. */
  ports: PortRange[] | null;
  /** Source ports (ARM only); null = all. */
  sourcePorts: PortRange[] | null;
  /** ICMP type and code; -1 = any. Only with protocol icmp. */
  icmpType: number;
  icmpCode: number;
  /** The far side: the source of an ingress rule, the destination of an egress rule. Any one matches. */
  remote: Peer[];
  /** The near side (ARM's destination of an inbound rule, source of an outbound one); `any` elsewhere. */
  local: Peer[];
  description: string;
}

/** A rule as a caller asks for it: the id is given by the model unless named (ARM names its rules). */
export type RuleInput = Omit<SecurityRule, 'id'> & { id?: string };

export interface SecurityGroup {
  id: string;
  vpcId: string;
  name: string;
  description: string;
  kind: GroupKind;
  tags: Record<string, string>;
  rules: SecurityRule[];
  /** Rules the cloud puts in every group of the kind and nobody may change (ARM's defaultSecurityRules). */
  defaultRules: SecurityRule[];
  /** ECS basic groups: whether members reach each other without a rule (InnerAccessPolicy). */
  innerAccess: 'accept' | 'drop';
}

export interface CreateGroupInput {
  name: string;
  description?: string;
  tags?: Record<string, string>;
  /** Default: the cloud's ordinary kind (aws, nsg, basic). */
  kind?: GroupKind;
}
