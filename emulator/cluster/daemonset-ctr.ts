/**
 * A container of the DaemonSet's pod spec as `ctr run` arguments: what a
 * kubelet asks of containerd through CRI, said with ctr's flags. Host
 * network and PID namespace, privileges, capabilities, the read-only root,
 * the hostPath mounts (paths of the node, resolved in the node's mount
 * namespace where containerd runs), the memory limit, the environment
 * (downward API included) and Kubernetes' command/args over the image's
 * entrypoint/cmd. A setting with no ctr equivalent is an error.
 */
import type { DaemonSetContainer, DaemonSetPodSpec } from './daemonset-manifest.ts';

/** Every Linux capability: `drop: [ALL]` drops these (ctr's --cap-drop knows no ALL). */
const allCapabilities = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

const propagation = { None: 'rprivate', HostToContainer: 'rslave', Bidirectional: 'rshared' } as const;

/** What the pod's downward API resolves to on this node. */
export interface PodFields {
  'spec.nodeName': string;
  'metadata.name': string;
  'metadata.namespace': string;
  'spec.serviceAccountName': string;
  /** hostNetwork: the pod's address is the node's. */
  'status.podIP': string;
  'status.hostIP': string;
}

export interface CtrRunRequest {
  spec: DaemonSetPodSpec;
  container: DaemonSetContainer;
  /** The containerd container id (unique in the containerd namespace). */
  id: string;
  imageRef: string;
  /** The image's own ENTRYPOINT and CMD, for a container that sets args without command. */
  imageConfig: { entrypoint: string[]; cmd: string[] };
  fields: PodFields;
  /**
   * What the environment of a real cluster would add and the emulator must
   * (cloud endpoints, credentials a webhook would inject): set only where
   * the manifest does not set the variable, so the manifest's value is the
   * one that runs.
   */
  addedEnv: Record<string, string>;
  /** Where the shim writes the container's stdout and stderr (a path in the node's mount namespace). */
  logPath: string;
  /** --detach (a long-running container) or --rm (an init container, waited for). */
  mode: 'detach' | 'rm';
}

/** A Kubernetes quantity of bytes (512Mi, 1G, 1e9, 134217728) as a number. */
export function bytesOf(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^(\d+(?:\.\d+)?(?:e\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!match) throw new Error(`cannot read the quantity ${quantity}`);
  const scale: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Math.round(Number(match[1]) * (match[2] ? scale[match[2]]! : 1));
}

/** A Kubernetes CPU quantity (500m, 2) in cores. */
export function coresOf(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^(\d+(?:\.\d+)?)(m)?$/.exec(quantity);
  if (!match) throw new Error(`cannot read the CPU quantity ${quantity}`);
  return Number(match[1]) / (match[2] ? 1000 : 1);
}

function environment(request: CtrRunRequest): string[] {
  const env = new Map<string, string>();
  for (const variable of request.container.env ?? []) {
    if (variable.value !== undefined) env.set(variable.name, variable.value);
    else if (variable.valueFrom) {
      const path = variable.valueFrom.fieldRef.fieldPath as keyof PodFields;
      if (!(path in request.fields)) throw new Error(`${request.container.name}: env ${variable.name} refers to ${path}, which the emulated kubelet does not provide`);
      env.set(variable.name, request.fields[path]);
    } else env.set(variable.name, '');
  }
  for (const [name, value] of Object.entries(request.addedEnv)) if (!env.has(name)) env.set(name, value);
  return [...env].flatMap(([name, value]) => ['--env', `${name}=${value}`]);
}

function mounts(request: CtrRunRequest): string[] {
  const volumes = new Map((request.spec.volumes ?? []).map((volume) => [volume.name, volume]));
  return (request.container.volumeMounts ?? []).flatMap((mount) => {
    const volume = volumes.get(mount.name);
    if (!volume) throw new Error(`${request.container.name}: volumeMount ${mount.name} names no volume of the pod`);
    const options = ['rbind', mount.readOnly ? 'ro' : 'rw', propagation[mount.mountPropagation ?? 'None']];
    return ['--mount', `type=bind,src=${volume.hostPath.path},dst=${mount.mountPath},options=${options.join(':')}`];
  });
}

function security(request: CtrRunRequest): string[] {
  const context = request.container.securityContext ?? {};
  const flags: string[] = [];
  if (context.privileged) flags.push('--privileged');
  if (context.readOnlyRootFilesystem) flags.push('--read-only');
  // Kubernetes lets a process gain privileges unless told otherwise; ctr sets no_new_privs unless told otherwise.
  if (context.allowPrivilegeEscalation !== false) flags.push('--allow-new-privs');
  else if (context.privileged) throw new Error(`${request.container.name}: privileged with allowPrivilegeEscalation false is rejected by Kubernetes`);
  const named = (caps: string[]): string[] => caps.flatMap((cap) => (cap === 'ALL' ? allCapabilities : [cap.replace(/^CAP_/, '')])).map((cap) => `CAP_${cap}`);
  for (const cap of named(context.capabilities?.drop ?? [])) flags.push('--cap-drop', cap);
  for (const cap of named(context.capabilities?.add ?? [])) flags.push('--cap-add', cap);
  return flags;
}

function resources(request: CtrRunRequest): string[] {
  const limits = request.container.resources?.limits ?? {};
  const flags: string[] = [];
  for (const [resource, quantity] of Object.entries(limits)) {
    if (resource === 'memory') flags.push('--memory-limit', String(bytesOf(quantity)));
    else if (resource === 'cpu') flags.push('--cpus', String(coresOf(quantity)));
    else throw new Error(`${request.container.name}: the limit on ${resource} has no ctr equivalent`);
  }
  return flags;
}

/** Kubernetes' rule: command replaces ENTRYPOINT (and drops CMD), args replaces CMD. */
export function processArgs(container: DaemonSetContainer, image: { entrypoint: string[]; cmd: string[] }): string[] {
  if (container.command) return [...container.command, ...(container.args ?? [])];
  return [...image.entrypoint, ...(container.args ?? image.cmd)];
}

/** The arguments after `ctr run`. */
export function ctrRunArgs(request: CtrRunRequest): string[] {
  const { spec } = request;
  if (!spec.hostNetwork) throw new Error('the DaemonSet must use the host network: its pods start before any pod network exists');
  return [
    request.mode === 'detach' ? '--detach' : '--rm',
    '--log-uri',
    `file://${request.logPath}`,
    '--net-host',
    // hostPID as CRI does it: no PID namespace of its own, the runtime's. runc opens the path itself, so /proc/self is runc, in the host's.
    ...(spec.hostPID ? ['--with-ns', 'pid:/proc/self/ns/pid'] : []),
    ...security(request),
    ...resources(request),
    // One difference from CRI remains: ctr's default spec mounts a tmpfs at /run, which CRI leaves out, so a
    // hostPath missing under /var/run is not a read-only-root error at start; the plugin's first ADD, which
    // looks for ipamd's socket on the node, fails instead.
    ...mounts(request),
    ...environment(request),
    request.imageRef,
    request.id,
    ...processArgs(request.container, request.imageConfig),
  ];
}
