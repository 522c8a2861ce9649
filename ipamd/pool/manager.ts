import type { AddressRequest, CloudInterface, InstanceLimits, InstanceMetadata, MetadataInterface, NodeProvider, SubnetInfo } from '../../providers/contract.ts';
import { CloudError, isCloudError } from '../../providers/errors.ts';
import type { AddressStore, InventoryInterface } from '../datastore/store.ts';
import type { HostNetwork } from '../dataplane/host-network.ts';
import type { Logger } from '../common/logger.ts';
import type { Metrics } from '../common/metrics.ts';
import type { PoolConfig } from '../config/groups.ts';
import type { ExhaustionLimit, PlanStep, PoolTargets } from '../common/types.ts';
import { planPool } from './policy.ts';
import { CoalescedRun } from '../common/coalesced-run.ts';

export interface PoolManagerOptions {
  provider: NodeProvider;
  store: AddressStore;
  host: HostNetwork;
  logger: Logger;
  metrics: Metrics;
  /** The pool group of the configuration, whole; the targets, subnets and groups are where it starts. */
  config: PoolConfig;
  /** MTU of the interfaces it configures on the host (the data plane's). */
  mtu: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Told of every failed cloud call of a plan (the Kubernetes integration turns permission errors into node events). */
  onCloudError?: (error: CloudError) => void;
}

/** What a node-group configuration may change while ipamd runs; the address mode is fixed at start. */
export interface PoolSettings {
  targets: PoolTargets;
  /** Subnets for new interfaces; empty = the primary interface's subnet. */
  podSubnetIds: string[];
  /** Security groups for new interfaces; empty = the primary interface's. */
  podSecurityGroupIds: string[];
}

export interface PoolStatus {
  ready: boolean;
  exhausted?: { limit: ExhaustionLimit; message: string };
  lastCloudError?: { code: string; kind: string; message: string; at: number };
  lastPlan?: string;
  subnets: SubnetInfo[];
  pendingInterfaces: number;
}

/** Tags every interface ipamd creates carries; leak cleanup finds them by these. */
export const ownedTags = {
  cluster: 'vpc-cni.io/cluster',
  node: 'vpc-cni.io/node',
  createdAt: 'vpc-cni.io/created-at',
} as const;

const subnetCacheMs = 30_000;

function toInventory(meta: MetadataInterface, primaryMac: string): InventoryInterface {
  return {
    interfaceId: meta.interfaceId,
    mac: meta.mac,
    deviceIndex: meta.deviceIndex,
    subnetId: meta.subnetId,
    subnetCidr: meta.subnetCidr,
    primaryIp: meta.primaryIp,
    isPrimary: meta.mac === primaryMac,
    ips: [...meta.secondaryIps],
    prefixes: [...meta.prefixes],
  };
}

/**
 * Keeps the node's pool at its targets: asks the pure policy for a plan, logs
 * it, and carries it out through the provider, one plan at a time. The
 * inventory it keeps in the store follows its own changes at once and the
 * metadata service on every reconcile, with a grace period for changes the
 * cloud does not show yet.
 */
export class PoolManager {
  private metadata: InstanceMetadata | undefined;
  private limits: InstanceLimits | undefined;
  private subnets: { at: number; ids: string; list: SubnetInfo[] } | undefined;
  private readonly plans = new CoalescedRun(() => this.runOnce());
  private pendingInterfaces = 0;
  /** When ipamd itself last changed an address or interface, by address / interface id. */
  private readonly recentChanges = new Map<string, number>();
  /** When ipamd attached the interfaces it created, by interface id. */
  private readonly createdAt = new Map<string, number>();
  private lastShrinkAt = -Infinity;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  status: PoolStatus = { ready: false, subnets: [], pendingInterfaces: 0 };

  private current: PoolSettings;

