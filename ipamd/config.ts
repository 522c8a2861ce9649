/**
 * ipamd's configuration: the ONE place that reads it. Every variable is
 * described once in `specs` below; that table drives validation (zod), the
 * defaults and the documentation table (`configVariables`) the README is
 * checked against.
 *
 * `loadConfig` is pure: the caller passes `process.env`. A blank value counts
 * as unset. All problems are collected into one `ConfigError`, each naming the
 * variable, the bad value and what is allowed.
 */
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { z } from 'zod';
import { parseCidr } from '../lib/ipv4.ts';
import type { CloudName } from '../providers/contract.ts';
import type { PoolTargets } from './types.ts';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface BindAddress {
  host: string;
  port: number;
}

export interface IpamdConfig {
  cloud: CloudName;
  clusterName: string;
  /** Unset: ipamd uses the instance id. */
  nodeName: string | undefined;

  warmEniTarget: number;
  /** 0 = unset. */
  warmIpTarget: number;
  /** 0 = unset. */
  minimumIpTarget: number;
  warmPrefixTarget: number;
  enablePrefixDelegation: boolean;
  /** 0 = the instance type's limit. */
  maxEni: number;
  ipCooldownPeriodSeconds: number;

  additionalEniTags: Record<string, string>;
  /** Empty = the primary interface's subnet. */
  podSubnetIds: string[];
  /** Empty = the primary interface's security groups. */
  podSecurityGroupIds: string[];
  /** CIDRs reached without SNAT besides the VPC's. */
  excludeSnatCidrs: string[];
  externalSnat: boolean;

  logLevel: LogLevel;
  metricsBindAddress: BindAddress;
  /** Always a loopback address. */
  introspectionBindAddress: BindAddress;

  stateDir: string;
  ipamdSocket: string;
  cniConfDir: string;
  cniBinDir: string;

  awsEc2MetadataServiceEndpoint: string;
  awsRegion: string | undefined;
  awsEndpointUrlEc2: string | undefined;

  azureArmEndpoint: string;
  /** Needed for an http:// ARM endpoint (the emulator): bearer tokens then travel unencrypted. */
  azureArmAllowInsecureHttp: boolean;
  azureImdsEndpoint: string;
  /** Unset: the VM's, from instance metadata. */
  azureSubscriptionId: string | undefined;
  azureResourceGroup: string | undefined;

  alibabaCloudEcsEndpoint: string | undefined;
  alibabaCloudMetadataEndpoint: string;
  alibabaCloudRegionId: string | undefined;
  alibabaCloudMetadataHardened: boolean;

  podMtu: number;
  poolCheckIntervalMs: number;
  reconcileIntervalSeconds: number;
  /** Calls per second the node's shared client-side limiter allows. */
  cloudApiRate: number;
  cloudApiBurst: number;

  leakedEniCleanupIntervalSeconds: number;
  leakedEniGraceSeconds: number;
  disableLeakedEniCleanup: boolean;

  /** How ipamd reaches the Kubernetes API; `off` = standalone (no cluster). */
  kubernetes: KubernetesConnection;
  /** How long an allocation's pod must be gone from this node before its address is released (a lost CNI DEL). */
  lostDeleteGraceSeconds: number;
  disableLostDeleteCleanup: boolean;
  /** Seconds between two writes of the node's NodeNetwork when nothing changed. */
  nodeStatusIntervalSeconds: number;

  /** Valid but questionable combinations, for the log at start-up. */
  warnings: string[];
}

/** The Kubernetes integration's mode: a kubeconfig file wins over the in-cluster service account. */
export type KubernetesConnection = { mode: 'off' } | { mode: 'in-cluster'; server: string } | { mode: 'kubeconfig'; path: string };

export interface ConfigProblem {
  variable: string;
  /** The raw value, or undefined when the problem is about a combination. */
  value: string | undefined;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    const lines = problems.map((p) => `- ${p.message}`);
    super(`invalid ipamd configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface ConfigVariable {
  name: string;
  /** The default as a person reads it in the README. */
  default: string;
  description: string;
}

// ---------------------------------------------------------------------------
// Value schemas: each takes the (non-blank) raw string. Their error message is
// the "what is allowed" half of the problem line.

const wholeNumber = (min: number, max?: number) => {
  const expected = max === undefined ? `expected a whole number >= ${min}` : `expected a whole number from ${min} to ${max}`;
  const bounded = z.number().int().min(min, { error: expected });
  return z
    .string()
    .trim()
    .regex(/^\+?\d{1,15}$/, { error: expected })
    .transform(Number)
    .pipe(max === undefined ? bounded : bounded.max(max, { error: expected }));
};

const decimal = (min: number, max: number) => {
  const expected = `expected a number from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\+?(\d{1,15}(\.\d{1,15})?|\.\d{1,15})$/, { error: expected })
    .transform(Number)
    .pipe(z.number().min(min, { error: expected }).max(max, { error: expected }));
};

