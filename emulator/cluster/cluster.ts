/**
 * An emulated cluster: the VPC with its real data plane, ipamd (the shipped
 * bundle) running inside each node's namespace exactly as on a node, and a
 * runtime per node that execs the real plugin binary there. The demo and the
 * end-to-end suites stand on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run as runCommand, type CommandResult, type RunOptions } from '../../lib/command.ts';
import { callIpamd } from '../../wire/client.ts';
import { conflistName } from '../../ipamd/cni-config.ts';
import { daemonNodeFlags } from '../../ipamd/node-flags.ts';
import { VpcBox } from '../cloud/fabric/index.ts';
import type { CloudName } from '../../providers/contract.ts';
import { Emulator } from '../cloud/emulator.ts';
import { buildTopology, type Topology } from '../cloud/topology.ts';
import { cloudProfiles, type CloudProfile } from './clouds.ts';
import { Runtime, type Attachment, type Conflist } from './runtime.ts';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const distDir = join(root, 'dist');
export const referencePluginDir = '/usr/lib/cni';

export type RunResult = CommandResult;

/**
 * The Node binary that runs ipamd: VPC_CNI_IPAMD_NODE if set (CI sets the
 * image's Node, fetched by image/node-binary.ts, so the daemon suites run on
 * the shipped major), else the Node running the harness.
 */
export function ipamdNode(): string {
  const chosen = process.env.VPC_CNI_IPAMD_NODE;
  if (!chosen) return process.execPath;
  if (!existsSync(chosen)) throw new Error(`VPC_CNI_IPAMD_NODE=${chosen}: no such file (npx tsx image/node-binary.ts fetches the image's Node and prints its path)`);
  return chosen;
}

/** How long ipamd gets to stop after a signal before SIGKILL (a clean stop takes well under a second). */
const ipamdStopGraceMs = 5_000;
/** How long a SIGKILLed ipamd is waited for before teardown carries on without it. */
const ipamdKillWaitMs = 2_000;

/** A command of the harness: stdin empty unless given (some read it), killed after 30 s unless told otherwise. */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return runCommand(file, args, { input: options.input ?? '', timeoutMs: options.timeoutMs ?? 30_000 });
}

export const inNetns = (ns: string, argv: string[], options?: RunOptions): Promise<RunResult> => run('ip', ['netns', 'exec', ns, ...argv], options);

export interface Pod {
  name: string;
  node: ClusterNode;
  netns: string;
  netnsPath: string;
  attachment: Attachment;
  ip: string;
  result: unknown;
}

export interface ClusterNode {
  index: number;
  instanceId: string;
  namespace: string;
  primaryIp: string;
  dir: string;
  socketPath: string;
  confDir: string;
  runtime: Runtime;
  ipamd: ChildProcess | undefined;
  ipamdLog: string[];
}

export interface ClusterOptions {
  /** Whose API and metadata service the nodes talk to (default aws). */
  cloud?: CloudName;
  nodes?: number;
  /** Default: the cloud profile's demo type. */
  instanceType?: string;
  /** Extra ipamd environment variables; a function runs once the VPC exists (to name what it holds, e.g. a security group). */
  env?: Record<string, string> | ((cluster: EmulatedCluster) => Record<string, string>);
  /** A conflist to use instead of the one ipamd writes (the plugin entry is taken from ipamd's). */
  conflist?: (written: Conflist) => Conflist;
  /** false: start() leaves ipamd to the caller (daemonset.ts runs it from the image under the node's containerd). */
  startIpamd?: boolean;
}

export class EmulatedCluster {
  readonly id = randomBytes(3).toString('hex');
  readonly profile: CloudProfile;
  readonly emulator: Emulator;
  box!: VpcBox;
  topology!: Topology;
  nodes: ClusterNode[] = [];
  private workDir = '';
  private socketPath = '';
  private readonly pods = new Set<Pod>();
  private stopping = false;
  /** Run first at teardown, while ipamd still answers (e.g. containerd, whose clients' CNI DELs need it). */
  private readonly teardownHooks: Array<() => Promise<void>> = [];
  private podCounter = 0;
  private extraEnv: Record<string, string> = {};

  constructor(private readonly options: ClusterOptions = {}) {
    this.profile = cloudProfiles[options.cloud ?? 'aws'];
    this.emulator = new Emulator({ cloud: this.profile.cloud });
  }

  get instanceType(): string {
    return this.options.instanceType ?? this.profile.defaultInstanceType;
  }

