/**
 * The node's NodeNetwork: what its status says (a pure function of the pool)
 * and how it gets to the API server. One object per node, named after it and
 * owned by the Node (deleted with it); created, then replaced with its
 * resourceVersion; a conflict (someone else wrote it) is resolved by reading
 * it again and writing on top of what it now holds.
 *
 * Written when its content changes (checked every `debounceMs`, so a burst
 * of pods costs one write) and otherwise once per `intervalMs` (a heartbeat:
 * `updatedAt` tells a reader the node's ipamd is alive). Never more often.
 */
import type { CloudName, InstanceLimits, InstanceMetadata } from '../../providers/contract.ts';
import type { InventoryInterface } from '../datastore/store.ts';
import type { Logger } from '../common/logger.ts';
import type { PoolStatus } from '../pool/manager.ts';
import type { PoolTargets } from '../common/types.ts';
import type { KubeApi, KubeApiError, KubeObject } from './client.ts';
import { computeMaxPods } from './max-pods.ts';
import { apiGroup, apiVersion, nodeNetworkKind } from './resources.ts';

export interface NodeNetworkStatus {
  provider: CloudName;
  instanceId: string;
  instanceType: string;
  zone: string;
  maxPods: number;
  config: string;
  configError: string;
  targets: { warmIPTarget: number; minimumIPTarget: number; warmENITarget: number; warmPrefixTarget: number; maxENI: number };
  interfaces: Array<{ id: string; deviceIndex: number; subnetId: string; primaryIp: string; addresses: number; prefixes: number }>;
  addresses: { total: number; assigned: number; warm: number; cooldown: number };
  subnets: Array<{ id: string; freeAddresses: number }>;
  lastCloudError?: { code: string; message: string; time: string };
  updatedAt: string;
}

export interface StatusInput {
  instance: InstanceMetadata;
  limits: InstanceLimits | undefined;
  targets: PoolTargets;
  interfaces: InventoryInterface[];
  counts: { total: number; assigned: number; warm: number; cooldown: number };
  pool: Pick<PoolStatus, 'subnets' | 'lastCloudError'>;
  config: { name: string; error: string };
  /** vCPUs of the node: the max-pods cap (110 below 30, else 250). */
  vcpus: number;
}

/** Everything but `updatedAt`, so that two snapshots compare equal when nothing changed. */
export function nodeNetworkStatus(input: StatusInput): Omit<NodeNetworkStatus, 'updatedAt'> {
  const { instance, limits, targets } = input;
  const maxPods = limits
    ? computeMaxPods({ cloud: instance.cloud, limits, mode: targets.mode, interfaces: instance.interfaces.length, maxEni: targets.maxEni, vcpus: input.vcpus }).maxPods
    : 0;
  return {
    provider: instance.cloud,
    instanceId: instance.instanceId,
    instanceType: instance.instanceType,
    zone: instance.zone,
    maxPods,
    config: input.config.name,
    configError: input.config.error,
    targets: {
      warmIPTarget: targets.warmIpTarget,
      minimumIPTarget: targets.minimumIpTarget,
      warmENITarget: targets.warmEniTarget,
      warmPrefixTarget: targets.warmPrefixTarget,
      maxENI: targets.maxEni,
    },
    interfaces: input.interfaces
      .slice()
      .sort((a, b) => a.deviceIndex - b.deviceIndex)
      .map((nic) => ({ id: nic.interfaceId, deviceIndex: nic.deviceIndex, subnetId: nic.subnetId, primaryIp: nic.primaryIp, addresses: nic.ips.length, prefixes: nic.prefixes.length })),
    addresses: { ...input.counts },
    subnets: input.pool.subnets.map((s) => ({ id: s.subnetId, freeAddresses: s.freeAddresses })),
    ...(input.pool.lastCloudError
      ? { lastCloudError: { code: input.pool.lastCloudError.code, message: input.pool.lastCloudError.message, time: new Date(input.pool.lastCloudError.at).toISOString() } }
      : {}),
  };
}

