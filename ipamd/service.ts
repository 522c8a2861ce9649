import { IpamError } from '../wire/errors.ts';
import type { AddParams, AddResult, CheckParams, CheckResult, DelParams, GcParams, GcResult, IpamService, RequestContext, StatusResult } from '../wire/protocol.ts';
import type { AddressStore } from './datastore/store.ts';
import { podGateway, PodNetworkError, type PodNetwork } from './dataplane/index.ts';
import type { Logger } from './common/logger.ts';
import type { AddressSource } from './pool/address-source.ts';

export interface ServiceOptions {
  /** The allocations of this node: who holds which address. */
  store: AddressStore;
  /** Where adds get their address (the warm pool). */
  addresses: AddressSource;
  logger: Logger;
  podNetwork: PodNetwork;
  mtu: number;
  /** The router of a subnet, by the cloud's rule (the provider's subnetGateway). */
  subnetGateway: (subnetCidr: string) => string;
  /** How long an add may wait for the pool to grow before it gives up. */
  growWaitMs?: number;
}

/**
 * What the plugin asks of ipamd. Adds are served from the warm pool; when
 * the pool is empty an add waits briefly for it to grow, and fails fast with
 * the limit's name when it cannot. An add whose request was abandoned (its
 * signal aborted) allocates nothing.
 *
 * Locking is the API server's: one request per container at a time. A wait
 * for growth gives that lock up (no request waits behind a cloud round trip)
 * and allocates nothing if a DEL of the same attachment ran meanwhile.
 *
 * Refused before any address is taken: a pod network namespace that does not
 * exist (`not-found`, which the plugin reports as CNI code 3), and a second
 * interface into a container that already has one (`invalid-request`): a pod
 * gets exactly one interface, whose link-local gateway and default route it
 * owns (Multus-style extra attachments need another CNI).
 */
export class NodeIpamService implements IpamService {
  constructor(private readonly options: ServiceOptions) {}

  async add(params: AddParams, ctx?: RequestContext): Promise<AddResult> {
    const { store, addresses } = this.options;
    this.refuseUpFront(params);
    const answer = await addresses.take(params.key, {
      netns: params.netns,
      ...(params.pod ? { pod: params.pod } : {}),
      ...(ctx ? { signal: ctx.signal } : {}),
      ...(ctx?.unlocked ? { unlocked: ctx.unlocked } : {}),
      waitMs: this.options.growWaitMs ?? 3000,
    });
    switch (answer.kind) {
      case 'not-ready':
        throw new IpamError('not-ready', 'ipamd is still warming its address pool; retry shortly');
      case 'exhausted':
        throw new IpamError('exhausted', `no address available: ${answer.message}`, answer.limit);
      case 'still-growing':
        throw new IpamError('busy', `no free address on this node yet (${answer.detail}); the pool is growing, retry shortly`);
      case 'abandoned':
        throw new IpamError('busy', `add for container ${params.key.containerId} was abandoned (${answer.reason}); nothing was allocated`);
      case 'allocated':
        break;
    }
    const { allocation, existing } = answer;
    addresses.changed();
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
      if (err instanceof PodNetworkError && err.reason === 'netns-missing') throw missingNamespace(params.netns);
      throw new IpamError('internal', `could not set up the network of container ${params.key.containerId} in ${params.netns}: ${(err as Error).message}`);
    }
    return {
      address: `${allocation.ip}/32`,
      ip: allocation.ip,
      interfaceId: nic.interfaceId,
      deviceIndex: nic.deviceIndex,
      mac: nic.mac,
      subnetCidr: nic.subnetCidr,
      gateway: this.options.subnetGateway(nic.subnetCidr),
      hostInterface: links.hostInterface,
      podInterface: links.podInterface,
      mtu: this.options.mtu,
      podGateway,
    };
  }

  /** What an ADD can be refused for without taking an address (a repeated ADD is not refused for its namespace: its set-up fails and releases). */
  private refuseUpFront(params: AddParams): void {
    const { store, podNetwork } = this.options;
    const { containerId, ifName, network } = params.key;
    const other = store.allocations().find((a) => a.key.containerId === containerId && (a.key.ifName !== ifName || a.key.network !== network));
    if (other) {
      throw new IpamError(
        'invalid-request',
        `container ${containerId} already has interface ${other.key.ifName} (network ${other.key.network}); vpc-cni gives a pod one interface, so ${ifName} on network ${network} is refused`,
      );
    }
    if (!store.find(params.key) && !podNetwork.hasNamespace(params.netns)) throw missingNamespace(params.netns);
  }

  async del(params: DelParams): Promise<void> {
    const allocation = this.options.store.find(params.key);
    // The network goes first: an address back in the pool must not still be wired to the old pod.
    await this.options.podNetwork.tearDown({ ...params.key, ...(allocation ? { ip: allocation.ip } : {}), ...(params.netns ? { netns: params.netns } : {}) });
    const released = await this.options.store.release(params.key);
    if (released) this.options.addresses.changed();
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
    const { store, addresses } = this.options;
    return {
      ready: addresses.ready,
      ...(addresses.ready ? {} : { reason: 'the address pool is warming up' }),
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

function missingNamespace(netns: string): IpamError {
  return new IpamError('not-found', `network namespace ${netns} (CNI_NETNS) does not exist; no address was allocated`);
}
