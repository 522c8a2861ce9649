/**
 * ipamd's Kubernetes integration, wired together: watches of the node, of
 * the NodeNetworkConfigs and of the node's pods; the config controller; the
 * NodeNetwork status; lost-delete cleanup; Events.
 *
 * Everything here runs beside the plugin's requests, never in their way: an
 * add is served from the warm pool whatever the API server does (down,
 * hanging, slow). The only hooks on the request path are a synchronous,
 * non-blocking Event record when an add fails, and none at all on success.
 */
import { availableParallelism } from 'node:os';
import type { InstanceMetadata, NodeProvider } from '../../providers/contract.ts';
import { isCloudError, type CloudError } from '../../providers/errors.ts';
import { IpamError } from '../../wire/errors.ts';
import type { IpamService } from '../../wire/protocol.ts';
import type { AddressStore } from '../datastore/store.ts';
import type { Logger } from '../common/logger.ts';
import type { PoolManager } from '../pool/manager.ts';
import type { KubernetesConfig } from '../config/groups.ts';
import { createKubeApi, loadKubeConfig, type Collection, type KubeApi } from './client.ts';
import { NodeConfigController, type ConfigState } from './config-controller.ts';
import { EventRecorder } from './events.ts';
import { LostDeleteSweeper } from './lost-deletes.ts';
import { NodeNetworkWriter, NodeStatusPublisher, nodeNetworkStatus } from './node-status.ts';
import { Reflector, type ReflectorTiming } from './reflector.ts';
import { podKey, projectNode, projectNodeNetworkConfig, projectPod, type NodeInfo, type NodeNetworkConfigObject, type PodInfo } from './resources.ts';

/** The kubernetes group of the configuration, plus tuning that no variable sets (tests shorten it). */
export interface KubernetesOptions extends KubernetesConfig {
  /** How long start-up waits for the node and the configs before going on with the environment's settings (default 5 s). */
  initialSyncTimeoutMs?: number;
  /** Each list, get, create, update or patch (default 10 s). */
  requestTimeoutMs?: number;
  watch?: Partial<ReflectorTiming>;
  /** Repeated Events are patched at most this often (default 10 s). */
  eventPatchIntervalMs?: number;
  /** Wait before checking a config's subnets and security groups again when the cloud could not be asked (default 10 s). */
  configRetryMs?: number;
}

export interface IntegrationDeps {
  options: KubernetesOptions;
  provider: NodeProvider;
  pool: PoolManager;
  store: AddressStore;
  logger: Logger;
  now?: () => number;
}

export const eventComponent = 'vpc-cni-ipamd';

export class KubernetesIntegration {
  readonly api: KubeApi;
  readonly events: EventRecorder;
  readonly nodes: Reflector<NodeInfo>;
  readonly configs: Reflector<NodeNetworkConfigObject>;
  readonly pods: Reflector<PodInfo>;
  readonly controller: NodeConfigController;
  readonly writer: NodeNetworkWriter;
  private publisher: NodeStatusPublisher | undefined;
  private sweeper: LostDeleteSweeper | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private bootMetadata: InstanceMetadata | undefined;
  private readonly logger: Logger;

  private constructor(private readonly deps: IntegrationDeps) {
    const { options, pool } = deps;
    this.logger = deps.logger.child({ component: 'ipamd-k8s' });
    const kubeConfig = loadKubeConfig(options.connection, options.requestTimeoutMs ?? 10_000);
    this.api = createKubeApi(kubeConfig);
    this.events = new EventRecorder({
      api: this.api,
      logger: this.logger,
      component: eventComponent,
      host: options.nodeName,
      ...(options.eventPatchIntervalMs === undefined ? {} : { patchIntervalMs: options.eventPatchIntervalMs }),
      ...(deps.now ? { now: deps.now } : {}),
    });
    const reflect = <T>(source: Collection, project: (raw: unknown) => T | undefined, key: (item: T) => string, onChange?: () => void): Reflector<T> =>
      new Reflector<T>({ source, project, key, logger: this.logger, ...(options.watch ? { timing: options.watch } : {}), ...(onChange ? { onChange } : {}) });
    const reevaluate = (): void => void this.controller.evaluate();
    this.nodes = reflect(this.api.nodes(`metadata.name=${options.nodeName}`), projectNode, (node) => node.name, reevaluate);
    this.configs = reflect(this.api.nodeNetworkConfigs(), projectNodeNetworkConfig, (config) => config.name, reevaluate);
    this.pods = reflect(this.api.pods(`spec.nodeName=${options.nodeName}`), projectPod, podKey);
    this.controller = new NodeConfigController({
      nodeName: options.nodeName,
      node: () => this.nodes.get(options.nodeName),
      configs: () => (this.configs.hasListed ? this.configs.items() : undefined),
      base: pool.settings,
      pool,
      checkSubnets: (ids) => this.checkSubnets(ids),
      checkSecurityGroups: (ids) => this.checkSecurityGroups(ids),
      instanceZone: () => (pool.instance ?? this.bootMetadata)?.zone,
      events: this.events,
      logger: this.logger,
      ...(options.configRetryMs === undefined ? {} : { retryMs: options.configRetryMs }),
    });
    this.writer = new NodeNetworkWriter(this.api);
  }

