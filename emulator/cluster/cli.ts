#!/usr/bin/env node
/**
 * `vpc-emulator`: the local cloud. `demo` (the README's main job) runs a
 * cluster with ipamd and pods; `up` builds a VPC with N nodes (with the real
 * data plane when root), prints its endpoints and serves until Ctrl-C;
 * `sweep` removes boxes left by processes that died.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CloudName } from '../../providers/contract.ts';
import { cloudNames, cloudProfiles, inBoxApiHost } from './clouds.ts';
import { sweepStaleBoxes, VpcBox } from '../cloud/fabric/index.ts';
import { Emulator } from '../cloud/emulator.ts';
import { realisticPreset } from '../cloud/realism/settings.ts';
import { buildTopology } from '../cloud/topology.ts';
import { runDemo } from './demo.ts';
import { runTour } from './tour.ts';

// The lock file pins an SDK that supports Node 20; its per-client upgrade notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function positiveInt(max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < 1 || value > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    return value;
  };
}

function port(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return value;
}

interface UpOptions {
  cloud: CloudName;
  nodes: number;
  instanceType?: string;
  host: string;
  port: number;
  dataplane: boolean;
  realistic: boolean;
  tour: boolean;
  once: boolean;
  json: boolean;
}

async function up(options: UpOptions): Promise<void> {
  const profile = cloudProfiles[options.cloud];
  const instanceType = options.instanceType ?? profile.defaultInstanceType;
  const emulator = new Emulator({ cloud: options.cloud, ...(options.realistic ? { realism: realisticPreset } : {}) });
  if (!emulator.model.catalog.has(instanceType)) throw new InvalidArgumentError(`unknown instance type ${instanceType}`);
  const workDir = await mkdtemp(join(tmpdir(), 'vpc-emulator-'));
  const socketPath = join(workDir, 'api.sock');
  let box: VpcBox | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      await box?.destroy().catch((err: Error) => process.stderr.write(`teardown: ${err.message}\n`));
      await emulator.close();
      await rm(workDir, { recursive: true, force: true });
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(130));
  process.on('SIGTERM', () => void stop(143));
  try {
    const { url } = await emulator.listen({ host: options.host, port: options.port, socketPath });
    if (options.dataplane) {
      box = new VpcBox({ model: emulator.model, apiSocketPath: socketPath });
      await box.create();
    }
    const topology = await buildTopology(emulator.model, { ...profile.topology, region: profile.region, zone: profile.zone, nodes: options.nodes, instanceType });
    await box?.idle();
    const endpoints = {
      cloud: options.cloud,
      instanceType,
      api: url,
      state: `${url}/_emulator/state`,
      socket: socketPath,
      region: topology.vpc.region,
      nodes: topology.instances.map((instance) => ({
        instanceId: instance.id,
        namespace: box?.nodeNamespace(instance.id) ?? null,
        primaryIp: emulator.model.getInterface(instance.primaryInterfaceId).primaryIp,
        imds: `${url}/_instance/${instance.id}`,
      })),
      insideBox: box ? { metadata: inBoxMetadata[options.cloud], api: `http://${inBoxApiHost}` } : null,
      fabricNamespace: box?.fabricNamespace ?? null,
    };
    if (options.json) {
      process.stdout.write(`${JSON.stringify(endpoints)}\n`);
    } else {
      printEndpoints(endpoints, options);
      if (options.tour) await runTour({ emulator, topology, box, url });
    }
    if (options.once) await stop(0);
    if (!options.json) process.stdout.write('\nServing. Press Ctrl-C to stop and tear everything down.\n');
    await new Promise<never>(() => undefined);
  } catch (err) {
    process.stderr.write(`vpc-emulator: ${(err as Error).message}\n`);
    await stop(1);
  }
}

interface Endpoints {
  cloud: CloudName;
  instanceType: string;
  api: string;
  state: string;
  region: string;
  nodes: Array<{ instanceId: string; namespace: string | null; primaryIp: string; imds: string }>;
  fabricNamespace: string | null;
}

/** The metadata service's address inside a node, per cloud. */
const inBoxMetadata: Record<CloudName, string> = { aws: 'http://169.254.169.254', azure: 'http://169.254.169.254', alibaba: 'http://100.100.100.200' };

/** How to point each cloud's SDK or CLI at the emulator from the host. */
function usage(endpoints: Endpoints): string[] {
  const metadata = endpoints.nodes[0]?.imds ?? '';
  switch (endpoints.cloud) {
    case 'aws':
      return [
        'Use it with the AWS CLI or SDK:',
        `  export AWS_ENDPOINT_URL_EC2=${endpoints.api} AWS_REGION=${endpoints.region} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`,
        `  export AWS_EC2_METADATA_SERVICE_ENDPOINT=${metadata}`,
      ];
    case 'azure':
      return [
        'Use it with @azure/arm-network (any bearer token is accepted; plain http needs the SDK client option allowInsecureConnection):',
        `  ARM endpoint ${endpoints.api}   subscription and resource group: see ${metadata}/metadata/instance?api-version=2021-02-01 (header Metadata: true)`,
        `  ipamd: CLOUD=azure AZURE_ARM_ENDPOINT=${endpoints.api} AZURE_ARM_ALLOW_INSECURE_HTTP=true AZURE_IMDS_ENDPOINT=${metadata}`,
      ];
    case 'alibaba':
      return [
        'Use it with @alicloud/ecs20140526 (endpoint host:port, protocol http, any access key):',
        `  export ALIBABA_CLOUD_ACCESS_KEY_ID=test ALIBABA_CLOUD_ACCESS_KEY_SECRET=test   # region ${endpoints.region}`,
        `  ipamd: CLOUD=alibaba ALIBABA_CLOUD_ECS_ENDPOINT=${endpoints.api} ALIBABA_CLOUD_METADATA_ENDPOINT=${metadata}`,
      ];
  }
}