const bool = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false', '1', '0'], { error: 'expected true, false, 1 or 0' }))
    .transform((v) => v === 'true' || v === '1');

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(values, { error: `expected one of ${values.join(', ')}` }));

const absolutePath = () =>
  z
    .string()
    .trim()
    .refine((p) => posix.isAbsolute(p) && !p.includes('\0'), { error: 'expected an absolute path' })
    .transform((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p));

const httpUrl = () =>
  z
    .string()
    .trim()
    .pipe(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }))
    .transform((u) => u.replace(/\/+$/, ''));

/** Comma-separated IPv4 CIDRs, network addresses only (10.0.0.0/8, not 10.0.0.1/8). */
const cidrList = () =>
  z.string().transform((s, ctx) => {
    const cidrs = s
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    for (const cidr of cidrs) {
      try {
        parseCidr(cidr);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `expected comma-separated IPv4 CIDRs; ${(err as Error).message}` });
        return z.NEVER;
      }
    }
    return cidrs;
  });

/** Ids are opaque (sg-..., subnet-..., Azure resource paths, vsw-...): no blanks, quotes or commas inside. */
const idList = (what: string) =>
  z
    .string()
    .transform((s, ctx) => {
      const ids = s
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id !== '');
      for (const id of ids) {
        if (!/^[A-Za-z0-9/][A-Za-z0-9._:/-]{0,511}$/.test(id)) {
          ctx.addIssue({ code: 'custom', message: `expected comma-separated ${what} ids; ${JSON.stringify(id)} is not an id` });
          return z.NEVER;
        }
      }
      const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
      if (duplicate !== undefined) {
        ctx.addIssue({ code: 'custom', message: `expected comma-separated ${what} ids without repeats; ${duplicate} appears twice` });
        return z.NEVER;
      }
      return ids;
    });

const reservedTagPrefixes = ['vpc-cni.io/', 'aws:'];
const maxAdditionalTags = 40;

const tagMap = () =>
  z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected a JSON object of string values, e.g. {"team":"net"}' });
        return z.NEVER;
      }
    })
    .pipe(
      z
        .record(
          z.string().min(1, { error: 'expected tag keys of 1 to 128 characters' }).max(128, { error: 'expected tag keys of 1 to 128 characters' }),
          z.string().max(256, { error: 'expected tag values of at most 256 characters' }),
          { error: 'expected a JSON object of string values, e.g. {"team":"net"}' },
        )
        .superRefine((tags, ctx) => {
          const keys = Object.keys(tags).sort();
          if (keys.length > maxAdditionalTags) {
            ctx.addIssue({ code: 'custom', message: `expected at most ${maxAdditionalTags} tags, got ${keys.length}` });
          }
          const reserved = keys.filter((k) => reservedTagPrefixes.some((p) => k.toLowerCase().startsWith(p)));
          if (reserved.length > 0) {
            ctx.addIssue({
              code: 'custom',
              message: `tag keys starting with ${reservedTagPrefixes.join(' or ')} are reserved (found ${reserved.join(', ')})`,
            });
          }
        }),
    );

function parseHostPort(s: string): { host: string; port: string } | undefined {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (bracketed) return { host: bracketed[1] ?? '', port: bracketed[2] ?? '' };
  const colon = s.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const host = s.slice(0, colon);
  if (host.includes(':')) return undefined; // bare IPv6 needs brackets
  return { host, port: s.slice(colon + 1) };
}

const hostnamePattern = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

const bindAddress = (loopbackOnly: boolean) => {
  const expected = loopbackOnly
    ? 'expected host:port with a loopback host (127.0.0.1, [::1] or localhost) and a port from 0 to 65535'
    : 'expected host:port with a port from 0 to 65535 (IPv6 hosts in brackets, e.g. [::]:61678)';
  return z
    .string()
    .trim()
    .transform((s, ctx): BindAddress => {
      const parts = parseHostPort(s);
      const port = parts && /^\d{1,5}$/.test(parts.port) ? Number(parts.port) : NaN;
      const hostOk = parts !== undefined && (isIP(parts.host) !== 0 || hostnamePattern.test(parts.host));
      if (!parts || !hostOk || !(port >= 0 && port <= 65535)) {
        ctx.addIssue({ code: 'custom', message: expected });
        return z.NEVER;
      }
      if (loopbackOnly && !isLoopback(parts.host)) {
        ctx.addIssue({ code: 'custom', message: `${expected}; ${parts.host} is not a loopback address` });
        return z.NEVER;
      }
      return { host: parts.host, port };
    });
};

