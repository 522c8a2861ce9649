import { randomBytes } from 'node:crypto';
import { SubnetAddressSpace, ipToNumber, parseCidr, type ClaimRefusal } from './addresses.ts';
import type { CloudName, InstanceCatalog, InstanceTypeInfo } from '../../../providers/catalogs/catalog.ts';
import { addressRules, defaultSecurityGroupName, type AddressRules } from './address-rules.ts';
import { ModelError } from './errors.ts';
import { RecordHistory } from './history.ts';
import { SecurityGroupStore } from './security-groups.ts';
import type { SecurityView } from './firewall-plan.ts';
import type { CreateGroupInput, SecurityGroup } from './security-types.ts';

export type { SecurityGroup } from './security-types.ts';

/**
 * The cloud-neutral model of a VPC cloud: VPCs, subnets with a finite address
 * space, security groups, instances, network interfaces and tags. The clouds'
 * faces (EC2 Query, IMDS, later ARM and ECS) translate their wire protocols
 * onto it; the data plane follows it through `CloudObserver`.
 */

export type Tags = Record<string, string>;

export interface Vpc {
  id: string;
  region: string;
  cidrs: string[];
  tags: Tags;
}

export interface Subnet {
  id: string;
  vpcId: string;
  zone: string;
  cidr: string;
  gateway: string;
  tags: Tags;
  /** ARM: the NSG associated with the subnet (evaluated with the NIC's). */
  networkSecurityGroupId?: string;
}

export interface Instance {
  id: string;
  type: string;
  zone: string;
  region: string;
  vpcId: string;
  subnetId: string;
  primaryInterfaceId: string;
  state: 'running' | 'terminated';
  tags: Tags;
}

export interface Attachment {
  id: string;
  instanceId: string;
  deviceIndex: number;
  networkCardIndex: number;
  status: 'attaching' | 'attached' | 'detaching';
  deleteOnTermination: boolean;
}

export interface NetworkInterface {
  id: string;
  mac: string;
  vpcId: string;
  subnetId: string;
  zone: string;
  description: string;
  securityGroupIds: string[];
  /** ARM: address → the application security groups its ipConfiguration names. */
  applicationGroups: Record<string, string[]>;
  tags: Tags;
  primaryIp: string;
  secondaryIps: string[];
  prefixes: string[];
  status: 'available' | 'in-use';
  attachment: Attachment | null;
  createdAt: number;
}

export interface AddressChange {
  ips: string[];
  prefixes: string[];
}

/** What the data plane needs to hear; each hook may take its time. */
export interface CloudObserver {
  instanceLaunched(instance: Instance, primary: NetworkInterface, subnet: Subnet): Promise<void>;
  instanceTerminated(instance: Instance): Promise<void>;
  interfaceAttached(nic: NetworkInterface, instance: Instance): Promise<void>;
  interfaceDetached(nic: NetworkInterface, instanceId: string): Promise<void>;
  addressesAssigned(nic: NetworkInterface, change: AddressChange): Promise<void>;
  addressesReleased(nic: NetworkInterface, change: AddressChange): Promise<void>;
  /** A group's rules, an interface's or a subnet's groups changed: the firewall is recomputed from `securityView()`. */
  securityChanged?(): Promise<void>;
}

/** How the data plane's last firewall commit went. */
export interface FirewallStatus {
  generation: number;
  lastApplyMs: number | null;
  error: string | null;
}

export interface Clock {
  now(): number;
}

export interface CloudModelOptions {
  catalog: InstanceCatalog;
  /** Whose address rules subnets follow (reserved addresses, gateway, id formats); default aws. */
  cloud?: CloudName;
  clock?: Clock;
  /** How long an attachment stays `attaching` (and detachment `detaching`). */
  attachDelayMs?: number;
  detachDelayMs?: number;
  /** How far interface reads lag behind writes. */
  describeLagMs?: number;
  /** Secondary addresses an interface may get in its create call (AWS: up to the largest type's limit). */
  maxAddressesOnCreate?: number;
  /** Delegated prefix length (/28 on AWS and Alibaba). */
  prefixLength?: number;
}

export interface CreateInterfaceInput {
  subnetId: string;
  securityGroupIds: string[];
  description?: string;
  tags?: Tags;
  secondaryIpCount?: number;
  secondaryIps?: string[];
  prefixCount?: number;
  primaryIp?: string;
  /** Azure NICs may have no network security group; other clouds require one. */
  securityGroupsOptional?: boolean;
}

/** A further interface a VM is launched with (Azure VMs come with their whole NIC set). */
export interface LaunchInterfaceInput {
  subnetId: string;
  /** Default: the primary interface's groups. */
  securityGroupIds?: string[];
}

export interface AssignInput {
  ipCount?: number;
  ips?: string[];
  /** Named `ips` another interface of the subnet holds as secondaries move to this one (EC2's AllowReassignment). */
  allowReassignment?: boolean;
  prefixCount?: number;
  prefixes?: string[];
}

