/**
 * The DaemonSet users deploy, run in the emulated cluster as a kubelet
 * would run it: on every node, the node's containerd (containerd.ts)
 * imports the vpc-cni image (`npm run image`), runs the pod's init
 * containers to completion, then its containers, each with the settings
 * deploy/overlays/<cloud> renders (daemonset-manifest.ts, translated by
 * daemonset-ctr.ts). The node is ready when the container's own
 * readinessProbe answers and the conflist ipamd wrote is in the node's
 * /etc/cni/net.d, where the runtime reads it.
 *
 * Nothing is restated from deploy/: ipamd's paths are its defaults, seen
 * through the manifest's hostPath mounts, so a wrong mount or variable
 * there fails here. What the emulator adds is what a real cluster's
 * environment would (cluster.emulatorEnv: cloud endpoints, credentials),
 * and only where the manifest sets nothing.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflistName } from '../../ipamd/cni-config.ts';
import { buildBusyboxImage } from './busybox-image.ts';
import { referencePluginDir, run, type ClusterNode, type EmulatedCluster } from './cluster.ts';
import { NodeContainerd, type ContainerdOptions } from './containerd.ts';
import { ctrRunArgs, type PodFields } from './daemonset-ctr.ts';
import { overlayDaemonSet, type DaemonSetContainer, type DaemonSetPodSpec, type HttpProbe } from './daemonset-manifest.ts';
import { Runtime, type Conflist } from './runtime.ts';

/** Where the runtime on a node reads conflists (containerd's CRI and go-cni default). */
const runtimeConfDir = '/etc/cni/net.d';
const runtimeBinDir = '/opt/cni/bin';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface ImageArchive {
  /** A docker-archive (image/build.ts writes one). */
  archive: string;
  /** The name it imports under. */
  ref: string;
}

export interface DaemonSetOptions {
  image: ImageArchive;
  /** The pod spec to run (default: the DaemonSet of deploy/overlays/<the cluster's cloud>). */
  spec?: DaemonSetPodSpec;
  /** How long a node gets to become ready (image import, init containers, ipamd's warm pool). */
  readyTimeoutMs?: number;
}

export interface DaemonSetNode {
  node: ClusterNode;
  containerd: NodeContainerd;
  /** containerd ids of the pod's containers, by their name in the manifest. */
  containerIds: Map<string, string>;
  /** The container's stdout and stderr so far. */
  log(container: string): string;
}

/** ENTRYPOINT and CMD of a docker-archive's image (for a container that gives args without command). */
export function archiveImageConfig(archive: string): { entrypoint: string[]; cmd: string[] } {
  const read = (member: string): string => {
    try {
      return execFileSync('tar', ['-xOf', archive, member], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 << 20 });
    } catch (err) {
      throw new Error(`${archive}: cannot read ${member} (not a docker-archive? npm run image writes one): ${String(err)}`);
    }
  };
  const manifest = JSON.parse(read('manifest.json')) as Array<{ Config: string }>;
  const config = JSON.parse(read(manifest[0]!.Config)) as { config?: { Entrypoint?: string[] | null; Cmd?: string[] | null } };
  return { entrypoint: config.config?.Entrypoint ?? [], cmd: config.config?.Cmd ?? [] };
}

/** One probe as kubelet makes it: an HTTP GET in the node's network namespace (host network), 2xx/3xx is success. */
async function probe(node: ClusterNode, check: HttpProbe): Promise<boolean> {
  const { host = '127.0.0.1', port, path } = check.httpGet;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  const timeoutSeconds = check.timeoutSeconds ?? 1;
  // The probe's timeout kills wget: bookworm's busybox-static wget crashes with -T.
  const out = await run('nsenter', [`--net=/var/run/netns/${node.namespace}`, 'busybox', 'wget', '-q', '-O', '/dev/null', url], { timeoutMs: timeoutSeconds * 1000 });
  return out.code === 0;
}

/** The conflist as the harness runs it from the host: the plugin's socket and pending directory reached through the node's mount namespace. */
function hostReachable(list: Conflist, containerd: NodeContainerd): Conflist {
  return {
    ...list,
    plugins: list.plugins.map((plugin) => {
      if (plugin.type !== 'vpc-cni') return plugin;
      const rewritten = { ...plugin };
      for (const key of ['ipamdSocket', 'pendingDir'] as const) if (typeof plugin[key] === 'string') rewritten[key] = containerd.nodePath(plugin[key]);
      return rewritten;
    }),
  };
}

class DaemonSetOnNode implements DaemonSetNode {
  readonly containerIds = new Map<string, string>();
  private readonly logs = new Map<string, string>();
  private readonly imageConfig: { entrypoint: string[]; cmd: string[] };

  constructor(
    readonly cluster: EmulatedCluster,
    readonly node: ClusterNode,
    readonly containerd: NodeContainerd,
    private readonly spec: DaemonSetPodSpec,
    private readonly image: ImageArchive,
  ) {
    this.imageConfig = archiveImageConfig(image.archive);
  }