const pattern = (re: RegExp, expected: string) => z.string().trim().regex(re, { error: expected });

/** host[:port] or http(s)://host[:port], no path: the form Alibaba's SDK endpoint setting takes (plus the scheme). */
const hostOrUrl = () =>
  pattern(
    /^(https?:\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(:\d{1,5})?\/?$/,
    'expected host[:port] or http(s)://host[:port] without a path, e.g. ecs-vpc.cn-hangzhou.aliyuncs.com',
  ).transform((u) => u.replace(/\/+$/, ''));

/** KUBECONFIG may list several files (":"-separated); as kubectl's client libraries do, the first one is used. */
const kubeconfigPath = () =>
  z
    .string()
    .transform((s) => s.split(':').map((p) => p.trim()).find((p) => p !== '') ?? '')
    .pipe(z.string().min(1, { error: 'expected the path of a kubeconfig file' }).refine((p) => !p.includes('\0'), { error: 'expected the path of a kubeconfig file' }));

const hostAddress = () =>
  z
    .string()
    .trim()
    .refine((h) => isIP(h) !== 0 || hostnamePattern.test(h), { error: 'expected a host name or an IP address' });

// ---------------------------------------------------------------------------
// The variables. `fallback` is the value when unset (undefined = stays unset,
// or is derived later, as IPAMD_SOCKET from STATE_DIR).

interface Spec<T> {
  name: string;
  default: string;
  description: string;
  schema: z.ZodType<T, string>;
  fallback: T | undefined;
}

function spec<T>(name: string, defaultText: string, description: string, schema: z.ZodType<T, string>, fallback: T | undefined): Spec<T> {
  return { name, default: defaultText, description, schema, fallback };
}

const specs = {
  CLOUD: spec('CLOUD', 'aws', 'Cloud the node runs in: aws, azure or alibaba.', oneOf(['aws', 'azure', 'alibaba'] as const), 'aws'),
  CLUSTER_NAME: spec(
    'CLUSTER_NAME',
    'kubernetes',
    'Cluster name, used in the tags of the interfaces ipamd creates (1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit).',
    pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit'),
    'kubernetes',
  ),
  NODE_NAME: spec(
    'NODE_NAME',
    '(unset: the instance id)',
    'Kubernetes node name of this node (a lower-case DNS subdomain).',
    pattern(
      /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
      'expected a lower-case DNS subdomain (letters, digits, "-" and ".", at most 253 characters)',
    ),
    undefined,
  ),
  WARM_ENI_TARGET: spec(
    'WARM_ENI_TARGET',
    '1',
    "Whole interfaces' worth of free addresses to keep (IP mode, when neither WARM_IP_TARGET nor MINIMUM_IP_TARGET is set).",
    wholeNumber(0),
    1,
  ),
  WARM_IP_TARGET: spec(
    'WARM_IP_TARGET',
    '0 (unset); 16 on azure',
    'Free addresses to keep; overrides WARM_ENI_TARGET and WARM_PREFIX_TARGET. On Azure, where an interface holds 255 pod addresses, it is 16 unless a target is set.',
    wholeNumber(0),
    0,
  ),
  MINIMUM_IP_TARGET: spec(
    'MINIMUM_IP_TARGET',
    '0 (unset)',
    'Addresses to hold in total, used or not; overrides WARM_ENI_TARGET and WARM_PREFIX_TARGET.',
    wholeNumber(0),
    0,
  ),
  WARM_PREFIX_TARGET: spec(
    'WARM_PREFIX_TARGET',
    '1',
    "Free prefixes' worth of addresses to keep (prefix mode, when neither WARM_IP_TARGET nor MINIMUM_IP_TARGET is set).",
    wholeNumber(0),
    1,
  ),
  ENABLE_PREFIX_DELEGATION: spec(
    'ENABLE_PREFIX_DELEGATION',
    'false',
    'Give pods addresses from /28 prefixes delegated to the interfaces instead of secondary IPs (true/false/1/0).',
    bool(),
    false,
  ),
  MAX_ENI: spec('MAX_ENI', "(unset: the instance type's limit)", 'Most interfaces ipamd may have attached, the primary included.', wholeNumber(1), undefined),
  IP_COOLDOWN_PERIOD: spec(
    'IP_COOLDOWN_PERIOD',
    '30',
    'Seconds a released pod address waits before it is handed out again.',
    wholeNumber(0),
    30,
  ),
  ADDITIONAL_ENI_TAGS: spec(
    'ADDITIONAL_ENI_TAGS',
    '{}',
    `Extra tags for the interfaces ipamd creates, as a JSON object of strings (at most ${maxAdditionalTags}; keys starting with vpc-cni.io/ or aws: are reserved).`,
    tagMap(),
    {},
  ),
  POD_SUBNET_IDS: spec(
    'POD_SUBNET_IDS',
    "(empty: the primary interface's subnet)",
    'Comma-separated subnets new interfaces may use; the one with the most free addresses is chosen.',
    idList('subnet'),
    [],
  ),
  EXCLUDE_SNAT_CIDRS: spec(
    'EXCLUDE_SNAT_CIDRS',
    '(empty)',
    "Comma-separated CIDRs pods reach without SNAT, besides the VPC's own (peered VPCs, on-premises ranges).",
    cidrList(),
    [],
  ),
  EXTERNAL_SNAT: spec('EXTERNAL_SNAT', 'false', 'Leave SNAT of traffic leaving the VPC to a NAT gateway: the node SNATs nothing (true/false/1/0).', bool(), false),
  POD_SECURITY_GROUP_IDS: spec(
    'POD_SECURITY_GROUP_IDS',
    "(empty: the primary interface's groups)",
    'Comma-separated security groups for new interfaces.',
    idList('security group'),
    [],
  ),
  LOG_LEVEL: spec('LOG_LEVEL', 'info', 'trace, debug, info, warn or error.', oneOf(['trace', 'debug', 'info', 'warn', 'error'] as const), 'info'),
  METRICS_BIND_ADDRESS: spec('METRICS_BIND_ADDRESS', '0.0.0.0:61678', 'host:port of the Prometheus metrics endpoint.', bindAddress(false), {
    host: '0.0.0.0',
    port: 61678,
  }),
  INTROSPECTION_BIND_ADDRESS: spec(
    'INTROSPECTION_BIND_ADDRESS',
    '127.0.0.1:61679',
    'host:port of the introspection endpoint; must be a loopback address.',
    bindAddress(true),
    { host: '127.0.0.1', port: 61679 },
  ),
  STATE_DIR: spec('STATE_DIR', '/var/run/vpc-cni', 'Directory of the checkpoint and other node state (absolute path).', absolutePath(), '/var/run/vpc-cni'),
  IPAMD_SOCKET: spec('IPAMD_SOCKET', '${STATE_DIR}/ipamd.sock', 'Unix socket the CNI plugin talks to (absolute path).', absolutePath(), undefined),
  CNI_CONF_DIR: spec('CNI_CONF_DIR', '/etc/cni/net.d', 'Where the conflist is written once ipamd is ready (absolute path).', absolutePath(), '/etc/cni/net.d'),
  CNI_BIN_DIR: spec('CNI_BIN_DIR', '/opt/cni/bin', 'Where the CNI plugin binary is installed (absolute path).', absolutePath(), '/opt/cni/bin'),
  AWS_EC2_METADATA_SERVICE_ENDPOINT: spec(
    'AWS_EC2_METADATA_SERVICE_ENDPOINT',
    'http://169.254.169.254',
    'Instance metadata service endpoint (URL).',
    httpUrl(),
    'http://169.254.169.254',
  ),
  AWS_REGION: spec(
    'AWS_REGION',
    '(unset: from instance metadata)',
    'AWS region, e.g. us-east-1.',
    pattern(/^[a-z]{2,}(-[a-z0-9]+)+$/, 'expected a region name such as us-east-1'),
    undefined,
  ),
  AWS_ENDPOINT_URL_EC2: spec('AWS_ENDPOINT_URL_EC2', '(unset: the SDK default)', 'EC2 API endpoint passed to the AWS adapter (URL).', httpUrl(), undefined),
  AZURE_ARM_ENDPOINT: spec(
    'AZURE_ARM_ENDPOINT',
    'https://management.azure.com',
    'Azure Resource Manager endpoint of the Azure adapter (URL); http:// needs AZURE_ARM_ALLOW_INSECURE_HTTP=true.',
    httpUrl(),
    'https://management.azure.com',
  ),
  AZURE_ARM_ALLOW_INSECURE_HTTP: spec(
    'AZURE_ARM_ALLOW_INSECURE_HTTP',
    'false',
    'Allow a plain http:// AZURE_ARM_ENDPOINT, sending bearer tokens unencrypted: for the emulator only (true/false/1/0).',
    bool(),
    false,
  ),
  AZURE_IMDS_ENDPOINT: spec('AZURE_IMDS_ENDPOINT', 'http://169.254.169.254', 'Azure Instance Metadata Service endpoint (URL).', httpUrl(), 'http://169.254.169.254'),
  AZURE_SUBSCRIPTION_ID: spec(
    'AZURE_SUBSCRIPTION_ID',
    '(unset: from instance metadata)',
    "Subscription of the node's NICs and VNet (a GUID).",
    pattern(/^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/, 'expected a subscription id (a GUID)'),
    undefined,
  ),
  AZURE_RESOURCE_GROUP: spec(
    'AZURE_RESOURCE_GROUP',
    "(unset: the VM's, from instance metadata)",
    "Resource group holding the node's NICs, where the Azure adapter lists them.",
    pattern(/^[A-Za-z0-9_().-]{0,89}[A-Za-z0-9_()-]$/, 'expected a resource group name (1 to 90 letters, digits, "_", "(", ")", "-" or ".", not ending in ".")'),
    undefined,
  ),
  ALIBABA_CLOUD_ECS_ENDPOINT: spec(
    'ALIBABA_CLOUD_ECS_ENDPOINT',
    '(unset: ecs.<region>.aliyuncs.com)',
    'ECS API endpoint of the Alibaba adapter: host[:port], or http(s)://host[:port] to choose the protocol (e.g. ecs-vpc.cn-hangzhou.aliyuncs.com).',
    hostOrUrl(),
    undefined,
  ),
  ALIBABA_CLOUD_METADATA_ENDPOINT: spec(
    'ALIBABA_CLOUD_METADATA_ENDPOINT',
    'http://100.100.100.200',
    'ECS instance metadata service endpoint of the Alibaba adapter (URL).',
    httpUrl(),
    'http://100.100.100.200',
  ),
  ALIBABA_CLOUD_REGION_ID: spec(
    'ALIBABA_CLOUD_REGION_ID',
    '(unset: from instance metadata)',
    'Alibaba Cloud region, e.g. cn-hangzhou.',
    pattern(/^[a-z]{2,}(-[a-z0-9]+)+$/, 'expected a region id such as cn-hangzhou'),
    undefined,
  ),
  ALIBABA_CLOUD_METADATA_HARDENED: spec(
    'ALIBABA_CLOUD_METADATA_HARDENED',
    'true',
    'Read ECS instance metadata in hardened mode, with a token (true/false/1/0); with false, tokens are used once the instance demands them.',
    bool(),
    true,
  ),
  POD_MTU: spec('POD_MTU', '9001 on aws, 1500 on azure and alibaba', "MTU of the pod interfaces (576 to 9001); the default is the cloud network's frame size.", wholeNumber(576, 9001), 9001),
  POOL_CHECK_INTERVAL_MS: spec(
    'POOL_CHECK_INTERVAL_MS',
    '1000',
    'Milliseconds between two checks of the pool against its targets (100 to 60000).',
    wholeNumber(100, 60000),
    1000,
  ),
  RECONCILE_INTERVAL_SECONDS: spec(
    'RECONCILE_INTERVAL_SECONDS',
    '60',
    "Seconds between two reconciliations with the cloud's view of the node (1 to 3600).",
    wholeNumber(1, 3600),
    60,
  ),
  CLOUD_API_RATE: spec(
    'CLOUD_API_RATE',
    '5',
    "Cloud API calls per second the node's shared client-side limiter allows (0.1 to 100); sized under EC2's account buckets.",
    decimal(0.1, 100),
    5,
  ),
  CLOUD_API_BURST: spec('CLOUD_API_BURST', '10', "Burst of the node's client-side limiter (1 to 1000).", wholeNumber(1, 1000), 10),
  LEAKED_ENI_CLEANUP_INTERVAL_SECONDS: spec(
    'LEAKED_ENI_CLEANUP_INTERVAL_SECONDS',
    '3600',
    'Seconds between two sweeps for leaked (detached, ipamd-tagged) interfaces (60 to 86400).',
    wholeNumber(60, 86400),
    3600,
  ),
  LEAKED_ENI_GRACE_SECONDS: spec(
    'LEAKED_ENI_GRACE_SECONDS',
    '300',
    'Seconds a detached interface must have existed before the sweep deletes it (0 to 86400).',
    wholeNumber(0, 86400),
    300,
  ),
  DISABLE_LEAKED_ENI_CLEANUP: spec('DISABLE_LEAKED_ENI_CLEANUP', 'false', 'Turn the leaked-interface sweep off (true/false/1/0).', bool(), false),
  KUBECONFIG: spec(
    'KUBECONFIG',
    '(unset: in-cluster if KUBERNETES_SERVICE_HOST is set, else standalone)',
    'Kubeconfig file for the Kubernetes integration (its current context; the first file of a ":"-separated list); wins over the in-cluster service account.',
    kubeconfigPath(),
    undefined,
  ),
  KUBERNETES_SERVICE_HOST: spec(
    'KUBERNETES_SERVICE_HOST',
    '(unset: no in-cluster mode)',
    "API server address Kubernetes sets in every pod; with it (and no KUBECONFIG) ipamd talks to the cluster with its pod's service account.",
    hostAddress(),
    undefined,
  ),
  KUBERNETES_SERVICE_PORT: spec('KUBERNETES_SERVICE_PORT', '443', 'API server port of the in-cluster mode (1 to 65535).', wholeNumber(1, 65535), 443),
  LOST_DELETE_GRACE_SECONDS: spec(
    'LOST_DELETE_GRACE_SECONDS',
    '120',
    "Seconds an allocation's pod must be gone from this node, with the pod watch in sync, before ipamd releases the address as a lost CNI DEL (1 to 86400).",
    wholeNumber(1, 86400),
    120,
  ),
  DISABLE_LOST_DELETE_CLEANUP: spec('DISABLE_LOST_DELETE_CLEANUP', 'false', 'Never release addresses of pods gone without a CNI DEL (true/false/1/0).', bool(), false),
  NODE_STATUS_INTERVAL_SECONDS: spec(
    'NODE_STATUS_INTERVAL_SECONDS',
    '60',
    "Seconds between two writes of the node's NodeNetwork when nothing changed; changes are written within seconds (5 to 3600).",
    wholeNumber(5, 3600),
    60,
  ),
};

type Specs = typeof specs;
type SpecValue<S> = S extends Spec<infer T> ? T : never;
type Parsed = { [K in keyof Specs]: SpecValue<Specs[K]> | undefined };

/** The documentation table: every variable, its default and what it does. */
export const configVariables: readonly ConfigVariable[] = Object.values(specs).map((s) => ({
  name: s.name,
  default: s.default,
  description: s.description,
}));

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const envSchema = z.object(
  Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, z.preprocess(blankToUndefined, (s.schema as z.ZodType<unknown, string>).optional())])),
);

