import type { NodeProvider } from '../../providers/contract.ts';
import type { Logger } from '../common/logger.ts';
import { ownedTags } from '../pool/manager.ts';

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