/** Why a named address (or prefix) cannot be had, as the model's error. */
function claimError(refusal: ClaimRefusal, address: string, subnetId: string, cidr: string): ModelError {
  switch (refusal) {
    case 'taken':
      return new ModelError('AddressInUse', `The specified address ${address} is already in use in subnet ${subnetId}.`);
    case 'reserved':
      return new ModelError('AddressReserved', `The address ${address} is in the reserved address range of subnet ${subnetId} (${cidr}).`);
    case 'outside':
      return new ModelError('AddressOutsideSubnet', `The address ${address} does not fall within the address range of subnet ${subnetId} (${cidr}).`);
  }
}

/** A deep copy of plain data (objects, arrays, primitives): every read hands out its own, far cheaper than structuredClone. */
function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = clone(child);
    return out as T;
  }
  return value;
}

/** Interfaces are copied on every read and write: a plain copy is many times cheaper than structuredClone. */
function copyInterface(nic: NetworkInterface): NetworkInterface {
  return {
    ...nic,
    securityGroupIds: [...nic.securityGroupIds],
    applicationGroups: Object.fromEntries(Object.entries(nic.applicationGroups).map(([ip, ids]) => [ip, [...ids]])),
    tags: { ...nic.tags },
    secondaryIps: [...nic.secondaryIps],
    prefixes: [...nic.prefixes],
    attachment: nic.attachment ? { ...nic.attachment } : null,
  };
}

export class CloudModel {
  readonly catalog: InstanceCatalog;
  readonly clock: Clock;
  attachDelayMs: number;
  detachDelayMs: number;
  describeLagMs: number;
  readonly maxAddressesOnCreate: number;
  readonly prefixLength: number;
  readonly rules: AddressRules;