function display(value: string): string {
  const shown = value.length > 200 ? `${value.slice(0, 200)}...` : value;
  return JSON.stringify(shown);
}

/** Reads and validates ipamd's configuration from an environment (pass `process.env`). */
export function loadConfig(env: Record<string, string | undefined>): IpamdConfig {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const seen = new Set<string>();
    const problems: ConfigProblem[] = [];
    for (const issue of result.error.issues) {
      const variable = String(issue.path[0] ?? '');
      if (seen.has(variable)) continue;
      seen.add(variable);
      const value = env[variable];
      problems.push({ variable, value, message: `${variable}=${display(value ?? '')} is invalid: ${issue.message}` });
    }
    // Report in the table's order, whatever order zod found them in.
    const order = Object.keys(specs);
    problems.sort((a, b) => order.indexOf(a.variable) - order.indexOf(b.variable));
    throw new ConfigError(problems);
  }

  const parsed = result.data as Parsed;
  const get = <K extends keyof Specs>(key: K): SpecValue<Specs[K]> => (parsed[key] ?? specs[key].fallback) as SpecValue<Specs[K]>;
  const isSet = (key: keyof Specs) => parsed[key] !== undefined;

  const stateDir = get('STATE_DIR');
  const config: IpamdConfig = {
    cloud: get('CLOUD'),
    clusterName: get('CLUSTER_NAME'),
    nodeName: parsed.NODE_NAME,
    warmEniTarget: get('WARM_ENI_TARGET'),
    warmIpTarget: defaultWarmIpTarget(get('CLOUD'), get('WARM_IP_TARGET'), isSet('WARM_IP_TARGET') || isSet('MINIMUM_IP_TARGET') || isSet('WARM_ENI_TARGET')),
    minimumIpTarget: get('MINIMUM_IP_TARGET'),
    warmPrefixTarget: get('WARM_PREFIX_TARGET'),
    enablePrefixDelegation: get('ENABLE_PREFIX_DELEGATION'),
    maxEni: parsed.MAX_ENI ?? 0,
    ipCooldownPeriodSeconds: get('IP_COOLDOWN_PERIOD'),
    additionalEniTags: get('ADDITIONAL_ENI_TAGS'),
    podSubnetIds: get('POD_SUBNET_IDS'),
    excludeSnatCidrs: get('EXCLUDE_SNAT_CIDRS'),
    externalSnat: get('EXTERNAL_SNAT'),
    podSecurityGroupIds: get('POD_SECURITY_GROUP_IDS'),
    logLevel: get('LOG_LEVEL'),
    metricsBindAddress: get('METRICS_BIND_ADDRESS'),
    introspectionBindAddress: get('INTROSPECTION_BIND_ADDRESS'),
    stateDir,
    ipamdSocket: parsed.IPAMD_SOCKET ?? posix.join(stateDir, 'ipamd.sock'),
    cniConfDir: get('CNI_CONF_DIR'),
    cniBinDir: get('CNI_BIN_DIR'),
    awsEc2MetadataServiceEndpoint: get('AWS_EC2_METADATA_SERVICE_ENDPOINT'),
    awsRegion: parsed.AWS_REGION,
    awsEndpointUrlEc2: parsed.AWS_ENDPOINT_URL_EC2,
    azureArmEndpoint: get('AZURE_ARM_ENDPOINT'),
    azureArmAllowInsecureHttp: get('AZURE_ARM_ALLOW_INSECURE_HTTP'),
    azureImdsEndpoint: get('AZURE_IMDS_ENDPOINT'),
    azureSubscriptionId: parsed.AZURE_SUBSCRIPTION_ID,
    azureResourceGroup: parsed.AZURE_RESOURCE_GROUP,
    alibabaCloudEcsEndpoint: parsed.ALIBABA_CLOUD_ECS_ENDPOINT,
    alibabaCloudMetadataEndpoint: get('ALIBABA_CLOUD_METADATA_ENDPOINT'),
    alibabaCloudRegionId: parsed.ALIBABA_CLOUD_REGION_ID,
    alibabaCloudMetadataHardened: get('ALIBABA_CLOUD_METADATA_HARDENED'),
    podMtu: isSet('POD_MTU') ? get('POD_MTU') : defaultPodMtu[get('CLOUD')],
    poolCheckIntervalMs: get('POOL_CHECK_INTERVAL_MS'),
    reconcileIntervalSeconds: get('RECONCILE_INTERVAL_SECONDS'),
    cloudApiRate: get('CLOUD_API_RATE'),
    cloudApiBurst: get('CLOUD_API_BURST'),
    leakedEniCleanupIntervalSeconds: get('LEAKED_ENI_CLEANUP_INTERVAL_SECONDS'),
    leakedEniGraceSeconds: get('LEAKED_ENI_GRACE_SECONDS'),
    disableLeakedEniCleanup: get('DISABLE_LEAKED_ENI_CLEANUP'),
    kubernetes: kubernetesConnection(parsed.KUBECONFIG, parsed.KUBERNETES_SERVICE_HOST, get('KUBERNETES_SERVICE_PORT')),
    lostDeleteGraceSeconds: get('LOST_DELETE_GRACE_SECONDS'),
    disableLostDeleteCleanup: get('DISABLE_LOST_DELETE_CLEANUP'),
    nodeStatusIntervalSeconds: get('NODE_STATUS_INTERVAL_SECONDS'),
    warnings: [],
  };
  if (config.kubernetes.mode !== 'off' && !config.nodeName) {
    const why = config.kubernetes.mode === 'kubeconfig' ? 'KUBECONFIG is set' : 'KUBERNETES_SERVICE_HOST is set';
    throw new ConfigError([
      {
        variable: 'NODE_NAME',
        value: undefined,
        message: `NODE_NAME is required when the Kubernetes integration is on (${why}): set it to the node's name (in a pod: fieldRef spec.nodeName)`,
      },
    ]);
  }
  if (config.cloud === 'azure' && config.azureArmEndpoint.toLowerCase().startsWith('http://') && !config.azureArmAllowInsecureHttp) {
    throw new ConfigError([
      {
        variable: 'AZURE_ARM_ENDPOINT',
        value: config.azureArmEndpoint,
        message: `AZURE_ARM_ENDPOINT=${display(config.azureArmEndpoint)} is plain http, which would send bearer tokens unencrypted: use https, or set AZURE_ARM_ALLOW_INSECURE_HTTP=true (for the emulator only)`,
      },
    ]);
  }
  config.warnings = crossFieldWarnings(config, isSet);
  return config;
}