  async start(): Promise<void> {
    for (const binary of ['vpc-cni', 'ipamd.mjs']) {
      if (!existsSync(join(distDir, binary))) throw new Error(`dist/${binary} is missing: run npm run build && npm run build:plugin`);
    }
    this.workDir = await mkdtemp(join(tmpdir(), `vpc-cluster-${this.id}-`));
    this.socketPath = join(this.workDir, 'emulator.sock');
    await this.emulator.listen({ socketPath: this.socketPath });
    this.box = new VpcBox({ model: this.emulator.model, apiSocketPath: this.socketPath });
    await this.box.create();
    this.topology = await buildTopology(this.emulator.model, {
      ...this.profile.topology,
      region: this.profile.region,
      zone: this.profile.zone,
      nodes: this.options.nodes ?? 2,
      instanceType: this.instanceType,
      clusterName: 'demo',
    });
    await this.box.idle();
    this.extraEnv = typeof this.options.env === 'function' ? this.options.env(this) : (this.options.env ?? {});
    this.nodes = this.topology.instances.map((instance, index) => {
      const dir = join(this.workDir, `node${index + 1}`);
      return {
        index,
        instanceId: instance.id,
        namespace: this.box.nodeNamespace(instance.id),
        primaryIp: this.emulator.model.getInterface(instance.primaryInterfaceId).primaryIp,
        dir,
        socketPath: join(dir, 'ipamd.sock'),
        confDir: join(dir, 'net.d'),
        runtime: undefined as unknown as Runtime,
        ipamd: undefined,
        ipamdLog: [],
      };
    });
    if (this.options.startIpamd !== false) await Promise.all(this.nodes.map((node) => this.startIpamd(node)));
  }

  /**
   * What the emulator gives ipamd that a real node's environment would: the
   * cloud's endpoints and credentials, the cluster's name and pod subnets,
   * and the suites' faster timings. No paths: those are the node's.
   */
  emulatorEnv(): Record<string, string> {
    return {
      ...this.profile.ipamdEnv(this.topology),
      CLUSTER_NAME: 'demo',
      POD_SUBNET_IDS: this.topology.podSubnets[0] ? this.profile.subnetId(this.topology.podSubnets[0]) : '',
      IP_COOLDOWN_PERIOD: '1',
      LOG_LEVEL: 'warn',
      CLOUD_API_RATE: '50',
      CLOUD_API_BURST: '100',
      POOL_CHECK_INTERVAL_MS: '200',
      RECONCILE_INTERVAL_SECONDS: '5',
      ...this.extraEnv,
    };
  }