  private readonly vpcs = new Map<string, Vpc>();
  private readonly subnets = new Map<string, Subnet>();
  private readonly spaces = new Map<string, SubnetAddressSpace>();
  /** Security groups and their rules; memberships live on interfaces and subnets. */
  readonly security: SecurityGroupStore;
  private readonly instances = new Map<string, Instance>();
  private readonly interfaces = new Map<string, NetworkInterface>();
  private readonly history = new RecordHistory<NetworkInterface>();
  private readonly observers: CloudObserver[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly macs = new Set<string>();
  private firewall: (FirewallStatus & { at: string }) | null = null;

  constructor(options: CloudModelOptions) {
    this.catalog = options.catalog;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.attachDelayMs = options.attachDelayMs ?? 0;
    this.detachDelayMs = options.detachDelayMs ?? 0;
    this.describeLagMs = options.describeLagMs ?? 0;
    this.maxAddressesOnCreate = options.maxAddressesOnCreate ?? 49;
    this.prefixLength = options.prefixLength ?? 28;
    this.rules = addressRules[options.cloud ?? 'aws'];
    this.security = new SecurityGroupStore({
      cloud: this.rules.cloud,
      newId: (prefix) => this.newId(prefix),
      requireVpc: (vpcId) => void this.vpc(vpcId),
      onChange: () => this.securityChanged(),
    });
  }

  observe(observer: CloudObserver): void {
    this.observers.push(observer);
  }

  /** Resolves when every attach/detach in flight has completed. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  // ---- topology ----------------------------------------------------------

  createVpc(region: string, cidrs: string[], tags: Tags = {}): Vpc {
    if (cidrs.length === 0) throw new ModelError('InvalidParameter', 'a VPC needs at least one CIDR block');
    for (const cidr of cidrs) this.validCidr(cidr);
    const vpc: Vpc = { id: this.newId('vpc'), region, cidrs: [...cidrs], tags: { ...tags } };
    this.vpcs.set(vpc.id, vpc);
    // Every EC2 VPC comes with its `default` group; it is used where a call names none.
    if (this.rules.defaultSecurityGroup) this.security.createVpcDefault(vpc.id, defaultSecurityGroupName);
    return clone(vpc);
  }

  createSubnet(vpcId: string, cidr: string, zone: string, tags: Tags = {}): Subnet {
    const vpc = this.vpc(vpcId);
    this.validCidr(cidr);
    const range = parseCidr(cidr);
    const inside = (block: string): boolean => {
      const outer = parseCidr(block);
      return range.base >= outer.base && range.base + range.size <= outer.base + outer.size;
    };
    if (!vpc.cidrs.some(inside)) {
      throw new ModelError('InvalidParameter', `subnet ${cidr} is not inside the CIDR blocks of ${vpcId}`);
    }
    for (const other of this.subnets.values()) {
      const taken = parseCidr(other.cidr);
      if (other.vpcId === vpcId && range.base < taken.base + taken.size && taken.base < range.base + range.size) {
        throw new ModelError('InvalidParameter', `subnet ${cidr} overlaps ${other.id} (${other.cidr})`);
      }
    }
    let space: SubnetAddressSpace;
    try {
      space = new SubnetAddressSpace(cidr, this.rules);
    } catch (err) {
      throw new ModelError('InvalidParameter', (err as Error).message);
    }
    const subnet: Subnet = { id: this.newId(this.rules.subnetIdPrefix), vpcId, zone, cidr, gateway: space.gateway, tags: { ...tags } };
    this.subnets.set(subnet.id, subnet);
    this.spaces.set(subnet.id, space);
    return clone(subnet);
  }

  createSecurityGroup(vpcId: string, name: string, tags: Tags = {}, options: Omit<CreateGroupInput, 'name' | 'tags'> = {}): SecurityGroup {
    return this.security.create(vpcId, { ...options, name, tags });
  }

  /** Deletes a group nothing refers to any more (no interface, subnet, ipConfiguration or other group's rule). */
  deleteSecurityGroup(groupId: string): void {
    const usedBy =
      [...this.interfaces.values()].find((nic) => nic.securityGroupIds.includes(groupId) || Object.values(nic.applicationGroups).some((ids) => ids.includes(groupId)))?.id ??
      [...this.subnets.values()].find((subnet) => subnet.networkSecurityGroupId === groupId)?.id ??
      null;
    this.security.delete(groupId, usedBy);
  }

  getSecurityGroup(groupId: string): SecurityGroup {
    return this.security.get(groupId);
  }

  /** ARM: associates an NSG with a subnet (or none). */
  setSubnetSecurityGroup(subnetId: string, groupId: string | null): void {
    const subnet = this.subnet(subnetId);
    if (groupId === null) delete subnet.networkSecurityGroupId;
    else {
      const group = this.security.inVpc(groupId, subnet.vpcId);
      if (group.kind !== 'nsg') throw new ModelError('InvalidParameter', `${groupId} is not a network security group`);
      subnet.networkSecurityGroupId = groupId;
    }
    this.securityChanged();
  }

  /** ARM: the application security groups each address's ipConfiguration names. */
  setApplicationGroups(interfaceId: string, byAddress: Record<string, string[]>): void {
    const nic = this.nic(interfaceId);
    const limit = this.security.limits.groupsPerAddress;
    for (const [address, ids] of Object.entries(byAddress)) {
      if (address !== nic.primaryIp && !nic.secondaryIps.includes(address)) throw new ModelError('AddressNotAssigned', `address ${address} is not assigned to ${interfaceId}`);
      if (ids.length > limit) throw new ModelError('GroupLimitExceeded', `an ipConfiguration may name at most ${limit} application security groups`);
      for (const id of ids) {
        if (this.security.inVpc(id, nic.vpcId).kind !== 'asg') throw new ModelError('InvalidParameter', `${id} is not an application security group`);
      }
    }
    nic.applicationGroups = Object.fromEntries(Object.entries(byAddress).filter(([, ids]) => ids.length > 0).map(([ip, ids]) => [ip, [...ids]]));
    this.storeInterface(nic);
    this.securityChanged();
  }

  /** The data plane's word on the firewall, for the state endpoint: the last commit, or why it was refused. */
  recordFirewall(status: FirewallStatus): void {
    this.firewall = { ...status, at: new Date(this.clock.now()).toISOString() };
  }

  /** Each group's members now: the addresses and prefixes of its interfaces (of its ipConfigurations, for an ASG). */
  securityGroupMembers(): Record<string, string[]> {
    const members: Record<string, string[]> = Object.fromEntries(this.security.list().map((group) => [group.id, [] as string[]]));
    for (const nic of this.interfaces.values()) {
      for (const groupId of nic.securityGroupIds) members[groupId]?.push(nic.primaryIp, ...nic.secondaryIps, ...nic.prefixes);
      for (const [address, groupIds] of Object.entries(nic.applicationGroups)) for (const groupId of groupIds) members[groupId]?.push(address);
    }
    return members;
  }

  /** What the firewall is compiled from: the groups, and who is in them now. */
  securityView(): SecurityView {
    return {
      cloud: this.rules.cloud,
      groups: this.security.list(),
      vpcs: [...this.vpcs.values()].map((vpc) => ({ id: vpc.id, cidrs: [...vpc.cidrs] })),
      subnets: [...this.subnets.values()].map((subnet) => ({ id: subnet.id, networkSecurityGroupId: subnet.networkSecurityGroupId })),
      interfaces: [...this.interfaces.values()].map((nic) => ({
        id: nic.id,
        vpcId: nic.vpcId,
        subnetId: nic.subnetId,
        securityGroupIds: [...nic.securityGroupIds],
        addresses: [nic.primaryIp, ...nic.secondaryIps, ...nic.prefixes],
        applicationGroups: nic.applicationGroups,
      })),
    };
  }

  /**
   * Starts an instance with its primary interface attached at device 0 and
   * any `extraInterfaces` attached at devices 1, 2, ... from the start.
   */
  async launchInstance(input: { type: string; subnetId: string; securityGroupIds: string[]; tags?: Tags; extraInterfaces?: LaunchInterfaceInput[] }): Promise<Instance> {
    const type = this.instanceType(input.type);
    const subnet = this.subnet(input.subnetId);
    const extras = input.extraInterfaces ?? [];
    if (1 + extras.length > type.maxInterfaces) {
      throw new ModelError('AttachmentLimitExceeded', `${1 + extras.length} interfaces exceed the limit for ${input.type} (${type.maxInterfaces})`);
    }
    for (const extra of extras) {
      const other = this.subnet(extra.subnetId);
      if (other.vpcId !== subnet.vpcId || other.zone !== subnet.zone) {
        throw new ModelError('InvalidParameter', `subnet ${other.id} is not in the VPC and zone of ${subnet.id}`);
      }
    }
    const instanceId = this.newId('i');
    const primary = this.buildInterface({ subnetId: subnet.id, securityGroupIds: input.securityGroupIds, description: 'Primary network interface' });
    const built: NetworkInterface[] = [];
    try {
      for (const extra of extras) {
        built.push(this.buildInterface({ subnetId: extra.subnetId, securityGroupIds: extra.securityGroupIds ?? input.securityGroupIds, description: 'Network interface' }));
      }
    } catch (err) {
      for (const nic of [primary, ...built]) this.discardBuilt(nic);
      throw err;
    }
    const vpc = this.vpc(subnet.vpcId);
    const instance: Instance = {
      id: instanceId,
      type: input.type,
      zone: subnet.zone,
      region: vpc.region,
      vpcId: subnet.vpcId,
      subnetId: subnet.id,
      primaryInterfaceId: primary.id,
      state: 'running',
      tags: { ...(input.tags ?? {}) },
    };
    primary.status = 'in-use';
    primary.attachment = {
      id: this.newId('eni-attach'),
      instanceId,
      deviceIndex: 0,
      networkCardIndex: 0,
      status: 'attached',
      deleteOnTermination: true,
    };
    built.forEach((nic, index) => {
      nic.status = 'in-use';
      nic.attachment = { id: this.newId('eni-attach'), instanceId, deviceIndex: index + 1, networkCardIndex: 0, status: 'attached', deleteOnTermination: true };
    });
    this.instances.set(instanceId, instance);
    this.storeInterface(primary);
    for (const nic of built) this.storeInterface(nic);
    await Promise.all(this.observers.map((o) => o.instanceLaunched(clone(instance), clone(primary), clone(subnet))));
    // Device order, as the instance's NICs come up at boot.
    for (const nic of built) await Promise.all(this.observers.map((o) => o.interfaceAttached(copyInterface(nic), clone(instance))));
    return clone(instance);
  }

  async terminateInstance(instanceId: string): Promise<void> {
    const instance = this.instance(instanceId);
    instance.state = 'terminated';
    for (const nic of [...this.interfaces.values()]) {
      if (nic.attachment?.instanceId !== instanceId) continue;
      const deleteIt = nic.attachment.deleteOnTermination;
      nic.attachment = null;
      nic.status = 'available';
      if (deleteIt) this.removeInterface(nic);
      else this.storeInterface(nic);
    }
    await Promise.all(this.observers.map((o) => o.instanceTerminated(clone(instance))));
  }

  // ---- interfaces --------------------------------------------------------

  createInterface(input: CreateInterfaceInput): NetworkInterface {
    const nic = this.buildInterface(input);
    this.storeInterface(nic);
    return clone(nic);
  }

  attachInterface(interfaceId: string, instanceId: string, deviceIndex: number, networkCardIndex = 0): Attachment {
    const nic = this.nic(interfaceId);
    const instance = this.instance(instanceId);
    const type = this.instanceType(instance.type);
    if (instance.state !== 'running') throw new ModelError('InvalidState', `instance ${instanceId} is not running`);
    if (nic.attachment) throw new ModelError('InterfaceInUse', `interface ${interfaceId} is already attached to ${nic.attachment.instanceId}`);
    if (nic.zone !== instance.zone) {
      throw new ModelError('InvalidParameter', `interface ${interfaceId} is in ${nic.zone}, instance ${instanceId} in ${instance.zone}`);
    }
    if (!Number.isInteger(deviceIndex) || deviceIndex < 0) throw new ModelError('InvalidParameter', `invalid device index ${deviceIndex}`);
    if (networkCardIndex !== 0) throw new ModelError('InvalidParameter', `network card index ${networkCardIndex} is not supported by ${instance.type}`);
    const attached = this.attachedTo(instanceId);
    if (attached.some((other) => other.attachment?.deviceIndex === deviceIndex)) {
      throw new ModelError('DeviceIndexInUse', `instance ${instanceId} already has an interface attached at device index ${deviceIndex}`);
    }
    if (attached.length >= type.maxInterfaces || deviceIndex >= type.maxInterfaces) {
      throw new ModelError('AttachmentLimitExceeded', `interface count exceeds the limit for ${instance.type} (${type.maxInterfaces})`);
    }
    const slots = nic.secondaryIps.length + 1 + nic.prefixes.length;
    if (slots > type.ipv4PerInterface) {
      throw new ModelError('AddressLimitExceeded', `interface ${interfaceId} has ${slots} addresses; ${instance.type} allows ${type.ipv4PerInterface} per interface`);
    }
    const attachment: Attachment = {
      id: this.newId('eni-attach'),
      instanceId,
      deviceIndex,
      networkCardIndex,
      status: 'attaching',
      deleteOnTermination: false,
    };
    nic.attachment = attachment;
    nic.status = 'in-use';
    this.storeInterface(nic);
    this.transition(this.attachDelayMs, async () => {
      const current = this.interfaces.get(interfaceId);
      if (!current || current.attachment?.id !== attachment.id) return;
      await Promise.all(this.observers.map((o) => o.interfaceAttached(clone(current), clone(instance))));
      if (current.attachment?.id === attachment.id && current.attachment.status === 'attaching') {
        current.attachment.status = 'attached';
        this.storeInterface(current);
      }
    });
    return clone(attachment);
  }

  setDeleteOnTermination(interfaceId: string, attachmentId: string, value: boolean): void {
    const nic = this.nic(interfaceId);
    if (nic.attachment?.id !== attachmentId) {
      throw new ModelError('AttachmentNotFound', `attachment ${attachmentId} does not belong to ${interfaceId}`);
    }
    nic.attachment.deleteOnTermination = value;
    this.storeInterface(nic);
  }

  detachInterface(attachmentId: string): void {
    const nic = [...this.interfaces.values()].find((candidate) => candidate.attachment?.id === attachmentId);
    if (!nic || !nic.attachment) throw new ModelError('AttachmentNotFound', `attachment ${attachmentId} does not exist`);
    const attachment = nic.attachment;
    if (attachment.deviceIndex === 0) {
      throw new ModelError('PrimaryInterfaceDetach', `The network interface at device index 0 and networkCard index ${attachment.networkCardIndex} cannot be detached.`);
    }
    if (attachment.status === 'detaching') return;
    attachment.status = 'detaching';
    this.storeInterface(nic);
    this.transition(this.detachDelayMs, async () => {
      const current = this.interfaces.get(nic.id);
      if (!current || current.attachment?.id !== attachmentId) return;
      await Promise.all(this.observers.map((o) => o.interfaceDetached(clone(current), attachment.instanceId)));
      current.attachment = null;
      current.status = 'available';
      this.storeInterface(current);
    });
  }

  deleteInterface(interfaceId: string): void {
    const nic = this.nic(interfaceId);
    if (nic.attachment) throw new ModelError('InterfaceAttached', `Network interface '${interfaceId}' is currently in use.`);
    this.removeInterface(nic);
  }

  async assignAddresses(interfaceId: string, input: AssignInput): Promise<AddressChange> {
    const nic = this.nic(interfaceId);
    const space = this.space(nic.subnetId);
    const wantIps = (input.ipCount ?? 0) + (input.ips?.length ?? 0);
    const wantPrefixes = (input.prefixCount ?? 0) + (input.prefixes?.length ?? 0);
    if (wantIps === 0 && wantPrefixes === 0) throw new ModelError('InvalidParameter', 'nothing to assign');
    if (wantPrefixes > 0) this.requirePrefixSupport(nic);
    this.checkAddressLimit(nic, wantIps + wantPrefixes);
    if (input.allowReassignment) await this.reclaim(nic, input.ips ?? []);
    const change = this.take(space, nic.subnetId, input);
    nic.secondaryIps.push(...change.ips);
    nic.prefixes.push(...change.prefixes);
    this.storeInterface(nic);
    const snapshot = copyInterface(nic);
    await Promise.all(this.observers.map((o) => o.addressesAssigned(snapshot, change)));
    return change;
  }

  async releaseAddresses(interfaceId: string, change: AddressChange): Promise<void> {
    const nic = this.nic(interfaceId);
    for (const ip of change.ips) {
      if (ip === nic.primaryIp) throw new ModelError('InvalidParameter', `the primary address ${ip} cannot be unassigned`);
      if (!nic.secondaryIps.includes(ip)) throw new ModelError('AddressNotAssigned', `address ${ip} is not assigned to ${interfaceId}`);
    }
    for (const prefix of change.prefixes) {
      if (!nic.prefixes.includes(prefix)) throw new ModelError('AddressNotAssigned', `prefix ${prefix} is not assigned to ${interfaceId}`);
    }
    const space = this.space(nic.subnetId);
    nic.secondaryIps = nic.secondaryIps.filter((ip) => !change.ips.includes(ip));
    nic.prefixes = nic.prefixes.filter((prefix) => !change.prefixes.includes(prefix));
    for (const ip of change.ips) space.release(ip);
    for (const prefix of change.prefixes) space.releasePrefix(prefix);
    this.storeInterface(nic);
    const snapshot = copyInterface(nic);
    await Promise.all(this.observers.map((o) => o.addressesReleased(snapshot, { ips: [...change.ips], prefixes: [...change.prefixes] })));
  }

  /** Takes named secondary addresses back from the other interfaces of `nic`'s subnet that hold them, so they can move to `nic`. */
  private async reclaim(nic: NetworkInterface, ips: string[]): Promise<void> {
    for (const ip of ips) {
      const holder = [...this.interfaces.values()].find((other) => other.id !== nic.id && other.subnetId === nic.subnetId && other.secondaryIps.includes(ip));
      if (holder) await this.releaseAddresses(holder.id, { ips: [ip], prefixes: [] });
    }
  }

  setDescription(interfaceId: string, description: string): void {
    const nic = this.nic(interfaceId);
    nic.description = description;
    this.storeInterface(nic);
  }

  /** Replaces an interface's security groups: each must exist in the interface's VPC. */
  setSecurityGroups(interfaceId: string, groupIds: string[], options: { optional?: boolean } = {}): void {
    const nic = this.nic(interfaceId);
    if (groupIds.length === 0 && !options.optional) throw new ModelError('InvalidParameter', 'an interface needs at least one security group');
    this.checkInterfaceGroups(groupIds, nic.vpcId);
    nic.securityGroupIds = [...groupIds];
    this.storeInterface(nic);
    this.securityChanged();
  }

  /** The VPC's `default` security group (EC2 VPCs have one from the start). */
  defaultSecurityGroup(vpcId: string): SecurityGroup | undefined {
    return this.security.list().find((candidate) => candidate.vpcId === vpcId && candidate.name === defaultSecurityGroupName && candidate.kind === 'aws');
  }

  /** Replaces an interface's tags as a whole (an ARM PUT carries the full set). */
  setInterfaceTags(interfaceId: string, tags: Tags): void {
    const nic = this.nic(interfaceId);
    nic.tags = { ...tags };
    this.storeInterface(nic);
  }

  tagResources(resourceIds: string[], tags: Tags): void {
    const targets = resourceIds.map((id) => this.taggable(id));
    for (const target of targets) {
      Object.assign(target.tags, tags);
      if (this.interfaces.has(target.id)) this.storeInterface(target as NetworkInterface);
      if (this.security.has(target.id)) this.security.setTags(target.id, target.tags);
    }
  }

  // ---- reads -------------------------------------------------------------

  /** Interfaces as Describe calls see them: lagging writes by `describeLagMs`. */
  describeInterfaces(wanted: (nic: NetworkInterface) => boolean = () => true): NetworkInterface[] {
    if (this.describeLagMs <= 0) return [...this.interfaces.values()].filter(wanted).map(copyInterface);
    const horizon = this.clock.now() - this.describeLagMs;
    this.history.prune(horizon);
    return this.history.asOf(horizon).filter(wanted).map(copyInterface);
  }

  /** The current truth, as the metadata service and the data plane see it. */
  getInterface(interfaceId: string): NetworkInterface {
    return copyInterface(this.nic(interfaceId));
  }

  listInterfaces(): NetworkInterface[] {
    return [...this.interfaces.values()].map(copyInterface);
  }

  /** The attached interface whose primary address this is (who asks the metadata service), without copying the others. */
  attachedInterfaceWithPrimaryIp(ip: string): NetworkInterface | undefined {
    for (const nic of this.interfaces.values()) if (nic.primaryIp === ip && nic.attachment) return copyInterface(nic);
    return undefined;
  }

  /** Interfaces attached to an instance whose attachment completed, by device index. */
  attachedInterfaces(instanceId: string): NetworkInterface[] {
    return this.attachedTo(instanceId)
      .filter((nic) => nic.attachment?.status === 'attached')
      .sort((a, b) => (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0))
      .map(copyInterface);
  }

  getInstance(instanceId: string): Instance {
    return clone(this.instance(instanceId));
  }

  listInstances(): Instance[] {
    return [...this.instances.values()].map(clone);
  }

  getSubnet(subnetId: string): Subnet & { freeAddresses: number } {
    return { ...clone(this.subnet(subnetId)), freeAddresses: this.space(subnetId).free };
  }

  listSubnets(): Array<Subnet & { freeAddresses: number }> {
    return [...this.subnets.keys()].map((id) => this.getSubnet(id));
  }

  getVpc(vpcId: string): Vpc {
    return clone(this.vpc(vpcId));
  }

  listVpcs(): Vpc[] {
    return [...this.vpcs.values()].map(clone);
  }

  listSecurityGroups(): SecurityGroup[] {
    return this.security.list();
  }

  instanceType(name: string): InstanceTypeInfo {
    const type = this.catalog.get(name);
    if (!type) throw new ModelError('InstanceTypeNotFound', `instance type ${name} does not exist`);
    return type;
  }

  /** The whole state, for the introspection endpoint. */
  snapshot(): Record<string, unknown> {
    return {
      settings: {
        attachDelayMs: this.attachDelayMs,
        detachDelayMs: this.detachDelayMs,
        describeLagMs: this.describeLagMs,
      },
      vpcs: this.listVpcs(),
      subnets: this.listSubnets(),
      securityGroups: this.listSecurityGroups(),
      securityGroupMembers: this.securityGroupMembers(),
      firewall: this.firewall,
      instances: this.listInstances(),
      interfaces: this.listInterfaces(),
    };
  }

  // ---- internals ---------------------------------------------------------

  private buildInterface(input: CreateInterfaceInput): NetworkInterface {
    const subnet = this.subnet(input.subnetId);
    const space = this.space(subnet.id);
    if (input.securityGroupIds.length === 0 && !input.securityGroupsOptional) throw new ModelError('InvalidParameter', 'an interface needs at least one security group');
    this.checkInterfaceGroups(input.securityGroupIds, subnet.vpcId);
    const secondaryCount = (input.secondaryIpCount ?? 0) + (input.secondaryIps?.length ?? 0);
    const prefixCount = input.prefixCount ?? 0;
    if (secondaryCount + prefixCount > this.maxAddressesOnCreate) {
      throw new ModelError('AddressLimitExceeded', `at most ${this.maxAddressesOnCreate} secondary addresses can be requested when creating an interface`);
    }
    let primaryIp: string;
    if (input.primaryIp) {
      this.validIp(input.primaryIp);
      const refusal = space.refusal(input.primaryIp);
      if (refusal) throw claimError(refusal, input.primaryIp, subnet.id, subnet.cidr);
      space.claim(input.primaryIp);
      primaryIp = input.primaryIp;
    } else {
      const [taken] = space.allocate(1) ?? [];
      if (!taken) throw new ModelError('SubnetFull', `subnet ${subnet.id} has no free addresses`);
      primaryIp = taken;
    }
    let change: AddressChange;
    try {
      change = this.take(space, subnet.id, { ipCount: input.secondaryIpCount, ips: input.secondaryIps, prefixCount });
    } catch (err) {
      space.release(primaryIp);
      throw err;
    }
    return {
      id: this.newId('eni'),
      mac: this.newMac(),
      vpcId: subnet.vpcId,
      subnetId: subnet.id,
      zone: subnet.zone,
      description: input.description ?? '',
      securityGroupIds: [...input.securityGroupIds],
      applicationGroups: {},
      tags: { ...(input.tags ?? {}) },
      primaryIp,
      secondaryIps: change.ips,
      prefixes: change.prefixes,
      status: 'available',
      attachment: null,
      createdAt: this.clock.now(),
    };
  }

  /** Takes addresses and prefixes from a subnet, all or nothing. */
  private take(space: SubnetAddressSpace, subnetId: string, input: AssignInput): AddressChange {
    for (const ip of input.ips ?? []) this.validIp(ip);
    for (const prefix of input.prefixes ?? []) {
      this.validCidr(prefix);
      if (parseCidr(prefix).prefixLength !== this.prefixLength) throw new ModelError('InvalidParameter', `prefix ${prefix} is not a /${this.prefixLength}`);
    }
    const ips: string[] = [];
    const prefixes: string[] = [];
    const undo = (): void => {
      for (const ip of ips) space.release(ip);
      for (const prefix of prefixes) space.releasePrefix(prefix);
    };
    for (const ip of input.ips ?? []) {
      const refusal = space.refusal(ip);
      if (refusal) {
        undo();
        throw claimError(refusal, ip, subnetId, space.cidr);
      }
      space.claim(ip);
      ips.push(ip);
    }
    for (const prefix of input.prefixes ?? []) {
      const refusal = space.prefixRefusal(prefix);
      if (refusal) {
        undo();
        throw claimError(refusal, prefix, subnetId, space.cidr);
      }
      space.claimPrefix(prefix);
      prefixes.push(prefix);
    }
    if (input.ipCount) {
      const taken = space.allocate(input.ipCount);
      if (!taken) {
        undo();
        throw new ModelError('SubnetFull', `subnet ${subnetId} has ${space.free} free addresses, ${input.ipCount} requested`);
      }
      ips.push(...taken);
    }
    if (input.prefixCount) {
      const taken = space.allocatePrefixes(input.prefixCount, this.prefixLength);
      if (!taken) {
        undo();
        throw new ModelError('NoFreePrefix', `subnet ${subnetId} has no ${input.prefixCount} free contiguous /${this.prefixLength} blocks`);
      }
      prefixes.push(...taken);
    }
    return { ips, prefixes };
  }

  private checkAddressLimit(nic: NetworkInterface, adding: number): void {
    const slots = 1 + nic.secondaryIps.length + nic.prefixes.length + adding;
    if (nic.attachment) {
      const type = this.instanceType(this.instance(nic.attachment.instanceId).type);
      if (slots > type.ipv4PerInterface) {
        throw new ModelError(
          'AddressLimitExceeded',
          `number of private addresses (${slots}) exceeds the limit of ${type.ipv4PerInterface} per interface for ${type.name}`,
        );
      }
    } else if (slots - 1 > this.maxAddressesOnCreate) {
      throw new ModelError('AddressLimitExceeded', `an unattached interface can hold at most ${this.maxAddressesOnCreate} secondary addresses`);
    }
  }

  private requirePrefixSupport(nic: NetworkInterface): void {
    if (!nic.attachment) return;
    const type = this.instanceType(this.instance(nic.attachment.instanceId).type);
    if (!type.supportsPrefixes) throw new ModelError('PrefixUnsupported', `instance type ${type.name} does not support prefix delegation`);
  }

  private transition(delayMs: number, step: () => Promise<void>): void {
    const run = async (): Promise<void> => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      await step();
    };
    const promise = run().finally(() => this.pending.delete(promise));
    this.pending.add(promise);
  }

