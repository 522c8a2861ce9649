/**
 * How many pods a node can run with this CNI: every pod but the host-network
 * ones needs an address of the node's pool, so the node's interface and
 * address limits bound its pods. kubelet's --max-pods should not exceed it.
 *
 * One formula for every cloud, over the provider contract's limits:
 *
 *   interfaces x addresses per interface + 2
 *
 * - addresses per interface: IPv4 per interface minus the interface's own
 *   primary address (secondary IP mode), or that many /28 prefixes of 16
 *   addresses each (prefix mode);
 * - interfaces: the instance's limit where interfaces can be attached to a
 *   running instance (AWS, Alibaba); where they cannot (Azure), the NICs the
 *   VM was created with (1 unless told otherwise); never more than MAX_ENI;
 * - + 2: the host-network pods every node runs (this CNI's own DaemonSet and
 *   kube-proxy) take no pool address.
 *
 * Then, as AWS's max-pods calculator does, the result is capped at 110 on
 * instances with fewer than 30 vCPUs and at 250 on bigger ones (Kubernetes'
 * tested pods-per-node limits). When the vCPUs are not known (AWS's and
 * Azure's tables do not carry them) the cap is 110 unless one is given.
 */
import type { CloudName, InstanceLimits } from '../../providers/contract.ts';
import type { AddressMode } from '../common/types.ts';

/** Pods the host network runs on every node without a pool address. */
export const hostNetworkPods = 2;
/** The cap when the vCPU count is not known. */
export const defaultMaxPodsCap = 110;

export interface MaxPodsInput {
  cloud: CloudName;
  limits: Pick<InstanceLimits, 'maxInterfaces' | 'ipv4PerInterface' | 'supportsPrefixes' | 'prefixLength' | 'hotAttach'>;
  mode: AddressMode;
  /** Interfaces the instance has, where none can be attached at run time (Azure). Default 1. */
  interfaces?: number;
  /** MAX_ENI: most interfaces ipamd may use; 0 or absent = the instance's limit. */
  maxEni?: number;
  /** vCPUs of the instance, when known: they choose the cap (110 below 30, else 250). */
  vcpus?: number;
  /** An explicit cap; 0 = no cap. Wins over the vCPU rule. */
  cap?: number;
}

export interface MaxPodsResult {
  maxPods: number;
  /** Before the cap. */
  uncapped: number;
  /** The cap applied; undefined = none. */
  cap: number | undefined;
  /** The computation before the cap, e.g. "3 interfaces x 9 secondary addresses + 2 = 29". */
  formula: string;
}

export class MaxPodsError extends Error {
  override readonly name = 'MaxPodsError';
}

export function capFor(vcpus: number | undefined): number {
  if (vcpus === undefined) return defaultMaxPodsCap;
  return vcpus < 30 ? 110 : 250;
}

export function computeMaxPods(input: MaxPodsInput): MaxPodsResult {
  const { limits, mode } = input;
  if (mode === 'prefixes' && !limits.supportsPrefixes) throw new MaxPodsError('this instance type does not support prefix delegation: use --mode ips');
  let interfaces = limits.hotAttach ? limits.maxInterfaces : Math.min(input.interfaces ?? 1, limits.maxInterfaces);
  if (input.maxEni !== undefined && input.maxEni > 0) interfaces = Math.min(interfaces, input.maxEni);
  const secondaries = Math.max(0, limits.ipv4PerInterface - 1);
  const prefixSize = 2 ** (32 - limits.prefixLength);
  const perInterface = mode === 'prefixes' ? secondaries * prefixSize : secondaries;
  const uncapped = interfaces * perInterface + hostNetworkPods;
  const cap = input.cap === 0 ? undefined : (input.cap ?? capFor(input.vcpus));
  const maxPods = cap === undefined ? uncapped : Math.min(uncapped, cap);
  const what = mode === 'prefixes' ? `${secondaries} /${limits.prefixLength} prefixes of ${prefixSize}` : `${perInterface} secondary addresses`;
  const formula = `${interfaces} interface${interfaces === 1 ? '' : 's'} x ${what} + ${hostNetworkPods} = ${uncapped}`;
  return { maxPods, uncapped, cap, formula };
}
