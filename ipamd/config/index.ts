/**
 * ipamd's configuration: the ONE place that reads it. Every variable is
 * described once in the table of config/variables.ts; that table drives
 * validation (zod), the defaults and the documentation table
 * (`configVariables`) docs/configuration.md is checked against. The loaded
 * configuration comes in groups (config/groups.ts), one per consumer.
 *
 * `loadConfig` is pure: the caller passes `process.env`. A blank value counts
 * as unset. All problems are collected into one `ConfigError`, each naming the
 * variable, the bad value and what is allowed.
 */
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { z } from 'zod';
import type { CloudName } from '../../providers/contract.ts';
import type { IpamdConfig, KubernetesConfig, KubernetesConnection } from './groups.ts';
import { specs, type Parsed, type SpecValue, type Specs } from './variables.ts';
import { crossFieldWarnings } from './warnings.ts';

export type * from './groups.ts';
export { configVariables, type ConfigVariable } from './variables.ts';

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
  const cloud = get('CLOUD');
  const nodeName = parsed.NODE_NAME;
  const connection = kubernetesConnection(parsed.KUBECONFIG, parsed.KUBERNETES_SERVICE_HOST, get('KUBERNETES_SERVICE_PORT'));
  if (connection.mode !== 'off' && !nodeName) {
    const why = connection.mode === 'kubeconfig' ? 'KUBECONFIG is set' : 'KUBERNETES_SERVICE_HOST is set';
    throw new ConfigError([
      {
        variable: 'NODE_NAME',
        value: undefined,
        message: `NODE_NAME is required when the Kubernetes integration is on (${why}): set it to the node's name (in a pod: fieldRef spec.nodeName)`,
      },
    ]);
  }
  const kubernetes: KubernetesConfig | undefined =
    connection.mode === 'off' || !nodeName
      ? undefined
      : {
          connection,
          nodeName,
          lostDeletes: { enabled: !get('DISABLE_LOST_DELETE_CLEANUP'), graceMs: get('LOST_DELETE_GRACE_SECONDS') * 1000 },
          status: { intervalMs: get('NODE_STATUS_INTERVAL_SECONDS') * 1000 },
        };
  const config: IpamdConfig = {
    cloud: {
      name: cloud,
      apiRate: get('CLOUD_API_RATE'),
      apiBurst: get('CLOUD_API_BURST'),
      aws: { imdsEndpoint: get('AWS_EC2_METADATA_SERVICE_ENDPOINT'), region: parsed.AWS_REGION, ec2Endpoint: parsed.AWS_ENDPOINT_URL_EC2 },
      azure: {
        armEndpoint: get('AZURE_ARM_ENDPOINT'),
        allowInsecureHttp: get('AZURE_ARM_ALLOW_INSECURE_HTTP'),
        imdsEndpoint: get('AZURE_IMDS_ENDPOINT'),
        subscriptionId: parsed.AZURE_SUBSCRIPTION_ID,
        resourceGroup: parsed.AZURE_RESOURCE_GROUP,
      },
      alibaba: {
        ecsEndpoint: parsed.ALIBABA_CLOUD_ECS_ENDPOINT,
        metadataEndpoint: get('ALIBABA_CLOUD_METADATA_ENDPOINT'),
        regionId: parsed.ALIBABA_CLOUD_REGION_ID,
        metadataHardened: get('ALIBABA_CLOUD_METADATA_HARDENED'),
      },
    },
    pool: {
      clusterName: get('CLUSTER_NAME'),
      nodeName,
      targets: {
        mode: get('ENABLE_PREFIX_DELEGATION') ? 'prefixes' : 'ips',
        warmEniTarget: get('WARM_ENI_TARGET'),
        warmIpTarget: defaultWarmIpTarget(cloud, get('WARM_IP_TARGET'), isSet('WARM_IP_TARGET') || isSet('MINIMUM_IP_TARGET') || isSet('WARM_ENI_TARGET')),
        minimumIpTarget: get('MINIMUM_IP_TARGET'),
        warmPrefixTarget: get('WARM_PREFIX_TARGET'),
        maxEni: parsed.MAX_ENI ?? 0,
      },
      cooldownMs: get('IP_COOLDOWN_PERIOD') * 1000,
      podSubnetIds: get('POD_SUBNET_IDS'),
      podSecurityGroupIds: get('POD_SECURITY_GROUP_IDS'),
      extraTags: get('ADDITIONAL_ENI_TAGS'),
      checkIntervalMs: get('POOL_CHECK_INTERVAL_MS'),
      resyncIntervalMs: get('RECONCILE_INTERVAL_SECONDS') * 1000,
      leakCleanup: {
        enabled: !get('DISABLE_LEAKED_ENI_CLEANUP'),
        intervalMs: get('LEAKED_ENI_CLEANUP_INTERVAL_SECONDS') * 1000,
        graceMs: get('LEAKED_ENI_GRACE_SECONDS') * 1000,
      },
    },
    api: {
      socketPath: parsed.IPAMD_SOCKET ?? posix.join(stateDir, 'ipamd.sock'),
      cniConfDir: get('CNI_CONF_DIR'),
      cniBinDir: get('CNI_BIN_DIR'),
    },
    kubernetes,
    dataPlane: {
      mtu: isSet('POD_MTU') ? get('POD_MTU') : defaultPodMtu[cloud],
      snat: { external: get('EXTERNAL_SNAT'), excludeCidrs: get('EXCLUDE_SNAT_CIDRS') },
    },
    endpoints: { metrics: get('METRICS_BIND_ADDRESS'), introspection: get('INTROSPECTION_BIND_ADDRESS') },
    logging: { level: get('LOG_LEVEL') },
    netlinkHelper: get('NETLINK_HELPER'),
    stateDir,
    warnings: [],
  };
  const azure = config.cloud.azure;
  if (cloud === 'azure' && azure.armEndpoint.toLowerCase().startsWith('http://') && !azure.allowInsecureHttp) {
    throw new ConfigError([
      {
        variable: 'AZURE_ARM_ENDPOINT',
        value: azure.armEndpoint,
        message: `AZURE_ARM_ENDPOINT=${display(azure.armEndpoint)} is plain http, which would send bearer tokens unencrypted: use https, or set AZURE_ARM_ALLOW_INSECURE_HTTP=true (for the emulator only)`,
      },
    ]);
  }
  config.warnings = crossFieldWarnings(config, isSet);
  return config;
}

/** The cloud network's frame size: EC2 carries jumbo frames inside a VPC, Azure and Alibaba VPCs 1500. */
const defaultPodMtu: Record<CloudName, number> = { aws: 9001, azure: 1500, alibaba: 1500 };

/**
 * Azure grows the pool on a fixed set of NICs of 255 pod addresses each: a
 * warm interface's worth (the AWS-style default) would take 255 addresses per
 * node. Without any target set, keep 16 free, Azure CNI's allocation batch.
 */
function defaultWarmIpTarget(cloud: CloudName, value: number, anyTargetSet: boolean): number {
  return cloud === 'azure' && !anyTargetSet ? 16 : value;
}

function kubernetesConnection(kubeconfig: string | undefined, serviceHost: string | undefined, servicePort: number): KubernetesConnection {
  if (kubeconfig) return { mode: 'kubeconfig', path: kubeconfig };
  if (!serviceHost) return { mode: 'off' };
  return { mode: 'in-cluster', server: `https://${isIP(serviceHost) === 6 ? `[${serviceHost}]` : serviceHost}:${servicePort}` };
}
