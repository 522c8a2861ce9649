/**
 * `vpc-cni-ipamd max-pods`: the max-pods value of an instance type, from
 * the cloud's instance catalog (see max-pods.ts for the formula).
 */
import type { CloudName } from '../../providers/contract.ts';
import type { AddressMode } from '../common/types.ts';
import { instanceCatalog } from './instance-catalogs.ts';
import { capFor, computeMaxPods, MaxPodsError, type MaxPodsResult } from './max-pods.ts';

export interface MaxPodsCommandOptions {
  cloud: CloudName;
  instanceType: string;
  mode: AddressMode;
  vcpus?: number;
  cap?: number;
  interfaces?: number;
  maxEni?: number;
}

const typeWord: Record<CloudName, string> = { aws: 'EC2 instance type', azure: 'Azure VM size', alibaba: 'ECS instance type' };

export async function maxPodsFor(options: MaxPodsCommandOptions): Promise<MaxPodsResult & { vcpus: number | undefined }> {
  const catalog = await instanceCatalog(options.cloud);
  const info = catalog.get(options.instanceType);
  if (!info) {
    const lower = options.instanceType.toLowerCase();
    const near = [...catalog.keys()].filter((name) => name.toLowerCase().startsWith(lower.split('.')[0] ?? lower)).slice(0, 5);
    throw new MaxPodsError(`unknown ${typeWord[options.cloud]} ${JSON.stringify(options.instanceType)}${near.length > 0 ? ` (did you mean ${near.join(', ')}?)` : ''}`);
  }
  const vcpus = options.vcpus ?? info.vcpus;
  const result = computeMaxPods({
    cloud: options.cloud,
    limits: { maxInterfaces: info.maxInterfaces, ipv4PerInterface: info.ipv4PerInterface, supportsPrefixes: info.supportsPrefixes, prefixLength: 28, hotAttach: options.cloud !== 'azure' },
    mode: options.mode,
    ...(options.interfaces === undefined ? {} : { interfaces: options.interfaces }),
    ...(options.maxEni === undefined ? {} : { maxEni: options.maxEni }),
    ...(vcpus === undefined ? {} : { vcpus }),
    ...(options.cap === undefined ? {} : { cap: options.cap }),
  });
  return { ...result, vcpus };
}

/** The line `--explain` prints. */
export function explainMaxPods(options: MaxPodsCommandOptions, result: MaxPodsResult & { vcpus: number | undefined }): string {
  const capWhy =
    options.cap !== undefined
      ? options.cap === 0
        ? 'no cap (--cap 0)'
        : `cap ${options.cap} (--cap)`
      : result.vcpus === undefined
        ? `cap ${capFor(undefined)} (vCPUs unknown; --vcpus or --cap to change)`
        : `cap ${capFor(result.vcpus)} (${result.vcpus} vCPUs)`;
  return `${options.instanceType} (${options.cloud}, ${options.mode}): ${result.formula}; ${capWhy}; max pods ${result.maxPods}`;
}