  log(container: string): string {
    const path = this.logs.get(container);
    return path && existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  private fields(): PodFields {
    return {
      'spec.nodeName': this.node.instanceId,
      'metadata.name': `vpc-cni-${this.node.instanceId}`,
      'metadata.namespace': 'kube-system',
      'spec.serviceAccountName': this.spec.serviceAccountName ?? 'default',
      'status.podIP': this.node.primaryIp,
      'status.hostIP': this.node.primaryIp,
    };
  }

  /** The image under every name the pod's containers use (the manifests name a registry's). */
  private async importImage(): Promise<void> {
    await this.containerd.ctrOk(['images', 'import', this.image.archive], 300_000);
    const names = new Set([...(this.spec.initContainers ?? []), ...this.spec.containers].map((container) => container.image));
    for (const name of names) if (name !== this.image.ref) await this.containerd.ctrOk(['images', 'tag', '--force', this.image.ref, name]);
  }

  /** hostPath volumes as kubelet prepares them, in the node's mount namespace. */
  private async prepareVolumes(): Promise<void> {
    for (const volume of this.spec.volumes ?? []) {
      const { path, type = '' } = volume.hostPath;
      const [file, ...args] = this.containerd.inNode(type === 'DirectoryOrCreate' ? ['mkdir', '-p', path] : ['test', '-e', path]);
      const out = await run(file!, args);
      if (out.code !== 0 && type !== '') throw new Error(`hostPath ${path} (${type}) of volume ${volume.name} on ${this.node.instanceId}: ${out.stderr || 'missing'}`);
    }
  }

  private argsFor(container: DaemonSetContainer, mode: 'detach' | 'rm'): string[] {
    const id = `${container.name}-${this.node.index + 1}-${randomBytes(3).toString('hex')}`;
    this.containerIds.set(container.name, id);
    const logPath = join(this.node.dir, `${id}.log`);
    this.logs.set(container.name, logPath);
    return ctrRunArgs({
      spec: this.spec,
      container,
      id,
      imageRef: container.image,
      imageConfig: this.imageConfig,
      fields: this.fields(),
      addedEnv: this.cluster.emulatorEnv(),
      logPath,
      mode,
    });
  }

  async start(busyboxImage: string, readyTimeoutMs: number): Promise<void> {
    await this.containerd.start(busyboxImage);
    await this.importImage();
    await this.prepareVolumes();
    for (const init of this.spec.initContainers ?? []) {
      const out = await this.containerd.ctr(['run', ...this.argsFor(init, 'rm')], 120_000);
      if (out.code !== 0) throw new Error(`init container ${init.name} on ${this.node.instanceId} failed (exit ${out.code}): ${out.stderr}${this.log(init.name)}`);
    }
    for (const container of this.spec.containers) await this.containerd.ctrOk(['run', ...this.argsFor(container, 'detach')], 120_000);
    await this.ready(readyTimeoutMs);
  }

  /** Every container's readinessProbe passes and the conflist is where the runtime reads it. */
  private async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const conflistPath = this.containerd.nodePath(join(runtimeConfDir, conflistName));
    for (const container of this.spec.containers) {
      const check = container.readinessProbe;
      for (;;) {
        const id = this.containerIds.get(container.name)!;
        const status = (await this.containerd.tasks()).get(id)?.status;
        if (status !== 'RUNNING') throw new Error(`${container.name} on ${this.node.instanceId} is ${status ?? 'gone'}: ${this.log(container.name)}`);
        if ((!check || (await probe(this.node, check))) && existsSync(conflistPath)) break;
        if (Date.now() > deadline) throw new Error(`${container.name} on ${this.node.instanceId} was not ready within ${timeoutMs} ms (conflist ${existsSync(conflistPath) ? 'written' : `not in ${runtimeConfDir}`}): ${this.log(container.name)}`);
        await sleep(200);
      }
    }
    const written = JSON.parse(readFileSync(conflistPath, 'utf8')) as Conflist;
    const list = hostReachable(written, this.containerd);
    this.containerd.adoptConflist(list);
    const ipamdSocket = list.plugins.find((plugin) => plugin.type === 'vpc-cni')?.ipamdSocket;
    if (typeof ipamdSocket !== 'string') throw new Error(`the conflist ipamd wrote on ${this.node.instanceId} names no ipamdSocket`);
    this.node.socketPath = ipamdSocket;
    this.node.confDir = this.containerd.nodePath(runtimeConfDir);
    this.node.runtime = new Runtime(list, { pluginDirs: [this.containerd.nodePath(runtimeBinDir), referencePluginDir], hostNamespace: this.node.namespace });
  }
}

/**
 * Runs the DaemonSet on every node of a cluster started with
 * `startIpamd: false`; torn down with the cluster (containerd's teardown
 * kills the pod's containers with everything else it started).
 */
export async function startDaemonSet(cluster: EmulatedCluster, options: DaemonSetOptions): Promise<DaemonSetNode[]> {
  if (!existsSync(options.image.archive)) throw new Error(`the image archive ${options.image.archive} does not exist: npm run image builds it`);
  const spec = options.spec ?? (await overlayDaemonSet(cluster.profile.cloud));
  if (cluster.nodes.some((node) => node.ipamd)) throw new Error('startDaemonSet: the cluster already runs ipamd as a process (start it with startIpamd: false)');
  const containerdOptions: ContainerdOptions = { cniInstalledBy: 'node' };
  const nodes = cluster.nodes.map((node) => new DaemonSetOnNode(cluster, node, new NodeContainerd(cluster, node, containerdOptions), spec, options.image));
  cluster.beforeTeardown(() => Promise.all(nodes.map((node) => node.containerd.teardown())).then(() => undefined));
  const busyboxImage = await buildBusyboxImage(join(cluster.nodes[0]?.dir ?? '', '..', 'busybox-image'));
  await Promise.all(nodes.map((node) => node.start(busyboxImage, options.readyTimeoutMs ?? 90_000)));
  return nodes;
}

