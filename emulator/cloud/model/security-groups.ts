import type { CloudName } from '../../../providers/catalogs/catalog.ts';
import { parseCidr } from '../../../lib/ipv4.ts';
import { ModelError } from './errors.ts';
import { awsDefaultGroupRules, awsNewGroupRules, azureDefaultRules, securityLimits, type SecurityLimits } from './security-limits.ts';
import type { CreateGroupInput, Peer, RuleInput, SecurityGroup, SecurityRule } from './security-types.ts';

/**
 * The security groups of one emulated cloud: their rules, quotas and
 * refusals. Memberships live on the interfaces and subnets (CloudModel);
 * `onChange` tells the model that the firewall must be recomputed.
 */
export interface SecurityGroupStoreOptions {
  cloud: CloudName;
  newId(prefix: string): string;
  /** Throws the model's VpcNotFound when the VPC does not exist. */
  requireVpc(vpcId: string): void;
  onChange(): void;
}

function copyRule(rule: SecurityRule): SecurityRule {
  return {
    ...rule,
    ports: rule.ports?.map((range) => ({ ...range })) ?? null,
    sourcePorts: rule.sourcePorts?.map((range) => ({ ...range })) ?? null,
    remote: rule.remote.map((peer) => ({ ...peer })),
    local: rule.local.map((peer) => ({ ...peer })),
  };
}

export function copyGroup(group: SecurityGroup): SecurityGroup {
  return { ...group, tags: { ...group.tags }, rules: group.rules.map(copyRule), defaultRules: group.defaultRules.map(copyRule) };
}

/** What makes two rules the same rule (everything but id and description). */
function ruleKey(rule: Omit<RuleInput, 'id' | 'description'>): string {
  const peers = (list: Peer[]): string => list.map((peer) => JSON.stringify(peer)).sort().join(',');
  const ranges = (list: RuleInput['ports']): string => (list ? list.map((r) => `${r.from}-${r.to}`).sort().join(',') : '*');
  return [rule.direction, rule.action, rule.priority, rule.protocol, ranges(rule.ports), ranges(rule.sourcePorts), rule.icmpType, rule.icmpCode, peers(rule.remote), peers(rule.local)].join('|');
}

export class SecurityGroupStore {
  readonly limits: SecurityLimits;
  private readonly groups = new Map<string, SecurityGroup>();
  private readonly options: SecurityGroupStoreOptions;

  constructor(options: SecurityGroupStoreOptions) {
    this.options = options;
    this.limits = securityLimits[options.cloud];
  }

  create(vpcId: string, input: CreateGroupInput): SecurityGroup {
    this.options.requireVpc(vpcId);
    const kind = input.kind ?? this.limits.defaultKind;
    for (const other of this.groups.values()) {
      if (other.vpcId === vpcId && other.name === input.name && other.kind === kind && kind === 'aws') {
        throw new ModelError('DuplicateSecurityGroup', `The security group '${input.name}' already exists for VPC '${vpcId}'`);
      }
    }
    const group: SecurityGroup = {
      id: this.options.newId('sg'),
      vpcId,
      name: input.name,
      description: input.description ?? input.name,
      kind,
      tags: { ...(input.tags ?? {}) },
      rules: [],
      defaultRules: [],
      innerAccess: 'accept',
    };
    this.groups.set(group.id, group);
    if (kind === 'aws') group.rules = awsNewGroupRules().map((rule) => this.build(group, rule));
    if (kind === 'nsg') group.defaultRules = azureDefaultRules().map((rule) => this.build(group, rule));
    this.options.onChange();
    return copyGroup(group);
  }

  /** EC2's `default` group of a new VPC: members reach each other. */
  createVpcDefault(vpcId: string, name: string): SecurityGroup {
    const created = this.create(vpcId, { name, description: `${name} VPC security group` });
    // Its self rule names its own id, known only now: replace the new group's rules.
    this.replaceRules(created.id, awsDefaultGroupRules(created.id));
    return this.get(created.id);
  }