  private attachedTo(instanceId: string): NetworkInterface[] {
    return [...this.interfaces.values()].filter((nic) => nic.attachment?.instanceId === instanceId);
  }

  private storeInterface(nic: NetworkInterface): void {
    this.interfaces.set(nic.id, nic);
    this.history.record(nic.id, this.clock.now(), copyInterface(nic), this.clock.now() - this.describeLagMs);
  }

  /** Gives back what `buildInterface` took for an interface that was never stored. */
  private discardBuilt(nic: NetworkInterface): void {
    const space = this.space(nic.subnetId);
    space.release(nic.primaryIp);
    for (const ip of nic.secondaryIps) space.release(ip);
    for (const prefix of nic.prefixes) space.releasePrefix(prefix);
    this.macs.delete(nic.mac);
  }

  private removeInterface(nic: NetworkInterface): void {
    const space = this.space(nic.subnetId);
    space.release(nic.primaryIp);
    for (const ip of nic.secondaryIps) space.release(ip);
    for (const prefix of nic.prefixes) space.releasePrefix(prefix);
    this.interfaces.delete(nic.id);
    this.macs.delete(nic.mac);
    this.history.record(nic.id, this.clock.now(), null, this.clock.now() - this.describeLagMs);
  }

  /** An interface's groups: in its VPC, within the cloud's quota, of kinds that may be combined. */
  private checkInterfaceGroups(groupIds: string[], vpcId: string): void {
    const groups = groupIds.map((groupId) => this.security.inVpc(groupId, vpcId));
    if (new Set(groupIds).size !== groupIds.length) throw new ModelError('InvalidParameter', 'a security group is named twice');
    const limit = this.security.limits.groupsPerInterface;
    if (groupIds.length > limit) throw new ModelError('GroupLimitExceeded', `an interface may be in at most ${limit} security groups, not ${groupIds.length}`);
    const kinds = new Set(groups.map((group) => group.kind));
    if (kinds.has('asg')) throw new ModelError('InvalidParameter', 'an application security group is named on an ipConfiguration, not as a network security group');
    if (kinds.has('basic') && kinds.has('enterprise')) throw new ModelError('InvalidParameter', 'an interface cannot be in basic and enterprise security groups at once');
  }

