import { IpamError, type AddParams, type AddResult, type CheckParams, type CheckResult, type DelParams, type GcParams, type GcResult, type IpamService, type StatusResult } from '../wire/protocol.ts';
import { NoFreeAddressError, type AddressStore } from './datastore/store.ts';
import { subnetGateway } from './dataplane/host-network.ts';
import type { PodNetwork } from './dataplane/types.ts';
import { podGateway } from '../wire/names.ts';
import type { Logger } from './logger.ts';
import type { PoolManager } from './pool/manager.ts';
import type { ExhaustionLimit } from './types.ts';

/** How long a top-up waits to gather the requests around it. */
const topUpDelayMs = 20;

export interface ServiceOptions {
  store: AddressStore;
  pool: PoolManager;
  logger: Logger;
  podNetwork: PodNetwork;
  mtu: number;
  /** How long an add may wait for the pool to grow before it gives up. */
  growWaitMs?: number;
}

/**
 * What the plugin asks of ipamd. Adds are served from the warm pool; when
 * the pool is empty an add waits briefly for it to grow, and fails fast with
 * the limit's name when it cannot.
 */
export class NodeIpamService implements IpamService {
  private topUpScheduled = false;

  constructor(private readonly options: ServiceOptions) {}

  async add(params: AddParams): Promise<AddResult> {
    const { store, pool } = this.options;
    if (!pool.status.ready && !store.find(params.key)) throw new IpamError('not-ready', 'ipamd is still warming its address pool; retry shortly');
    const extra = { netns: params.netns, ...(params.pod ? { pod: params.pod } : {}) };
    let allocation;
    let existing = false;
    try {
      ({ allocation, existing } = await store.allocate(params.key, extra));
    } catch (err) {
      if (!(err instanceof NoFreeAddressError)) throw err;
      this.failIfExhausted();
      // Not exhausted: the pool is growing. Wait for one reconcile, then try once more.
      await Promise.race([pool.reconcile(), new Promise((resolve) => setTimeout(resolve, this.options.growWaitMs ?? 3000))]);
      try {
        ({ allocation, existing } = await store.allocate(params.key, extra));
      } catch (again) {
        if (!(again instanceof NoFreeAddressError)) throw again;
        this.failIfExhausted();
        throw new IpamError('busy', `no free address on this node yet (${again.message}); the pool is growing, retry shortly`);
      }
    }
    this.topUp();
    const nic = store.interfaceOf(allocation.ip);
    if (!nic) throw new IpamError('internal', `address ${allocation.ip} belongs to no interface of this node`);
    const attachment = { ...params.key, netns: params.netns, ip: allocation.ip, owner: { deviceIndex: nic.deviceIndex, isPrimary: nic.isPrimary }, mtu: this.options.mtu };
    const { podNetwork, logger } = this.options;
    // A repeated ADD (a runtime retrying) may find its network whole or half made: start it over, same address.
    if (existing) await podNetwork.tearDown(attachment);
    let links;
    try {
      links = await podNetwork.setUp(attachment);
    } catch (err) {
      // Nothing half-made stays behind, and the address goes back (without cooldown: no pod ever used it).
      await podNetwork.tearDown(attachment).catch((cleanup: Error) => logger.warn({ err: cleanup.message }, 'cleanup after a failed pod network set-up failed'));
      await store.release(params.key, { cooldown: false });
      throw new IpamError('internal', `could not set up the network of container ${params.key.containerId} in ${params.netns}: ${(err as Error).message}`);
    }
    return {
      address: `${allocation.ip}/32`,
      ip: allocation.ip,
      interfaceId: nic.interfaceId,
      deviceIndex: nic.deviceIndex,
      mac: nic.mac,
      subnetCidr: nic.subnetCidr,
      gateway: subnetGateway(nic.subnetCidr),
      hostInterface: links.hostInterface,
      podInterface: links.podInterface,
      mtu: this.options.mtu,
      podGateway,
    };
  }

  /**
   * Re-plans the pool after the answer has left: deferred by a few
   * milliseconds and coalesced, so a burst of adds and deletes costs one plan
   * and no request waits behind the policy. The warm pool has the slack.
   */
  private topUp(): void {
    if (this.topUpScheduled) return;
    this.topUpScheduled = true;
    setTimeout(() => {
      this.topUpScheduled = false;
      this.options.pool.reconcile().catch((err: Error) => this.options.logger.warn({ err: err.message }, 'pool top-up failed'));
    }, topUpDelayMs).unref();
  }

  private failIfExhausted(): void {
    const exhausted = this.options.pool.status.exhausted;
    if (exhausted) throw new IpamError('exhausted', `no address available: ${exhausted.message}`, exhausted.limit as ExhaustionLimit);
  }

  async del(params: DelParams): Promise<void> {
    const allocation = this.options.store.find(params.key);
    // The network goes first: an address back in the pool must not still be wired to the old pod.
    await this.options.podNetwork.tearDown({ ...params.key, ...(allocation ? { ip: allocation.ip } : {}), ...(params.netns ? { netns: params.netns } : {}) });
    const released = await this.options.store.release(params.key);
    if (released) this.topUp();
  }

  async check(params: CheckParams): Promise<CheckResult> {
    const allocation = this.options.store.find(params.key);
    if (!allocation) throw new IpamError('not-found', `no address is allocated to container ${params.key.containerId} interface ${params.key.ifName} on network ${params.key.network}`);
    const nic = this.options.store.interfaceOf(allocation.ip);
    if (!nic) throw new IpamError('not-found', `address ${allocation.ip} of container ${params.key.containerId} is no longer on any interface of this node`);
    const problems: string[] = [];
    if (params.expected && params.expected.address !== `${allocation.ip}/32`) problems.push(`the runtime expects ${params.expected.address}, ipamd holds ${allocation.ip}/32`);
    const netns = params.netns || allocation.netns;
    if (netns) {
      problems.push(
        ...(await this.options.podNetwork.verify({
          ...params.key,
          netns,
          ip: allocation.ip,
          owner: { deviceIndex: nic.deviceIndex, isPrimary: nic.isPrimary },
          mtu: this.options.mtu,
          ...(params.expected?.hostInterface ? { hostInterface: params.expected.hostInterface } : {}),
        })),
      );
    }
    if (problems.length > 0) throw new IpamError('check-failed', problems.join('; '));
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
      await this.options.podNetwork.tearDown({ ...allocation.key, ip: allocation.ip, ...(allocation.netns ? { netns: allocation.netns } : {}) });
      if (await this.options.store.release(allocation.key)) released++;
    }
    if (released > 0) this.options.logger.info({ released, network: params.network }, 'garbage-collected stale allocations');
    return { released };
  }
}