  /** Deletes a group; `usedBy` names what still refers to it (an interface, a subnet), or null. */
  delete(groupId: string, usedBy: string | null): void {
    const group = this.require(groupId);
    if (usedBy) throw new ModelError('SecurityGroupInUse', `resource ${groupId} has a dependent object (${usedBy})`);
    for (const other of this.groups.values()) {
      if (other.id === groupId) continue;
      const referring = [...other.rules].find((rule) => [...rule.remote, ...rule.local].some((peer) => peer.kind === 'group' && peer.groupId === groupId));
      if (referring) throw new ModelError('SecurityGroupInUse', `resource ${groupId} has a dependent object (a rule of ${other.id})`);
    }
    this.groups.delete(group.id);
    this.options.onChange();
  }

  get(groupId: string): SecurityGroup {
    return copyGroup(this.require(groupId));
  }

  has(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  list(): SecurityGroup[] {
    return [...this.groups.values()].map(copyGroup);
  }

  /** The group, checked to be in `vpcId`. */
  inVpc(groupId: string, vpcId: string): SecurityGroup {
    const group = this.require(groupId);
    if (group.vpcId !== vpcId) throw new ModelError('InvalidParameter', `security group ${groupId} belongs to another VPC`);
    return group;
  }

  /** The existing rule that is the same as `spec`, if any. */
  findRule(groupId: string, spec: Omit<RuleInput, 'id' | 'description'>): SecurityRule | undefined {
    const key = ruleKey(spec);
    const found = this.require(groupId).rules.find((rule) => ruleKey(rule) === key);
    return found ? copyRule(found) : undefined;
  }

  /** Adds rules all or nothing: a duplicate (of a rule there or in the call) or a quota refuses the whole call. */
  addRules(groupId: string, inputs: RuleInput[]): SecurityRule[] {
    const group = this.require(groupId);
    const built = inputs.map((input) => this.build(group, input));
    const keys = new Set(group.rules.map(ruleKey));
    const ids = new Set(group.rules.map((rule) => rule.id));
    for (const rule of built) {
      const key = ruleKey(rule);
      if (keys.has(key)) throw new ModelError('DuplicateRule', `the specified rule already exists in ${groupId}`);
      if (ids.has(rule.id)) throw new ModelError('DuplicateRule', `a rule named ${rule.id} already exists in ${groupId}`);
      keys.add(key);
      ids.add(rule.id);
    }
    this.checkQuota(group, [...group.rules, ...built]);
    group.rules.push(...built);
    this.options.onChange();
    return built.map(copyRule);
  }

  /** Removes rules by id, all or nothing. */
  removeRules(groupId: string, ruleIds: string[]): void {
    const group = this.require(groupId);
    const missing = ruleIds.find((id) => !group.rules.some((rule) => rule.id === id));
    if (missing !== undefined) throw new ModelError('RuleNotFound', `rule ${missing} does not exist in ${groupId}`);
    const gone = new Set(ruleIds);
    group.rules = group.rules.filter((rule) => !gone.has(rule.id));
    this.options.onChange();
  }

  /** Replaces all of a group's rules (an ARM PUT carries the whole set). */
  replaceRules(groupId: string, inputs: RuleInput[]): SecurityRule[] {
    const group = this.require(groupId);
    const built = inputs.map((input) => this.build(group, input));
    const ids = new Set<string>();
    for (const rule of built) {
      if (ids.has(rule.id)) throw new ModelError('DuplicateRule', `a rule named ${rule.id} appears twice in ${groupId}`);
      ids.add(rule.id);
    }
    this.checkQuota(group, built);
    group.rules = built;
    this.options.onChange();
    return built.map(copyRule);
  }

  setInnerAccess(groupId: string, policy: 'accept' | 'drop'): void {
    const group = this.require(groupId);
    if (group.kind !== 'basic') throw new ModelError('InvalidParameter', `only a basic security group has an internal access policy; ${groupId} is ${group.kind}`);
    group.innerAccess = policy;
    this.options.onChange();
  }

  setTags(groupId: string, tags: Record<string, string>): void {
    this.require(groupId).tags = { ...tags };
  }

  setDescription(groupId: string, description: string): void {
    this.require(groupId).description = description;
  }

  private require(groupId: string): SecurityGroup {
    const group = this.groups.get(groupId);
    if (!group) throw new ModelError('SecurityGroupNotFound', `security group ${groupId} does not exist`);
    return group;
  }

  private checkQuota(group: SecurityGroup, rules: SecurityRule[]): void {
    const limit = this.limits.rulesPerGroup;
    const counts = this.limits.rulesCountedPerDirection
      ? [rules.filter((rule) => rule.direction === 'ingress').length, rules.filter((rule) => rule.direction === 'egress').length]
      : [rules.length];
    if (counts.some((count) => count > limit)) {
      throw new ModelError('RuleLimitExceeded', `security group ${group.id} would have more than ${limit} rules${this.limits.rulesCountedPerDirection ? ' in one direction' : ''}`);
    }
  }

  /** Validates a rule against the group's kind and gives it an id. */
  private build(group: SecurityGroup, input: RuleInput): SecurityRule {
    if (group.kind === 'asg') throw new ModelError('InvalidParameter', `application security group ${group.id} has no rules`);
    if (group.kind === 'aws' && input.action !== 'allow') throw new ModelError('InvalidParameter', 'EC2 security group rules can only allow traffic');
    if (input.remote.length === 0 || input.local.length === 0) throw new ModelError('InvalidParameter', 'a rule needs a source and a destination');
    for (const peer of [...input.remote, ...input.local]) this.checkPeer(group, peer);
    const ranges = [...(input.ports ?? []), ...(input.sourcePorts ?? [])];
    for (const range of ranges) {
      if (!Number.isInteger(range.from) || !Number.isInteger(range.to) || range.from < 0 || range.to > 65535 || range.from > range.to) {
        throw new ModelError('InvalidParameter', `invalid port range ${range.from}-${range.to}`);
      }
    }
    if (ranges.length > 0 && input.protocol !== 'tcp' && input.protocol !== 'udp') {
      throw new ModelError('InvalidParameter', `ports apply to tcp and udp only, not ${input.protocol}`);
    }
    if (input.protocol !== 'icmp' && (input.icmpType !== -1 || input.icmpCode !== -1)) throw new ModelError('InvalidParameter', 'an ICMP type or code needs protocol icmp');
    if (input.icmpType < -1 || input.icmpType > 255 || input.icmpCode < -1 || input.icmpCode > 255) throw new ModelError('InvalidParameter', `invalid ICMP type ${input.icmpType} or code ${input.icmpCode}`);
    const rule: SecurityRule = { ...input, id: input.id ?? this.options.newId('sgr') };
    return copyRule(rule);
  }

  private checkPeer(group: SecurityGroup, peer: Peer): void {
    if (peer.kind === 'cidr') {
      try {
        parseCidr(peer.cidr);
      } catch (err) {
        throw new ModelError('InvalidParameter', (err as Error).message);
      }
    }
    if (peer.kind === 'group') {
      // A rule may name its own group before it is stored (the default group's self rule).
      if (peer.groupId === group.id) return;
      const other = this.groups.get(peer.groupId);
      if (!other) throw new ModelError('SecurityGroupNotFound', `security group ${peer.groupId} does not exist`);
      if (other.vpcId !== group.vpcId) throw new ModelError('InvalidParameter', `security group ${peer.groupId} belongs to another VPC`);
      if (group.kind === 'nsg' && other.kind !== 'asg') throw new ModelError('InvalidParameter', `${peer.groupId} is not an application security group`);
      if (group.kind === 'enterprise') throw new ModelError('InvalidParameter', 'an enterprise security group cannot authorize a security group');
    }
    if (peer.kind === 'tag' && group.kind !== 'nsg') throw new ModelError('InvalidParameter', `service tag ${peer.tag} is an Azure NSG source only`);
  }
}
