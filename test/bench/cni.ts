/**
 * The plugin as a kubelet's runtime sees it: CNI ADD and DEL latency of
 * vpc-cni (the compiled plugin + ipamd, on one node of the emulated VPC,
 * through the conflist ipamd writes) against Debian's Go `ptp` + `host-local`
 * chain, both driven by the same runtime: a small Go program on libcni (the
 * library containerd and cri-o call; libcni/main.go), started once inside the
 * node's namespace, timing each AddNetworkList/DelNetworkList itself. Same
 * node, same run, interleaved pod by pod so drift hits both alike.
 *
 * Measured: ADD and DEL one pod at a time (each pod a fresh network
 * namespace, made and removed outside the timed part), and the wall time of
 * PARALLEL pods added at once then deleted at once (first call's start to
 * last call's end, on the runtime's clock). Each figure is reported as a
 * ratio to the Go chain. For the breakdown, in the same loop: the time libcni
 * spends in plugin processes, each plugin's VERSION through libcni, ipamd's
 * ADD/DEL at its socket (what the plugin asks for: address, veth, routes,
 * journal) and one `ip -batch` exec.
 *
 *   npx tsx test/bench/run.ts cni
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { callIpamd } from '../../wire/client.ts';
import { conflistName } from '../../ipamd/cni-config.ts';
import { distDir, EmulatedCluster, referencePluginDir, root, run, type ClusterNode } from '../../emulator/cluster/cluster.ts';
import type { Attachment, Conflist } from '../../emulator/cluster/runtime.ts';
import { describeStartup, measureStartup } from '../cni/startup.ts';
import { buildLibcniRuntime } from './libcni/build.ts';
import { LibcniRuntime, type LibcniTiming } from './libcni/client.ts';
import { fmt, summarize, type Summary } from './stats.ts';

const WARM_UP = 5;
const PODS = Number(process.env.BENCH_CNI_PODS ?? 100);
const PARALLEL = 20;
const PARALLEL_ROUNDS = 5;
/** Addresses ipamd holds (MINIMUM_IP_TARGET) and keeps free (WARM_IP_TARGET): the parallel batch never waits for, or triggers, a cloud call. */
const WARM_IP_TARGET = 30;
const MINIMUM_IP_TARGET = WARM_IP_TARGET + PARALLEL;
/** ipamd's NETLINK_HELPER: `auto` (the netlink helper beside the bundle, as shipped) unless the bench's environment says `off` (ip execs). */
const linkExecutor = process.env.NETLINK_HELPER ?? 'auto';

interface Variant {
  label: string;
  conflistPath: string;
  /** The list's first plugin, whose start-up (VERSION through libcni) is measured. */
  plugin: string;
}

interface Samples {
  add: number[];
  /** Of each ADD, the time in plugin processes; the rest is libcni's own (config, result cache). */
  addExec: number[];
  del: number[];
  version: number[];
  parAdd: number[];
  parDel: number[];
  /** Each parallel ADD's own latency, every round: with the wall time, it shows how much the calls queue. */
  parAddEach: number[];
}

const ms = (start: number): number => performance.now() - start;
const median = (values: number[]): number => summarize(values).p50;
/** Wall time of overlapping calls on the runtime's clock: first start to last end. */
const wallMs = (timings: LibcniTiming[]): number => (Math.max(...timings.map((t) => t.endUs)) - Math.min(...timings.map((t) => t.startUs))) / 1000;

/** Pod network namespaces made here, removed in `finally` whatever happens. */
class Netns {
  readonly live = new Set<string>();

  async add(name: string): Promise<void> {
    const made = await run('ip', ['netns', 'add', name]);
    if (made.code !== 0) throw new Error(`ip netns add ${name}: ${made.stderr.trim()}`);
    this.live.add(name);
  }

  async del(name: string): Promise<void> {
    await run('ip', ['netns', 'del', name]);
    this.live.delete(name);
  }

  async clear(): Promise<void> {
    for (const name of [...this.live]) await this.del(name).catch(() => undefined);
  }
}

