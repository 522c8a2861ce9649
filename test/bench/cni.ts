/**
 * The plugin as a runtime sees it: CNI ADD and DEL latency of vpc-cni (the
 * compiled plugin + ipamd, on one node of the emulated VPC) against Debian's
 * Go `ptp` + `host-local` chain, run by the same harness (a containerd-like
 * runtime that execs each plugin inside the node's namespace) on the same
 * node, in the same run, interleaved pod by pod so drift hits both alike.
 *
 * Measured: ADD and DEL one pod at a time (each pod a fresh network
 * namespace, made and removed outside the timed part), and the wall time of
 * PARALLEL pods added at once then deleted at once. For context, in the same
 * loop: the exec floor of the runtime's wrapper (`ip netns exec NODE true`),
 * each plugin's VERSION through that wrapper, and ipamd's ADD/DEL at its
 * socket (what the plugin asks for: address, veth, routes, journal), so
 * vpc-cni's ADD can be split into plugin start, ipamd round trip and the rest.
 *
 *   npx tsx test/bench/run.ts cni
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { callIpamd } from '../../wire/client.ts';
import { distDir, EmulatedCluster, referencePluginDir, root, run, type ClusterNode } from '../../emulator/cluster/cluster.ts';
import { execPlugin, Runtime, type Attachment, type Conflist } from '../../emulator/cluster/runtime.ts';
import { describeStartup, measureStartup } from '../cni/startup.ts';
import { fmt, summarize, type Summary } from './stats.ts';

const WARM_UP = 5;
const PODS = Number(process.env.BENCH_CNI_PODS ?? 30);
const PARALLEL = 20;
const PARALLEL_ROUNDS = 3;
/** Addresses ipamd holds (MINIMUM_IP_TARGET) and keeps free (WARM_IP_TARGET): the parallel batch never waits for, or triggers, a cloud call. */
const WARM_IP_TARGET = 30;
const MINIMUM_IP_TARGET = WARM_IP_TARGET + PARALLEL;

interface Variant {
  label: string;
  runtime: Runtime;
  /** The plugin the runtime execs first (its start-up is measured through the same wrapper). */
  plugin: string;
}

interface Samples {
  add: number[];
  del: number[];
  version: number[];
}

