/**
 * Lost deletes: a pod's sandbox can go without its CNI DEL ever reaching
 * ipamd (kubelet restarted mid-teardown, a node reboot, a runtime bug). Its
 * address would stay allocated forever. The datastore keeps each
 * allocation's pod (namespace, name, uid from CNI_ARGS); the pods of this
 * node are watched; an allocation whose pod has been gone from this node for
 * longer than the grace period is released the way a DEL would release it
 * (pod network torn down, address back to the pool after its cooldown).
 *
 * Safe by construction:
 * - nothing is released while the pod cache is not fresh (never listed, or
 *   the watch broke), and the grace restarts whenever it is not;
 * - allocations without a pod reference are never touched;
 * - "gone" is: no pod of that namespace/name on this node, or one with
 *   another uid (a StatefulSet pod re-created under the same name).
 */
import type { DelParams } from '../../wire/protocol.ts';
import type { Allocation } from '../datastore/store.ts';
import type { Logger } from '../common/logger.ts';
import { podKey, type PodInfo } from './resources.ts';

export interface LostDeleteOptions {
  allocations: () => Allocation[];
  /** The node's pods, by namespace/name; `fresh` as the reflector says. */
  pods: { fresh: boolean; get(key: string): PodInfo | undefined };
  /** The DEL path of the service. */
  release: (params: DelParams) => Promise<void>;
  graceMs: number;
  logger: Logger;
  now?: () => number;
  /** Told of every release (for an event on the node). */
  onReleased?: (allocation: Allocation) => void;
}

const allocationId = (a: Allocation): string => `${a.key.network}\u0000${a.key.containerId}\u0000${a.key.ifName}`;

/** Whether the allocation's pod is on this node, per the cache. Allocations without a pod count as present. */
export function podPresent(allocation: Allocation, pods: { get(key: string): PodInfo | undefined }): boolean {
  if (!allocation.pod) return true;
  const pod = pods.get(podKey(allocation.pod));
  if (!pod) return false;
  return !allocation.pod.uid || !pod.uid || pod.uid === allocation.pod.uid;
}

export class LostDeleteSweeper {
  /** When each allocation was first seen without its pod (with a fresh cache). */
  private readonly missingSince = new Map<string, number>();
  private readonly now: () => number;
  private running: Promise<number> | undefined;
  readonly stats = { released: 0 };

  constructor(private readonly options: LostDeleteOptions) {
    this.now = options.now ?? Date.now;
  }

  /** One pass; resolves with how many allocations it released. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweepOnce(): Promise<number> {
    const { pods, logger } = this.options;
    if (!pods.fresh) {
      // What we saw missing before the cache went stale proves nothing now.
      this.missingSince.clear();
      return 0;
    }
    const now = this.now();
    const seen = new Set<string>();
    const due: Allocation[] = [];
    for (const allocation of this.options.allocations()) {
      const id = allocationId(allocation);
      seen.add(id);
      if (podPresent(allocation, pods)) {
        this.missingSince.delete(id);
        continue;
      }
      const since = Math.max(this.missingSince.get(id) ?? now, allocation.allocatedAt);
      if (!this.missingSince.has(id)) this.missingSince.set(id, now);
      if (now - since >= this.options.graceMs) due.push(allocation);
    }
    for (const id of this.missingSince.keys()) if (!seen.has(id)) this.missingSince.delete(id);
    let released = 0;
    for (const allocation of due) {
      // Checked again right before: the cache may have gone stale, the pod come back, or the DEL come at last.
      if (!pods.fresh || podPresent(allocation, pods)) continue;
      const current = this.options.allocations().find((a) => allocationId(a) === allocationId(allocation));
      if (!current || current.ip !== allocation.ip || current.allocatedAt !== allocation.allocatedAt) continue;
      try {
        await this.options.release({ key: allocation.key, ...(allocation.netns ? { netns: allocation.netns } : {}) });
        this.missingSince.delete(allocationId(allocation));
        released++;
        this.stats.released++;
        logger.info(
          { ip: allocation.ip, containerId: allocation.key.containerId, pod: allocation.pod ? podKey(allocation.pod) : undefined, uid: allocation.pod?.uid },
          'released the address of a pod gone from this node without a CNI DEL',
        );
        this.options.onReleased?.(allocation);
      } catch (err) {
        logger.warn({ ip: allocation.ip, containerId: allocation.key.containerId, err: (err as Error).message }, 'releasing the address of a lost pod failed; will retry');
      }
    }
    return released;
  }
}
