/**
 * The provider contract: everything ipamd needs from a cloud, and nothing
 * cloud-specific beyond it. Modelled on Cilium's per-node operations: ipamd
 * computes what to do (the "prepare" half, pure and logged) and calls these to
 * do it (allocate, release, create interface, resync).
 *
 * Every method either succeeds or throws a `CloudError` (providers/errors.ts).
 */

import type { CloudName } from './catalogs/catalog.ts';

export type { CloudName };

/** One network interface as the instance's metadata service shows it. */
export interface MetadataInterface {
  mac: string;
  interfaceId: string;
  deviceIndex: number;
  subnetId: string;
  subnetCidr: string;
  securityGroupIds: string[];
  primaryIp: string;
  /** Secondary IPv4 addresses, primary excluded. */
  secondaryIps: string[];
  /** Delegated IPv4 prefixes (e.g. /28). */
  prefixes: string[];
}

/** What the node learns about itself at start-up, without any cloud API call. */
export interface InstanceMetadata {
  cloud: CloudName;
  instanceId: string;
  instanceType: string;
  region: string;
  zone: string;
  vpcId: string;
  vpcCidrs: string[];
  primaryMac: string;
  primaryIp: string;
  /** Attached interfaces, ordered by device index. */
  interfaces: MetadataInterface[];
}

export interface InstanceLimits {
  instanceType: string;
  maxInterfaces: number;
  /** IPv4 addresses per interface, primary included. */
  ipv4PerInterface: number;
  /** Whether /28 prefixes can be delegated to interfaces. */
  supportsPrefixes: boolean;
  /** Prefix length of a delegated prefix (28 on AWS and Alibaba). */
  prefixLength: number;
  /**
   * False where interfaces cannot be added to a running instance (Azure):
   * the pool then grows only by addresses on the interfaces it already has.
   */
  hotAttach: boolean;
  /** Addresses that may be requested in the create call itself. */
  maxAddressesOnCreate: number;
}

export type InterfaceStatus = 'available' | 'attaching' | 'in-use' | 'detaching';

export interface InterfaceAttachment {
  attachmentId: string;
  instanceId: string;
  deviceIndex: number;
  deleteOnTermination: boolean;
  status: 'attaching' | 'attached' | 'detaching' | 'detached';
}

/** One network interface as the cloud API shows it. */
export interface CloudInterface {
  interfaceId: string;
  mac: string;
  subnetId: string;
  vpcId: string;
  zone: string;
  description: string;
  status: InterfaceStatus;
  primaryIp: string;
  secondaryIps: string[];
  prefixes: string[];
  securityGroupIds: string[];
  tags: Record<string, string>;
  attachment?: InterfaceAttachment;
}

export interface SubnetInfo {
  subnetId: string;
  vpcId: string;
  zone: string;
  cidr: string;
  freeAddresses: number;
  tags: Record<string, string>;
}

/**
 * A security group as the cloud shows it. `vpcId` is the VPC it belongs to,
 * "" where groups are not bound to a VPC: an Azure network security group
 * can be used by any NIC of its subscription and region, whatever its
 * virtual network or resource group.
 */
export interface SecurityGroupInfo {
  id: string;
  vpcId: string;
  name: string;
}

/** Ask for either addresses or prefixes; a cloud call never mixes the two. */
export type AddressRequest =
  | { kind: 'ips'; count: number }
  | { kind: 'prefixes'; count: number };

export interface CreateInterfaceRequest {
  instanceId: string;
  subnetId: string;
  /** Empty means: the same groups as the instance's primary interface. */
  securityGroupIds: string[];
  deviceIndex: number;
  /** Secondary addresses or prefixes requested in the create call itself. */
  addresses: AddressRequest;
  description: string;
  tags: Record<string, string>;
}

export interface AssignedAddresses {
  ips: string[];
  prefixes: string[];
}

/** Wraps every cloud call of an adapter (which throws CloudError): ipamd puts its shared rate limiter, retries and metrics here. */
export type CallWrapper = <T>(operation: string, call: () => Promise<T>) => Promise<T>;

export interface NodeProvider {
  readonly cloud: CloudName;

  /** Identity and attached interfaces from the instance metadata service. */
  instanceMetadata(): Promise<InstanceMetadata>;

  /** Interface and address limits of an instance type. */
  instanceLimits(instanceType: string): Promise<InstanceLimits>;
  /**
   * The subnet's router, the next hop of an interface in it: where each cloud
   * puts it (EC2 and Azure: the second address; an ECS vSwitch: the third
   * from the end, .253 in a /24).
   */
  subnetGateway(subnetCidr: string): string;

  /** Resync: the cloud's view of every interface attached to the instance. */
  describeInstanceInterfaces(instanceId: string): Promise<CloudInterface[]>;

  /**
   * Create an interface with its addresses in one call, attach it at the given
   * device index and mark it delete-on-termination. Resolves once the cloud
   * accepted the attachment; cleans up the new interface if attaching fails.
   */
  createInterface(request: CreateInterfaceRequest): Promise<CloudInterface>;

  /** Add secondary addresses or prefixes to an interface. */
  assignAddresses(interfaceId: string, request: AddressRequest): Promise<AssignedAddresses>;

  /** Give addresses or prefixes back to the subnet. */
  releaseAddresses(interfaceId: string, addresses: AssignedAddresses): Promise<void>;

  /**
   * Detach (when attached), wait until detached, then delete. Idempotent:
   * resolves true when this call deleted it, false when it was already gone
   * (another node's leak sweep, an operator), so counts stay honest.
   */
  deleteInterface(interfaceId: string): Promise<boolean>;

  /** Subnets with their free-address counts; all subnets of the VPC when ids is empty. */
  describeSubnets(vpcId: string, subnetIds: string[]): Promise<SubnetInfo[]>;

  /**
   * The given security groups that exist, with the VPC each belongs to (even
   * when it is not `vpcId`, the node's VPC, so callers can tell a group of
   * another VPC from a missing one). An unknown id is absent from the answer,
   * never an error for the others; an id that cannot name a group usable
   * from the node's network at all (malformed, another Azure subscription or
   * region) throws an `invalid-request` CloudError. No ids: an empty answer.
   */
  describeSecurityGroups(vpcId: string, ids: string[]): Promise<SecurityGroupInfo[]>;

  /** Interfaces carrying all the given tags, attached or not (leak cleanup). */
  findInterfacesByTags(tags: Record<string, string>): Promise<CloudInterface[]>;
}
