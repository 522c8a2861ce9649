import { join } from 'node:path';
import type { NodeProvider } from '../providers/contract.ts';
import { startApiServer } from './api/server.ts';
import { cleanLeakedInterfaces } from './cloud/leaks.ts';
import { conflist, writeConflist } from './cni-config.ts';
import type { PodNetwork } from './dataplane/types.ts';
import { finishPendingReleases } from './pending-releases.ts';
import { AddressStore } from './datastore/store.ts';
import type { HostNetwork } from './dataplane/host-network.ts';
import { poolView, serveHttp, type HttpEndpoint } from './introspection.ts';
import type { Logger } from './common/logger.ts';
import { instrumentService, type Metrics } from './common/metrics.ts';
import { OPS } from '../wire/protocol.ts';
import { PoolManager } from './pool/manager.ts';
import { IntentLog } from './pool/intents.ts';
import { CoalescedRun } from './common/coalesced-run.ts';
import { NodeIpamService } from './service.ts';
import type { ApiConfig, DataPlaneConfig, EndpointsConfig, PoolConfig } from './config/groups.ts';
import { PoolAddressSource } from './pool/address-source.ts';
import type { KubernetesIntegration, KubernetesOptions } from './k8s/integration.ts';
import { isCloudError } from '../providers/errors.ts';

/** The daemon's parts, and the configuration groups each is handed whole. */
export interface DaemonOptions {
  provider: NodeProvider;
  host: HostNetwork;
  podNetwork: PodNetwork;
  logger: Logger;
  metrics: Metrics;
  /** The datastore's journal goes under it, and (by default) the plugin's pending releases. */
  stateDir: string;
  pool: PoolConfig;
  api: ApiConfig;
  dataPlane: DataPlaneConfig;
  /** Absent = no HTTP endpoint served. */
  endpoints?: EndpointsConfig;
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
  const { logger, metrics, api: apiConfig, dataPlane } = options;
  const poolConfig = options.pool;
  const now = options.now ?? Date.now;
  const { store, skippedRecords } = await AddressStore.open({
    dir: join(options.stateDir, 'ipam'),
    mode: poolConfig.targets.mode,
    cooldownMs: poolConfig.cooldownMs,
    now,
    onBackgroundError: (err) => logger.error({ err: err.message }, 'datastore compaction failed'),
  });
  if (skippedRecords > 0) logger.warn({ skippedRecords }, 'ignored unreadable journal records (a write torn by a crash)');
  const restored = store.allocations().length;
  const intents = await IntentLog.open(join(options.stateDir, 'intents'));
  let kubernetes: KubernetesIntegration | undefined;
  const pool = new PoolManager({
    onCloudError: (err) => kubernetes?.cloudError(err),
    provider: options.provider,
    store,
    host: options.host,
    logger,
    metrics,
    config: poolConfig,
    mtu: dataPlane.mtu,
    now,
    intents,
  });
  const timers: NodeJS.Timeout[] = [];
  const endpoints: HttpEndpoint[] = [];
  let api: { close(): Promise<void> } | undefined;
  const stop = async (): Promise<void> => {
    pool.stop();
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
      const { snat } = dataPlane;
      await options.podNetwork.prepareNode({
        // A NAT gateway that does the SNAT means the node SNATs nothing.
        noSnatCidrs: snat.external ? ['0.0.0.0/0'] : [...metadata.vpcCidrs, ...snat.excludeCidrs],
        primaryIp: metadata.primaryIp,
        primaryInterface: await options.host.linkName(metadata.primaryMac),
      });
    }
    const addresses = new PoolAddressSource({ store, pool, logger });
    const service = new NodeIpamService({ store, addresses, logger, podNetwork: options.podNetwork, mtu: dataPlane.mtu, subnetGateway: (cidr) => options.provider.subnetGateway(cidr) });
    const pendingDir = apiConfig.pendingDir ?? join(options.stateDir, 'pending-del');
    // One pass at a time: a pass over many records may outlast the timer's period.
    const finishPending = new CoalescedRun(() =>
      finishPendingReleases(pendingDir, service, logger)
        .then(() => undefined)
        .catch((err: Error) => logger.warn({ err: err.message }, 'pending releases failed')),
    );
    // With Kubernetes, a failed add also leaves an Event on its pod (recorded in the background).
    const served = kubernetes ? kubernetes.wrapService(service) : service;
    api = await startApiServer({ socketPath: apiConfig.socketPath, service: instrumentService(served, metrics, OPS), logger });
    kubernetes?.serve(service);
    // After the socket serves: releases recorded while ipamd was down are finished in the background
    // (their addresses stay allocated until then, so none is handed out twice), and the pool may shrink.
    void finishPending.run();
    pool.serve();
    let conflistPath: string | undefined;
    const publishWhenReady = async (): Promise<void> => {
      if (conflistPath || !apiConfig.cniConfDir || !addresses.ready) return;
      conflistPath = await writeConflist(apiConfig.cniConfDir, conflist({ socketPath: apiConfig.socketPath, pendingDir }));
      logger.info({ path: conflistPath }, 'ready: conflist written');
    };
    await publishWhenReady();
    const every = (ms: number, task: () => Promise<void>): void => {
      const timer = setInterval(() => void task(), ms);
      timer.unref();
      timers.push(timer);
    };
    every(poolConfig.checkIntervalMs, async () => {
      await pool.reconcile().catch((err: Error) => logger.warn({ err: err.message }, 'pool check failed'));
      await publishWhenReady().catch((err: Error) => logger.error({ err: err.message }, 'writing the conflist failed'));
    });
    every(5000, () => finishPending.run());
    every(poolConfig.resyncIntervalMs, async () => {
      try {
        await pool.resync();
        metrics.reconcile('success');
      } catch (err) {
        metrics.reconcile('error');
        logger.warn({ err: (err as Error).message }, 'reconcile with the cloud failed');
      }
    });
    if (poolConfig.leakCleanup.enabled) {
      // A random start offset keeps a fleet of nodes started together from sweeping in step.
      const offset = Math.floor(Math.random() * poolConfig.leakCleanup.intervalMs);
      const sweep = async (): Promise<void> => {
        try {
          const deleted = await cleanLeakedInterfaces({ provider: options.provider, clusterName: poolConfig.clusterName, graceMs: poolConfig.leakCleanup.graceMs, now, logger });
          metrics.leakedDeleted(deleted.length);
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'leaked-interface cleanup failed');
        }
      };
      const first = setTimeout(() => {
        void sweep();
        every(poolConfig.leakCleanup.intervalMs, sweep);
      }, offset);
      first.unref();
      timers.push(first);
    }
    const view = async (): Promise<[number, string, string]> => [200, 'application/json', JSON.stringify(await poolView(store, pool, pool.targets, metrics), null, 2)];
    const health = async (): Promise<[number, string, string]> => [200, 'text/plain', 'ok\n'];
    const ready = async (): Promise<[number, string, string]> => (addresses.ready ? [200, 'text/plain', 'ready\n'] : [503, 'text/plain', 'warming\n']);
    let introspectionUrl: string | undefined;
    let metricsUrl: string | undefined;
    const { introspection, metrics: metricsAddress } = options.endpoints ?? {};
    if (introspection) {
      const endpoint = await serveHttp(introspection.host, introspection.port, { '/v1/pool': view, '/healthz': health, '/readyz': ready });
      endpoints.push(endpoint);
      introspectionUrl = endpoint.url;
    }
    if (metricsAddress) {
      const endpoint = await serveHttp(metricsAddress.host, metricsAddress.port, {
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