  /**
   * Connects and waits (briefly) for the node and the configs, so that the
   * pool's first interfaces already follow the node's config. Call before
   * the pool starts; an unreachable API server only delays start-up by the
   * initial sync timeout.
   */
  static async start(deps: IntegrationDeps): Promise<KubernetesIntegration> {
    const integration = new KubernetesIntegration(deps);
    await integration.connect();
    return integration;
  }

  private async connect(): Promise<void> {
    const { options, provider } = this.deps;
    this.bootMetadata = await provider.instanceMetadata().catch(() => undefined);
    for (const reflector of [this.nodes, this.configs, this.pods]) reflector.start();
    const timeout = options.initialSyncTimeoutMs ?? 5000;
    const [nodeSynced, configsSynced] = await Promise.all([this.nodes.waitUntilFresh(timeout), this.configs.waitUntilFresh(timeout)]);
    if (!nodeSynced || !configsSynced) {
      this.logger.warn({ timeoutMs: timeout }, 'the Kubernetes API is not answering yet: starting with the environment settings; the NodeNetworkConfig is applied when it arrives');
    } else if (!this.nodes.get(options.nodeName)) {
      this.logger.warn({ node: options.nodeName }, 'no Node of this name (yet): NODE_NAME must be the Kubernetes node name; configs apply once it shows up');
    }
    await this.controller.evaluate();
  }

  /** Starts what needs a running pool and the service: status publication and lost-delete cleanup. */
  serve(service: Pick<IpamService, 'del'>): void {
    const { options, pool, store } = this.deps;
    this.publisher = new NodeStatusPublisher({
      writer: this.writer,
      intervalMs: options.status.intervalMs,
      debounceMs: options.status.debounceMs ?? 2000,
      logger: this.logger,
      ...(this.deps.now ? { now: this.deps.now } : {}),
      snapshot: () => {
        const node = this.nodes.get(options.nodeName);
        const instance = pool.instance;
        if (!node?.uid || !instance) return undefined;
        const config = this.controller.state;
        return {
          node: { name: node.name, uid: node.uid },
          status: nodeNetworkStatus({
            instance,
            limits: pool.instanceLimits,
            targets: pool.targets,
            interfaces: store.interfaces(),
            counts: { total: store.totalAddresses(), assigned: store.allocations().length, warm: store.freeCount(), cooldown: store.coolingCount() },
            pool: pool.status,
            config: { name: config.config, error: config.configError },
            vcpus: availableParallelism(),
          }),
        };
      },
    });
    this.publisher.start();
    if (options.lostDeletes.enabled) {
      this.sweeper = new LostDeleteSweeper({
        allocations: () => store.allocations(),
        pods: this.pods,
        release: (params) => service.del(params, { signal: new AbortController().signal }),
        graceMs: options.lostDeletes.graceMs,
        logger: this.logger,
        ...(this.deps.now ? { now: this.deps.now } : {}),
        onReleased: (allocation) =>
          this.events.record(
            this.nodeTarget(),
            'Normal',
            'LostDeleteReleased',
            `released ${allocation.ip} of pod ${allocation.pod ? podKey(allocation.pod) : '?'} (uid ${allocation.pod?.uid ?? '?'}), gone from the node without a CNI DEL`,
          ),
      });
      const every = options.lostDeletes.sweepIntervalMs ?? Math.min(30_000, Math.max(1000, Math.floor(options.lostDeletes.graceMs / 4)));
      this.sweepTimer = setInterval(() => void this.sweeper?.sweep(), every);
      this.sweepTimer.unref();
    }
  }

  /** The service with an Event on the pod for every add that fails. Nothing is awaited on the request path. */
  wrapService(service: IpamService): IpamService {
    return {
      add: async (params, ctx) => {
        try {
          return await service.add(params, ctx);
        } catch (err) {
          if (params.pod) this.addFailed(params.pod, err);
          throw err;
        }
      },
      del: (params, ctx) => service.del(params, ctx),
      check: (params, ctx) => service.check(params, ctx),
      status: (ctx) => service.status(ctx),
      gc: (params, ctx) => service.gc(params, ctx),
    };
  }

  /** A failed cloud call of the pool: permission errors become an Event on the node. */
  cloudError(err: CloudError): void {
    if (!isCloudError(err, 'unauthorized')) return;
    this.events.record(this.nodeTarget(), 'Warning', 'CloudPermissionDenied', `${err.operation ?? 'a cloud call'} was refused (${err.code}): ${err.message}; check the node's cloud permissions`);
  }