function build(): void {
  if (process.env.BENCH_NO_BUILD) return;
  for (const script of ['build', 'build:plugin']) {
    try {
      execFileSync('npm', ['run', '--silent', script], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(`npm run ${script} failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
  }
}

/** Until ipamd holds at least `want` free addresses and the cloud has nothing in flight. */
async function poolSettled(cluster: EmulatedCluster, node: ClusterNode, want: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = -1;
  for (;;) {
    await cluster.emulator.model.settled();
    const status = await callIpamd(node.socketPath, 'status', {}, { timeoutMs: 5_000 });
    const available = status.available ?? 0;
    if (available >= want && available === last) return;
    if (Date.now() > deadline) throw new Error(`ipamd pool did not reach ${want} free addresses within 60 s (has ${available})`);
    last = available;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export async function benchCni(): Promise<void> {
  build();
  const runtimeBinary = buildLibcniRuntime(join(root, 'node_modules/.cache/vpc-cni-libcni'));
  const startup = measureStartup(join(distDir, 'vpc-cni'), 30);

  const loadStart = loadavg().map((l) => fmt(l)).join(' ');
  const netns = new Netns();
  const work = await mkdtemp(join(tmpdir(), 'cni-bench-'));
  const cluster = new EmulatedCluster({
    nodes: 1,
    instanceType: 'm5.4xlarge',
    env: { WARM_IP_TARGET: String(WARM_IP_TARGET), MINIMUM_IP_TARGET: String(MINIMUM_IP_TARGET), IP_COOLDOWN_PERIOD: '0', NETLINK_HELPER: linkExecutor },
  });
  let runtime: LibcniRuntime | undefined;
  try {
    await cluster.start();
    const node = cluster.nodes[0];
    if (!node) throw new Error('the cluster has no node');
    await poolSettled(cluster, node, MINIMUM_IP_TARGET);

    // The Go chain's list: the same shape as vpc-cni's (one network, cniVersion 1.0.0, MTU 9001, no masquerade).
    const referenceList: Conflist = {
      cniVersion: '1.0.0',
      name: 'ptp-ref',
      plugins: [{ type: 'ptp', ipMasq: false, mtu: 9001, ipam: { type: 'host-local', ranges: [[{ subnet: '192.168.240.0/20' }]], dataDir: join(work, 'host-local') } }],
    };
    const referencePath = join(work, '10-ptp-ref.conflist');
    await writeFile(referencePath, JSON.stringify(referenceList));
    const variants: Variant[] = [
      { label: 'vpc-cni', conflistPath: join(node.confDir, conflistName), plugin: node.runtime.conflist.plugins[0]?.type ?? 'vpc-cni' },
      { label: 'ptp + host-local (Go)', conflistPath: referencePath, plugin: 'ptp' },
    ];
    runtime = new LibcniRuntime({ binary: runtimeBinary, namespace: node.namespace, pluginDirs: [distDir, referencePluginDir], cacheDir: join(work, 'libcni-cache') });
    const cni = runtime;
    const pod = (n: string): { name: string; attachment: Attachment } => {
      const { netns: name, attachment } = cluster.newAttachment(node, n);
      return { name, attachment };
    };

    // --- one pod at a time, A/B alternating per pod --------------------------------------
    const samples = new Map<Variant, Samples>(variants.map((v) => [v, { add: [], addExec: [], del: [], version: [], parAdd: [], parDel: [], parAddEach: [] }]));
    const socketAdd: number[] = [];
    const socketDel: number[] = [];
    const ipExec: number[] = [];
    const oldWrapper: number[] = [];
    for (let i = 0; i < WARM_UP + PODS; i++) {
      const keep = i >= WARM_UP;
      const order = i % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const s = samples.get(v) as Samples;
        const p = pod(`seq-${i}`);
        await netns.add(p.name);
        const add = await cni.addOrCleanUp(v.conflistPath, p.attachment);
        const del = await cni.del(v.conflistPath, p.attachment);
        await netns.del(p.name);
        const version = await cni.version(v.plugin);
        if (keep) {
          s.add.push(add.ms);
          s.addExec.push(add.execMs);
          s.del.push(del.ms);
          s.version.push(version.ms);
        }
      }
      // ipamd at its socket, without the plugin: the same work for the same kind of pod.
      const p = pod(`sock-${i}`);
      await netns.add(p.name);
      const key = { network: node.runtime.conflist.name, containerId: randomBytes(32).toString('hex'), ifName: 'eth0' };
      let start = performance.now();
      await callIpamd(node.socketPath, 'add', { key, netns: p.attachment.netns }, { timeoutMs: 10_000 });
      const add = ms(start);
      start = performance.now();
      await callIpamd(node.socketPath, 'del', { key, netns: p.attachment.netns }, { timeoutMs: 10_000 });
      const del = ms(start);
      // One `ip -batch -` exec into the pod's namespace, as ipamd makes two per ADD and one per DEL.
      start = performance.now();
      const batch = await run('ip', ['-n', p.name, '-batch', '-'], { input: 'link set lo up\n' });
      const ipExecMs = ms(start);
      if (batch.code !== 0) throw new Error(`ip -n ${p.name} -batch -: ${batch.stderr}`);
      await netns.del(p.name);
      // What the previous harness paid per plugin exec and the runtime here does not: `ip netns exec NODE`.
      start = performance.now();
      const t = await run('ip', ['netns', 'exec', node.namespace, '/bin/true']);
      const wrapperMs = ms(start);
      if (t.code !== 0) throw new Error(`ip netns exec ${node.namespace} /bin/true: ${t.stderr}`);
      if (keep) {
        socketAdd.push(add);
        socketDel.push(del);
        ipExec.push(ipExecMs);
        oldWrapper.push(wrapperMs);
      }
    }

    // --- PARALLEL pods at once, rounds alternating which plugin goes first -------------------
    const socketParAdd: number[] = [];
    for (let round = 0; round < PARALLEL_ROUNDS; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        await poolSettled(cluster, node, MINIMUM_IP_TARGET);
        const pods = Array.from({ length: PARALLEL }, (_, j) => pod(`par-${round}-${j}`));
        await Promise.all(pods.map((p) => netns.add(p.name)));
        const added = await Promise.allSettled(pods.map((p) => cni.addOrCleanUp(v.conflistPath, p.attachment)));
        const addTimings = added.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const deleted = await Promise.all(pods.flatMap((p, j) => (added[j]?.status === 'fulfilled' ? [cni.del(v.conflistPath, p.attachment)] : [])));
        await Promise.all(pods.map((p) => netns.del(p.name)));
        const failed = added.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw new Error(`${v.label}: parallel ADD failed: ${String(failed.reason)}`);
        const s = samples.get(v) as Samples;
        s.parAdd.push(wallMs(addTimings));
        s.parAddEach.push(...addTimings.map((t) => t.ms));
        s.parDel.push(wallMs(deleted));
      }
      // The same batch at ipamd's socket without the plugin: how much of the parallel wall is the daemon's.
      await poolSettled(cluster, node, MINIMUM_IP_TARGET);
      const pods = Array.from({ length: PARALLEL }, (_, j) => pod(`spar-${round}-${j}`));
      await Promise.all(pods.map((p) => netns.add(p.name)));
      const requests = pods.map((p) => ({ key: { network: node.runtime.conflist.name, containerId: randomBytes(32).toString('hex'), ifName: 'eth0' }, netns: p.attachment.netns }));
      const start = performance.now();
      await Promise.all(requests.map((r) => callIpamd(node.socketPath, 'add', r, { timeoutMs: 30_000 })));
      socketParAdd.push(ms(start));
      await Promise.all(requests.map((r) => callIpamd(node.socketPath, 'del', r, { timeoutMs: 30_000 })));
      await Promise.all(pods.map((p) => netns.del(p.name)));
    }

    // --- report --------------------------------------------------------------------------
    const [a, b] = variants as [Variant, Variant];
    const sa = samples.get(a) as Samples;
    const sb = samples.get(b) as Samples;
    const [addA, addB, delA, delB] = [summarize(sa.add), summarize(sb.add), summarize(sa.del), summarize(sb.del)];
    const parAll = (s: Samples): number => median(s.parAdd.map((add, i) => add + (s.parDel[i] ?? NaN)));
    const row = (label: string, add: Summary, del: Summary, s: Samples): string =>
      `${label.padEnd(24)}${fmt(add.p50).padStart(8)}${fmt(add.p99).padStart(8)}${fmt(del.p50).padStart(8)}${fmt(del.p99).padStart(8)}${fmt(median(s.version)).padStart(9)}${fmt(median(s.parAdd), 0).padStart(10)}${fmt(median(s.parDel), 0).padStart(9)}${fmt(parAll(s), 0).padStart(9)}`;

    console.log(`\nCNI ADD/DEL through a libcni runtime inside one emulated node's namespace (m5.4xlarge, WARM_IP_TARGET=${WARM_IP_TARGET}, MINIMUM_IP_TARGET=${MINIMUM_IP_TARGET}, IP_COOLDOWN_PERIOD=0)`);
    console.log(
      `sequential: ${PODS} pods each after ${WARM_UP} warm-up, A/B alternating (p99 = nearest rank of ${PODS}); parallel: ${PARALLEL} pods at once, wall time, median of ${PARALLEL_ROUNDS} rounds; ms, timed inside the runtime around AddNetworkList/DelNetworkList/GetVersionInfo`,
    );
    console.log(`${'plugin'.padEnd(24)}${'ADD p50'.padStart(8)}${'ADD p99'.padStart(8)}${'DEL p50'.padStart(8)}${'DEL p99'.padStart(8)}${'VERSION'.padStart(9)}${'par ADD'.padStart(10)}${'par DEL'.padStart(9)}${'par all'.padStart(9)}`);
    console.log(row(a.label, addA, delA, sa));
    console.log(row(b.label, addB, delB, sb));
    const sAdd = summarize(socketAdd);
    const sDel = summarize(socketDel);
    console.log(
      `context (same loop, p50): one ip -n POD -batch - ${fmt(median(ipExec))}; ipamd at its socket (journal fdatasync + pod links with NETLINK_HELPER=${linkExecutor}: ${linkExecutor === 'off' ? '2 ip execs per ADD, 1 per DEL' : 'one request to the netlink helper'}) ADD ${fmt(sAdd.p50)} (p99 ${fmt(sAdd.p99)}), DEL ${fmt(sDel.p50)} (p99 ${fmt(sDel.p99)}); ip netns exec NODE true ${fmt(median(oldWrapper))} (the previous harness's per-plugin wrapper, not in these figures)`,
    );
    const [execA, execB, versionA] = [median(sa.addExec), median(sb.addExec), median(sa.version)];
    console.log(
      `vpc-cni ADD p50 ${fmt(addA.p50)} = libcni's own (config, result cache) ${fmt(addA.p50 - execA)} + plugin process ${fmt(execA)}; that ≈ plugin start to exit (VERSION) ${fmt(versionA)} + ipamd round trip ${fmt(sAdd.p50)} + the rest ${fmt(execA - versionA - sAdd.p50)} (stdin, command chunk, connect, result; noisy)`,
    );
    console.log(`Go chain ADD p50 ${fmt(addB.p50)} = libcni's own ${fmt(addB.p50 - execB)} + ptp and host-local processes ${fmt(execB)} (ptp VERSION ${fmt(median(sb.version))})`);
    const [eachA, eachB] = [summarize(sa.parAddEach), summarize(sb.parAddEach)];
    console.log(
      `parallel: each pod's ADD p50 vpc-cni ${fmt(eachA.p50)} (max ${fmt(eachA.max)}), Go chain ${fmt(eachB.p50)} (max ${fmt(eachB.max)}); the same ${PARALLEL} ADDs at ipamd's socket without the plugin: wall ${fmt(median(socketParAdd), 0)}`,
    );
    console.log(`plugin-only ${describeStartup(startup)}`);
    console.log(`load average at start ${loadStart}, at end ${loadavg().map((l) => fmt(l)).join(' ')} (2 vCPU: figures are only comparable within a run)`);
    const ratios = {
      'ADD p50': addA.p50 / addB.p50,
      'ADD p99': addA.p99 / addB.p99,
      'DEL p50': delA.p50 / delB.p50,
      'parallel wall (add+del)': parAll(sa) / parAll(sb),
    };
    console.log(`ratio vpc-cni / Go chain: ${Object.entries(ratios).map(([k, r]) => `${k} ${fmt(r)}`).join(', ')}`);
    const missed = Object.entries(ratios).filter(([, r]) => !(r <= 1));
    console.log(`goal (every ratio <= 1.0): ${missed.length === 0 ? 'met' : `NOT met (${missed.map(([k]) => k).join(', ')})`}`);
  } finally {
    await runtime?.close().catch((err: unknown) => console.error(`libcni runtime: ${String(err)}`));
    await cluster.teardown().catch((err: unknown) => console.error(`cluster teardown: ${String(err)}`));
    await netns.clear();
    await rm(work, { recursive: true, force: true });
  }
}