const ms = (start: number): number => performance.now() - start;
const median = (values: number[]): number => summarize(values).p50;

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
  const vpcCniBinary = join(distDir, 'vpc-cni');
  const startup = measureStartup(vpcCniBinary, 30);

  const loadStart = loadavg().map((l) => fmt(l)).join(' ');
  const netns = new Netns();
  const hostLocalDir = await mkdtemp(join(tmpdir(), 'cni-bench-host-local-'));
  const cluster = new EmulatedCluster({
    nodes: 1,
    instanceType: 'm5.4xlarge',
    env: { WARM_IP_TARGET: String(WARM_IP_TARGET), MINIMUM_IP_TARGET: String(MINIMUM_IP_TARGET), IP_COOLDOWN_PERIOD: '0' },
  });
  try {
    await cluster.start();
    const node = cluster.nodes[0];
    if (!node) throw new Error('the cluster has no node');
    await poolSettled(cluster, node, MINIMUM_IP_TARGET);

    const referenceList: Conflist = {
      cniVersion: '1.0.0',
      name: 'ptp-ref',
      plugins: [{ type: 'ptp', ipMasq: false, mtu: 9001, ipam: { type: 'host-local', ranges: [[{ subnet: '192.168.240.0/20' }]], dataDir: hostLocalDir } }],
    };
    const runtimeOptions = { pluginDirs: [referencePluginDir], hostNamespace: node.namespace };
    const variants: Variant[] = [
      { label: 'vpc-cni', runtime: node.runtime, plugin: node.runtime.conflist.plugins[0]?.type ?? 'vpc-cni' },
      { label: 'ptp + host-local (Go)', runtime: new Runtime(referenceList, runtimeOptions), plugin: 'ptp' },
    ];
    const pod = (n: string): { name: string; attachment: Attachment } => {
      const { netns: name, attachment } = cluster.newAttachment(node, n);
      return { name, attachment };
    };

    // --- one pod at a time, A/B alternating per pod --------------------------------------
    const seq = new Map<Variant, Samples>(variants.map((v) => [v, { add: [], del: [], version: [] }]));
    const floor: number[] = [];
    const socketAdd: number[] = [];
    const socketDel: number[] = [];
    const ipExec: number[] = [];
    const wrapper = { pluginDirs: [distDir, referencePluginDir], hostNamespace: node.namespace };
    for (let i = 0; i < WARM_UP + PODS; i++) {
      const keep = i >= WARM_UP;
      const order = i % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const samples = seq.get(v) as Samples;
        const p = pod(`seq-${i}`);
        await netns.add(p.name);
        let start = performance.now();
        await v.runtime.addOrCleanUp(p.attachment);
        const add = ms(start);
        start = performance.now();
        await v.runtime.del(p.attachment);
        const del = ms(start);
        await netns.del(p.name);
        start = performance.now();
        const version = await execPlugin(wrapper, v.plugin, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
        const versionMs = ms(start);
        if (version.code !== 0) throw new Error(`${v.plugin} VERSION failed: ${version.stdout}${version.stderr}`);
        if (keep) {
          samples.add.push(add);
          samples.del.push(del);
          samples.version.push(versionMs);
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
      start = performance.now();
      const t = await run('ip', ['netns', 'exec', node.namespace, '/bin/true']);
      const floorMs = ms(start);
      if (t.code !== 0) throw new Error(`ip netns exec ${node.namespace} /bin/true: ${t.stderr}`);
      if (keep) {
        socketAdd.push(add);
        socketDel.push(del);
        floor.push(floorMs);
        ipExec.push(ipExecMs);
      }
    }

    // --- PARALLEL pods at once, rounds alternating which plugin goes first -------------------
    const wall = new Map<Variant, { add: number[]; del: number[]; total: number[] }>(variants.map((v) => [v, { add: [], del: [], total: [] }]));
    for (let round = 0; round < PARALLEL_ROUNDS; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        await poolSettled(cluster, node, MINIMUM_IP_TARGET);
        const pods = Array.from({ length: PARALLEL }, (_, j) => pod(`par-${round}-${j}`));
        await Promise.all(pods.map((p) => netns.add(p.name)));
        let start = performance.now();
        const added = await Promise.allSettled(pods.map((p) => v.runtime.addOrCleanUp(p.attachment)));
        const add = ms(start);
        const failed = added.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        start = performance.now();
        await Promise.all(pods.map((p, j) => (added[j]?.status === 'fulfilled' ? v.runtime.del(p.attachment) : undefined)));
        const del = ms(start);
        await Promise.all(pods.map((p) => netns.del(p.name)));
        if (failed) throw new Error(`${v.label}: parallel ADD failed: ${String(failed.reason)}`);
        const w = wall.get(v);
        w?.add.push(add);
        w?.del.push(del);
        w?.total.push(add + del);
      }
    }

    // --- report --------------------------------------------------------------------------
    const [a, b] = variants as [Variant, Variant];
    const sa = seq.get(a) as Samples;
    const sb = seq.get(b) as Samples;
    const [addA, addB, delA, delB] = [summarize(sa.add), summarize(sb.add), summarize(sa.del), summarize(sb.del)];
    const wa = wall.get(a) ?? { add: [], del: [], total: [] };
    const wb = wall.get(b) ?? { add: [], del: [], total: [] };
    const row = (label: string, add: Summary, del: Summary, version: number[], w: typeof wa): string =>
      `${label.padEnd(24)}${fmt(add.p50).padStart(8)}${fmt(add.p99).padStart(8)}${fmt(del.p50).padStart(8)}${fmt(del.p99).padStart(8)}${fmt(median(version)).padStart(9)}${fmt(median(w.add), 0).padStart(10)}${fmt(median(w.del), 0).padStart(9)}${fmt(median(w.total), 0).padStart(9)}`;

    console.log(`\nCNI ADD/DEL through a containerd-like runtime on one emulated node (m5.4xlarge, WARM_IP_TARGET=${WARM_IP_TARGET}, MINIMUM_IP_TARGET=${MINIMUM_IP_TARGET}, IP_COOLDOWN_PERIOD=0)`);
    console.log(`sequential: ${PODS} pods each after ${WARM_UP} warm-up, A/B alternating; parallel: ${PARALLEL} pods at once, median of ${PARALLEL_ROUNDS} rounds; ms`);
    console.log(`${'plugin'.padEnd(24)}${'ADD p50'.padStart(8)}${'ADD p99'.padStart(8)}${'DEL p50'.padStart(8)}${'DEL p99'.padStart(8)}${'VERSION'.padStart(9)}${'par ADD'.padStart(10)}${'par DEL'.padStart(9)}${'par all'.padStart(9)}`);
    console.log(row(a.label, addA, delA, sa.version, wa));
    console.log(row(b.label, addB, delB, sb.version, wb));
    const sAdd = summarize(socketAdd);
    const sDel = summarize(socketDel);
    console.log(
      `context (same loop, p50): ip netns exec NODE true ${fmt(median(floor))}; one ip -n POD -batch - ${fmt(median(ipExec))}; ipamd at its socket (journal fdatasync + 2 ip execs per ADD, 1 per DEL) ADD ${fmt(sAdd.p50)} (p99 ${fmt(sAdd.p99)}), DEL ${fmt(sDel.p50)} (p99 ${fmt(sDel.p99)})`,
    );
    const versionA = median(sa.version);
    console.log(
      `vpc-cni ADD p50 ${fmt(addA.p50)} ≈ plugin exec to exit (VERSION via the runtime) ${fmt(versionA)} + ipamd round trip ${fmt(sAdd.p50)} + the rest ${fmt(addA.p50 - versionA - sAdd.p50)} (stdin, command chunk, connect, result; noisy)`,
    );
    console.log(`plugin-only ${describeStartup(startup)}`);
    console.log(`load average at start ${loadStart}, at end ${loadavg().map((l) => fmt(l)).join(' ')} (2 vCPU: figures are only comparable within a run)`);
    const ratio = (x: number, y: number): string => fmt(x / y);
    console.log(
      `ratio vpc-cni / Go chain: ADD p50 ${ratio(addA.p50, addB.p50)}, ADD p99 ${ratio(addA.p99, addB.p99)}, DEL p50 ${ratio(delA.p50, delB.p50)}, parallel wall (add+del) ${ratio(median(wa.total), median(wb.total))}`,
    );
    console.log(`goal (ADD p50 ratio <= 1.0): ${addA.p50 / addB.p50 <= 1 ? 'met' : 'NOT met'}`);
  } finally {
    await cluster.teardown().catch((err: unknown) => console.error(`cluster teardown: ${String(err)}`));
    await netns.clear();
    await rm(hostLocalDir, { recursive: true, force: true });
  }
}