  get configState(): ConfigState {
    return this.controller.state;
  }

  get lostDeletes(): LostDeleteSweeper | undefined {
    return this.sweeper;
  }

  get statusPublisher(): NodeStatusPublisher | undefined {
    return this.publisher;
  }

  async stop(): Promise<void> {
    this.publisher?.stop();
    clearInterval(this.sweepTimer);
    this.controller.stop();
    await Promise.all([this.nodes.stop(), this.configs.stop(), this.pods.stop()]);
    // Events in flight (a permission error at start-up, say) get a moment to go out.
    await this.events.close(2000);
  }

  private nodeTarget(): { apiVersion: string; kind: string; name: string; uid?: string } {
    const node = this.nodes.get(this.deps.options.nodeName);
    return { apiVersion: 'v1', kind: 'Node', name: this.deps.options.nodeName, ...(node?.uid ? { uid: node.uid } : {}) };
  }

  private addFailed(pod: { namespace: string; name: string; uid: string }, err: unknown): void {
    const code = err instanceof IpamError ? err.code : 'internal';
    const limit = err instanceof IpamError ? err.limit : undefined;
    const subnets = this.deps.pool.status.subnets.map((s) => `${s.subnetId} (${s.freeAddresses} free)`).join(', ');
    const message = [
      `vpc-cni could not give the pod an address: ${(err as Error).message}`,
      ...(limit ? [`limit: ${limit}`] : []),
      ...(subnets ? [`subnets: ${subnets}`] : []),
    ].join('; ');
    this.events.record({ apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid }, 'Warning', code === 'exhausted' ? 'AddressesExhausted' : 'AddressAllocationFailed', message);
  }

  /** The subnets of a config must exist, in the node's VPC and zone (an interface cannot use a subnet of another zone). */
  private async checkSubnets(ids: string[]): Promise<string | undefined> {
    const metadata = await this.nodeMetadata();
    const asked = await this.askCloud(`subnets ${ids.join(', ')}`, () => this.deps.provider.describeSubnets(metadata.vpcId, ids));
    if ('problem' in asked) return asked.problem;
    const subnets = asked.answer;
    const problems: string[] = [];
    for (const id of ids) {
      const subnet = subnets.find((s) => s.subnetId === id);
      if (!subnet) problems.push(`subnet ${id} does not exist`);
      else if (subnet.vpcId && subnet.vpcId !== metadata.vpcId) problems.push(`subnet ${id} is in ${subnet.vpcId}, not in the node's ${metadata.vpcId}`);
      else if (subnet.zone && metadata.zone && subnet.zone !== metadata.zone) problems.push(`subnet ${id} is in zone ${subnet.zone}, the node in ${metadata.zone}`);
    }
    return problems.length > 0 ? problems.join('; ') : undefined;
  }

  /**
   * The security groups of a config must exist and belong to the node's VPC
   * (an interface cannot use another VPC's group). On Azure an NSG belongs to
   * no VNet (vpcId ""): the adapter itself refuses one of another
   * subscription or region, the only places a NIC cannot take it from.
   */
  private async checkSecurityGroups(ids: string[]): Promise<string | undefined> {
    const metadata = await this.nodeMetadata();
    const asked = await this.askCloud(`security groups ${ids.join(', ')}`, () => this.deps.provider.describeSecurityGroups(metadata.vpcId, ids));
    if ('problem' in asked) return asked.problem;
    const groups = asked.answer;
    const problems: string[] = [];
    for (const id of ids) {
      const group = groups.find((g) => g.id === id);
      if (!group) problems.push(`security group ${id} does not exist`);
      else if (group.vpcId && group.vpcId !== metadata.vpcId) problems.push(`security group ${id} belongs to ${group.vpcId}, not to the node's ${metadata.vpcId}`);
    }
    return problems.length > 0 ? problems.join('; ') : undefined;
  }

  private async nodeMetadata(): Promise<InstanceMetadata> {
    const { provider, pool } = this.deps;
    return pool.instance ?? this.bootMetadata ?? (this.bootMetadata = await provider.instanceMetadata());
  }

  /**
   * A cloud answer for a config check. The cloud refusing the ids themselves
   * is the config's problem; any other failure throws, and the check is asked
   * again later.
   */
  private async askCloud<T>(what: string, ask: () => Promise<T>): Promise<{ answer: T } | { problem: string }> {
    try {
      return { answer: await ask() };
    } catch (err) {
      if (isCloudError(err, 'not-found') || isCloudError(err, 'invalid-request')) return { problem: `${what}: ${(err as Error).message}` };
      if (isCloudError(err)) this.cloudError(err);
      throw err;
    }
  }
}
