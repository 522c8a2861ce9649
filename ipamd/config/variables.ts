/**
 * ipamd's variables, each described once: its name, the default as the
 * configuration reference (docs/configuration.md) shows it, what it does, its value schema and its fallback. The
 * table drives validation, the defaults and the documentation
 * (`configVariables`, which docs/configuration.md is checked against).
 */
import type { z } from 'zod';
import {
  absolutePath,
  bindAddress,
  bool,
  cidrList,
  decimal,
  executableChoice,
  hostAddress,
  hostOrUrl,
  httpUrl,
  idList,
  kubeconfigPath,
  maxAdditionalTags,
  oneOf,
  pattern,
  tagMap,
  wholeNumber,
} from './values.ts';

export interface ConfigVariable {
  name: string;
  /** The default as a person reads it in docs/configuration.md. */
  default: string;
  description: string;
}

// `fallback` is the value when unset (undefined = stays unset,
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

export const specs = {
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
  NETLINK_HELPER: spec(
    'NETLINK_HELPER',
    'auto',
    "What changes the pods' links, addresses, routes and rules: a long-lived netlink helper (the plugin executable run with `netlink-helper`; no exec per pod) or `ip` per ADD and DEL. auto: the vpc-cni executable beside ipamd's bundle when there is one, else ip; off: ip; or the helper's absolute path.",
    executableChoice(),
    'auto',
  ),
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

export type Specs = typeof specs;
export type SpecValue<S> = S extends Spec<infer T> ? T : never;
export type Parsed = { [K in keyof Specs]: SpecValue<Specs[K]> | undefined };

/** The documentation table: every variable, its default and what it does. */
export const configVariables: readonly ConfigVariable[] = Object.values(specs).map((s) => ({
  name: s.name,
  default: s.default,
  description: s.description,
}));
