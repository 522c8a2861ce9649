/**
 * ipamd's figures: add latency at the socket (durable write included), node
 * boot time and cloud calls, and resident memory with 250 allocations. The
 * daemon runs in its own process, as on a node; the emulator runs here.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callIpamd } from '../../wire/client.ts';
import { createCallGate } from '../../ipamd/cloud/call-gate.ts';
import { startDaemon } from '../../ipamd/daemon.ts';
import { noHostNetwork, noPodNetwork } from '../fakes/networks.ts';
import { silentLogger } from '../../ipamd/common/logger.ts';
import { Metrics } from '../../ipamd/common/metrics.ts';
import type { PoolTargets } from '../../ipamd/common/types.ts';
import { AwsProvider } from '../../providers/aws/provider.ts';
import { Emulator } from '../../emulator/cloud/emulator.ts';
import { buildTopology } from '../../emulator/cloud/topology.ts';
import { build } from 'esbuild';
import { daemonNodeFlags } from '../../ipamd/node-flags.ts';
import { startJsonChild, stopChild } from './child.ts';
import { fmt, summarize } from './stats.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const defaults: PoolTargets = { mode: 'ips', warmEniTarget: 1, warmIpTarget: 0, minimumIpTarget: 0, warmPrefixTarget: 1, maxEni: 0 };
const key = (containerId: string): { network: string; containerId: string; ifName: string } => ({ network: 'bench', containerId, ifName: 'eth0' });

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(line.replace(/\D+/g, '')) / 1024;
}

async function world(instanceType: string): Promise<{ emulator: Emulator; url: string; instanceId: string; podSubnetId: string; stateDir: string }> {
  const emulator = new Emulator();
  const topology = await buildTopology(emulator.model, { nodes: 1, instanceType });
  const { url } = await emulator.listen();
  const stateDir = await mkdtemp(join(tmpdir(), 'ipamd-bench-'));
  return { emulator, url, instanceId: topology.instances[0]?.id ?? '', podSubnetId: topology.podSubnets[0]?.id ?? '', stateDir };
}

/** The daemon as it ships: one minified bundle (as `npm run build` makes it), run by plain node with the production flags. */
async function bundledDaemon(dir: string): Promise<string> {
  // Split like the shipped bundle (package.json's build): lazily imported code (the Kubernetes client) stays out of memory.
  const outdir = join(dir, 'daemon');
  await build({
    entryPoints: [`${root}test/ipamd/fixtures/daemon-child.ts`],
    bundle: true,
    minify: true,
    keepNames: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    splitting: true,
    outdir,
    entryNames: 'daemon-child',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    logLevel: 'error',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  return join(outdir, 'daemon-child.mjs');
}

async function daemonChild(w: Awaited<ReturnType<typeof world>>, targets: Partial<PoolTargets>, cooldownMs = 0): Promise<{ pid: number; socketPath: string; stop(): Promise<void> }> {
  const socketPath = join(w.stateDir, 'ipamd.sock');
  const spec = { ec2: w.url, imds: `${w.url}/_instance/${w.instanceId}`, stateDir: join(w.stateDir, 'state'), socketPath, podSubnetId: w.podSubnetId, cooldownMs, targets, poolCheckIntervalMs: 1000, reconcileIntervalMs: 60_000 };
  const script = await bundledDaemon(w.stateDir);
  const flags = process.env.BENCH_DAEMON_FLAGS === undefined ? daemonNodeFlags : process.env.BENCH_DAEMON_FLAGS.split(" ").filter(Boolean);
  const { child } = await startJsonChild<{ ready: boolean }>(process.execPath, [...flags, script, JSON.stringify(spec)]);
  return { pid: child.pid ?? 0, socketPath, stop: () => stopChild(child) };
}

/** Sequential adds from the warm pool, each followed by its delete, against a no-op server as reference. */
async function benchAdd(): Promise<void> {
  const w = await world('m5.large');
  const daemon = await daemonChild(w, defaults);
  const noopSocket = join(w.stateDir, 'noop.sock');
  // The reference runs in its own process too, so both pay the same hand-off between processes.
  const reference = await startJsonChild<{ ready: boolean }>(process.execPath, [...daemonNodeFlags, '--import', 'tsx', `${root}test/bench/noop-ipamd.ts`, noopSocket]);
  try {
    const run = async (socketPath: string, count: number): Promise<number[]> => {
      const samples: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        await callIpamd(socketPath, 'add', { key: key(`c${i}`), netns: '/var/run/netns/bench' }, { timeoutMs: 10_000 });
        samples.push(performance.now() - start);
        await callIpamd(socketPath, 'del', { key: key(`c${i}`) }, { timeoutMs: 10_000 });
      }
      return samples;
    };
    await run(daemon.socketPath, 100); // warm-up: JIT, pool at target
    await run(noopSocket, 100);
    const ipamd = summarize(await run(daemon.socketPath, 1000));
    const floor = summarize(await run(noopSocket, 1000));
    console.log('\nipamd add from the warm pool, at the socket, journal fdatasync included (1,000 sequential adds, each followed by its delete)');
    console.log(`  ipamd:              p50 ${fmt(ipamd.p50)} ms  p99 ${fmt(ipamd.p99)} ms  max ${fmt(ipamd.max)} ms`);
    console.log(`  no-op API server:   p50 ${fmt(floor.p50)} ms  p99 ${fmt(floor.p99)} ms  (same server in its own process, service doing nothing; same run)`);
    console.log(`  ratio ipamd / no-op: p50 ${fmt(ipamd.p50 / floor.p50)}, p99 ${fmt(ipamd.p99 / floor.p99)}`);
    console.log(`  target (p99 < 5 ms): ${ipamd.p99 < 5 ? 'met' : 'NOT met'}`);
  } finally {
    await stopChild(reference.child);
    await daemon.stop();
    await w.emulator.close();
    await rm(w.stateDir, { recursive: true, force: true });
  }
}

/** Boot on the emulator at zero latency: time until the pool is at target, and the cloud calls it took. */
async function benchBoot(): Promise<void> {
  console.log('\nipamd node boot on the emulator at zero latency (m5.large), in process');
  for (const [label, targets, pods] of [
    ['defaults (WARM_ENI_TARGET=1)', defaults, 0],
    ['defaults, then one pod (second ENI)', defaults, 1],
    ['WARM_IP_TARGET=5 MINIMUM_IP_TARGET=25', { ...defaults, warmIpTarget: 5, minimumIpTarget: 25 }, 0],
  ] as const) {
    const w = await world('m5.large');
    const metrics = new Metrics(false);
    const provider = new AwsProvider({
      region: 'us-east-1',
      ec2Endpoint: w.url,
      imdsEndpoint: `${w.url}/_instance/${w.instanceId}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      wrapCall: createCallGate({ rate: 10, burst: 20, onAttempt: (op, outcome, ms) => metrics.cloudCall(op, outcome, ms / 1000) }),
    });
    const started = performance.now();
    const daemon = await startDaemon({
      provider,
      host: noHostNetwork,
      podNetwork: noPodNetwork,
      logger: silentLogger,
      metrics,
      stateDir: w.stateDir,
      pool: {
        targets,
        cooldownMs: 30_000,
        clusterName: 'bench',
        nodeName: undefined,
        podSubnetIds: [w.podSubnetId],
        podSecurityGroupIds: [],
        extraTags: {},
        checkIntervalMs: 1000,
        resyncIntervalMs: 60_000,
        leakCleanup: { enabled: false, intervalMs: 3_600_000, graceMs: 300_000 },
      },
      api: { socketPath: join(w.stateDir, 'ipamd.sock') },
      dataPlane: { mtu: 9001, snat: { external: false, excludeCidrs: [] } },
    });
    for (let i = 0; i < pods; i++) await callIpamd(join(w.stateDir, 'ipamd.sock'), 'add', { key: key(`boot${i}`), netns: '/var/run/netns/bench' });
    // Settled: one more plan finds nothing to do.
    await daemon.pool.reconcile();
    const readyMs = performance.now() - started;
    const calls = await metrics.cloudCallCounts();
    const mutating = Object.entries(calls).filter(([name]) => !/^(Describe|IMDS)/.test(name)).reduce((sum, [, n]) => sum + n, 0);
    const enis = w.emulator.model.listInterfaces().length - 1;
    const perEni = Object.entries(calls)
      .filter(([name]) => /^(CreateNetworkInterface|AttachNetworkInterface|ModifyNetworkInterfaceAttribute):/.test(name))
      .reduce((sum, [, n]) => sum + n, 0);
    console.log(`  ${label.padEnd(40)} ready in ${fmt(readyMs, 0)} ms; ${w.emulator.model.listInterfaces().reduce((s, n) => s + n.secondaryIps.length, 0)} addresses on ${enis + 1} ENIs; mutating calls ${mutating} (per new ENI: ${enis ? fmt(perEni / enis, 1) : '-'}); all calls ${JSON.stringify(calls)}`);
    await daemon.stop();
    provider.destroy();
    await w.emulator.close();
    await rm(w.stateDir, { recursive: true, force: true });
  }
}

/** Resident memory of the daemon process with 250 allocations, against itself with none. */
async function benchMemory(): Promise<void> {
  const w = await world('c5.18xlarge');
  const daemon = await daemonChild(w, defaults, 30_000);
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const idle = rssMb(daemon.pid);
    for (let i = 0; i < 250; i++) await callIpamd(daemon.socketPath, 'add', { key: key(`m${i}`), netns: '/var/run/netns/bench', pod: { namespace: 'default', name: `pod-${i}`, uid: `uid-${i}` } }, { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const loaded = rssMb(daemon.pid);
    console.log(`\nipamd resident memory (c5.18xlarge, bundled daemon in its own process, node ${daemonNodeFlags.join(' ')})`);
    console.log(`  idle: ${fmt(idle, 1)} MB; with 250 allocations: ${fmt(loaded, 1)} MB; ratio ${fmt(loaded / idle)}; target (< 100 MB): ${loaded < 100 ? 'met' : 'NOT met'}`);
  } finally {
    await daemon.stop();
    await w.emulator.close();
    await rm(w.stateDir, { recursive: true, force: true });
  }
}

export async function benchIpamd(): Promise<void> {
  await benchAdd();
  await benchBoot();
  await benchMemory();
}
