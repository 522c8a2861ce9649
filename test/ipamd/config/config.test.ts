import { describe, expect, it } from 'vitest';
import { ConfigError, configVariables, loadConfig, type IpamdConfig } from '../../../ipamd/config/index.ts';

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => p.message);
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('gives every default with an empty environment', () => {
    expect(loadConfig({})).toEqual({
      cloud: {
        name: 'aws',
        apiRate: 5,
        apiBurst: 10,
        aws: { imdsEndpoint: 'http://169.254.169.254', region: undefined, ec2Endpoint: undefined },
        azure: { armEndpoint: 'https://management.azure.com', allowInsecureHttp: false, imdsEndpoint: 'http://169.254.169.254', subscriptionId: undefined, resourceGroup: undefined },
        alibaba: { ecsEndpoint: undefined, metadataEndpoint: 'http://100.100.100.200', regionId: undefined, metadataHardened: true },
      },
      pool: {
        clusterName: 'kubernetes',
        nodeName: undefined,
        targets: { mode: 'ips', warmEniTarget: 1, warmIpTarget: 0, minimumIpTarget: 0, warmPrefixTarget: 1, maxEni: 0 },
        cooldownMs: 30_000,
        podSubnetIds: [],
        podSecurityGroupIds: [],
        extraTags: {},
        checkIntervalMs: 1000,
        resyncIntervalMs: 60_000,
        leakCleanup: { enabled: true, intervalMs: 3_600_000, graceMs: 300_000 },
      },
      api: { socketPath: '/var/run/vpc-cni/ipamd.sock', cniConfDir: '/etc/cni/net.d', cniBinDir: '/opt/cni/bin' },
      kubernetes: undefined,
      dataPlane: { mtu: 9001, snat: { external: false, excludeCidrs: [] } },
      endpoints: { metrics: { host: '0.0.0.0', port: 61678 }, introspection: { host: '127.0.0.1', port: 61679 } },
      logging: { level: 'info' },
      netlinkHelper: 'auto',
      stateDir: '/var/run/vpc-cni',
      warnings: [],
    } satisfies IpamdConfig);
  });

  it('reads the SNAT settings and rejects CIDRs that are not network addresses', () => {
    const config = loadConfig({ EXCLUDE_SNAT_CIDRS: '192.168.0.0/16, 172.16.0.0/12', EXTERNAL_SNAT: 'true' });
    expect(config.dataPlane.snat.excludeCidrs).toEqual(['192.168.0.0/16', '172.16.0.0/12']);
    expect(config.dataPlane.snat.external).toBe(true);
    expect(() => loadConfig({ EXCLUDE_SNAT_CIDRS: '10.0.0.1/8' })).toThrow(/EXCLUDE_SNAT_CIDRS="10.0.0.1\/8" is invalid/);
    expect(() => loadConfig({ EXCLUDE_SNAT_CIDRS: 'banana' })).toThrow(/EXCLUDE_SNAT_CIDRS/);
  });

  it('takes auto, off or an absolute path for the netlink helper, and names the variable otherwise', () => {
    expect(loadConfig({ NETLINK_HELPER: 'off' }).netlinkHelper).toBe('off');
    expect(loadConfig({ NETLINK_HELPER: '/opt/vpc-cni/vpc-cni' }).netlinkHelper).toBe('/opt/vpc-cni/vpc-cni');
    expect(() => loadConfig({ NETLINK_HELPER: 'vpc-cni' })).toThrow(/NETLINK_HELPER="vpc-cni" is invalid: expected auto, off or an absolute path/);
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ WARM_ENI_TARGET: '', MAX_ENI: '  ', NODE_NAME: '' })).toEqual(loadConfig({}));
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', WARM_IP: 'x' })).toEqual(loadConfig({}));
  });

  it('is pure: the same environment gives the same result and is not modified', () => {
    const env = { WARM_IP_TARGET: '3', POD_SUBNET_IDS: 'subnet-a' };
    const copy = { ...env };
    expect(loadConfig(env)).toEqual(loadConfig(env));
    expect(env).toEqual(copy);
  });
});

