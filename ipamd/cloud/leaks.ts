import type { NodeProvider } from '../../providers/contract.ts';
import type { Logger } from '../common/logger.ts';
import { ownedTags } from '../common/owned-tags.ts';

export interface LeakCleanupOptions {
  /** The sweep only searches and deletes. */
  provider: Pick<NodeProvider, 'findInterfacesByTags' | 'deleteInterface'>;
  clusterName: string;
  graceMs: number;
  now: () => number;
  logger: Logger;
}

/**
 * Deletes interfaces this cluster created that are detached and older than
 * the grace period: what a crash between create and attach, or a node
 * terminated without delete-on-termination, leaves behind.
 */
export interface OwnDetachedOptions {
  provider: Pick<NodeProvider, 'findInterfacesByTags'>;
  clusterName: string;
  /** This node: only interfaces tagged with it are looked at. */
  instanceId: string;
  /** Interfaces to leave alone whatever the cloud shows (in use, being adopted, changed a moment ago). */
  keep: (interfaceId: string) => boolean;
  /** The delete itself (the pool manager runs it under a durable intent). */
  deleteInterface: (interfaceId: string) => Promise<boolean>;
  logger: Logger;
}

/**
 * Deletes this node's detached interfaces at once, without the cluster
 * sweep's grace: a node runs one ipamd, and the caller runs this while none
 * of its own operations is under way, so a detached interface tagged with
 * the node is a leftover of a killed predecessor (between create and
 * attach, or detach and delete) for sure.
 */
export async function deleteDetachedOwnInterfaces(options: OwnDetachedOptions): Promise<string[]> {
  const candidates = await options.provider.findInterfacesByTags({ [ownedTags.cluster]: options.clusterName, [ownedTags.node]: options.instanceId });
  const deleted: string[] = [];
  for (const nic of candidates) {
    if (nic.status !== 'available' || nic.attachment || options.keep(nic.interfaceId)) continue;
    try {
      if (!(await options.deleteInterface(nic.interfaceId))) continue;
      deleted.push(nic.interfaceId);
      options.logger.info({ interfaceId: nic.interfaceId }, 'deleted an interface this node left detached');
    } catch (err) {
      options.logger.warn({ interfaceId: nic.interfaceId, err: (err as Error).message }, 'could not delete an interface this node left detached');
    }
  }
  return deleted;
}

export async function cleanLeakedInterfaces(options: LeakCleanupOptions): Promise<string[]> {
  const candidates = await options.provider.findInterfacesByTags({ [ownedTags.cluster]: options.clusterName });
  const deleted: string[] = [];
  for (const nic of candidates) {
    if (nic.status !== 'available' || nic.attachment) continue;
    const createdAt = Date.parse(nic.tags[ownedTags.createdAt] ?? '');
    // Without a creation time we cannot tell a leak from an interface being attached right now.
    if (!Number.isFinite(createdAt) || options.now() - createdAt < options.graceMs) continue;
    try {
      // Every node sweeps: another may have deleted it first, and that one counts it.
      if (!(await options.provider.deleteInterface(nic.interfaceId))) continue;
      deleted.push(nic.interfaceId);
      options.logger.info({ interfaceId: nic.interfaceId, createdAt: nic.tags[ownedTags.createdAt] }, 'deleted leaked interface');
    } catch (err) {
      options.logger.warn({ interfaceId: nic.interfaceId, err: (err as Error).message }, 'could not delete leaked interface');
    }
  }
  return deleted;
}
