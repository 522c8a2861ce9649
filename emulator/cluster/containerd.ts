/**
 * containerd (Debian's containerd and runc) inside a node of the emulated
 * cluster, with containers networked by `ctr run --cni`: containerd's own
 * go-cni, the library its CRI plugin uses, reads this CNI's conflist, passes
 * CNI_ARGS and parses the result.
 *
 * Nothing lands on the host: a holder process keeps a mount namespace per node
 * (entered with nsenter together with the node's network namespace) in which
 * the paths containerd, ctr and go-cni hard-code are the node's own:
 * /run (shim sockets, runc state, FIFOs) and /var/lib (libcni's result cache)
 * are bind mounts of directories under the node's dir, /opt/cni/bin holds the
 * plugins, and /etc is an overlay whose upper layer adds /etc/cni/net.d (a
 * bind mount of the node's conflist directory).
 * containerd's root, state and socket are under the node's dir as well.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, rename, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callIpamd } from '../../wire/client.ts';
import { hostVethName } from '../../wire/names.ts';
import { buildBusyboxImage, busyboxBinary, busyboxImageRef } from './busybox-image.ts';
import { distDir, inNetns, referencePluginDir, run, type ClusterNode, type EmulatedCluster, type RunResult } from './cluster.ts';
import { Runtime, type Conflist } from './runtime.ts';

const requiredPrograms = ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/containerd-shim-runc-v2', '/usr/sbin/runc', busyboxBinary];
/** The chained plugins the node's /opt/cni/bin offers besides vpc-cni. */
const referencePlugins = ['bandwidth', 'portmap', 'loopback'];
const conflistFile = '10-vpc-cni.conflist';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The seed's chain under containerd: ipamd's vpc-cni entry, then bandwidth and portmap (with kube-proxy's mark chain). */
export function seedChain(written: Conflist): Conflist {
  return {
    ...written,
    plugins: [
      ...written.plugins,
      { type: 'bandwidth', capabilities: { bandwidth: true } },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true, externalSetMarkChain: 'KUBE-MARK-MASQ' },
    ],
  };
}

export interface Container {
  name: string;
  /** CNI_CONTAINERID as ctr gives it to go-cni: "<namespace>-<name>". */
  cniContainerId: string;
  pid: number;
  ip: string;
  /** The host end of its veth in the node's namespace. */
  hostVeth: string;
  /** A foreground `ctr run --cni`: it runs CNI DEL itself once the task exits. Absent for a detached one. */
  client: ChildProcess | undefined;
  clientExit: Promise<number | null> | undefined;
  clientStderr: string[];
}

export interface ContainerdOptions {
  /** The conflist go-cni reads, derived from the one ipamd wrote (default: the seed's bandwidth and portmap chain). */
  conflist?: (written: Conflist) => Conflist;
  /**
   * Who puts vpc-cni into /opt/cni/bin and its conflist into
   * /etc/cni/net.d: the harness (default: dist/vpc-cni and the conflist
   * ipamd wrote, with `conflist` applied) or the node itself (the
   * DaemonSet's init container and ipamd, daemonset.ts; then
   * `adoptConflist` tells this runtime what ipamd wrote).
   */
  cniInstalledBy?: 'harness' | 'node';
}

/** Fails loudly when a package the containerd suites need is missing (test/host-setup.sh installs them). */
export function assertContainerdInstalled(): void {
  const missing = requiredPrograms.filter((path) => !existsSync(path));
  if (missing.length > 0) throw new Error(`containerd mode needs ${missing.join(', ')}: install Debian's containerd, runc and busybox-static (test/host-setup.sh does)`);
}

export class NodeContainerd {
  readonly dir: string;
  readonly address: string;
  /** The containerd namespace: unique per cluster, and the name of the cgroups runc creates. */
  readonly namespace: string;
  conflist!: Conflist;
  private readonly cniInstalledBy: 'harness' | 'node';
  private holder: ChildProcess | undefined;
  private daemon: ChildProcess | undefined;
  private readonly daemonLog: string[] = [];
  private readonly containers = new Map<string, Container>();