  constructor(private readonly options: PoolManagerOptions) {
    const { targets, podSubnetIds, podSecurityGroupIds } = options.config;
    this.current = { targets: { ...targets }, podSubnetIds: [...podSubnetIds], podSecurityGroupIds: [...podSecurityGroupIds] };
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get instance(): InstanceMetadata | undefined {
    return this.metadata;
  }

  get instanceLimits(): InstanceLimits | undefined {
    return this.limits;
  }

  /** The targets, subnets and security groups in force. */
  get settings(): PoolSettings {
    return { targets: { ...this.current.targets }, podSubnetIds: [...this.current.podSubnetIds], podSecurityGroupIds: [...this.current.podSecurityGroupIds] };
  }

  get targets(): PoolTargets {
    return { ...this.current.targets };
  }

  /**
   * Changes the targets, subnets or security groups at run time. They apply to
   * the next plan and to interfaces created from now on; interfaces already
   * attached keep their subnet and groups. The address mode cannot change.
   */
  configure(settings: PoolSettings): void {
    if (settings.targets.mode !== this.current.targets.mode) {
      throw new Error(`the address mode is fixed while ipamd runs (${this.current.targets.mode}); cannot switch to ${settings.targets.mode}`);
    }
    const subnetsChanged = settings.podSubnetIds.join(',') !== this.current.podSubnetIds.join(',');
    this.current = { targets: { ...settings.targets }, podSubnetIds: [...settings.podSubnetIds], podSecurityGroupIds: [...settings.podSecurityGroupIds] };
    // The cached subnets are those of the old list: the next plan must look at the new ones.
    if (subnetsChanged) this.subnets = undefined;
    this.options.logger.info({ settings: this.current }, 'pool settings changed');
    if (this.limits) this.reconcile().catch((err: Error) => this.options.logger.warn({ err: err.message }, 'pool check after a settings change failed'));
  }

  /** Reads the node from its metadata and the cloud, configures its interfaces, and fills the pool once. */
  async start(): Promise<void> {
    this.metadata = await this.options.provider.instanceMetadata();
    this.limits = await this.options.provider.instanceLimits(this.metadata.instanceType);
    if (this.current.targets.mode === 'prefixes' && !this.limits.supportsPrefixes) {
      throw new CloudError({ kind: 'invalid-request', code: 'PrefixUnsupported', message: `ENABLE_PREFIX_DELEGATION=true but instance type ${this.metadata.instanceType} does not support prefix delegation` });
    }
    await this.adoptInterfaces(this.metadata);
    await this.reconcile();
  }

  /** Runs a plan now (coalesced with one already running). */
  reconcile(): Promise<void> {
    return this.plans.run();
  }

  /** Re-reads the metadata service and takes what it shows as the truth, but for fresh changes of our own. */
  async resync(): Promise<void> {
    const metadata = await this.options.provider.instanceMetadata();
    this.metadata = metadata;
    const now = this.now();
    const grace = this.options.config.consistencyGraceMs ?? 60_000;
    const fresh = (id: string): boolean => (this.recentChanges.get(id) ?? -Infinity) > now - grace;
    for (const [id, at] of this.recentChanges) if (at <= now - grace) this.recentChanges.delete(id);
    const current = new Map(this.options.store.interfaces().map((nic) => [nic.interfaceId, nic]));
    const next: InventoryInterface[] = [];
    for (const meta of metadata.interfaces) {
      const seen = toInventory(meta, metadata.primaryMac);
      const known = current.get(meta.interfaceId);
      current.delete(meta.interfaceId);
      if (!known) {
        // An interface we just deleted may still show; do not adopt it again.
        if (fresh(meta.interfaceId)) continue;
        await this.configureHost(seen);
        next.push(seen);
        continue;
      }
      // Addresses we just added may not show yet; ones we just released may still show.
      const merge = (mine: string[], theirs: string[]): string[] => [
        ...theirs.filter((address) => mine.includes(address) || !fresh(address)),
        ...mine.filter((address) => !theirs.includes(address) && fresh(address)),
      ];
      next.push({ ...seen, ips: merge(known.ips, seen.ips), prefixes: merge(known.prefixes, seen.prefixes) });
    }
    for (const missing of current.values()) if (fresh(missing.interfaceId)) next.push(missing);
    this.options.store.replaceInventory(next);
    for (const orphan of this.options.store.orphans()) {
      this.options.logger.error({ ip: orphan.ip, containerId: orphan.key.containerId }, 'an allocated address is no longer on any interface of this node');
    }
  }

  private async adoptInterfaces(metadata: InstanceMetadata): Promise<void> {
    const inventory = metadata.interfaces.map((meta) => toInventory(meta, metadata.primaryMac));
    for (const nic of inventory) if (!nic.isPrimary) await this.configureHost(nic);
    this.options.store.replaceInventory(inventory);
  }

  private async configureHost(nic: InventoryInterface): Promise<void> {
    if (nic.isPrimary) return;
    await this.options.host.configureInterface({ mac: nic.mac, deviceIndex: nic.deviceIndex, primaryIp: nic.primaryIp, subnetCidr: nic.subnetCidr, mtu: this.options.mtu });
  }

  private async runOnce(): Promise<void> {
    const limits = this.limits;
    if (!limits) return;
    const interfaces = this.options.store.usage();
    const now = this.now();
    const minAge = this.options.config.minInterfaceAgeMs ?? 60_000;
    for (const [id, at] of this.createdAt) if (at <= now - minAge) this.createdAt.delete(id);
    const plan = planPool({
      allowShrink: now - this.lastShrinkAt >= (this.options.config.shrinkIntervalMs ?? 30_000),
      protectedInterfaceIds: [...this.createdAt.keys()],
      interfaces,
      targets: this.current.targets,
      limits,
      ...(await this.subnetsForPlan()),
      pendingInterfaces: this.pendingInterfaces,
      usedDeviceIndexes: this.options.store.interfaces().map((nic) => nic.deviceIndex),
    });
    this.status.lastPlan = plan.reason;
    if (plan.steps.length > 0) this.options.logger.info({ plan: plan.steps, short: plan.short, excess: plan.excess }, `pool plan: ${plan.reason}`);
    this.status.exhausted = plan.exhausted;
    this.options.metrics.setExhausted(plan.exhausted?.limit);
    if (plan.steps.some((step) => step.kind === 'release' || step.kind === 'delete-interface')) this.lastShrinkAt = now;
    for (const step of plan.steps) {
      try {
        await this.execute(step);
      } catch (err) {
        this.recordCloudError(err, step);
        if (isCloudError(err, 'subnet-full')) this.subnets = undefined;
        break;
      }
    }
    this.status.ready = this.options.store.totalAddresses() > 0 || plan.exhausted !== undefined;
    this.status.pendingInterfaces = this.pendingInterfaces;
    this.options.metrics.setPool(this.options.store, this.options.store.interfaces().length);
  }

  private recordCloudError(err: unknown, step: PlanStep): void {
    const cloud = isCloudError(err) ? err : undefined;
    this.status.lastCloudError = { code: cloud?.code ?? 'Error', kind: cloud?.kind ?? 'internal', message: (err as Error).message, at: this.now() };
    this.options.logger.warn({ step, code: cloud?.code, kind: cloud?.kind, err: (err as Error).message }, 'pool step failed');
    if (cloud) this.options.onCloudError?.(cloud);
    if (cloud && (cloud.kind === 'limit-exceeded' || cloud.kind === 'subnet-full')) {
      const limit: ExhaustionLimit = cloud.kind === 'subnet-full' ? 'subnet-addresses' : cloud.limit === 'interfaces-per-instance' ? 'interfaces-per-instance' : 'addresses-per-interface';
      this.status.exhausted = { limit, message: `the cloud refused to add addresses: ${cloud.code}: ${cloud.message}` };
      this.options.metrics.setExhausted(limit);
    }
  }

  /**
   * Free counts of the subnets new interfaces may use and of those the
   * attached interfaces are in (assigning on an interface takes from its own
   * subnet), from one describe call, cached briefly.
   */
  private async subnetsForPlan(): Promise<{ subnets: SubnetInfo[]; interfaceSubnets: SubnetInfo[] }> {
    const metadata = this.metadata;
    if (!metadata) return { subnets: [], interfaceSubnets: [] };
    const primary = metadata.interfaces.find((nic) => nic.mac === metadata.primaryMac);
    const forNew = this.current.podSubnetIds.length > 0 ? this.current.podSubnetIds : primary ? [primary.subnetId] : [];
    const ofInterfaces = [...new Set(this.options.store.interfaces().map((nic) => nic.subnetId))].filter((id) => id !== '');
    const ids = [...new Set([...forNew, ...ofInterfaces])].sort();
    const split = (list: SubnetInfo[]) => ({
      subnets: list.filter((s) => forNew.includes(s.subnetId)),
      interfaceSubnets: list.filter((s) => ofInterfaces.includes(s.subnetId)),
    });
    // A cache of another subnet list (the settings or the interfaces changed) is no cache.
    if (this.subnets && this.subnets.ids === ids.join(',') && this.subnets.at > this.now() - subnetCacheMs) return split(this.subnets.list);
    try {
      const list = await this.options.provider.describeSubnets(metadata.vpcId, ids);
      this.subnets = { at: this.now(), ids: ids.join(','), list };
      const parts = split(list);
      // What the status shows: the subnets pods' new interfaces come from.
      this.status.subnets = parts.subnets;
      return parts;
    } catch (err) {
      this.recordCloudError(err, { kind: 'create-interface', subnetId: forNew.join(','), deviceIndex: -1, request: { kind: 'ips', count: 0 } });
      return split(this.subnets?.ids === ids.join(',') ? this.subnets.list : []);
    }
  }

  private async execute(step: PlanStep): Promise<void> {
    switch (step.kind) {
      case 'assign':
        return this.assign(step.interfaceId, step.request);
      case 'create-interface':
        return this.createInterface(step.subnetId, step.deviceIndex, step.request);
      case 'release':
        return this.release(step.interfaceId, step.ips, step.prefixes);
      case 'delete-interface':
        return this.deleteInterface(step.interfaceId);
    }
  }

  private updateInterface(interfaceId: string, change: (nic: InventoryInterface) => InventoryInterface): void {
    this.options.store.replaceInventory(this.options.store.interfaces().map((nic) => (nic.interfaceId === interfaceId ? change(nic) : nic)));
  }

  private touch(ids: string[]): void {
    const now = this.now();
    for (const id of ids) this.recentChanges.set(id, now);
  }

  private async assign(interfaceId: string, request: AddressRequest): Promise<void> {
    const added = await this.options.provider.assignAddresses(interfaceId, request);
    this.touch([...added.ips, ...added.prefixes]);
    // A resync may have seen them already: add each once.
    this.updateInterface(interfaceId, (nic) => ({ ...nic, ips: [...new Set([...nic.ips, ...added.ips])], prefixes: [...new Set([...nic.prefixes, ...added.prefixes])] }));
  }

  private async createInterface(subnetId: string, deviceIndex: number, request: AddressRequest): Promise<void> {
    const metadata = this.metadata;
    if (!metadata) return;
    this.pendingInterfaces++;
    try {
      const created = await this.options.provider.createInterface({
        instanceId: metadata.instanceId,
        subnetId,
        securityGroupIds: this.current.podSecurityGroupIds,
        deviceIndex,
        addresses: request,
        description: `vpc-cni pod interface of ${this.options.config.nodeName ?? ''}`,
        tags: {
          ...this.options.config.extraTags,
          [ownedTags.cluster]: this.options.config.clusterName,
          [ownedTags.node]: metadata.instanceId,
          [ownedTags.createdAt]: new Date(this.now()).toISOString(),
        },
      });
      this.touch([created.interfaceId, ...created.secondaryIps, ...created.prefixes]);
      this.createdAt.set(created.interfaceId, this.now());
      const attached = await this.waitForAttachment(created);
      await this.configureHost(attached);
      this.options.store.replaceInventory([...this.options.store.interfaces(), attached]);
      this.subnets = undefined;
    } finally {
      this.pendingInterfaces--;
    }
  }

  /** A new interface is usable once the node sees it: poll the metadata service with backoff. */
  private async waitForAttachment(created: CloudInterface): Promise<InventoryInterface> {
    const deadline = this.now() + (this.options.config.attachTimeoutMs ?? 60_000);
    let delay = 20;
    for (;;) {
      const metadata = await this.options.provider.instanceMetadata();
      const seen = metadata.interfaces.find((nic) => nic.interfaceId === created.interfaceId);
      if (seen) {
        const inventory = toInventory(seen, metadata.primaryMac);
        // Metadata may lag the create call: what the cloud answered is the truth for a fresh interface.
        return { ...inventory, ips: [...new Set([...inventory.ips, ...created.secondaryIps])], prefixes: [...new Set([...inventory.prefixes, ...created.prefixes])] };
      }
      if (this.now() > deadline) {
        throw new CloudError({ kind: 'transient', code: 'AttachTimeout', message: `interface ${created.interfaceId} did not appear on the node within ${this.options.config.attachTimeoutMs ?? 60_000} ms` });
      }
      await this.sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
  }

  private async release(interfaceId: string, ips: string[], prefixes: string[]): Promise<void> {
    const usage = this.options.store.usage().find((nic) => nic.interfaceId === interfaceId);
    if (!usage) return;
    // The plan was made a moment ago: give back only what is still free now.
    const freeIps = ips.filter((ip) => usage.ips.some((entry) => entry.ip === ip && entry.state === 'free'));
    const freePrefixes = prefixes.filter((prefix) => usage.prefixes.some((entry) => entry.prefix === prefix && entry.assigned === 0 && entry.cooling === 0));
    if (freeIps.length === 0 && freePrefixes.length === 0) return;
    // Out of the inventory first, so no add picks them while the call is in flight,
    // and marked as our change, so no resync puts them back from metadata meanwhile.
    this.touch([...freeIps, ...freePrefixes]);
    this.updateInterface(interfaceId, (nic) => ({ ...nic, ips: nic.ips.filter((ip) => !freeIps.includes(ip)), prefixes: nic.prefixes.filter((p) => !freePrefixes.includes(p)) }));
    try {
      await this.options.provider.releaseAddresses(interfaceId, { ips: freeIps, prefixes: freePrefixes });
      this.touch([...freeIps, ...freePrefixes]);
    } catch (err) {
      this.updateInterface(interfaceId, (nic) => ({ ...nic, ips: [...nic.ips, ...freeIps], prefixes: [...nic.prefixes, ...freePrefixes] }));
      throw err;
    }
  }

  private async deleteInterface(interfaceId: string): Promise<void> {
    const usage = this.options.store.usage().find((nic) => nic.interfaceId === interfaceId);
    const nic = this.options.store.interfaces().find((candidate) => candidate.interfaceId === interfaceId);
    if (!usage || !nic || nic.isPrimary) return;
    const busy = usage.ips.some((entry) => entry.state !== 'free') || usage.prefixes.some((entry) => entry.assigned + entry.cooling > 0);
    if (busy) return;
    // Marked as our change first, so no resync adopts it again from metadata while it is being deleted.
    this.touch([interfaceId, ...nic.ips, ...nic.prefixes]);
    this.options.store.replaceInventory(this.options.store.interfaces().filter((candidate) => candidate.interfaceId !== interfaceId));
    try {
      await this.options.host.removeInterface({ mac: nic.mac, deviceIndex: nic.deviceIndex, primaryIp: nic.primaryIp, subnetCidr: nic.subnetCidr, mtu: this.options.mtu });
      await this.options.provider.deleteInterface(interfaceId);
      this.touch([interfaceId, ...nic.ips, ...nic.prefixes]);
      this.subnets = undefined;
    } catch (err) {
      this.options.store.replaceInventory([...this.options.store.interfaces(), nic]);
      throw err;
    }
  }
}
