/**
 * Shared vocabulary of ipamd: the pool as the policy sees it, the plan the
 * policy returns, and the requests the plugin-facing API serves.
 */
import type { AddressRequest, InstanceLimits } from '../../providers/contract.ts';
import type { AllocationKey, ExhaustionLimit } from '../../wire/protocol.ts';

export type { AllocationKey, ExhaustionLimit };

export type AddressMode = 'ips' | 'prefixes';


export type AddressState = 'free' | 'assigned' | 'cooling';

/** One interface of the node with the state of every address ipamd can hand out on it. */
export interface InterfaceUsage {
  interfaceId: string;
  deviceIndex: number;
  /** The node's primary interface: never freed. */
  isPrimary: boolean;
  subnetId: string;
  /** Secondary IPs (IP mode), each with its state. */
  ips: Array<{ ip: string; state: AddressState }>;
  /** Delegated prefixes (prefix mode) and how many of their addresses are taken. */
  prefixes: Array<{ prefix: string; size: number; assigned: number; cooling: number }>;
  /** Slots the cloud shows taken by addresses ipamd does not use (yet): a late assign it re-read after a limit answer. */
  reservedSlots?: number;
}

export interface PoolTargets {
  mode: AddressMode;
  /** Whole interfaces' worth of free addresses to keep (IP mode, when no IP targets are set). */
  warmEniTarget: number;
  /** Free addresses to keep; 0 = unset. */
  warmIpTarget: number;
  /** Addresses to hold in total, used or not; 0 = unset. */
  minimumIpTarget: number;
  /** Free prefixes to keep (prefix mode, when no IP targets are set). */
  warmPrefixTarget: number;
  /** Most interfaces ipamd may have attached, the primary included; 0 = the instance limit. */
  maxEni: number;
}

/** What the policy needs of the instance type: its limits, whatever the type is called. */
export type PolicyLimits = Omit<InstanceLimits, 'instanceType'>;

export interface PolicySubnet {
  subnetId: string;
  freeAddresses: number;
}

export interface PolicyInput {
  interfaces: InterfaceUsage[];
  targets: PoolTargets;
  limits: PolicyLimits;
  /** Subnets new interfaces may use, with their free-address counts. */
  subnets: PolicySubnet[];
  /**
   * Free-address counts of the subnets the existing interfaces are in: adding
   * addresses to an interface takes them from its subnet, which need not be
   * one new interfaces may use (the node subnet of the primary interface).
   */
  interfaceSubnets?: PolicySubnet[];
  /** Interfaces being created or attached right now (count against limits). */
  pendingInterfaces: number;
  /** Device indexes in use or pending. */
  usedDeviceIndexes: number[];
  /**
   * Whether this plan may give anything back. Growing is immediate; shrinking
   * waits its turn (AWS shrinks every 30 s), so a pod that comes and goes
   * does not make an interface come and go with it. Default true.
   */
  allowShrink?: boolean;
  /** Interfaces too young to be freed (just attached). */
  protectedInterfaceIds?: string[];
}

export type PlanStep =
  | { kind: 'assign'; interfaceId: string; request: AddressRequest }
  | { kind: 'create-interface'; subnetId: string; deviceIndex: number; request: AddressRequest }
  | { kind: 'release'; interfaceId: string; ips: string[]; prefixes: string[] }
  | { kind: 'delete-interface'; interfaceId: string };


export interface Plan {
  steps: PlanStep[];
  /** Addresses short of the targets (before the steps) and over them. */
  short: number;
  excess: number;
  /** Why nothing more can be added, when the pool is short and cannot grow. */
  exhausted?: { limit: ExhaustionLimit; message: string };
  /** One line for the log: what the policy saw and decided. */
  reason: string;
}
