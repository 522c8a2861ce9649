import { IpamError, type AddParams, type AddResult, type CheckParams, type CheckResult, type DelParams, type GcParams, type GcResult, type IpamService, type StatusResult } from './api/protocol.ts';
import { NoFreeAddressError, type AddressStore } from './datastore/store.ts';
import { subnetGateway } from './host/network.ts';
import type { Logger } from './logger.ts';
import type { PoolManager } from './pool/manager.ts';
import type { ExhaustionLimit } from './types.ts';

export interface ServiceOptions {
  store: AddressStore;
  pool: PoolManager;
  logger: Logger;
  /** How long an add may wait for the pool to grow before it gives up. */
  growWaitMs?: number;
}

/**
 * What the plugin asks of ipamd. Adds are served from the warm pool; when
 * the pool is empty an add waits briefly for it to grow, and fails fast with
 * the limit's name when it cannot.
 */
export class IpamdService implements IpamService {
  private topUpScheduled = false;

  constructor(private readonly options: ServiceOptions) {}

  async add(params: AddParams): Promise<AddResult> {
    const { store, pool } = this.options;
    if (!pool.status.ready && !store.find(params.key)) throw new IpamError('not-ready', 'ipamd is still warming its address pool; retry shortly');
    const extra = { netns: params.netns, ...(params.pod ? { pod: params.pod } : {}) };
    let allocation;
    try {
      allocation = (await store.allocate(params.key, extra)).allocation;
    } catch (err) {
      if (!(err instanceof NoFreeAddressError)) throw err;
      this.failIfExhausted();
      // Not exhausted: the pool is growing. Wait for one reconcile, then try once more.
      await Promise.race([pool.reconcile(), new Promise((resolve) => setTimeout(resolve, this.options.growWaitMs ?? 3000))]);
      try {
        allocation = (await store.allocate(params.key, extra)).allocation;
      } catch (again) {
        if (!(again instanceof NoFreeAddressError)) throw again;
        this.failIfExhausted();
        throw new IpamError('busy', `no free address on this node yet (${again.message}); the pool is growing, retry shortly`);
      }
    }
    this.topUp();
    const nic = store.interfaceOf(allocation.ip);
    if (!nic) throw new IpamError('internal', `address ${allocation.ip} belongs to no interface of this node`);
    return {
      address: `${allocation.ip}/32`,
      ip: allocation.ip,
      interfaceId: nic.interfaceId,
      deviceIndex: nic.deviceIndex,
      mac: nic.mac,
      subnetCidr: nic.subnetCidr,
      gateway: subnetGateway(nic.subnetCidr),
    };
  }

  /**
   * Re-plans the pool after the answer has left: deferred and coalesced, so
   * a burst of adds costs one plan and no add waits for the policy.
   */
  private topUp(): void {
    if (this.topUpScheduled) return;
    this.topUpScheduled = true;
    setImmediate(() => {
      this.topUpScheduled = false;
      this.options.pool.reconcile().catch((err: Error) => this.options.logger.warn({ err: err.message }, 'pool top-up failed'));
    });
  }

  private failIfExhausted(): void {
    const exhausted = this.options.pool.status.exhausted;
    if (exhausted) throw new IpamError('exhausted', `no address available: ${exhausted.message}`, exhausted.limit as ExhaustionLimit);
  }

  async del(params: DelParams): Promise<void> {
    const released = await this.options.store.release(params.key);
    if (released) this.topUp();
  }

  async check(params: CheckParams): Promise<CheckResult> {
    const allocation = this.options.store.find(params.key);
    if (!allocation) throw new IpamError('not-found', `no address is allocated to container ${params.key.containerId} interface ${params.key.ifName} on network ${params.key.network}`);
    const nic = this.options.store.interfaceOf(allocation.ip);
    if (!nic) throw new IpamError('not-found', `address ${allocation.ip} of container ${params.key.containerId} is no longer on any interface of this node`);
    return { address: `${allocation.ip}/32`, interfaceId: nic.interfaceId };
  }

  async status(): Promise<StatusResult> {
    const { store, pool } = this.options;
    return {
      ready: pool.status.ready,
      ...(pool.status.ready ? {} : { reason: 'the address pool is warming up' }),
      assigned: store.allocations().length,
      available: store.freeCount(),
    };
  }

  async gc(params: GcParams): Promise<GcResult> {
    const valid = new Set(params.validAttachments.map((a) => `${a.containerId}\u0000${a.ifName}`));
    let released = 0;
    for (const allocation of this.options.store.allocations()) {
      if (allocation.key.network !== params.network) continue;
      if (valid.has(`${allocation.key.containerId}\u0000${allocation.key.ifName}`)) continue;
      if (await this.options.store.release(allocation.key)) released++;
    }
    if (released > 0) this.options.logger.info({ released, network: params.network }, 'garbage-collected stale allocations');
    return { released };
  }
}
