#!/usr/bin/env node
/**
 * `vpc-cni-ipamd`: `run` starts the node daemon from its environment
 * variables; `status` prints the node's pool as a table.
 */
import { Command, InvalidArgumentError } from 'commander';
import { AwsProvider } from '../providers/aws/provider.ts';
import type { NodeProvider } from '../providers/contract.ts';
import { createCallGate } from './cloud/call-gate.ts';
import { ConfigError, loadConfig, poolTargets, type IpamdConfig } from './config.ts';
import { startDaemon } from './daemon.ts';
import { IpRoutePodNetwork } from './dataplane/pod-network.ts';
import { IpRouteHostNetwork } from './host/network.ts';
import type { PoolView } from './introspection.ts';
import { createLogger, type Logger } from './logger.ts';
import { Metrics } from './metrics.ts';
import { renderStatus } from './status-table.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function providerFor(config: IpamdConfig, metrics: Metrics): NodeProvider {
  const wrapCall = createCallGate({
    rate: config.cloudApiRate,
    burst: config.cloudApiBurst,
    onAttempt: (operation, outcome, ms) => metrics.cloudCall(operation, outcome, ms / 1000),
  });
  switch (config.cloud) {
    case 'aws':
      return new AwsProvider({
        imdsEndpoint: config.awsEc2MetadataServiceEndpoint,
        ...(config.awsRegion ? { region: config.awsRegion } : {}),
        ...(config.awsEndpointUrlEc2 ? { ec2Endpoint: config.awsEndpointUrlEc2 } : {}),
        wrapCall,
      });
    default:
      throw new ConfigError([{ variable: 'CLOUD', value: config.cloud, message: `CLOUD="${config.cloud}" is not supported by this build yet: use aws` }]);
  }
}

async function run(): Promise<void> {
  let config: IpamdConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vpc-cni-ipamd: invalid configuration:\n${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger: Logger = createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  const metrics = new Metrics();
  const daemon = await startDaemon({
    provider: providerFor(config, metrics),
    host: new IpRouteHostNetwork(),
    podNetwork: new IpRoutePodNetwork(),
    logger,
    metrics,
    stateDir: config.stateDir,
    socketPath: config.ipamdSocket,
    cniConfDir: config.cniConfDir,
    snat: { external: config.externalSnat, excludeCidrs: config.excludeSnatCidrs },
    targets: poolTargets(config),
    cooldownMs: config.ipCooldownPeriodSeconds * 1000,
    clusterName: config.clusterName,
    ...(config.nodeName ? { nodeName: config.nodeName } : {}),
    podSubnetIds: config.podSubnetIds,
    podSecurityGroupIds: config.podSecurityGroupIds,
    extraTags: config.additionalEniTags,
    mtu: config.podMtu,
    poolCheckIntervalMs: config.poolCheckIntervalMs,
    reconcileIntervalMs: config.reconcileIntervalSeconds * 1000,
    leakCleanup: { enabled: !config.disableLeakedEniCleanup, intervalMs: config.leakedEniCleanupIntervalSeconds * 1000, graceMs: config.leakedEniGraceSeconds * 1000 },
    introspection: config.introspectionBindAddress,
    metricsEndpoint: config.metricsBindAddress,
  });
  logger.info({ socket: config.ipamdSocket, introspection: daemon.introspectionUrl, metrics: daemon.metricsUrl }, 'ipamd serving');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'ipamd stopping');
    void daemon.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function status(options: { url: string; json: boolean }): Promise<void> {
  let response: Response;
  try {
    response = await fetch(new URL('/v1/pool', options.url), { signal: AbortSignal.timeout(5000) });
  } catch (err) {
    process.stderr.write(`vpc-cni-ipamd status: cannot reach ipamd at ${options.url}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (!response.ok) {
    process.stderr.write(`vpc-cni-ipamd status: ${options.url} answered HTTP ${response.status}\n`);
    process.exit(1);
  }
  const view = (await response.json()) as PoolView;
  process.stdout.write(options.json ? `${JSON.stringify(view, null, 2)}\n` : `${renderStatus(view)}\n`);
}

const program = new Command('vpc-cni-ipamd').description('The vpc-cni node daemon: warm pool of VPC addresses for the pods of this node.');
program
  .command('run')
  .description('start the daemon; configuration comes from environment variables (see the README)')
  .action(run);
program
  .command('status')
  .description("print the node's address pool as a table")
  .option('--url <url>', 'introspection endpoint of ipamd', 'http://127.0.0.1:61679')
  .option('--json', 'print the raw JSON instead of a table', false)
  .action(async (options: { url: string; json: boolean }) => {
    try {
      new URL(options.url);
    } catch {
      throw new InvalidArgumentError(`--url ${options.url} is not a URL`);
    }
    await status(options);
  });
await program.parseAsync();