  constructor(
    readonly cluster: EmulatedCluster,
    readonly node: ClusterNode,
    options: ContainerdOptions = {},
  ) {
    this.dir = join(node.dir, 'containerd');
    this.address = join(this.dir, 'containerd.sock');
    this.namespace = `vpc-${cluster.id}`;
    this.cniInstalledBy = options.cniInstalledBy ?? 'harness';
    if (this.cniInstalledBy === 'harness') this.conflist = (options.conflist ?? seedChain)(node.runtime.conflist);
  }

  /** The conflist the node's ipamd wrote (cniInstalledBy 'node'): what go-cni reads and releaseDetached uses. */
  adoptConflist(list: Conflist): void {
    this.conflist = list;
  }

  private get holderPid(): number {
    const pid = this.holder?.pid;
    if (pid === undefined || this.holder?.exitCode !== null) throw new Error(`the mount namespace holder of ${this.node.instanceId} is not running`);
    return pid;
  }

  /** The node's view of a path (what containerd, ctr and the plugins see there). */
  private view(path: string): string {
    return join(this.dir, 'view', path);
  }

  async start(imagePath: string): Promise<void> {
    assertContainerdInstalled();
    for (const path of ['run', 'var-lib', 'opt/cni/bin', 'etc/cni/net.d', 'etc-work', 'net.d', 'root', 'state']) await mkdir(this.view(path), { recursive: true });
    if (this.cniInstalledBy === 'harness') await symlink(join(distDir, 'vpc-cni'), this.view('opt/cni/bin/vpc-cni'));
    for (const plugin of referencePlugins) await symlink(join(referencePluginDir, plugin), this.view(`opt/cni/bin/${plugin}`));
    if (this.cniInstalledBy === 'harness') await this.writeConflist(this.conflist);
    await writeFile(join(this.dir, 'config.toml'), this.config());
    await this.startHolder();
    await this.startDaemon();
    await this.ctrOk(['images', 'import', imagePath]);
  }

  private config(): string {
    return [
      'version = 2',
      `root = "${this.view('root')}"`,
      `state = "${this.view('state')}"`,
      // Only ctr drives it: the CRI plugin would want a conflist and a CNI setup of its own.
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${this.address}"`,
      '[ttrpc]',
      `  address = "${this.address}.ttrpc"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${this.view('containerd-opt')}"`,
      '',
    ].join('\n');
  }

