import { join } from 'node:path';
import type { NodeProvider } from '../providers/contract.ts';
import { startApiServer } from './api/server.ts';
import { cleanLeakedInterfaces } from './cloud/leaks.ts';
import { conflist, writeConflist } from './cni-config.ts';
import type { PodNetwork } from './dataplane/types.ts';
import { finishPendingReleases } from './pending.ts';
import { AddressStore } from './datastore/store.ts';
import type { HostNetwork } from './dataplane/host-network.ts';
import { poolView, serveHttp, type HttpEndpoint } from './introspection.ts';
import type { Logger } from './logger.ts';
import { instrumentService, type Metrics } from './metrics.ts';
import { OPS } from '../wire/protocol.ts';
import { PoolManager } from './pool/manager.ts';
import { NodeIpamService } from './service.ts';
import type { PoolTargets } from './types.ts';
import type { KubernetesIntegration, KubernetesOptions } from './k8s/integration.ts';
import { isCloudError } from '../providers/errors.ts';

export interface DaemonOptions {
  provider: NodeProvider;
  host: HostNetwork;
  podNetwork: PodNetwork;
  logger: Logger;
  metrics: Metrics;
  stateDir: string;
  socketPath: string;
  /** Where the plugin records releases while ipamd is down (default STATE_DIR/pending-del). */
  pendingDir?: string;
  /** Where the conflist goes once ipamd is ready; absent = not written. */
  cniConfDir?: string;
  /** SNAT of traffic leaving the VPC: off when a NAT gateway does it; extra CIDRs reached without it. */
  snat?: { external: boolean; excludeCidrs: string[] };
  targets: PoolTargets;
  cooldownMs: number;
  clusterName: string;
  nodeName?: string;
  podSubnetIds: string[];
  podSecurityGroupIds: string[];
  extraTags: Record<string, string>;
  mtu: number;
  poolCheckIntervalMs: number;
  reconcileIntervalMs: number;
  /** Defaults: shrink at most every 30 s; never free an interface younger than 60 s. */
  shrinkIntervalMs?: number;
  minInterfaceAgeMs?: number;
  leakCleanup: { enabled: boolean; intervalMs: number; graceMs: number };
  /** host:port pairs; absent = not served. */
  introspection?: { host: string; port: number };
  metricsEndpoint?: { host: string; port: number };
  /** The Kubernetes integration; absent = standalone (no cluster needed). */
  kubernetes?: KubernetesOptions;
  now?: () => number;
}

export interface RunningDaemon {
  store: AddressStore;
  pool: PoolManager;
  kubernetes?: KubernetesIntegration;
  introspectionUrl?: string;
  metricsUrl?: string;
  conflistPath?: string;
  stop(): Promise<void>;
}