export function nodeNetworkObject(node: { name: string; uid: string }, status: NodeNetworkStatus, base?: KubeObject): KubeObject {
  const metadata = (base?.metadata ?? {}) as Record<string, unknown>;
  return {
    apiVersion: `${apiGroup}/${apiVersion}`,
    kind: nodeNetworkKind,
    metadata: {
      // Labels and annotations someone else put on it stay.
      ...(metadata.labels ? { labels: metadata.labels } : {}),
      ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
      ...(typeof metadata.resourceVersion === 'string' ? { resourceVersion: metadata.resourceVersion } : {}),
      name: node.name,
      // Not a controller reference, and no blockOwnerDeletion (that would need rights on nodes/finalizers).
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid, controller: false }],
    },
    status,
  };
}

/** Create-or-replace of one NodeNetwork with optimistic concurrency. */
export class NodeNetworkWriter {
  /** The object as the API server last returned it; undefined = read it first. */
  private known: KubeObject | undefined;
  readonly stats = { creates: 0, updates: 0, conflicts: 0, reads: 0 };

  constructor(private readonly api: Pick<KubeApi, 'getNodeNetwork' | 'createNodeNetwork' | 'replaceNodeNetwork'>) {}

  async write(node: { name: string; uid: string }, status: NodeNetworkStatus): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (!this.known) {
        this.stats.reads++;
        this.known = await this.api.getNodeNetwork(node.name);
        if (!this.known) {
          try {
            this.known = await this.api.createNodeNetwork(nodeNetworkObject(node, status));
            this.stats.creates++;
            return;
          } catch (err) {
            // Created meanwhile (a restart racing its predecessor): read it and replace it.
            if ((err as KubeApiError).status !== 409 || attempt >= 3) throw err;
            continue;
          }
        }
      }
      try {
        this.known = await this.api.replaceNodeNetwork(node.name, nodeNetworkObject(node, status, this.known));
        this.stats.updates++;
        return;
      } catch (err) {
        const code = (err as KubeApiError).status;
        // 409: written by someone else since we read it; 404: deleted (its Node was re-created). Read again.
        if ((code !== 409 && code !== 404) || attempt >= 3) {
          if (code === 409 || code === 404) this.known = undefined;
          throw err;
        }
        if (code === 409) this.stats.conflicts++;
        this.known = undefined;
      }
    }
  }
}

export interface PublisherOptions {
  writer: NodeNetworkWriter;
  /** The node (for the name and the owner uid) and the status; undefined while not known yet. */
  snapshot: () => { node: { name: string; uid: string }; status: Omit<NodeNetworkStatus, 'updatedAt'> } | undefined;
  intervalMs: number;
  debounceMs: number;
  logger: Logger;
  now?: () => number;
}

export class NodeStatusPublisher {
  private timer: NodeJS.Timeout | undefined;
  private writing = false;
  private lastWritten: string | undefined;
  private lastWriteAt = -Infinity;
  private failures = 0;
  private retryAt = -Infinity;
  private readonly now: () => number;
  readonly stats = { writes: 0, failures: 0 };

  constructor(private readonly options: PublisherOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.options.debounceMs);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Writes if something changed or the interval is over. */
  async tick(): Promise<void> {
    const now = this.now();
    if (this.writing || now < this.retryAt) return;
    const snapshot = this.options.snapshot();
    if (!snapshot) return;
    const content = JSON.stringify([snapshot.node, snapshot.status]);
    if (content === this.lastWritten && now - this.lastWriteAt < this.options.intervalMs) return;
    this.writing = true;
    try {
      await this.options.writer.write(snapshot.node, { ...snapshot.status, updatedAt: new Date(now).toISOString() });
      this.stats.writes++;
      this.lastWritten = content;
      this.lastWriteAt = now;
      this.failures = 0;
      this.retryAt = -Infinity;
    } catch (err) {
      this.stats.failures++;
      this.failures++;
      // Back off while the API server is away, but retry at least once per interval.
      this.retryAt = now + Math.min(this.options.intervalMs, this.options.debounceMs * 2 ** this.failures);
      this.options.logger[this.failures === 1 ? 'warn' : 'debug']({ err: (err as Error).message, failures: this.failures }, 'publishing the NodeNetwork failed');
    } finally {
      this.writing = false;
    }
  }
}
