/**
 * ipamd's configuration as its consumers take it: one group per part of the
 * daemon, each handed whole to the part it configures (the cloud adapter,
 * the pool, the plugin-facing API, the Kubernetes integration, the data
 * plane). Durations are in milliseconds here, whatever unit the variable has.
 */
import type { CloudName } from '../../providers/contract.ts';
import type { LogLevel } from '../common/logger.ts';
import type { PoolTargets } from '../common/types.ts';

export type { LogLevel };

export interface BindAddress {
  host: string;
  port: number;
}

/** The Kubernetes integration's mode: a kubeconfig file wins over the in-cluster service account. */
export type KubernetesConnection = { mode: 'off' } | { mode: 'in-cluster'; server: string } | { mode: 'kubeconfig'; path: string };

/** The cloud adapter of the node's cloud, and the client-side limiter all its calls go through. */
export interface CloudConfig {
  name: CloudName;
  /** Calls per second the node's shared client-side limiter allows. */
  apiRate: number;
  apiBurst: number;
  aws: {
    imdsEndpoint: string;
    region: string | undefined;
    ec2Endpoint: string | undefined;
  };
  azure: {
    armEndpoint: string;
    /** Needed for an http:// ARM endpoint (the emulator): bearer tokens then travel unencrypted. */
    allowInsecureHttp: boolean;
    imdsEndpoint: string;
    /** Unset: the VM's, from instance metadata. */
    subscriptionId: string | undefined;
    resourceGroup: string | undefined;
  };
  alibaba: {
    ecsEndpoint: string | undefined;
    metadataEndpoint: string;
    regionId: string | undefined;
    metadataHardened: boolean;
  };
}

/** The warm pool: what it keeps, where new interfaces go, how they are tagged, how often it is checked. */
export interface PoolConfig {
  /** In the tags of the interfaces ipamd creates; the leak sweep looks for it. */
  clusterName: string;
  /** Unset: ipamd uses the instance id. */
  nodeName: string | undefined;
  targets: PoolTargets;
  /** How long a released pod address waits before it is handed out again. */
  cooldownMs: number;
  /** Empty = the primary interface's subnet. */
  podSubnetIds: string[];
  /** Empty = the primary interface's security groups. */
  podSecurityGroupIds: string[];
  extraTags: Record<string, string>;
  /** Between two checks of the pool against its targets. */
  checkIntervalMs: number;
  /** Between two re-reads of the cloud's view of the node. */
  resyncIntervalMs: number;
  leakCleanup: { enabled: boolean; intervalMs: number; graceMs: number };
  // Tuning that no variable sets (tests shorten it):
  /** Shrinking runs at most this often (default 30 s, as AWS), so short-lived pods do not churn interfaces. */
  shrinkIntervalMs?: number;
  /** Interfaces younger than this are never freed (default 60 s). */
  minInterfaceAgeMs?: number;
  /** How long a new interface may take to show up in the metadata service (default 60 s). */
  attachTimeoutMs?: number;
  /** Changes younger than this are not undone by a resync that does not see them yet (default 60 s). */
  consistencyGraceMs?: number;
  /** Between two sweeps for interfaces tagged with this node and left detached (default 60 s; one right after serving). */
  ownInterfaceSweepMs?: number;
}

/** Where the plugin meets ipamd: the socket, and the conflist that tells the runtime to use the plugin. */
export interface ApiConfig {
  socketPath: string;
  /** Where the conflist goes once ipamd is ready; absent = not written. */
  cniConfDir?: string;
  /** Where the plugin binary is installed. */
  cniBinDir?: string;
  /** Where the plugin records releases while ipamd is down (default STATE_DIR/pending-del). */
  pendingDir?: string;
}

/** The Kubernetes integration, when on. */
export interface KubernetesConfig {
  connection: Exclude<KubernetesConnection, { mode: 'off' }>;
  nodeName: string;
  /** Released once an allocation's pod has been gone this long (a lost CNI DEL). */
  lostDeletes: { enabled: boolean; graceMs: number; /** Default: a quarter of the grace, between 1 and 30 s. */ sweepIntervalMs?: number };
  /** NodeNetwork writes: at most one per `debounceMs` (default 2 s) on change, one per `intervalMs` otherwise. */
  status: { intervalMs: number; debounceMs?: number };
}

/** The node's own network and the pods' links. */
export interface DataPlaneConfig {
  /** MTU of the pod interfaces (and of the interfaces ipamd configures). */
  mtu: number;
  /** SNAT of traffic leaving the VPC: off when a NAT gateway does it; extra CIDRs reached without it. */
  snat: { external: boolean; excludeCidrs: string[] };
}

/** The HTTP endpoints; absent = not served. */
export interface EndpointsConfig {
  metrics?: BindAddress;
  /** Always a loopback address. */
  introspection?: BindAddress;
}

export interface IpamdConfig {
  cloud: CloudConfig;
  pool: PoolConfig;
  api: ApiConfig;
  /** Undefined: standalone, no cluster. */
  kubernetes: KubernetesConfig | undefined;
  dataPlane: DataPlaneConfig;
  endpoints: EndpointsConfig;
  logging: { level: LogLevel };
  /** Who changes the pods' links: `auto` (the executable beside ipamd's bundle, if any), `off` (ip execs) or the helper's path. */
  netlinkHelper: string;
  /** The node's state: the datastore's journal and the plugin's pending releases live under it. */
  stateDir: string;
  /** Valid but questionable combinations, for the log at start-up. */
  warnings: string[];
}