describe('loadConfig happy paths', () => {
  const cases: Array<[string, Record<string, string>, object]> = [
    ['CLOUD azure', { CLOUD: 'azure' }, { cloud: { name: 'azure' } }],
    ['CLOUD alibaba, any case', { CLOUD: 'Alibaba' }, { cloud: { name: 'alibaba' } }],
    ['CLUSTER_NAME', { CLUSTER_NAME: 'prod-eu_1.a' }, { pool: { clusterName: 'prod-eu_1.a' } }],
    ['CLUSTER_NAME of 100 characters', { CLUSTER_NAME: 'c'.repeat(100) }, { pool: { clusterName: 'c'.repeat(100) } }],
    ['NODE_NAME', { NODE_NAME: 'ip-10-0-1-2.ec2.internal' }, { pool: { nodeName: 'ip-10-0-1-2.ec2.internal' } }],
    ['WARM_ENI_TARGET', { WARM_ENI_TARGET: '2' }, { pool: { targets: { warmEniTarget: 2 } } }],
    ['WARM_ENI_TARGET 0', { WARM_ENI_TARGET: '0' }, { pool: { targets: { warmEniTarget: 0 } } }],
    ['WARM_IP_TARGET', { WARM_IP_TARGET: '5' }, { pool: { targets: { warmIpTarget: 5 } } }],
    ['MINIMUM_IP_TARGET with WARM_IP_TARGET', { MINIMUM_IP_TARGET: '10', WARM_IP_TARGET: '2' }, { pool: { targets: { minimumIpTarget: 10, warmIpTarget: 2 } } }],
    ['WARM_PREFIX_TARGET', { WARM_PREFIX_TARGET: '3', ENABLE_PREFIX_DELEGATION: 'true' }, { pool: { targets: { warmPrefixTarget: 3, mode: 'prefixes' } } }],
    ['ENABLE_PREFIX_DELEGATION=TRUE', { ENABLE_PREFIX_DELEGATION: 'TRUE' }, { pool: { targets: { mode: 'prefixes' } } }],
    ['ENABLE_PREFIX_DELEGATION=1', { ENABLE_PREFIX_DELEGATION: '1' }, { pool: { targets: { mode: 'prefixes' } } }],
    ['ENABLE_PREFIX_DELEGATION=False', { ENABLE_PREFIX_DELEGATION: 'False' }, { pool: { targets: { mode: 'ips' } } }],
    ['ENABLE_PREFIX_DELEGATION=0', { ENABLE_PREFIX_DELEGATION: '0' }, { pool: { targets: { mode: 'ips' } } }],
    ['MAX_ENI', { MAX_ENI: '4' }, { pool: { targets: { maxEni: 4 } } }],
    ['IP_COOLDOWN_PERIOD 0', { IP_COOLDOWN_PERIOD: '0' }, { pool: { cooldownMs: 0 } }],
    ['IP_COOLDOWN_PERIOD', { IP_COOLDOWN_PERIOD: '45' }, { pool: { cooldownMs: 45_000 } }],
    ['ADDITIONAL_ENI_TAGS', { ADDITIONAL_ENI_TAGS: '{"team":"net","cost-center":""}' }, { pool: { extraTags: { team: 'net', 'cost-center': '' } } }],
    [
      'ADDITIONAL_ENI_TAGS with 40 tags',
      { ADDITIONAL_ENI_TAGS: JSON.stringify(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']))) },
      { pool: { extraTags: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'])) } },
    ],
    ['POD_SUBNET_IDS', { POD_SUBNET_IDS: 'subnet-0a1, subnet-0b2,' }, { pool: { podSubnetIds: ['subnet-0a1', 'subnet-0b2'] } }],
    ['EXCLUDE_SNAT_CIDRS', { EXCLUDE_SNAT_CIDRS: '192.168.0.0/16' }, { dataPlane: { snat: { excludeCidrs: ['192.168.0.0/16'] } } }],
    ['EXTERNAL_SNAT', { EXTERNAL_SNAT: '1' }, { dataPlane: { snat: { external: true } } }],
    [
      'POD_SUBNET_IDS as Azure resource ids',
      { POD_SUBNET_IDS: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/pods' },
      { pool: { podSubnetIds: ['/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/pods'] } },
    ],
    ['POD_SECURITY_GROUP_IDS', { POD_SECURITY_GROUP_IDS: 'sg-1,sg-2' }, { pool: { podSecurityGroupIds: ['sg-1', 'sg-2'] } }],
    ['LOG_LEVEL', { LOG_LEVEL: 'DEBUG' }, { logging: { level: 'debug' } }],
    ['LOG_LEVEL trace', { LOG_LEVEL: 'trace' }, { logging: { level: 'trace' } }],
    ['METRICS_BIND_ADDRESS', { METRICS_BIND_ADDRESS: '10.0.0.5:9100' }, { endpoints: { metrics: { host: '10.0.0.5', port: 9100 } } }],
    ['METRICS_BIND_ADDRESS IPv6', { METRICS_BIND_ADDRESS: '[::]:0' }, { endpoints: { metrics: { host: '::', port: 0 } } }],
    ['METRICS_BIND_ADDRESS hostname', { METRICS_BIND_ADDRESS: 'metrics.local:65535' }, { endpoints: { metrics: { host: 'metrics.local', port: 65535 } } }],
    ['INTROSPECTION_BIND_ADDRESS', { INTROSPECTION_BIND_ADDRESS: '127.0.0.2:7000' }, { endpoints: { introspection: { host: '127.0.0.2', port: 7000 } } }],
    ['INTROSPECTION_BIND_ADDRESS [::1]', { INTROSPECTION_BIND_ADDRESS: '[::1]:7000' }, { endpoints: { introspection: { host: '::1', port: 7000 } } }],
    ['INTROSPECTION_BIND_ADDRESS localhost', { INTROSPECTION_BIND_ADDRESS: 'localhost:7000' }, { endpoints: { introspection: { host: 'localhost', port: 7000 } } }],
    ['STATE_DIR moves the socket', { STATE_DIR: '/run/cni/' }, { stateDir: '/run/cni', api: { socketPath: '/run/cni/ipamd.sock' } }],
    ['IPAMD_SOCKET', { IPAMD_SOCKET: '/tmp/x.sock', STATE_DIR: '/run/cni' }, { stateDir: '/run/cni', api: { socketPath: '/tmp/x.sock' } }],
    ['CNI_CONF_DIR', { CNI_CONF_DIR: '/host/etc/cni/net.d' }, { api: { cniConfDir: '/host/etc/cni/net.d' } }],
    ['CNI_BIN_DIR', { CNI_BIN_DIR: '/host/opt/cni/bin' }, { api: { cniBinDir: '/host/opt/cni/bin' } }],
    ['AWS_EC2_METADATA_SERVICE_ENDPOINT', { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1338/' }, { cloud: { aws: { imdsEndpoint: 'http://127.0.0.1:1338' } } }],
    ['AWS_EC2_METADATA_SERVICE_ENDPOINT IPv6', { AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://[fd00:ec2::254]' }, { cloud: { aws: { imdsEndpoint: 'http://[fd00:ec2::254]' } } }],
    ['AWS_REGION', { AWS_REGION: 'us-gov-west-1' }, { cloud: { aws: { region: 'us-gov-west-1' } } }],
    ['AWS_ENDPOINT_URL_EC2', { AWS_ENDPOINT_URL_EC2: 'https://ec2.local:4566' }, { cloud: { aws: { ec2Endpoint: 'https://ec2.local:4566' } } }],
    [
      'Azure endpoints, http allowed',
      { CLOUD: 'azure', AZURE_ARM_ENDPOINT: 'http://169.254.170.1', AZURE_ARM_ALLOW_INSECURE_HTTP: 'true', AZURE_IMDS_ENDPOINT: 'http://127.0.0.1:80/_instance/i-1' },
      { cloud: { azure: { armEndpoint: 'http://169.254.170.1', allowInsecureHttp: true, imdsEndpoint: 'http://127.0.0.1:80/_instance/i-1' } } },
    ],
    [
      'Azure subscription and resource group',
      { AZURE_SUBSCRIPTION_ID: '6d3f2c1a-0b5e-4c8d-9a7f-2e1b0c9d8e7f', AZURE_RESOURCE_GROUP: 'MC_rg_aks_eastus' },
      { cloud: { azure: { subscriptionId: '6d3f2c1a-0b5e-4c8d-9a7f-2e1b0c9d8e7f', resourceGroup: 'MC_rg_aks_eastus' } } },
    ],
    ['ALIBABA_CLOUD_ECS_ENDPOINT host', { ALIBABA_CLOUD_ECS_ENDPOINT: 'ecs-vpc.cn-hangzhou.aliyuncs.com' }, { cloud: { alibaba: { ecsEndpoint: 'ecs-vpc.cn-hangzhou.aliyuncs.com' } } }],
    ['ALIBABA_CLOUD_ECS_ENDPOINT URL', { ALIBABA_CLOUD_ECS_ENDPOINT: 'http://169.254.170.1:80/' }, { cloud: { alibaba: { ecsEndpoint: 'http://169.254.170.1:80' } } }],
    ['ALIBABA_CLOUD_METADATA_ENDPOINT', { ALIBABA_CLOUD_METADATA_ENDPOINT: 'http://127.0.0.1:8080/_instance/i-1' }, { cloud: { alibaba: { metadataEndpoint: 'http://127.0.0.1:8080/_instance/i-1' } } }],
    ['ALIBABA_CLOUD_REGION_ID', { ALIBABA_CLOUD_REGION_ID: 'cn-hangzhou' }, { cloud: { alibaba: { regionId: 'cn-hangzhou' } } }],
    ['ALIBABA_CLOUD_METADATA_HARDENED=false', { ALIBABA_CLOUD_METADATA_HARDENED: 'false' }, { cloud: { alibaba: { metadataHardened: false } } }],
    ['POD_MTU low edge', { POD_MTU: '576' }, { dataPlane: { mtu: 576 } }],
    ['POD_MTU', { POD_MTU: '1500' }, { dataPlane: { mtu: 1500 } }],
    ['NETLINK_HELPER', { NETLINK_HELPER: 'off' }, { netlinkHelper: 'off' }],
    ['POOL_CHECK_INTERVAL_MS', { POOL_CHECK_INTERVAL_MS: '100' }, { pool: { checkIntervalMs: 100 } }],
    ['RECONCILE_INTERVAL_SECONDS', { RECONCILE_INTERVAL_SECONDS: '3600' }, { pool: { resyncIntervalMs: 3_600_000 } }],
    ['CLOUD_API_RATE fractional', { CLOUD_API_RATE: '0.5' }, { cloud: { apiRate: 0.5 } }],
    ['CLOUD_API_RATE edges', { CLOUD_API_RATE: '100' }, { cloud: { apiRate: 100 } }],
    ['CLOUD_API_BURST', { CLOUD_API_BURST: '1000' }, { cloud: { apiBurst: 1000 } }],
    ['LEAKED_ENI_CLEANUP_INTERVAL_SECONDS', { LEAKED_ENI_CLEANUP_INTERVAL_SECONDS: '60' }, { pool: { leakCleanup: { intervalMs: 60_000 } } }],
    ['LEAKED_ENI_GRACE_SECONDS', { LEAKED_ENI_GRACE_SECONDS: '0' }, { pool: { leakCleanup: { graceMs: 0 } } }],
    ['DISABLE_LEAKED_ENI_CLEANUP', { DISABLE_LEAKED_ENI_CLEANUP: 'true' }, { pool: { leakCleanup: { enabled: false } } }],
    ['KUBECONFIG (first of a list) wins over in-cluster', { KUBECONFIG: ':/etc/kube/a.yaml:/b.yaml', KUBERNETES_SERVICE_HOST: '10.96.0.1', NODE_NAME: 'n1' }, { kubernetes: { connection: { mode: 'kubeconfig', path: '/etc/kube/a.yaml' } } }],
    ['KUBERNETES_SERVICE_HOST', { KUBERNETES_SERVICE_HOST: '10.96.0.1', NODE_NAME: 'n1' }, { kubernetes: { connection: { mode: 'in-cluster', server: 'https://10.96.0.1:443' } } }],
    ['KUBERNETES_SERVICE_PORT with an IPv6 host', { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443', NODE_NAME: 'n1' }, { kubernetes: { connection: { mode: 'in-cluster', server: 'https://[fd00::1]:6443' } } }],
    ['LOST_DELETE_GRACE_SECONDS', { LOST_DELETE_GRACE_SECONDS: '30', KUBERNETES_SERVICE_HOST: '10.96.0.1', NODE_NAME: 'n1' }, { kubernetes: { lostDeletes: { graceMs: 30_000 } } }],
    ['DISABLE_LOST_DELETE_CLEANUP', { DISABLE_LOST_DELETE_CLEANUP: 'true', KUBERNETES_SERVICE_HOST: '10.96.0.1', NODE_NAME: 'n1' }, { kubernetes: { lostDeletes: { enabled: false } } }],
    ['NODE_STATUS_INTERVAL_SECONDS', { NODE_STATUS_INTERVAL_SECONDS: '5', KUBERNETES_SERVICE_HOST: '10.96.0.1', NODE_NAME: 'n1' }, { kubernetes: { status: { intervalMs: 5000 } } }],
    ['whitespace around values', { WARM_ENI_TARGET: ' 3 ', LOG_LEVEL: ' warn\n' }, { pool: { targets: { warmEniTarget: 3 } }, logging: { level: 'warn' } }],
  ];

  it.each(cases)('%s', (_name, env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected);
  });

  it('covers every documented variable', () => {
    const covered = new Set(cases.flatMap(([, env]) => Object.keys(env)));
    expect(configVariables.map((v) => v.name).filter((name) => !covered.has(name))).toEqual([]);
  });
});

describe('loadConfig rejects bad values, naming the variable, the value and what is allowed', () => {
  const bad: Array<[string, string, string]> = [
    ['CLOUD', 'gcp', 'CLOUD="gcp" is invalid: expected one of aws, azure, alibaba'],
    ['CLUSTER_NAME', '-prod', 'CLUSTER_NAME="-prod" is invalid: expected 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit'],
    ['CLUSTER_NAME', 'c'.repeat(101), `CLUSTER_NAME="${'c'.repeat(101)}" is invalid: expected 1 to 100 letters`],
    ['CLUSTER_NAME', 'my cluster', 'CLUSTER_NAME="my cluster" is invalid'],
    ['NODE_NAME', 'Node_1', 'NODE_NAME="Node_1" is invalid: expected a lower-case DNS subdomain'],
    ['WARM_ENI_TARGET', '-1', 'WARM_ENI_TARGET="-1" is invalid: expected a whole number >= 0'],
    ['WARM_IP_TARGET', 'abc', 'WARM_IP_TARGET="abc" is invalid: expected a whole number >= 0'],
    ['WARM_IP_TARGET', '1.5', 'WARM_IP_TARGET="1.5" is invalid: expected a whole number >= 0'],
    ['WARM_IP_TARGET', '0x10', 'WARM_IP_TARGET="0x10" is invalid: expected a whole number >= 0'],
    ['MINIMUM_IP_TARGET', '1e3', 'MINIMUM_IP_TARGET="1e3" is invalid: expected a whole number >= 0'],
    ['WARM_PREFIX_TARGET', 'one', 'WARM_PREFIX_TARGET="one" is invalid: expected a whole number >= 0'],
    ['ENABLE_PREFIX_DELEGATION', 'yes', 'ENABLE_PREFIX_DELEGATION="yes" is invalid: expected true, false, 1 or 0'],
    ['ENABLE_PREFIX_DELEGATION', '2', 'ENABLE_PREFIX_DELEGATION="2" is invalid: expected true, false, 1 or 0'],
    ['MAX_ENI', '0', 'MAX_ENI="0" is invalid: expected a whole number >= 1'],
    ['MAX_ENI', '-1', 'MAX_ENI="-1" is invalid: expected a whole number >= 1'],
    ['IP_COOLDOWN_PERIOD', '30s', 'IP_COOLDOWN_PERIOD="30s" is invalid: expected a whole number >= 0'],
    ['ADDITIONAL_ENI_TAGS', 'team=net', 'ADDITIONAL_ENI_TAGS="team=net" is invalid: expected a JSON object of string values'],
    ['ADDITIONAL_ENI_TAGS', '["a"]', 'ADDITIONAL_ENI_TAGS="[\\"a\\"]" is invalid: expected a JSON object of string values'],
    ['ADDITIONAL_ENI_TAGS', '{"n":1}', 'ADDITIONAL_ENI_TAGS="{\\"n\\":1}" is invalid'],
    ['ADDITIONAL_ENI_TAGS', '{"vpc-cni.io/cluster":"x"}', 'is invalid: tag keys starting with vpc-cni.io/ or aws: are reserved (found vpc-cni.io/cluster)'],
    ['ADDITIONAL_ENI_TAGS', '{"aws:cloudformation:stack":"x"}', 'are reserved (found aws:cloudformation:stack)'],
    ['ADDITIONAL_ENI_TAGS', JSON.stringify(Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`k${i}`, 'v']))), 'is invalid: expected at most 40 tags, got 41'],
    ['POD_SUBNET_IDS', 'subnet-a,subnet a', 'POD_SUBNET_IDS="subnet-a,subnet a" is invalid: expected comma-separated subnet ids; "subnet a" is not an id'],
    ['POD_SUBNET_IDS', 'subnet-a,subnet-a', 'is invalid: expected comma-separated subnet ids without repeats; subnet-a appears twice'],
    ['POD_SECURITY_GROUP_IDS', 'sg-1;sg-2', 'POD_SECURITY_GROUP_IDS="sg-1;sg-2" is invalid: expected comma-separated security group ids'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL="verbose" is invalid: expected one of trace, debug, info, warn, error'],
    ['METRICS_BIND_ADDRESS', '61678', 'METRICS_BIND_ADDRESS="61678" is invalid: expected host:port with a port from 0 to 65535'],
    ['METRICS_BIND_ADDRESS', '0.0.0.0:65536', 'METRICS_BIND_ADDRESS="0.0.0.0:65536" is invalid: expected host:port'],
    ['METRICS_BIND_ADDRESS', ':::1', 'METRICS_BIND_ADDRESS=":::1" is invalid'],
    ['METRICS_BIND_ADDRESS', 'host:port', 'METRICS_BIND_ADDRESS="host:port" is invalid'],
    ['INTROSPECTION_BIND_ADDRESS', '0.0.0.0:61679', 'INTROSPECTION_BIND_ADDRESS="0.0.0.0:61679" is invalid: expected host:port with a loopback host (127.0.0.1, [::1] or localhost) and a port from 0 to 65535; 0.0.0.0 is not a loopback address'],
    ['INTROSPECTION_BIND_ADDRESS', '10.0.0.1:61679', 'is invalid: expected host:port with a loopback host'],
    ['INTROSPECTION_BIND_ADDRESS', '[::]:61679', ':: is not a loopback address'],
    ['STATE_DIR', 'var/run', 'STATE_DIR="var/run" is invalid: expected an absolute path'],
    ['IPAMD_SOCKET', 'ipamd.sock', 'IPAMD_SOCKET="ipamd.sock" is invalid: expected an absolute path'],
    ['CNI_CONF_DIR', './net.d', 'CNI_CONF_DIR="./net.d" is invalid: expected an absolute path'],
    ['CNI_BIN_DIR', 'bin', 'CNI_BIN_DIR="bin" is invalid: expected an absolute path'],
    ['AWS_EC2_METADATA_SERVICE_ENDPOINT', '169.254.169.254', 'AWS_EC2_METADATA_SERVICE_ENDPOINT="169.254.169.254" is invalid: expected an http:// or https:// URL'],
    ['AWS_REGION', 'US East 1', 'AWS_REGION="US East 1" is invalid: expected a region name such as us-east-1'],
    ['AWS_ENDPOINT_URL_EC2', 'ftp://ec2.local', 'AWS_ENDPOINT_URL_EC2="ftp://ec2.local" is invalid: expected an http:// or https:// URL'],
    ['AZURE_ARM_ENDPOINT', 'management.azure.com', 'AZURE_ARM_ENDPOINT="management.azure.com" is invalid: expected an http:// or https:// URL'],
    ['AZURE_SUBSCRIPTION_ID', 'prod', 'AZURE_SUBSCRIPTION_ID="prod" is invalid: expected a subscription id (a GUID)'],
    ['ALIBABA_CLOUD_ECS_ENDPOINT', 'ftp://ecs.local', 'ALIBABA_CLOUD_ECS_ENDPOINT="ftp://ecs.local" is invalid: expected host[:port] or http(s)://host[:port] without a path'],
    ['ALIBABA_CLOUD_ECS_ENDPOINT', 'http://ecs.local/api', 'ALIBABA_CLOUD_ECS_ENDPOINT="http://ecs.local/api" is invalid: expected host[:port]'],
    ['ALIBABA_CLOUD_METADATA_ENDPOINT', '100.100.100.200', 'ALIBABA_CLOUD_METADATA_ENDPOINT="100.100.100.200" is invalid: expected an http:// or https:// URL'],
    ['ALIBABA_CLOUD_REGION_ID', 'Hangzhou', 'ALIBABA_CLOUD_REGION_ID="Hangzhou" is invalid: expected a region id such as cn-hangzhou'],
    ['ALIBABA_CLOUD_METADATA_HARDENED', 'yes', 'ALIBABA_CLOUD_METADATA_HARDENED="yes" is invalid: expected true, false, 1 or 0'],
    ['POD_MTU', '575', 'POD_MTU="575" is invalid: expected a whole number from 576 to 9001'],
    ['POD_MTU', '9002', 'POD_MTU="9002" is invalid: expected a whole number from 576 to 9001'],
    ['POOL_CHECK_INTERVAL_MS', '99', 'POOL_CHECK_INTERVAL_MS="99" is invalid: expected a whole number from 100 to 60000'],
    ['POOL_CHECK_INTERVAL_MS', '60001', 'POOL_CHECK_INTERVAL_MS="60001" is invalid: expected a whole number from 100 to 60000'],
    ['RECONCILE_INTERVAL_SECONDS', '0', 'RECONCILE_INTERVAL_SECONDS="0" is invalid: expected a whole number from 1 to 3600'],
    ['CLOUD_API_RATE', '0.05', 'CLOUD_API_RATE="0.05" is invalid: expected a number from 0.1 to 100'],
    ['CLOUD_API_RATE', '101', 'CLOUD_API_RATE="101" is invalid: expected a number from 0.1 to 100'],
    ['CLOUD_API_RATE', 'fast', 'CLOUD_API_RATE="fast" is invalid: expected a number from 0.1 to 100'],
    ['CLOUD_API_BURST', '0', 'CLOUD_API_BURST="0" is invalid: expected a whole number from 1 to 1000'],
    ['CLOUD_API_BURST', '2.5', 'CLOUD_API_BURST="2.5" is invalid: expected a whole number from 1 to 1000'],
    ['LEAKED_ENI_CLEANUP_INTERVAL_SECONDS', '59', 'LEAKED_ENI_CLEANUP_INTERVAL_SECONDS="59" is invalid: expected a whole number from 60 to 86400'],
    ['LEAKED_ENI_GRACE_SECONDS', '86401', 'LEAKED_ENI_GRACE_SECONDS="86401" is invalid: expected a whole number from 0 to 86400'],
    ['DISABLE_LEAKED_ENI_CLEANUP', 'on', 'DISABLE_LEAKED_ENI_CLEANUP="on" is invalid: expected true, false, 1 or 0'],
    ['KUBERNETES_SERVICE_HOST', 'api server', 'KUBERNETES_SERVICE_HOST="api server" is invalid: expected a host name or an IP address'],
    ['KUBERNETES_SERVICE_PORT', '0', 'KUBERNETES_SERVICE_PORT="0" is invalid: expected a whole number from 1 to 65535'],
    ['KUBECONFIG', ':', 'KUBECONFIG=":" is invalid: expected the path of a kubeconfig file'],
    ['LOST_DELETE_GRACE_SECONDS', '0', 'LOST_DELETE_GRACE_SECONDS="0" is invalid: expected a whole number from 1 to 86400'],
    ['DISABLE_LOST_DELETE_CLEANUP', 'no', 'DISABLE_LOST_DELETE_CLEANUP="no" is invalid: expected true, false, 1 or 0'],
    ['NODE_STATUS_INTERVAL_SECONDS', '4', 'NODE_STATUS_INTERVAL_SECONDS="4" is invalid: expected a whole number from 5 to 3600'],
  ];

  it.each(bad)('%s=%j', (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
    expect(problems[0]).toContain(name);
  });

  it('reports several bad variables together, in the documented order, with the raw values', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ POD_MTU: '100', WARM_IP_TARGET: 'abc', LOG_LEVEL: 'loud', MAX_ENI: '0', WARM_ENI_TARGET: '2' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.problems.map((p) => [p.variable, p.value])).toEqual([
      ['WARM_IP_TARGET', 'abc'],
      ['MAX_ENI', '0'],
      ['LOG_LEVEL', 'loud'],
      ['POD_MTU', '100'],
    ]);
    expect(error?.message).toBe(
      [
        'invalid ipamd configuration (4 problems):',
        '- WARM_IP_TARGET="abc" is invalid: expected a whole number >= 0',
        '- MAX_ENI="0" is invalid: expected a whole number >= 1',
        '- LOG_LEVEL="loud" is invalid: expected one of trace, debug, info, warn, error',
        '- POD_MTU="100" is invalid: expected a whole number from 576 to 9001',
      ].join('\n'),
    );
  });

  it('a single problem reads as one', () => {
    expect(() => loadConfig({ CLOUD: 'gcp' })).toThrow('invalid ipamd configuration (1 problem):\n- CLOUD="gcp" is invalid: expected one of aws, azure, alibaba');
  });

  it('shortens very long values in the message', () => {
    const [problem] = problemsOf({ CLUSTER_NAME: `-${'x'.repeat(500)}` });
    expect(problem?.length).toBeLessThan(400);
    expect(problem).toContain('..."');
  });
});

describe('cross-field rules', () => {
  it('prefix delegation with an explicit WARM_ENI_TARGET is allowed, with a warning', () => {
    const config = loadConfig({ ENABLE_PREFIX_DELEGATION: 'true', WARM_ENI_TARGET: '2' });
    expect(config.pool.targets.warmEniTarget).toBe(2);
    expect(config.warnings).toEqual(['WARM_ENI_TARGET=2 is ignored because ENABLE_PREFIX_DELEGATION=true: the warm pool is sized by WARM_PREFIX_TARGET=1']);
  });

  it('no warning for the default WARM_ENI_TARGET or an explicit 0 under prefix delegation', () => {
    expect(loadConfig({ ENABLE_PREFIX_DELEGATION: 'true' }).warnings).toEqual([]);
    expect(loadConfig({ ENABLE_PREFIX_DELEGATION: 'true', WARM_ENI_TARGET: '0' }).warnings).toEqual([]);
  });

  it('MINIMUM_IP_TARGET without WARM_IP_TARGET is valid; the warning says the pool stops at the minimum', () => {
    const config = loadConfig({ MINIMUM_IP_TARGET: '10' });
    expect(config.pool.targets.minimumIpTarget).toBe(10);
    expect(config.warnings).toEqual([
      'MINIMUM_IP_TARGET=10 without WARM_IP_TARGET: the pool holds 10 addresses and does not grow once they are all in use; set WARM_IP_TARGET to keep free addresses beyond them',
    ]);
  });

  it('IP targets override an explicit WARM_ENI_TARGET or WARM_PREFIX_TARGET, with a warning', () => {
    expect(loadConfig({ WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10', WARM_ENI_TARGET: '1' }).warnings).toEqual([
      'WARM_ENI_TARGET=1 is ignored because WARM_IP_TARGET=5 and MINIMUM_IP_TARGET=10 take precedence',
    ]);
    expect(loadConfig({ WARM_IP_TARGET: '5', ENABLE_PREFIX_DELEGATION: '1', WARM_PREFIX_TARGET: '2' }).warnings).toEqual([
      'WARM_PREFIX_TARGET=2 is ignored because WARM_IP_TARGET=5 take precedence',
    ]);
  });

  it('WARM_PREFIX_TARGET without prefix delegation, and a zero prefix target, are pointed out', () => {
    expect(loadConfig({ WARM_PREFIX_TARGET: '2' }).warnings).toEqual(['WARM_PREFIX_TARGET=2 has no effect without ENABLE_PREFIX_DELEGATION=true']);
    expect(loadConfig({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '0' }).warnings[0]).toMatch(/^ENABLE_PREFIX_DELEGATION=true with WARM_PREFIX_TARGET=0 keeps no warm prefix/);
  });

  it('a problem stops loading even when the rest would only warn', () => {
    expect(problemsOf({ ENABLE_PREFIX_DELEGATION: 'true', WARM_ENI_TARGET: 'x' })).toEqual(['WARM_ENI_TARGET="x" is invalid: expected a whole number >= 0']);
  });
});

describe('defaults that depend on the cloud', () => {
  it('Azure keeps 16 addresses warm unless a target is set, since a NIC holds 255', () => {
    expect(loadConfig({ CLOUD: 'azure' }).pool.targets).toMatchObject({ warmIpTarget: 16, minimumIpTarget: 0 });
    expect(loadConfig({ CLOUD: 'aws' }).pool.targets.warmIpTarget).toBe(0);
    expect(loadConfig({ CLOUD: 'azure', WARM_IP_TARGET: '4' }).pool.targets.warmIpTarget).toBe(4);
    expect(loadConfig({ CLOUD: 'azure', MINIMUM_IP_TARGET: '30' }).pool.targets).toMatchObject({ warmIpTarget: 0, minimumIpTarget: 30 });
    const eniTarget = loadConfig({ CLOUD: 'azure', WARM_ENI_TARGET: '1' });
    expect(eniTarget.pool.targets.warmIpTarget).toBe(0);
    expect(eniTarget.warnings.join('\n')).toContain('WARM_ENI_TARGET=1 on Azure keeps 1 whole NIC');
  });

  it('POD_MTU follows the cloud network unless set', () => {
    expect(loadConfig({ CLOUD: 'azure', POD_MTU: '9000' }).dataPlane.mtu).toBe(9000);
    expect(loadConfig({ CLOUD: 'aws', POD_MTU: '1500' }).dataPlane.mtu).toBe(1500);
  });
});

describe('the pool targets', () => {
  it('map the defaults', () => {
    expect(loadConfig({}).pool.targets).toEqual({ mode: 'ips', warmEniTarget: 1, warmIpTarget: 0, minimumIpTarget: 0, warmPrefixTarget: 1, maxEni: 0 });
  });

  it('map prefix mode and every target', () => {
    const env = { ENABLE_PREFIX_DELEGATION: 'true', WARM_ENI_TARGET: '0', WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '20', WARM_PREFIX_TARGET: '2', MAX_ENI: '3' };
    expect(loadConfig(env).pool.targets).toEqual({ mode: 'prefixes', warmEniTarget: 0, warmIpTarget: 5, minimumIpTarget: 20, warmPrefixTarget: 2, maxEni: 3 });
  });
});

describe('configVariables', () => {
  it('documents every variable once, with a default and a description', () => {
    const names = configVariables.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toHaveLength(49);
    for (const v of configVariables) {
      expect(v.name).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(v.default.length).toBeGreaterThan(0);
      expect(v.description.length).toBeGreaterThan(10);
    }
  });

  it('its defaults are what loadConfig uses', () => {
    const byName = new Map(configVariables.map((v) => [v.name, v.default]));
    const config = loadConfig({});
    expect(byName.get('WARM_ENI_TARGET')).toBe(String(config.pool.targets.warmEniTarget));
    expect(byName.get('POD_MTU')).toBe(`${config.dataPlane.mtu} on aws, ${loadConfig({ CLOUD: 'azure' }).dataPlane.mtu} on azure and alibaba`);
    expect(loadConfig({ CLOUD: 'alibaba' }).dataPlane.mtu).toBe(1500);
    expect(byName.get('METRICS_BIND_ADDRESS')).toBe(`${config.endpoints.metrics?.host}:${config.endpoints.metrics?.port}`);
    expect(byName.get('INTROSPECTION_BIND_ADDRESS')).toBe(`${config.endpoints.introspection?.host}:${config.endpoints.introspection?.port}`);
    expect(byName.get('STATE_DIR')).toBe(config.stateDir);
    expect(byName.get('CLOUD_API_RATE')).toBe(String(config.cloud.apiRate));
    expect(byName.get('AWS_EC2_METADATA_SERVICE_ENDPOINT')).toBe(config.cloud.aws.imdsEndpoint);
  });

  it('every documented variable is read by loadConfig', () => {
    // A bad value for each documented variable must be reported under that variable's name.
    for (const { name } of configVariables) {
      const problems = problemsOf({ [name]: '\u0000bad value\u0000' });
      expect(problems, name).toHaveLength(1);
      expect(problems[0]?.startsWith(`${name}=`), name).toBe(true);
    }
  });
});