  private async startHolder(): Promise<void> {
    const mounts = [
      `mount --bind ${this.view('run')} /run`,
      `mount --bind ${this.view('var-lib')} /var/lib`,
      `mount --bind ${this.view('opt')} /opt`,
      `mount -t overlay overlay -o lowerdir=/etc,upperdir=${this.view('etc')},workdir=${this.view('etc-work')} /etc`,
      // A plain directory, not the overlay's upper layer: rewriting that under a mounted overlay may go unseen.
      `mount --bind ${this.view('net.d')} /etc/cni/net.d`,
      'echo ready',
      'exec sleep infinity',
    ].join(' && ');
    // nsenter, not `ip netns exec`: that remounts /sys without the cgroup hierarchies runc needs.
    const holder = spawn('nsenter', [`--net=/var/run/netns/${this.node.namespace}`, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', mounts], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.holder = holder;
    let stderr = '';
    holder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`the mount namespace of ${this.node.instanceId} could not be set up (exit ${code}): ${stderr}`)));
    });
  }

  /**
   * A path of the node (its mount namespace: /etc/cni/net.d, /var/run/vpc-cni, ...) as the host reaches it,
   * through /proc/<holder>/root. Symlinks are followed here, in the node's tree: the kernel would resolve an
   * absolute one (Debian's /var/run -> /run) against the host's root instead.
   */
  nodePath(path: string): string {
    const root = `/proc/${this.holderPid}/root`;
    const pending = path.split('/').filter(Boolean);
    const resolved: string[] = [];
    for (let hops = 0; pending.length > 0; ) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const candidate = join(root, ...resolved, part);
      let target: string | undefined;
      try {
        target = lstatSync(candidate).isSymbolicLink() ? readlinkSync(candidate) : undefined;
      } catch {
        // Not there (yet): the rest is taken as written.
      }
      if (target === undefined) resolved.push(part);
      else {
        if (++hops > 40) throw new Error(`${path} in ${this.node.instanceId}: too many symlinks`);
        if (target.startsWith('/')) resolved.length = 0;
        pending.unshift(...target.split('/').filter(Boolean));
      }
    }
    return join(root, ...resolved);
  }

  /** Runs a program in the node: its network namespace and its mount namespace. */
  inNode(argv: string[]): string[] {
    return ['nsenter', `--target=${this.holderPid}`, '--mount', '--net', '--', ...argv];
  }

  async startDaemon(): Promise<void> {
    const [file, ...args] = this.inNode(['containerd', '--config', join(this.dir, 'config.toml')]);
    const daemon = spawn(file!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.daemon = daemon;
    daemon.stderr.on('data', (chunk: Buffer) => {
      this.daemonLog.push(chunk.toString());
      if (this.daemonLog.length > 200) this.daemonLog.shift();
    });
    const deadline = Date.now() + 20_000;
    while ((await this.ctr(['version'], 5000)).code !== 0) {
      if (daemon.exitCode !== null) throw new Error(`containerd on ${this.node.instanceId} exited with ${daemon.exitCode}: ${this.daemonLog.join('')}`);
      if (Date.now() > deadline) throw new Error(`containerd on ${this.node.instanceId} did not answer within 20 s: ${this.daemonLog.join('')}`);
      await sleep(100);
    }
  }

  /** Stops containerd (SIGTERM, as systemd does on a restart) and starts it again; the shims and their containers stay. */
  async restartDaemon(): Promise<void> {
    const daemon = this.daemon;
    if (daemon && daemon.exitCode === null) {
      const exited = new Promise((resolve) => daemon.once('exit', resolve));
      daemon.kill('SIGTERM');
      await exited;
    }
    await this.startDaemon();
  }

  /** Replaces the conflist go-cni reads; each `ctr run` loads it afresh (and keeps it for its own DEL). */
  async writeConflist(list: Conflist): Promise<void> {
    const dir = this.view('net.d');
    // Atomic: a ctr starting meanwhile never reads half a list.
    await writeFile(join(dir, '.conflist.tmp'), JSON.stringify(list, null, 2));
    await rename(join(dir, '.conflist.tmp'), join(dir, conflistFile));
  }

  async ctr(args: string[], timeoutMs = 30_000): Promise<RunResult> {
    const [file, ...rest] = this.inNode(['ctr', '--address', this.address, '--namespace', this.namespace, ...args]);
    return await run(file!, rest, { timeoutMs });
  }

  async ctrOk(args: string[], timeoutMs?: number): Promise<RunResult> {
    const out = await this.ctr(args, timeoutMs);
    if (out.code !== 0) throw new Error(`ctr ${args.join(' ')} on ${this.node.instanceId} failed (exit ${out.code}): ${out.stderr || out.stdout}`);
    return out;
  }

  /**
   * A container from the busybox image, networked by go-cni. In the
   * foreground (default) the ctr client stays, as ctr does, and runs CNI DEL
   * once the task exits; detached, ctr exits after the ADD and nothing runs
   * DEL for it (see releaseDetached).
   */
  async runContainer(name: string, argv: string[], options: { detach?: boolean } = {}): Promise<Container> {
    const base = ['run', '--cni', '--null-io', '--fifo-dir', '/run/containerd/fifo'];
    const args = options.detach ? [...base, '--detach', busyboxImageRef, name, ...argv] : [...base, '--rm', busyboxImageRef, name, ...argv];
    const container: Container = { name, cniContainerId: `${this.namespace}-${name}`, pid: 0, ip: '', hostVeth: '', client: undefined, clientExit: undefined, clientStderr: [] };
    container.hostVeth = hostVethName(this.conflist.name, container.cniContainerId, 'eth0');
    this.containers.set(name, container);
    if (options.detach) {
      await this.ctrOk(args, 60_000);
    } else {
      const [file, ...rest] = this.inNode(['ctr', '--address', this.address, '--namespace', this.namespace, ...args]);
      const client = spawn(file!, rest, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
      client.stderr.on('data', (chunk: Buffer) => container.clientStderr.push(chunk.toString()));
      container.client = client;
      container.clientExit = new Promise((resolve) => client.once('exit', (code) => resolve(code)));
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (container.client && container.client.exitCode !== null) throw new Error(`ctr run ${name} on ${this.node.instanceId} exited with ${container.client.exitCode}: ${container.clientStderr.join('')}`);
      if (Date.now() > deadline) throw new Error(`container ${name} on ${this.node.instanceId} was not running with an address within 60 s: ${container.clientStderr.join('')}`);
      container.pid = (await this.tasks()).get(name)?.pid ?? 0;
      if (container.pid > 0) {
        const addr = await run('nsenter', [`--target=${container.pid}`, '--net', 'ip', '-4', '-o', 'address', 'show', 'dev', 'eth0']);
        const ip = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(addr.stdout)?.[1];
        if (ip) {
          container.ip = ip;
          return container;
        }
      }
      await sleep(100);
    }
  }

  /** The tasks containerd knows, by container name. */
  async tasks(): Promise<Map<string, { pid: number; status: string }>> {
    const out = await this.ctrOk(['tasks', 'list']);
    const tasks = new Map<string, { pid: number; status: string }>();
    for (const line of out.stdout.split('\n').slice(1)) {
      const [name, pid, status] = line.trim().split(/\s+/);
      if (name && pid && status) tasks.set(name, { pid: Number(pid), status });
    }
    return tasks;
  }

  /** Runs a command inside the container (its own busybox), as `ctr tasks exec`. */
  exec(container: Container, argv: string[], timeoutMs = 15_000): Promise<RunResult> {
    return this.ctr(['tasks', 'exec', '--exec-id', `x${randomBytes(4).toString('hex')}`, container.name, ...argv], timeoutMs);
  }

  /** Stops a foreground container: the task gets SIGKILL, and its ctr client runs CNI DEL and removes it. */
  async deleteContainer(container: Container): Promise<void> {
    if (!container.clientExit) throw new Error(`${container.name} is detached: use releaseDetached`);
    await this.ctr(['tasks', 'kill', '--signal', 'SIGKILL', container.name]);
    await this.waitForClient(container);
  }

  /** Waits for a foreground container's ctr client, which exits once CNI DEL and the delete are done. */
  async waitForClient(container: Container, timeoutMs = 30_000): Promise<void> {
    const timer = sleep(timeoutMs).then(() => 'timeout' as const);
    const outcome = await Promise.race([container.clientExit, timer]);
    if (outcome === 'timeout') throw new Error(`ctr run ${container.name} did not finish within ${timeoutMs} ms: ${container.clientStderr.join('')}`);
    this.containers.delete(container.name);
  }

  /**
   * Removes a detached container. ctr has no command that runs CNI DEL for
   * it (only a foreground `ctr run` does, once its task exits), so DEL goes
   * through the harness's libcni-like runtime with the same conflist,
   * container id and interface, and an empty CNI_NETNS as go-cni sends.
   */
  async releaseDetached(container: Container): Promise<void> {
    await this.ctr(['tasks', 'kill', '--signal', 'SIGKILL', container.name]);
    for (let tries = 0; tries < 50 && (await this.tasks()).get(container.name)?.status === 'RUNNING'; tries++) await sleep(100);
    await this.ctr(['tasks', 'delete', container.name]);
    await this.ctr(['containers', 'delete', container.name]);
    const pluginDir = this.cniInstalledBy === 'node' ? this.nodePath('/opt/cni/bin') : distDir;
    const runtime = new Runtime(this.conflist, { pluginDirs: [pluginDir, referencePluginDir], hostNamespace: this.node.namespace });
    await runtime.del({ containerId: container.cniContainerId, netns: '', ifName: 'eth0' });
    this.containers.delete(container.name);
  }

  /** Addresses ipamd has handed out on this node. */
  async assigned(): Promise<number> {
    return (await callIpamd(this.node.socketPath, 'status', {}, { timeoutMs: 5000 })).assigned ?? 0;
  }

  async hostVethExists(container: Container): Promise<boolean> {
    return (await inNetns(this.node.namespace, ['ip', 'link', 'show', container.hostVeth])).code === 0;
  }

  /**
   * Everything this node's containerd started goes, also after a failed test:
   * tasks are killed while containerd and ipamd still answer (so foreground
   * clients run their DEL), then containerd, any shim left with its
   * containers, the holder (and with it the mount namespace) and the cgroups.
   */
  async teardown(): Promise<void> {
    if (this.daemon?.exitCode === null) {
      const tasks = await this.tasks().catch(() => new Map<string, unknown>());
      await Promise.all([...tasks.keys()].map((name) => this.ctr(['tasks', 'kill', '--signal', 'SIGKILL', name], 5000).catch(() => undefined)));
      await Promise.all([...this.containers.values()].map((container) => (container.clientExit ? this.waitForClient(container, 10_000).catch(() => undefined) : undefined)));
    }
    for (const container of this.containers.values()) container.client?.kill('SIGKILL');
    this.daemon?.kill('SIGKILL');
    for (const shim of this.shimPids()) {
      for (const child of childPids(shim)) killPid(child);
      killPid(shim);
    }
    this.holder?.kill('SIGKILL');
    await sleep(200);
    await removeCgroups(this.namespace);
  }

  /** Shims of this containerd: their command line names its socket, which no other containerd uses. */
  private shimPids(): number[] {
    return processes().filter(({ cmdline }) => cmdline.includes('containerd-shim') && cmdline.includes(this.address)).map(({ pid }) => pid);
  }
}

function processes(): Array<{ pid: number; ppid: number; cmdline: string }> {
  const found: Array<{ pid: number; ppid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1] ?? 0);
      found.push({ pid: Number(entry), ppid, cmdline });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

const childPids = (pid: number): number[] => processes().filter(({ ppid }) => ppid === pid).map((p) => p.pid);

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** runc's cgroups are named after the containerd namespace: remove what a killed task left (deepest first). */
async function removeCgroups(namespace: string): Promise<void> {
  const hierarchies = existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup').map((name) => join('/sys/fs/cgroup', name)) : [];
  for (const hierarchy of ['/sys/fs/cgroup', ...hierarchies]) {
    const dir = join(hierarchy, namespace);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) await rmdir(join(dir, entry.name)).catch(() => undefined);
    await rmdir(dir).catch(() => undefined);
  }
}

/**
 * containerd in every node of a started cluster, torn down with the cluster
 * (before ipamd goes, so the clients' DELs are answered).
 */
export async function startContainerd(cluster: EmulatedCluster, options: ContainerdOptions = {}): Promise<NodeContainerd[]> {
  assertContainerdInstalled();
  const nodes = cluster.nodes.map((node) => new NodeContainerd(cluster, node, options));
  cluster.beforeTeardown(() => Promise.all(nodes.map((node) => node.teardown())).then(() => undefined));
  const imageDir = join(cluster.nodes[0]?.dir ?? '', '..', 'busybox-image');
  const image = await buildBusyboxImage(imageDir);
  await Promise.all(nodes.map((node) => node.start(image)));
  return nodes;
}