/**
 * Starts ipamd: restores allocations from the state directory, rebuilds the
 * interface inventory from the metadata service, fills the pool, then serves
 * the plugin on its socket and keeps the pool at its targets.
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const { logger, metrics } = options;
  const now = options.now ?? Date.now;
  const { store, skippedRecords } = await AddressStore.open({
    dir: join(options.stateDir, 'ipam'),
    mode: options.targets.mode,
    cooldownMs: options.cooldownMs,
    now,
    onBackgroundError: (err) => logger.error({ err: err.message }, 'datastore compaction failed'),
  });
  if (skippedRecords > 0) logger.warn({ skippedRecords }, 'ignored unreadable journal records (a write torn by a crash)');
  const restored = store.allocations().length;
  let kubernetes: KubernetesIntegration | undefined;
  const pool = new PoolManager({
    onCloudError: (err) => kubernetes?.cloudError(err),
    provider: options.provider,
    store,
    host: options.host,
    logger,
    metrics,
    targets: options.targets,
    clusterName: options.clusterName,
    nodeName: options.nodeName ?? '',
    podSubnetIds: options.podSubnetIds,
    podSecurityGroupIds: options.podSecurityGroupIds,
    extraTags: options.extraTags,
    mtu: options.mtu,
    now,
    ...(options.shrinkIntervalMs === undefined ? {} : { shrinkIntervalMs: options.shrinkIntervalMs }),
    ...(options.minInterfaceAgeMs === undefined ? {} : { minInterfaceAgeMs: options.minInterfaceAgeMs }),
  });
  const timers: NodeJS.Timeout[] = [];
  const endpoints: HttpEndpoint[] = [];
  let api: { close(): Promise<void> } | undefined;
  const stop = async (): Promise<void> => {
    for (const timer of timers) clearInterval(timer);
    await api?.close();
    await kubernetes?.stop();
    await Promise.all(endpoints.map((endpoint) => endpoint.close()));
    await store.close();
  };
  try {
    if (options.kubernetes) {
      // Loaded only when used: standalone ipamd never evaluates the Kubernetes client.
      const { KubernetesIntegration } = await import('./k8s/integration.ts');
      // Before the pool starts, so that its first interfaces already follow the node's config.
      kubernetes = await KubernetesIntegration.start({ options: options.kubernetes, provider: options.provider, pool, store, logger, now });
    }
    try {
      await pool.start();
    } catch (err) {
      // A node without the cloud permissions it needs says so on its Node object.
      if (isCloudError(err)) kubernetes?.cloudError(err);
      throw err;
    }
    const orphans = store.orphans();
    logger.info(
      { instance: pool.instance?.instanceId, restored, orphans: orphans.length, addresses: store.totalAddresses(), free: store.freeCount() },
      'ipamd started: allocations restored, inventory rebuilt from the metadata service',
    );
    const metadata = pool.instance;
    if (metadata) {
      const snat = options.snat ?? { external: false, excludeCidrs: [] };
      await options.podNetwork.prepareNode({
        // A NAT gateway that does the SNAT means the node SNATs nothing.
        noSnatCidrs: snat.external ? ['0.0.0.0/0'] : [...metadata.vpcCidrs, ...snat.excludeCidrs],
        primaryIp: metadata.primaryIp,
        primaryInterface: await options.host.linkName(metadata.primaryMac),
      });
    }
    const service = new NodeIpamService({ store, pool, logger, podNetwork: options.podNetwork, mtu: options.mtu });
    const pendingDir = options.pendingDir ?? join(options.stateDir, 'pending-del');
    const finishPending = (): Promise<void> =>
      finishPendingReleases(pendingDir, service, logger)
        .then(() => undefined)
        .catch((err: Error) => logger.warn({ err: err.message }, 'pending releases failed'));
    await finishPending();
    // With Kubernetes, a failed add also leaves an Event on its pod (recorded in the background).
    const served = kubernetes ? kubernetes.wrapService(service) : service;
    api = await startApiServer({ socketPath: options.socketPath, service: instrumentService(served, metrics, OPS), logger });
    kubernetes?.serve(service);
    let conflistPath: string | undefined;
    const publishWhenReady = async (): Promise<void> => {
      if (conflistPath || !options.cniConfDir || !pool.status.ready) return;
      conflistPath = await writeConflist(options.cniConfDir, conflist({ socketPath: options.socketPath, pendingDir }));
      logger.info({ path: conflistPath }, 'ready: conflist written');
    };
    await publishWhenReady();
    const every = (ms: number, task: () => Promise<void>): void => {
      const timer = setInterval(() => void task(), ms);
      timer.unref();
      timers.push(timer);
    };
    every(options.poolCheckIntervalMs, async () => {
      await pool.reconcile().catch((err: Error) => logger.warn({ err: err.message }, 'pool check failed'));
      await publishWhenReady().catch((err: Error) => logger.error({ err: err.message }, 'writing the conflist failed'));
    });
    every(5000, finishPending);
    every(options.reconcileIntervalMs, async () => {
      try {
        await pool.resync();
        metrics.reconcile('success');
      } catch (err) {
        metrics.reconcile('error');
        logger.warn({ err: (err as Error).message }, 'reconcile with the cloud failed');
      }
    });
    if (options.leakCleanup.enabled) {
      // A random start offset keeps a fleet of nodes started together from sweeping in step.
      const offset = Math.floor(Math.random() * options.leakCleanup.intervalMs);
      const sweep = async (): Promise<void> => {
        try {
          const deleted = await cleanLeakedInterfaces({ provider: options.provider, clusterName: options.clusterName, graceMs: options.leakCleanup.graceMs, now, logger });
          metrics.leakedDeleted(deleted.length);
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'leaked-interface cleanup failed');
        }
      };
      const first = setTimeout(() => {
        void sweep();
        every(options.leakCleanup.intervalMs, sweep);
      }, offset);
      first.unref();
      timers.push(first);
    }
    const view = async (): Promise<[number, string, string]> => [200, 'application/json', JSON.stringify(await poolView(store, pool, pool.targets, metrics), null, 2)];
    const health = async (): Promise<[number, string, string]> => [200, 'text/plain', 'ok\n'];
    const ready = async (): Promise<[number, string, string]> => (pool.status.ready ? [200, 'text/plain', 'ready\n'] : [503, 'text/plain', 'warming\n']);
    let introspectionUrl: string | undefined;
    let metricsUrl: string | undefined;
    if (options.introspection) {
      const endpoint = await serveHttp(options.introspection.host, options.introspection.port, { '/v1/pool': view, '/healthz': health, '/readyz': ready });
      endpoints.push(endpoint);
      introspectionUrl = endpoint.url;
    }
    if (options.metricsEndpoint) {
      const endpoint = await serveHttp(options.metricsEndpoint.host, options.metricsEndpoint.port, {
        '/metrics': async () => [200, metrics.registry.contentType, await metrics.registry.metrics()],
      });
      endpoints.push(endpoint);
      metricsUrl = endpoint.url;
    }
    return {
      store,
      pool,
      ...(kubernetes ? { kubernetes } : {}),
      stop,
      ...(introspectionUrl ? { introspectionUrl } : {}),
      ...(metricsUrl ? { metricsUrl } : {}),
      get conflistPath() {
        return conflistPath;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
