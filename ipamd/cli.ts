#!/usr/bin/env node
/**
 * `vpc-cni-ipamd`: `run` starts the node daemon from its environment
 * variables; `status` prints the node's pool as a table; `max-pods` prints
 * kubelet's --max-pods for an instance type.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CloudName } from '../providers/contract.ts';
import { createProvider } from './cloud/provider-factory.ts';
import { ConfigError, loadConfig, type IpamdConfig } from './config/index.ts';
import { startDaemon } from './daemon.ts';
import { IpRoutePodNetwork } from './dataplane/pod-network.ts';
import { linkOpsFor } from './dataplane/link-ops-choice.ts';
import { IpRouteHostNetwork } from './dataplane/host-network.ts';
import type { PoolView } from './introspection.ts';
import { createLogger, type Logger } from './common/logger.ts';
import { Metrics } from './common/metrics.ts';
import { renderStatus } from './status-table.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

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
  const logger: Logger = createLogger(config.logging.level);
  for (const warning of config.warnings) logger.warn(warning);
  const metrics = new Metrics();
  const linkOps = await linkOpsFor(config.netlinkHelper, new URL('./vpc-cni', import.meta.url), logger, metrics).catch((err: Error): never => {
    process.stderr.write(`vpc-cni-ipamd: invalid configuration:\n${err.message}\n`);
    process.exit(2);
  });
  const podNetwork = new IpRoutePodNetwork({ linkOps });
  const daemon = await startDaemon({
    provider: await createProvider(config.cloud, metrics),
    host: new IpRouteHostNetwork(),
    podNetwork,
    logger,
    metrics,
    stateDir: config.stateDir,
    pool: config.pool,
    api: config.api,
    dataPlane: config.dataPlane,
    endpoints: config.endpoints,
    ...(config.kubernetes ? { kubernetes: config.kubernetes } : {}),
  }).catch((err: Error): never => {
    // One log line with the cause, rather than an uncaught error printing a line of the minified bundle.
    logger.fatal({ err: err.message, code: (err as { code?: unknown }).code }, 'ipamd could not start');
    process.exit(1);
  });
  logger.info({ socket: config.api.socketPath, introspection: daemon.introspectionUrl, metrics: daemon.metricsUrl }, 'ipamd serving');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'ipamd stopping');
    void daemon
      .stop()
      .then(() => podNetwork.close())
      .then(() => process.exit(0));
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
const wholeNumberOption =
  (flag: string, min: number) =>
  (value: string): number => {
    if (!/^\d{1,9}$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`${flag} expects a whole number >= ${min}, got ${JSON.stringify(value)}`);
    return Number(value);
  };
program
  .command('max-pods')
  .description("print the most pods a node of an instance type can run with this CNI (the value for kubelet's --max-pods)")
  .requiredOption('--instance-type <type>', 'instance type (m5.large), Azure VM size (Standard_D4s_v3) or Alibaba instance type (ecs.g7.large)')
  .addOption(new Option('--cloud <cloud>', 'the cloud of the instance type').choices(['aws', 'azure', 'alibaba']).default('aws'))
  .addOption(new Option('--mode <mode>', 'secondary IPs, or /28 prefixes (ENABLE_PREFIX_DELEGATION=true)').choices(['ips', 'prefixes']).default('ips'))
  .option('--vcpus <count>', "the instance's vCPUs: the cap is 110 below 30, else 250 (default: from the catalog where it has them)", wholeNumberOption('--vcpus', 1))
  .option('--cap <count>', 'cap the result; 0 = no cap (default: by vCPUs, 110 when they are unknown)', wholeNumberOption('--cap', 0))
  .option('--interfaces <count>', 'NICs the VM has, where none can be attached at run time (Azure)', wholeNumberOption('--interfaces', 1))
  .option('--max-eni <count>', 'MAX_ENI of the nodes, when set', wholeNumberOption('--max-eni', 1))
  .option('--explain', 'print the computation, not just the number', false)
  .action(async (options: { instanceType: string; cloud: CloudName; mode: 'ips' | 'prefixes'; vcpus?: number; cap?: number; interfaces?: number; maxEni?: number; explain: boolean }) => {
    const { maxPodsFor, explainMaxPods } = await import('./k8s/max-pods-command.ts');
    try {
      const result = await maxPodsFor(options);
      process.stdout.write(`${options.explain ? explainMaxPods(options, result) : result.maxPods}\n`);
    } catch (err) {
      if ((err as Error).name !== 'MaxPodsError') throw err;
      process.stderr.write(`vpc-cni-ipamd max-pods: ${(err as Error).message}\n`);
      process.exit(1);
    }
  });
await program.parseAsync();