  /** Tells the data plane to recompute its firewall; it applies the change on its own queue. */
  private securityChanged(): void {
    for (const observer of this.observers) {
      if (!observer.securityChanged) continue;
      const promise = observer.securityChanged().finally(() => this.pending.delete(promise));
      this.pending.add(promise);
    }
  }

  private taggable(id: string): { id: string; tags: Tags } {
    // Groups live in their own store, which hands out copies: tag through it.
    if (this.security.has(id)) return { id, tags: this.security.get(id).tags };
    const found = this.interfaces.get(id) ?? this.subnets.get(id) ?? this.vpcs.get(id) ?? this.instances.get(id);
    if (found) return found;
    throw new ModelError('InvalidParameter', `resource ${id} does not exist`);
  }

  private validCidr(cidr: string): void {
    try {
      parseCidr(cidr);
    } catch (err) {
      throw new ModelError('InvalidParameter', (err as Error).message);
    }
  }

  private validIp(ip: string): void {
    try {
      ipToNumber(ip);
    } catch (err) {
      throw new ModelError('InvalidParameter', (err as Error).message);
    }
  }

  private vpc(id: string): Vpc {
    const found = this.vpcs.get(id);
    if (!found) throw new ModelError('VpcNotFound', `VPC ${id} does not exist`);
    return found;
  }

  private subnet(id: string): Subnet {
    const found = this.subnets.get(id);
    if (!found) throw new ModelError('SubnetNotFound', `subnet ${id} does not exist`);
    return found;
  }

  private space(subnetId: string): SubnetAddressSpace {
    const found = this.spaces.get(subnetId);
    if (!found) throw new ModelError('SubnetNotFound', `subnet ${subnetId} does not exist`);
    return found;
  }

  private instance(id: string): Instance {
    const found = this.instances.get(id);
    if (!found) throw new ModelError('InstanceNotFound', `instance ${id} does not exist`);
    return found;
  }

  private nic(id: string): NetworkInterface {
    const found = this.interfaces.get(id);
    if (!found) throw new ModelError('InterfaceNotFound', `network interface ${id} does not exist`);
    return found;
  }

  private newId(prefix: string): string {
    return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
  }

  private newMac(): string {
    for (;;) {
      const bytes = randomBytes(5);
      // 02: locally administered unicast, as cloud NICs are.
      const mac = ['02', ...[...bytes].map((b) => b.toString(16).padStart(2, '0'))].join(':');
      if (!this.macs.has(mac)) {
        this.macs.add(mac);
        return mac;
      }
    }
  }
}
