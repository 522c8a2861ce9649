import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsProvider } from '../../providers/aws/provider.ts';
import { Emulator } from '../../emulator/cloud/emulator.ts';
import { buildTopology, type Topology } from '../../emulator/cloud/topology.ts';
import { createCallGate } from '../../ipamd/cloud/call-gate.ts';
import { startDaemon, type DaemonOptions, type RunningDaemon } from '../../ipamd/daemon.ts';
import { noHostNetwork, noPodNetwork } from '../fakes/networks.ts';
import { silentLogger } from '../../ipamd/common/logger.ts';
import { Metrics } from '../../ipamd/common/metrics.ts';
import type { PoolTargets } from '../../ipamd/common/types.ts';
import type { ApiConfig, DataPlaneConfig, PoolConfig } from '../../ipamd/config/groups.ts';
import type { RealismInput } from '../../emulator/cloud/realism/settings.ts';

export const defaultTargets: PoolTargets = { mode: 'ips', warmEniTarget: 1, warmIpTarget: 0, minimumIpTarget: 0, warmPrefixTarget: 1, maxEni: 0 };

/** Changes to the daemon's options: whole parts, or some fields of a configuration group. */
export interface DaemonOverrides extends Partial<Omit<DaemonOptions, 'pool' | 'api' | 'dataPlane'>> {
  pool?: Partial<PoolConfig>;
  api?: Partial<ApiConfig>;
  dataPlane?: Partial<DataPlaneConfig>;
}

export interface IpamdWorld {
  emulator: Emulator;
  topology: Topology;
  url: string;
  stateDir: string;
  socketPath: string;
  metrics: Metrics;
  daemon: RunningDaemon;
  /** Starts another daemon on the same node and state (after a stop or a crash). */
  restart(overrides?: DaemonOverrides): Promise<RunningDaemon>;
  teardown(): Promise<void>;
}

/** An emulated VPC with one node and ipamd running on it, control plane only (no namespaces). */
export async function startIpamdWorld(options: { instanceType?: string; targets?: Partial<PoolTargets>; realism?: RealismInput; daemon?: DaemonOverrides } = {}): Promise<IpamdWorld> {
  const emulator = new Emulator({ realism: options.realism ?? {} });
  const topology = await buildTopology(emulator.model, { nodes: 1, instanceType: options.instanceType ?? 'm5.large' });
  const { url } = await emulator.listen();
  const stateDir = await mkdtemp(join(tmpdir(), 'ipamd-test-'));
  const socketPath = join(stateDir, 'ipamd.sock');
  const instance = topology.instances[0];
  if (!instance) throw new Error('no instance');
  let metrics = new Metrics(false);
  const providers: AwsProvider[] = [];
  const launch = (overrides: DaemonOverrides = {}): Promise<RunningDaemon> => {
    metrics = new Metrics(false);
    const m = metrics;
    const provider = new AwsProvider({
      region: 'us-east-1',
      ec2Endpoint: url,
      imdsEndpoint: `${url}/_instance/${instance.id}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      pollIntervalMs: 5,
      wrapCall: createCallGate({ rate: 1000, burst: 1000, baseDelayMs: 5, onAttempt: (op, outcome, ms) => m.cloudCall(op, outcome, ms / 1000) }),
    });
    providers.push(provider);
    // The groups merge field by field below; the other parts are replaced whole.
    const { pool: _pool, api: _api, dataPlane: _dataPlane, ...parts } = { ...options.daemon, ...overrides };
    return startDaemon({
      provider,
      host: noHostNetwork,
      podNetwork: noPodNetwork,
      logger: silentLogger,
      metrics: m,
      stateDir,
      pool: {
        targets: { ...defaultTargets, ...options.targets },
        cooldownMs: 30_000,
        clusterName: 'test',
        nodeName: undefined,
        podSubnetIds: [topology.podSubnets[0]?.id ?? ''],
        podSecurityGroupIds: [],
        extraTags: {},
        checkIntervalMs: 50,
        resyncIntervalMs: 200,
        leakCleanup: { enabled: false, intervalMs: 60_000, graceMs: 0 },
        // Tests see every decision at once; production waits 30 s between shrinks and keeps young interfaces.
        shrinkIntervalMs: 0,
        minInterfaceAgeMs: 0,
        ...options.daemon?.pool,
        ...overrides.pool,
      },
      api: { socketPath, ...options.daemon?.api, ...overrides.api },
      dataPlane: { mtu: 9001, snat: { external: false, excludeCidrs: [] }, ...options.daemon?.dataPlane, ...overrides.dataPlane },
      ...parts,
    });
  };
  const daemon = await launch();
  const world: IpamdWorld = {
    emulator,
    topology,
    url,
    stateDir,
    socketPath,
    get metrics() {
      return metrics;
    },
    daemon,
    restart: async (overrides) => {
      world.daemon = await launch(overrides);
      return world.daemon;
    },
    async teardown() {
      await world.daemon.stop().catch(() => undefined);
      for (const provider of providers) provider.destroy();
      await emulator.model.settled();
      await emulator.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  return world;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
