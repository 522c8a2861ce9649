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
import { IntentLog, type Intent, type RecordedIntent } from './intents.ts';
import { deleteDetachedOwnInterfaces } from '../cloud/leaks.ts';
import { ownedTags } from '../common/owned-tags.ts';
import { randomUUID } from 'node:crypto';

export { ownedTags };

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
  /** Where cloud mutations in flight are recorded (the daemon's state directory); default: in memory only. */
  intents?: IntentLog;
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

/** What the release and delete intents on record are taking away: addresses per interface (a released address may come back on another). */
interface HeldByIntents {
  interfaces: Set<string>;
  /** Under a release in flight (ours, or a predecessor's not settled yet). */
  open(interfaceId: string, address: string): boolean;
  /** Under a release in flight or one settled within the consistency grace. */
  any(interfaceId: string, address: string): boolean;
}

function onInterface(interfaceId: string, address: string): string {
  return `${interfaceId}/${address}`;
}

const subnetCacheMs = 30_000;
/**
 * How long start re-reads the metadata service for addresses of restored
 * allocations it does not show yet (an assign of the predecessor's that the
 * service has not caught up with) before serving with them as orphans.
 */
const restoredSettleMs = 3000;
/** How old the cloud API's view of the instance's device indexes may be when a plan creates an interface. */
const cloudViewMaxAgeMs = 1000;

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
  private readonly intents: IntentLog;
  /** Until the socket serves, plans only grow: nothing is given back, nothing settled or swept (see `serve`). */
  private serving = false;
  private stopped = false;
  /** Device indexes the cloud API last showed in use on this instance, in any attachment state. */
  private cloudDeviceIndexes: number[] = [];
  private cloudViewAt = -Infinity;
  /** Interfaces whose attach is in flight, being waited for. */
  private readonly adopting = new Set<string>();
  /** Slots the cloud showed taken on an interface by addresses ipamd does not use yet (a late assign of a predecessor). */
  private readonly reservedSlots = new Map<string, number>();
  private lastOwnSweepAt = -Infinity;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  status: PoolStatus = { ready: false, subnets: [], pendingInterfaces: 0 };

  private current: PoolSettings;

  constructor(private readonly options: PoolManagerOptions) {
    const { targets, podSubnetIds, podSecurityGroupIds } = options.config;
    this.current = { targets: { ...targets }, podSubnetIds: [...podSubnetIds], podSecurityGroupIds: [...podSecurityGroupIds] };
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.intents = options.intents ?? IntentLog.inMemory();
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
    const inherited = this.intents.outstanding();
    if (inherited.length > 0) this.options.logger.warn({ intents: inherited.map((entry) => entry.intent) }, 'cloud calls of a predecessor may still be in flight: their addresses stay out of the pool until settled');
    await this.adoptInterfaces(this.metadata);
    await this.awaitRestoredAddresses();
    // Create and assign intents are done with once the cloud's view has been read: what they did shows there.
    for (const entry of inherited) if (entry.intent.kind === 'create-interface' || entry.intent.kind === 'assign') await this.intents.remove(entry.id);
    await this.readCloudView().catch((err: unknown) => this.recordCloudError(err, undefined));
    await this.reconcile();
  }

  /**
   * The socket serves: from now on plans may also give back (shrink), finish
   * the releases and deletes a predecessor left, and delete interfaces this
   * node left detached. Start only grew, so none of that delayed readiness.
   */
  serve(): void {
    this.serving = true;
    this.reconcile().catch((err: Error) => this.options.logger.warn({ err: err.message }, 'pool plan after serving failed'));
  }

  /** No cloud call leaves after this; the ones in flight leave their intents on record, as a killed process does. */
  stop(): void {
    this.stopped = true;
    this.intents.close();
  }

  /**
   * Addresses and interfaces that a release or delete in flight (ours or a
   * predecessor's), or one settled within the consistency grace, is taking
   * away: the views of the cloud may still show them, the pool never takes them.
   */
  private held(): HeldByIntents {
    const horizon = this.now() - this.consistencyGraceMs;
    const open = new Set<string>();
    const settled = new Set<string>();
    const interfaces = new Set<string>();
    for (const entry of this.intents.list()) {
      if (entry.settledAt !== undefined && entry.settledAt <= horizon) continue;
      const into = entry.settledAt === undefined ? open : settled;
      if (entry.intent.kind === 'release') for (const address of [...entry.intent.ips, ...entry.intent.prefixes]) into.add(onInterface(entry.intent.interfaceId, address));
      if (entry.intent.kind === 'delete-interface') interfaces.add(entry.intent.interfaceId);
    }
    return {
      interfaces,
      open: (interfaceId, address) => open.has(onInterface(interfaceId, address)),
      any: (interfaceId, address) => open.has(onInterface(interfaceId, address)) || settled.has(onInterface(interfaceId, address)),
    };
  }

  private get consistencyGraceMs(): number {
    return this.options.config.consistencyGraceMs ?? 60_000;
  }

  /** How long after it left a cloud call whose answer nobody saw may still take effect: the consistency grace. */
  private get callHorizonMs(): number {
    return this.consistencyGraceMs;
  }

  /** Runs a release's call; an error answer from the cloud means this call will not land later. */
  private async releaseCall(entry: RecordedIntent, interfaceId: string, addresses: { ips: string[]; prefixes: string[] }): Promise<void> {
    try {
      await this.options.provider.releaseAddresses(interfaceId, addresses);
    } catch (err) {
      if (isCloudError(err) && err.httpStatus !== undefined) await this.intents.markAnswered(entry.id);
      throw err;
    }
  }

  /**
   * The inventory without what releases and deletes are taking away. An
   * address a pod holds is never dropped for a settled release: the pod got
   * it after that release had landed (the cloud handed it back), so what a
   * view shows of it is the present, not the release's stale past.
   */
  private withoutHeld(inventory: InventoryInterface[]): InventoryInterface[] {
    const held = this.held();
    const allocated = new Set(this.options.store.allocations().map((allocation) => allocation.ip));
    const keep = (interfaceId: string, address: string): boolean => held.open(interfaceId, address) ? false : allocated.has(address) || !held.any(interfaceId, address);
    return inventory
      .filter((nic) => !held.interfaces.has(nic.interfaceId))
      .map((nic) => ({ ...nic, ips: nic.ips.filter((ip) => keep(nic.interfaceId, ip)), prefixes: nic.prefixes.filter((prefix) => keep(nic.interfaceId, prefix)) }));
  }

  /**
   * Reads this instance's interfaces from the cloud API, not the metadata
   * service: device indexes held in any attachment state (attaching,
   * detaching) count as used, and an interface of ours whose attach is in
   * flight is adopted (waited for) instead of being ignored.
   */
  private async readCloudView(): Promise<CloudInterface[]> {
    const metadata = this.metadata;
    if (!metadata) return [];
    const view = await this.options.provider.describeInstanceInterfaces(metadata.instanceId);
    this.cloudViewAt = this.now();
    const mine = view.filter((nic) => nic.attachment?.instanceId === metadata.instanceId && nic.attachment.status !== 'detached');
    this.cloudDeviceIndexes = mine.map((nic) => nic.attachment?.deviceIndex ?? 0);
    const held = this.held();
    const known = new Set(this.options.store.interfaces().map((nic) => nic.interfaceId));
    for (const nic of mine) {
      const ours = nic.tags[ownedTags.node] === metadata.instanceId;
      if (!ours || known.has(nic.interfaceId) || held.interfaces.has(nic.interfaceId) || this.adopting.has(nic.interfaceId)) continue;
      if (nic.attachment?.status !== 'attaching' && nic.attachment?.status !== 'attached') continue;
      this.adopt(nic);
    }
    return view;
  }

  /** Waits (in the background) for an interface whose attach is in flight, then takes it into the inventory. */
  private adopt(nic: CloudInterface): void {
    this.adopting.add(nic.interfaceId);
    this.pendingInterfaces++;
    this.options.logger.info({ interfaceId: nic.interfaceId, status: nic.attachment?.status }, 'adopting an interface of this node whose attach is in flight');
    void this.waitForAttachment(nic)
      .then(async (attached) => {
        if (this.stopped || this.held().interfaces.has(attached.interfaceId)) return;
        if (this.options.store.interfaces().some((other) => other.interfaceId === attached.interfaceId)) return;
        await this.configureHost(attached);
        this.options.store.replaceInventory([...this.options.store.interfaces(), ...this.withoutHeld([attached])]);
        this.touch([attached.interfaceId]);
        this.changedSinceView();
      })
      .catch((err: Error) => this.options.logger.warn({ interfaceId: nic.interfaceId, err: err.message }, 'an adopted interface did not attach'))
      .finally(() => {
        this.adopting.delete(nic.interfaceId);
        this.pendingInterfaces--;
      });
  }

  /** The cloud view of device indexes is out of date after a change of our own. */
  private changedSinceView(): void {
    this.cloudViewAt = -Infinity;
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
    // Metadata shows what the late assigns showed: the slots they held are counted anew.
    this.reservedSlots.clear();
    for (const meta of metadata.interfaces) {
      const seen = toInventory(meta, metadata.primaryMac);
      const known = current.get(meta.interfaceId);
      current.delete(meta.interfaceId);
      if (!known) {
        // An interface we just deleted may still show; do not adopt it again. One being adopted is waited for.
        if (fresh(meta.interfaceId) || this.adopting.has(meta.interfaceId) || this.held().interfaces.has(meta.interfaceId)) continue;
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
    // Filtered at the moment of the swap: a release or delete that began while this resync awaited counts.
    this.options.store.replaceInventory(this.withoutHeld(next));
    for (const orphan of this.options.store.orphans()) {
      this.options.logger.error({ ip: orphan.ip, containerId: orphan.key.containerId }, 'an allocated address is no longer on any interface of this node');
    }
  }

  private async adoptInterfaces(metadata: InstanceMetadata): Promise<void> {
    // The metadata service is not the truth yet: a predecessor's release or delete may not show in it.
    const inventory = this.withoutHeld(metadata.interfaces.map((meta) => toInventory(meta, metadata.primaryMac)));
    const configured = new Set(this.options.store.interfaces().map((nic) => nic.interfaceId));
    for (const nic of inventory) if (!configured.has(nic.interfaceId)) await this.configureHost(nic);
    this.options.store.replaceInventory(inventory);
  }

  /**
   * A restored pod's address that the metadata service does not show may be
   * one it has not caught up with (the predecessor's assign or attach landed
   * just before the kill), not one the cloud took back: re-read it, with
   * backoff, until every such address shows or `restoredSettleMs` passed.
   * Serving before that would answer a CHECK of a healthy pod with "lost".
   */
  private async awaitRestoredAddresses(): Promise<void> {
    if (this.options.store.orphans().length === 0) return;
    const deadline = this.now() + restoredSettleMs;
    let delay = 50;
    while (this.options.store.orphans().length > 0 && this.now() < deadline && !this.stopped) {
      await this.sleep(Math.min(delay, Math.max(0, deadline - this.now())));
      delay = Math.min(delay * 2, 500);
      const metadata = await this.options.provider.instanceMetadata();
      this.metadata = metadata;
      await this.adoptInterfaces(metadata);
    }
    const orphans = this.options.store.orphans();
    if (orphans.length > 0) this.options.logger.warn({ orphans: orphans.map((allocation) => allocation.ip), waitedMs: restoredSettleMs }, 'restored addresses still on no interface of this node');
  }

  private async configureHost(nic: InventoryInterface): Promise<void> {
    if (nic.isPrimary) return;
    await this.options.host.configureInterface({ mac: nic.mac, deviceIndex: nic.deviceIndex, primaryIp: nic.primaryIp, subnetCidr: nic.subnetCidr, gateway: this.options.provider.subnetGateway(nic.subnetCidr), mtu: this.options.mtu });
  }

  private async runOnce(): Promise<void> {
    const limits = this.limits;
    if (!limits || this.stopped) return;
    if (this.serving) {
      await this.settleIntents();
      await this.sweepOwnDetached();
    }
    // A limit answer or a stale device index makes one more plan, from a fresh read of the cloud.
    for (let attempt = 0; attempt < 3 && !this.stopped; attempt++) {
      if ((await this.planAndExecute(limits, attempt)) === 'done') break;
    }
    this.status.pendingInterfaces = this.pendingInterfaces;
    this.options.metrics.setPool(this.options.store, this.options.store.interfaces().length);
  }

  private async planAndExecute(limits: InstanceLimits, attempt: number): Promise<'done' | 'again'> {
    const now = this.now();
    const minAge = this.options.config.minInterfaceAgeMs ?? 60_000;
    for (const [id, at] of this.createdAt) if (at <= now - minAge) this.createdAt.delete(id);
    const subnets = await this.subnetsForPlan();
    const plan = planPool({
      allowShrink: this.serving && now - this.lastShrinkAt >= (this.options.config.shrinkIntervalMs ?? 30_000),
      protectedInterfaceIds: [...this.createdAt.keys()],
      interfaces: this.options.store.usage().map((nic) => ({ ...nic, reservedSlots: this.reservedSlots.get(nic.interfaceId) ?? 0 })),
      targets: this.current.targets,
      limits,
      ...subnets,
      pendingInterfaces: this.pendingInterfaces,
      usedDeviceIndexes: [...this.options.store.interfaces().map((nic) => nic.deviceIndex), ...this.cloudDeviceIndexes],
    });
    const creates = plan.steps.some((step) => step.kind === 'create-interface');
    const blockedByInterfaces = plan.exhausted?.limit === 'interfaces-per-instance' || plan.exhausted?.limit === 'max-eni';
    // Device indexes come from the cloud API, read again before an interface is created or the count declared full.
    if ((creates || blockedByInterfaces) && this.cloudViewAt < now - cloudViewMaxAgeMs && attempt < 2) {
      try {
        await this.readCloudView();
        return 'again';
      } catch (err) {
        this.recordCloudError(err, undefined);
        if (creates) return 'done';
      }
    }
    this.status.lastPlan = plan.reason;
    if (plan.steps.length > 0) this.options.logger.info({ plan: plan.steps, short: plan.short, excess: plan.excess }, `pool plan: ${plan.reason}`);
    // Slots a release in flight is freeing are not a limit: the node is not full, it is growing.
    const freeing = [...this.reservedSlots.values()].some((count) => count > 0);
    const exhausted = freeing ? undefined : plan.exhausted;
    this.status.exhausted = exhausted;
    this.options.metrics.setExhausted(exhausted?.limit);
    if (plan.steps.some((step) => step.kind === 'release' || step.kind === 'delete-interface')) this.lastShrinkAt = now;
    let again = false;
    for (const step of plan.steps) {
      if (this.stopped) break;
      try {
        await this.execute(step);
      } catch (err) {
        // An interface fuller than the inventory says (a predecessor's assign that landed late): read it from the cloud and plan again.
        const fuller = step.kind === 'assign' && isCloudError(err, 'limit-exceeded') && err.limit !== 'interfaces-per-instance' && attempt < 2;
        this.recordCloudError(err, step, fuller);
        if (fuller) again = await this.rereadInterface(step.interfaceId).catch((readErr: unknown) => (this.recordCloudError(readErr, step), false));
        if (isCloudError(err, 'subnet-full')) this.subnets = undefined;
        break;
      }
    }
    this.status.ready = this.options.store.totalAddresses() > 0 || plan.exhausted !== undefined || this.status.exhausted !== undefined;
    return again ? 'again' : 'done';
  }

  /**
   * Takes what the cloud API shows on an interface that refused more
   * addresses (a predecessor's assign landed late). Addresses no release
   * names join the pool. Ones a release in flight is taking away count as
   * taken slots until it lands. Ones only a settled release names are
   * uncertain: the view may be stale (the release landed, the view lags) or
   * a later assign that nobody saw answer handed them back, and no view can
   * tell which. Releasing them again makes it certain either way (no pod
   * holds them: they were not in the pool), and the next assign brings the
   * slots back as addresses the cloud answered with. True when there is
   * news to plan on.
   */
  private async rereadInterface(interfaceId: string): Promise<boolean> {
    const view = await this.readCloudView();
    const inCloud = view.find((nic) => nic.interfaceId === interfaceId);
    const known = this.options.store.interfaces().find((nic) => nic.interfaceId === interfaceId);
    if (!inCloud || !known) return false;
    const held = this.held();
    const newIps = inCloud.secondaryIps.filter((ip) => !known.ips.includes(ip));
    const newPrefixes = inCloud.prefixes.filter((prefix) => !known.prefixes.includes(prefix));
    const leaving = (address: string): boolean => held.open(interfaceId, address);
    const uncertain = (address: string): boolean => !leaving(address) && (held.any(interfaceId, address) || this.fresh(address));
    const usable = (address: string): boolean => !leaving(address) && !uncertain(address);
    const again = { ips: newIps.filter(uncertain), prefixes: newPrefixes.filter(uncertain) };
    const reserved = [...newIps, ...newPrefixes].filter((address) => !usable(address)).length;
    this.reservedSlots.set(interfaceId, reserved);
    this.options.logger.info({ interfaceId, newIps, newPrefixes, reserved, releasingAgain: [...again.ips, ...again.prefixes] }, 'an assign hit the limit: the interface re-read from the cloud');
    this.updateInterface(interfaceId, (nic) => ({ ...nic, ips: [...nic.ips, ...newIps.filter(usable)], prefixes: [...nic.prefixes, ...newPrefixes.filter(usable)] }));
    const joined = newIps.some(usable) || newPrefixes.some(usable);
    if (again.ips.length + again.prefixes.length === 0) return joined;
    return (await this.releaseAgain(interfaceId, again)) || joined;
  }

  /**
   * Re-issues a release for addresses no pod holds, under a new intent. Before
   * the socket serves (start only grows) the intent is left open for
   * `settleIntents`; a failure leaves it open too. True when it landed: the
   * slots are free now.
   */
  private async releaseAgain(interfaceId: string, addresses: { ips: string[]; prefixes: string[] }): Promise<boolean> {
    const entry = await this.intents.begin({ kind: 'release', interfaceId, ...addresses }, this.now());
    if (!this.serving || this.stopped) {
      // Never sent: settling it may issue it at once.
      await this.intents.markAnswered(entry.id);
      return false;
    }
    await this.releaseCall(entry, interfaceId, addresses);
    await this.intents.settle(entry.id, this.now());
    this.touch([...addresses.ips, ...addresses.prefixes]);
    this.reservedSlots.delete(interfaceId);
    return true;
  }

  private fresh(id: string): boolean {
    return (this.recentChanges.get(id) ?? -Infinity) > this.now() - this.consistencyGraceMs;
  }

  /**
   * Finishes the releases and deletes on record that are not settled: a
   * predecessor's (killed with the call in flight) or one of ours whose
   * answer left the outcome open. Re-issuing makes the end state certain
   * whatever the old call does; "not there any more" means done. Their
   * addresses never went back into the pool meanwhile.
   */
  private async settleIntents(): Promise<void> {
    await this.intents.expire(this.now(), this.consistencyGraceMs);
    const open = this.intents.outstanding();
    const releases = open.filter((entry) => entry.intent.kind === 'release');
    const view = releases.length > 0 ? await this.readCloudView().catch((err: unknown) => (this.recordCloudError(err, undefined), undefined)) : undefined;
    for (const entry of open) {
      if (this.stopped) return;
      try {
        if (entry.intent.kind === 'release' && view) await this.finishRelease(entry, entry.intent, view);
        if (entry.intent.kind === 'delete-interface') {
          await this.options.provider.deleteInterface(entry.intent.interfaceId);
          await this.intents.settle(entry.id, this.now());
          this.changedSinceView();
          this.options.logger.info({ interfaceId: entry.intent.interfaceId }, 'finished an interface delete left in flight');
        }
      } catch (err) {
        this.recordCloudError(err, undefined);
      }
    }
  }

  private async finishRelease(entry: RecordedIntent, intent: Extract<Intent, { kind: 'release' }>, view: CloudInterface[]): Promise<void> {
    const nic = view.find((candidate) => candidate.interfaceId === intent.interfaceId);
    const ips = nic ? intent.ips.filter((ip) => nic.secondaryIps.includes(ip)) : [];
    const prefixes = nic ? intent.prefixes.filter((prefix) => nic.prefixes.includes(prefix)) : [];
    if (ips.length > 0 || prefixes.length > 0) {
      // A call whose answer nobody saw may still land: re-issuing now would leave two calls that land at different times,
      // and the later one could take an address back after an assign handed it out again. Wait for the view to show the
      // first one landed, or for the time after which it cannot land any more.
      const lastSent = entry.sentAt ?? entry.at;
      if (!entry.answered && this.now() < lastSent + this.callHorizonMs) return;
      await this.intents.markResent(entry.id, this.now());
      await this.releaseCall(entry, intent.interfaceId, { ips, prefixes });
    }
    await this.intents.settle(entry.id, this.now());
    // The slots it held on the interface are free now.
    this.reservedSlots.delete(intent.interfaceId);
    this.options.logger.info({ interfaceId: intent.interfaceId, released: [...ips, ...prefixes], alreadyGone: intent.ips.length + intent.prefixes.length - ips.length - prefixes.length }, 'finished a release left in flight');
  }

  /**
   * Deletes the interfaces tagged with this node that are detached: what a
   * kill between create and attach, or detach and delete, leaves. They are
   * ours for sure once no operation of ours is under way, which holds here:
   * plans run one at a time and this runs inside one. Other nodes' leftovers
   * are the cluster sweep's (cloud/leaks.ts).
   */
  private async sweepOwnDetached(): Promise<void> {
    const metadata = this.metadata;
    const interval = this.options.config.ownInterfaceSweepMs ?? 60_000;
    if (!metadata || this.now() - this.lastOwnSweepAt < interval) return;
    this.lastOwnSweepAt = this.now();
    const keep = (interfaceId: string): boolean =>
      this.adopting.has(interfaceId) || this.fresh(interfaceId) || this.options.store.interfaces().some((nic) => nic.interfaceId === interfaceId);
    try {
      const deleted = await deleteDetachedOwnInterfaces({
        provider: this.options.provider,
        clusterName: this.options.config.clusterName,
        instanceId: metadata.instanceId,
        keep,
        deleteInterface: (interfaceId) => this.underIntent({ kind: 'delete-interface', interfaceId }, () => this.options.provider.deleteInterface(interfaceId)),
        logger: this.options.logger,
      });
      if (deleted.length > 0) this.subnets = undefined;
    } catch (err) {
      this.recordCloudError(err, undefined);
    }
  }

  /** Runs a cloud mutation under a durable intent, settled when the call answered; an error leaves it open for `settleIntents`. */
  private async underIntent<T>(intent: Intent, call: () => Promise<T>): Promise<T> {
    if (this.stopped) throw new Error('ipamd is stopping');
    const entry = await this.intents.begin(intent, this.now());
    const result = await call();
    await this.intents.settle(entry.id, this.now());
    return result;
  }

  /** `confirming`: the error is being checked against the cloud, so it declares no exhaustion yet. */
  private recordCloudError(err: unknown, step: PlanStep | undefined, confirming = false): void {
    const cloud = isCloudError(err) ? err : undefined;
    this.status.lastCloudError = { code: cloud?.code ?? 'Error', kind: cloud?.kind ?? 'internal', message: (err as Error).message, at: this.now() };
    this.options.logger.warn({ step, code: cloud?.code, kind: cloud?.kind, err: (err as Error).message }, 'pool step failed');
    if (cloud) this.options.onCloudError?.(cloud);
    if (cloud && !confirming && (cloud.kind === 'limit-exceeded' || cloud.kind === 'subnet-full')) {
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
    const added = await this.underIntent({ kind: 'assign', interfaceId }, () => this.options.provider.assignAddresses(interfaceId, request));
    await this.forgetReleased([...added.ips, ...added.prefixes]);
    this.touch([...added.ips, ...added.prefixes]);
    this.reservedSlots.delete(interfaceId);
    // A resync may have seen them already: add each once.
    this.updateInterface(interfaceId, (nic) => ({ ...nic, ips: [...new Set([...nic.ips, ...added.ips])], prefixes: [...new Set([...nic.prefixes, ...added.prefixes])] }));
  }

  /**
   * The cloud just handed these addresses to us: any release on record that
   * names them has landed for sure (they were free to hand out), so it must
   * neither keep them out of the pool nor be re-issued over them.
   */
  private async forgetReleased(addresses: string[]): Promise<void> {
    for (const entry of this.intents.list()) {
      if (entry.intent.kind !== 'release') continue;
      const { ips, prefixes } = entry.intent;
      if (!ips.some((ip) => addresses.includes(ip)) && !prefixes.some((prefix) => addresses.includes(prefix))) continue;
      const rest = { ...entry.intent, ips: ips.filter((ip) => !addresses.includes(ip)), prefixes: prefixes.filter((prefix) => !addresses.includes(prefix)) };
      if (rest.ips.length + rest.prefixes.length === 0) await this.intents.remove(entry.id);
      else await this.intents.update(entry.id, rest);
    }
  }

  private async createInterface(subnetId: string, deviceIndex: number, request: AddressRequest): Promise<void> {
    const metadata = this.metadata;
    if (!metadata) return;
    this.pendingInterfaces++;
    this.changedSinceView();
    const token = randomUUID();
    try {
      const created = await this.underIntent({ kind: 'create-interface', token, subnetId, deviceIndex }, () =>
        this.options.provider.createInterface({
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
            [ownedTags.intent]: token,
          },
        }),
      );
      // As for an assign: the cloud handed these out, so any release naming them has landed.
      await this.forgetReleased([...created.secondaryIps, ...created.prefixes]);
      this.touch([created.interfaceId, ...created.secondaryIps, ...created.prefixes]);
      this.createdAt.set(created.interfaceId, this.now());
      const attached = await this.waitForAttachment(created);
      if (this.stopped) return;
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
      if (this.stopped) throw new Error('ipamd is stopping');
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

  /**
   * Releases free addresses under a durable intent. They leave the inventory
   * first and never come back: a failed call is reconciled against the
   * cloud by `settleIntents` (what the cloud no longer has is gone, what it
   * still has is released again), never rolled back blindly, since the
   * failure may be that part of it already happened.
   */
  private async release(interfaceId: string, ips: string[], prefixes: string[]): Promise<void> {
    const usage = this.options.store.usage().find((nic) => nic.interfaceId === interfaceId);
    if (!usage) return;
    // The plan was made a moment ago: give back only what is still free now.
    const freeIps = ips.filter((ip) => usage.ips.some((entry) => entry.ip === ip && entry.state === 'free'));
    const freePrefixes = prefixes.filter((prefix) => usage.prefixes.some((entry) => entry.prefix === prefix && entry.assigned === 0 && entry.cooling === 0));
    if (freeIps.length === 0 && freePrefixes.length === 0) return;
    if (this.stopped) return;
    // Out of the inventory in the same tick as the intent counts, so no add picks them while the call is in flight.
    const begun = this.intents.begin({ kind: 'release', interfaceId, ips: freeIps, prefixes: freePrefixes }, this.now());
    this.touch([...freeIps, ...freePrefixes]);
    this.updateInterface(interfaceId, (nic) => ({ ...nic, ips: nic.ips.filter((ip) => !freeIps.includes(ip)), prefixes: nic.prefixes.filter((p) => !freePrefixes.includes(p)) }));
    const entry = await begun;
    await this.releaseCall(entry, interfaceId, { ips: freeIps, prefixes: freePrefixes });
    await this.intents.settle(entry.id, this.now());
    this.touch([...freeIps, ...freePrefixes]);
  }

  /** Deletes an idle interface under a durable intent; a failure leaves it out of the pool for `settleIntents` to finish. */
  private async deleteInterface(interfaceId: string): Promise<void> {
    const usage = this.options.store.usage().find((nic) => nic.interfaceId === interfaceId);
    const nic = this.options.store.interfaces().find((candidate) => candidate.interfaceId === interfaceId);
    if (!usage || !nic || nic.isPrimary || this.stopped) return;
    const busy = usage.ips.some((entry) => entry.state !== 'free') || usage.prefixes.some((entry) => entry.assigned + entry.cooling > 0);
    if (busy) return;
    const begun = this.intents.begin({ kind: 'delete-interface', interfaceId }, this.now());
    this.touch([interfaceId, ...nic.ips, ...nic.prefixes]);
    this.options.store.replaceInventory(this.options.store.interfaces().filter((candidate) => candidate.interfaceId !== interfaceId));
    this.changedSinceView();
    const entry = await begun;
    await this.options.host.removeInterface({ mac: nic.mac, deviceIndex: nic.deviceIndex, primaryIp: nic.primaryIp, subnetCidr: nic.subnetCidr, gateway: this.options.provider.subnetGateway(nic.subnetCidr), mtu: this.options.mtu });
    await this.options.provider.deleteInterface(interfaceId);
    await this.intents.settle(entry.id, this.now());
    this.touch([interfaceId, ...nic.ips, ...nic.prefixes]);
    this.subnets = undefined;
  }
}