  /** Starts ipamd in the node's namespace and waits for its conflist (written only when ready). */
  async startIpamd(node: ClusterNode): Promise<void> {
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      STATE_DIR: join(node.dir, 'state'),
      IPAMD_SOCKET: node.socketPath,
      CNI_CONF_DIR: node.confDir,
      METRICS_BIND_ADDRESS: '127.0.0.1:61678',
      ...this.emulatorEnv(),
    };
    const child = spawn('ip', ['netns', 'exec', node.namespace, ipamdNode(), ...daemonNodeFlags, join(distDir, 'ipamd.mjs'), 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    node.ipamd = child;
    child.once('exit', (code, signal) => {
      if (node.ipamd === child && !this.stopping) {
        node.ipamdLog.push(`[ipamd exited unexpectedly: code ${code}, signal ${signal}]\n`);
        process.stderr.write(`ipamd on ${node.instanceId} exited unexpectedly (code ${code}, signal ${signal}); last log:\n${node.ipamdLog.slice(-20).join('')}\n`);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      node.ipamdLog.push(chunk.toString());
      if (node.ipamdLog.length > 200) node.ipamdLog.shift();
    });
    const conflistPath = join(node.confDir, conflistName);
    // Ready as kubelet sees it: the conflist is there and STATUS says ready (a restart finds the old conflist).
    const ready = async (): Promise<boolean> => {
      if (!existsSync(conflistPath)) return false;
      try {
        return (await callIpamd(node.socketPath, 'status', {}, { timeoutMs: 2000 })).ready;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 30_000;
    while (!(await ready())) {
      if (child.exitCode !== null) throw new Error(`ipamd on ${node.instanceId} exited with ${child.exitCode}: ${node.ipamdLog.join('')}`);
      if (Date.now() > deadline) throw new Error(`ipamd on ${node.instanceId} was not ready within 30 s: ${node.ipamdLog.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const written = JSON.parse(readFileSync(conflistPath, 'utf8')) as Conflist;
    const list = this.options.conflist ? this.options.conflist(written) : written;
    node.runtime = new Runtime(list, { pluginDirs: [distDir, referencePluginDir], hostNamespace: node.namespace });
  }

  /** SIGKILL, as a crash or an OOM kill would. */
  killIpamd(node: ClusterNode): Promise<void> {
    return this.signalIpamd(node, 'SIGKILL');
  }

  stopIpamd(node: ClusterNode): Promise<void> {
    return this.signalIpamd(node, 'SIGTERM');
  }

  /**
   * Signals ipamd and waits for it to go, never for ever. A child already
   * gone is not waited for, whether it exited or died by a signal (the
   * fabric's own signal handler kills what runs in the namespaces it
   * deletes, and its exit event may have fired before we ask). One still
   * there after the grace period gets SIGKILL and a last bounded wait.
   */
  private async signalIpamd(node: ClusterNode, signal: NodeJS.Signals): Promise<void> {
    const child = node.ipamd;
    node.ipamd = undefined;
    const gone = (): boolean => !child || child.exitCode !== null || child.signalCode !== null;
    if (!child || gone()) return;
    const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
    const exitedWithin = (ms: number): Promise<boolean> => Promise.race([exited, new Promise<boolean>((resolve) => setTimeout(resolve, ms, false))]);
    child.kill(signal);
    if (await exitedWithin(ipamdStopGraceMs)) return;
    if (!gone()) child.kill('SIGKILL');
    if (!(await exitedWithin(ipamdKillWaitMs))) process.stderr.write(`ipamd on ${node.instanceId} (pid ${child.pid}) did not exit after SIGKILL; not waiting for it\n`);
  }

  newAttachment(node: ClusterNode, name: string): { netns: string; attachment: Attachment } {
    const netns = `pod-${this.id}-${++this.podCounter}`;
    return {
      netns,
      attachment: {
        containerId: randomBytes(32).toString('hex'),
        netns: `/var/run/netns/${netns}`,
        ifName: 'eth0',
        args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name, K8S_POD_INFRA_CONTAINER_ID: 'x', K8S_POD_UID: randomBytes(8).toString('hex') },
      },
    };
  }

  /** A pod: a network namespace and a CNI ADD through the node's runtime. */
  async createPod(node: ClusterNode, name: string, capabilityArgs?: Record<string, unknown>): Promise<Pod> {
    const { netns, attachment } = this.newAttachment(node, name);
    const made = await run('ip', ['netns', 'add', netns]);
    if (made.code !== 0) throw new Error(`ip netns add ${netns}: ${made.stderr}`);
    const withCapabilities = capabilityArgs ? { ...attachment, capabilityArgs } : attachment;
    const pod: Pod = { name, node, netns, netnsPath: attachment.netns, attachment: withCapabilities, ip: '', result: undefined };
    this.pods.add(pod);
    pod.result = await node.runtime.addOrCleanUp(withCapabilities);
    const ips = (pod.result as { ips?: Array<{ address: string }> }).ips ?? [];
    pod.ip = (ips[0]?.address ?? '').split('/')[0] ?? '';
    return pod;
  }

  async deletePod(pod: Pod): Promise<void> {
    await pod.node.runtime.del(pod.attachment);
    await run('ip', ['netns', 'del', pod.netns]);
    this.pods.delete(pod);
  }

  async ping(from: Pod | ClusterNode, to: string): Promise<boolean> {
    const ns = 'netns' in from ? from.netns : from.namespace;
    return (await inNetns(ns, ['ping', '-c', '1', '-W', '1', '-q', to])).code === 0;
  }

  beforeTeardown(hook: () => Promise<void>): void {
    this.teardownHooks.push(hook);
  }

  async teardown(): Promise<void> {
    for (const hook of this.teardownHooks.splice(0)) await hook().catch((err: unknown) => process.stderr.write(`teardown hook failed: ${String(err)}\n`));
    this.stopping = true;
    for (const node of this.nodes) await this.killIpamd(node).catch(() => undefined);
    for (const pod of this.pods) await run('ip', ['netns', 'del', pod.netns]).catch(() => undefined);
    this.pods.clear();
    await this.box?.destroy().catch(() => undefined);
    await this.emulator.model.settled();
    await this.emulator.close();
    if (this.workDir) await rm(this.workDir, { recursive: true, force: true });
  }
}