function printEndpoints(endpoints: Endpoints, options: UpOptions): void {
  const lines = [
    `Emulated VPC up (${endpoints.cloud}): ${options.nodes} x ${endpoints.instanceType}${options.realistic ? ' (realistic latency, throttling, lag)' : ''}`,
    '',
    `  API            ${endpoints.api}   (region ${endpoints.region}; EC2, ARM and ECS faces)`,
    `  state          ${endpoints.state}`,
    endpoints.fabricNamespace ? `  fabric netns   ${endpoints.fabricNamespace}` : '  data plane     off',
    '',
    '  node            namespace                                  primary IP    metadata (from the host)',
    ...endpoints.nodes.map((n) => `  ${n.instanceId.padEnd(22)}  ${(n.namespace ?? '-').padEnd(42)} ${n.primaryIp.padEnd(13)} ${n.imds}`),
    '',
    ...usage(endpoints),
  ];
  if (endpoints.fabricNamespace) {
    lines.push(
      `Inside a node namespace, the metadata service is at ${inBoxMetadata[endpoints.cloud]} and the API at http://${inBoxApiHost}:`,
      `  ip netns exec ${endpoints.nodes[0]?.namespace ?? ''} ip addr`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const program = new Command('vpc-emulator').description('The local cloud of vpc-cni: EC2, ARM and ECS with their metadata services over one model, with a real data plane.');

program
  .command('up')
  .description('build an emulated VPC with N nodes, print its endpoints and serve until Ctrl-C')
  .addOption(new Option('-c, --cloud <cloud>', 'whose metadata service the instances see (every API face is served)').choices(cloudNames).default('aws'))
  .addOption(new Option('-n, --nodes <count>', 'number of nodes (instances)').default(2).argParser(positiveInt(32)))
  .addOption(new Option('-t, --instance-type <type>', "instance type of the nodes (default: the cloud's demo type)"))
  .addOption(new Option('--host <address>', 'address the API listens on').default('127.0.0.1'))
  .addOption(new Option('-p, --port <port>', 'API port (0 picks a free one)').default(0).argParser(port))
  .option('--no-dataplane', 'serve the APIs only, without namespaces (no root needed)')
  .option('--realistic', 'turn on latency, throttling, eventual consistency and attach delays', false)
  .option('--no-tour', 'skip the guided tour after start-up')
  .option('--once', 'stop after start-up (and the tour) instead of serving', false)
  .option('--json', 'print the endpoints as one JSON line (for scripts; implies no tour)', false)
  .action((options: UpOptions) => up(options));

program
  .command('demo')
  .description('the main job: two nodes, ipamd on each, pods through the plugin, a connectivity matrix, pools, teardown')
  .addOption(new Option('-n, --nodes <count>', 'number of nodes').default(2).argParser(positiveInt(8)))
  .addOption(new Option('-p, --pods <count>', 'pods per node').default(10).argParser(positiveInt(50)))
  .addOption(new Option('-c, --cloud <cloud>', 'whose API and metadata service the nodes use').choices(cloudNames).default('aws'))
  .addOption(new Option('-t, --instance-type <type>', "instance type of the nodes (default: the cloud's demo type, e.g. m5.large)"))
  .addOption(new Option('--cooldown <seconds>', 'IP_COOLDOWN_PERIOD of ipamd in the demo').default(3).argParser(positiveInt(600)))
  .option('--keep', 'keep the cluster up for exploring until Ctrl-C', false)
  .action(async (options: { cloud: CloudName; nodes: number; pods: number; instanceType?: string; cooldown: number; keep: boolean }) => {
    if (process.getuid?.() !== 0) throw new InvalidArgumentError('the demo needs root (network namespaces); use `up --no-dataplane` without it');
    await runDemo({
      cloud: options.cloud,
      nodes: options.nodes,
      podsPerNode: options.pods,
      ...(options.instanceType ? { instanceType: options.instanceType } : {}),
      keep: options.keep,
      cooldownSeconds: options.cooldown,
    });
  });

program
  .command('sweep')
  .description('remove namespaces of boxes whose owning process is gone')
  .action(async () => {
    const removed = await sweepStaleBoxes();
    process.stdout.write(removed.length ? `removed ${removed.join(' ')}\n` : 'nothing to sweep\n');
  });

await program.parseAsync();