/** The cloud network's frame size: EC2 carries jumbo frames inside a VPC, Azure and Alibaba VPCs 1500. */
const defaultPodMtu: Record<IpamdConfig['cloud'], number> = { aws: 9001, azure: 1500, alibaba: 1500 };

/**
 * Azure grows the pool on a fixed set of NICs of 255 pod addresses each: a
 * warm interface's worth (the AWS-style default) would take 255 addresses per
 * node. Without any target set, keep 16 free, Azure CNI's allocation batch.
 */
function defaultWarmIpTarget(cloud: IpamdConfig['cloud'], value: number, anyTargetSet: boolean): number {
  return cloud === 'azure' && !anyTargetSet ? 16 : value;
}

function kubernetesConnection(kubeconfig: string | undefined, serviceHost: string | undefined, servicePort: number): KubernetesConnection {
  if (kubeconfig) return { mode: 'kubeconfig', path: kubeconfig };
  if (!serviceHost) return { mode: 'off' };
  return { mode: 'in-cluster', server: `https://${isIP(serviceHost) === 6 ? `[${serviceHost}]` : serviceHost}:${servicePort}` };
}

/** Combinations that are valid but do not do what a reader of the variables may expect. */
function crossFieldWarnings(c: IpamdConfig, isSet: (key: keyof Specs) => boolean): string[] {
  const warnings: string[] = [];
  const ipTargets = c.warmIpTarget > 0 || c.minimumIpTarget > 0;
  const ipTargetNames = [c.warmIpTarget > 0 ? `WARM_IP_TARGET=${c.warmIpTarget}` : '', c.minimumIpTarget > 0 ? `MINIMUM_IP_TARGET=${c.minimumIpTarget}` : '']
    .filter((s) => s !== '')
    .join(' and ');

  if (c.enablePrefixDelegation && isSet('WARM_ENI_TARGET') && c.warmEniTarget > 0) {
    warnings.push(
      `WARM_ENI_TARGET=${c.warmEniTarget} is ignored because ENABLE_PREFIX_DELEGATION=true: the warm pool is sized by ` +
        (ipTargets ? ipTargetNames : `WARM_PREFIX_TARGET=${c.warmPrefixTarget}`),
    );
  } else if (!c.enablePrefixDelegation && ipTargets && isSet('WARM_ENI_TARGET') && c.warmEniTarget > 0) {
    warnings.push(`WARM_ENI_TARGET=${c.warmEniTarget} is ignored because ${ipTargetNames} take precedence`);
  }
  if (c.enablePrefixDelegation && ipTargets && isSet('WARM_PREFIX_TARGET')) {
    warnings.push(`WARM_PREFIX_TARGET=${c.warmPrefixTarget} is ignored because ${ipTargetNames} take precedence`);
  }
  if (!c.enablePrefixDelegation && isSet('WARM_PREFIX_TARGET')) {
    warnings.push(`WARM_PREFIX_TARGET=${c.warmPrefixTarget} has no effect without ENABLE_PREFIX_DELEGATION=true`);
  }
  if (c.enablePrefixDelegation && !ipTargets && c.warmPrefixTarget === 0) {
    warnings.push(
      'ENABLE_PREFIX_DELEGATION=true with WARM_PREFIX_TARGET=0 keeps no warm prefix: a prefix is added only once every address is taken, so pods wait for it; set WARM_PREFIX_TARGET or WARM_IP_TARGET',
    );
  }
  if (c.cloud === 'azure' && !ipTargets && !c.enablePrefixDelegation && c.warmEniTarget > 0) {
    warnings.push(
      `WARM_ENI_TARGET=${c.warmEniTarget} on Azure keeps ${c.warmEniTarget} whole NIC's worth of addresses free (up to 255 each) and NICs cannot be added to a running VM; WARM_IP_TARGET is the usual choice there`,
    );
  }
  if (c.minimumIpTarget > 0 && c.warmIpTarget === 0) {
    warnings.push(
      `MINIMUM_IP_TARGET=${c.minimumIpTarget} without WARM_IP_TARGET: the pool holds ${c.minimumIpTarget} addresses and does not grow once they are all in use; set WARM_IP_TARGET to keep free addresses beyond them`,
    );
  }
  return warnings;
}

/** The pool policy's targets from a loaded configuration. */
export function poolTargets(config: IpamdConfig): PoolTargets {
  return {
    mode: config.enablePrefixDelegation ? 'prefixes' : 'ips',
    warmEniTarget: config.warmEniTarget,
    warmIpTarget: config.warmIpTarget,
    minimumIpTarget: config.minimumIpTarget,
    warmPrefixTarget: config.warmPrefixTarget,
    maxEni: config.maxEni,
  };
}
