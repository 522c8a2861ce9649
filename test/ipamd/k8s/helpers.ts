/**
 * A node of the emulated VPC running ipamd in-process with its Kubernetes
 * integration on, against the fake API server (real HTTP, real
 * @kubernetes/client-node, a kubeconfig file as KUBECONFIG gives one). Short
 * timings, so scenarios take milliseconds, not minutes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';
import type { KubernetesOptions } from '../../../ipamd/k8s/integration.ts';
import { rbacUsage } from '../../../ipamd/k8s/rbac-usage.ts';
import type { PoolTargets } from '../../../ipamd/common/types.ts';
import { startIpamdWorld, waitFor, type DaemonOverrides, type IpamdWorld } from '../harness.ts';
import { FakeApiServer, usedPermissions, type FakeApiServerOptions, type KubeObject, type RecordedRequest } from './fake-apiserver.ts';

export const nodeName = 'node-1';
export const zone = 'us-east-1a';

export interface K8sWorld {
  api: FakeApiServer;
  world: IpamdWorld;
  kubeconfig: string;
  teardown(): Promise<void>;
}

export function nodeObject(labels: Record<string, string> = {}, annotations: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName, 'topology.kubernetes.io/zone': zone, ...labels }, annotations },
  };
}

export function podObject(name: string, options: { uid?: string; node?: string; namespace?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: options.namespace ?? 'default', name, uid: options.uid ?? `uid-${name}` },
    spec: { nodeName: options.node ?? nodeName, containers: [{ name: 'app', image: 'app' }] },
  };
}

export function configObject(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'vpc-cni.io/v1alpha1', kind: 'NodeNetworkConfig', metadata: { name }, spec };
}

export const fastKubernetes = (kubeconfig: string, overrides: Partial<KubernetesOptions> = {}): KubernetesOptions => ({
  connection: { mode: 'kubeconfig', path: kubeconfig },
  nodeName,
  lostDeletes: { enabled: true, graceMs: 400, sweepIntervalMs: 50 },
  status: { intervalMs: 60_000, debounceMs: 50 },
  initialSyncTimeoutMs: 2000,
  requestTimeoutMs: 1000,
  watch: { backoffInitialMs: 20, backoffMaxMs: 200, watchTimeoutSeconds: 30, watchIdleTimeoutMs: 3000 },
  eventPatchIntervalMs: 100,
  configRetryMs: 100,
  ...overrides,
});

export interface K8sWorldOptions {
  /** The Node object; default nodeObject(). */
  node?: KubeObject | null;
  configs?: KubeObject[];
  kubernetes?: Partial<KubernetesOptions>;
  targets?: Partial<PoolTargets>;
  daemon?: DaemonOverrides;
  api?: FakeApiServerOptions;
  /** Start the fake API server before ipamd (default true). */
  apiUp?: boolean;
  /** Wait until ipamd is ready (default true). */
  waitReady?: boolean;
}

export async function startK8sWorld(options: K8sWorldOptions = {}): Promise<K8sWorld> {
  const api = new FakeApiServer({ bookmarkIntervalMs: 200, ...options.api });
  await api.start();
  if (options.node !== null) api.put('nodes', options.node ?? nodeObject());
  for (const config of options.configs ?? []) api.put('nodenetworkconfigs', config);
  const dir = await mkdtemp(join(tmpdir(), 'ipamd-k8s-'));
  const kubeconfig = await api.writeKubeconfig(dir);
  if (options.apiUp === false) await api.stop();
  let world: IpamdWorld;
  try {
    world = await startIpamdWorld({
      ...(options.targets ? { targets: options.targets } : {}),
      daemon: { kubernetes: fastKubernetes(kubeconfig, options.kubernetes), ...options.daemon, pool: { nodeName, ...options.daemon?.pool } },
    });
  } catch (err) {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const w = world;
  if (options.waitReady !== false) await waitFor(() => w.daemon.pool.status.ready, 5000, 'ipamd ready');
  return {
    api,
    world,
    kubeconfig,
    async teardown() {
      await world.teardown();
      await api.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One world per test, torn down after it; and, after all tests of the file,
 * a check that every request the fake API server saw is one the RBAC usage
 * list (and so the ClusterRole, see rbac.test.ts) allows.
 */
export function useK8sWorld(): (options?: K8sWorldOptions) => Promise<K8sWorld> {
  let current: K8sWorld | undefined;
  const seen: RecordedRequest[] = [];
  afterEach(async () => {
    if (current) seen.push(...current.api.requests);
    await current?.teardown();
    current = undefined;
  });
  afterAll(() => {
    const allowed = new Set(rbacUsage.flatMap((u) => u.verbs.map((verb) => `${u.apiGroup}/${u.resource}:${verb}`)));
    expect([...usedPermissions(seen)].filter((p) => !allowed.has(p)), 'requests outside ipamd/k8s/rbac-usage.ts').toEqual([]);
  });
  return async (options) => {
    current = await startK8sWorld(options);
    return current;
  };
}

/** The node's NodeNetwork as the API server has it. */
export function nodeNetwork(api: FakeApiServer): (KubeObject & { status?: Record<string, unknown> }) | undefined {
  return api.get('nodenetworks', nodeName) as (KubeObject & { status?: Record<string, unknown> }) | undefined;
}

export function eventsFor(api: FakeApiServer, kind: string, name: string): Array<KubeObject & { reason?: string; message?: string; count?: number; type?: string; involvedObject?: Record<string, unknown> }> {
  return api.list('events').filter((e) => {
    const involved = e.involvedObject as { kind?: string; name?: string } | undefined;
    return involved?.kind === kind && involved.name === name;
  });
}

export { waitFor };
