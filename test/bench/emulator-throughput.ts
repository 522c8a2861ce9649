/**
 * Can the emulator keep up with the scale simulations? Several processes of
 * concurrent real EC2 SDK clients drive a mix of calls at zero configured
 * latency, against the emulator in its own process and, in the same run,
 * against a reference server that answers without doing any work. The
 * emulator's own CPU time per call is read from /proc: it says how many
 * calls one core could serve, whatever the load generators cost.
 */
import { CreateNetworkInterfaceCommand, DescribeInstancesCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startJsonChild, stopChild } from './child.ts';
import type { LoadResult, LoadSpec } from './ec2-load.ts';
import { fmt, summarize, type Summary } from './stats.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
// `node --import tsx` rather than the tsx CLI: the CLI forks, and /proc must see the server itself.
const runTs = (script: string, ...args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', `${root}${script}`, ...args]];

export interface ThroughputResult {
  target: string;
  calls: number;
  errors: number;
  firstError?: string;
  seconds: number;
  callsPerSecond: number;
  latencyMs: Summary;
  /** CPU milliseconds the server process spent per call. */
  serverCpuMsPerCall: number;
}

export interface ThroughputOptions {
  processes: number;
  workersPerProcess: number;
  seconds: number;
}

/** utime + stime of a process, in milliseconds. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

async function fixture(endpoint: string, count: number): Promise<{ subnetId: string; interfaceIds: string[] }> {
  const client = new EC2Client({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    const subnets = await client.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:Name', Values: ['*-pods-1'] }] }));
    const subnetId = subnets.Subnets?.[0]?.SubnetId ?? '';
    const instances = await client.send(new DescribeInstancesCommand({}));
    const groupId = instances.Reservations?.[0]?.Instances?.[0]?.NetworkInterfaces?.[0]?.Groups?.[0]?.GroupId ?? '';
    const interfaceIds: string[] = [];
    for (let i = 0; i < count; i++) {
      const created = await client.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: [groupId], Description: 'bench' }));
      interfaceIds.push(created.NetworkInterface?.NetworkInterfaceId ?? '');
    }
    return { subnetId, interfaceIds };
  } finally {
    client.destroy();
  }
}

async function drive(target: string, serverPid: number, base: Omit<LoadSpec, 'interfaceIds'>, interfaceIds: string[], processes: number): Promise<ThroughputResult> {
  const cpuBefore = cpuMs(serverPid);
  const runs = await Promise.all(
    Array.from({ length: processes }, async (_, p) => {
      const spec: LoadSpec = { ...base, interfaceIds: interfaceIds.slice(p * base.workers, (p + 1) * base.workers) };
      const { child, ready } = await startJsonChild<LoadResult>(...runTs('test/bench/ec2-load.ts', JSON.stringify(spec)), (base.seconds + 30) * 1000);
      await stopChild(child);
      return ready;
    }),
  );
  const cpu = cpuMs(serverPid) - cpuBefore;
  const latencies = runs.flatMap((run) => run.latenciesMs);
  const seconds = Math.max(...runs.map((run) => run.seconds));
  const firstError = runs.find((run) => run.firstError)?.firstError;
  return {
    target,
    calls: latencies.length,
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    ...(firstError ? { firstError } : {}),
    seconds,
    callsPerSecond: latencies.length / seconds,
    latencyMs: summarize(latencies),
    serverCpuMsPerCall: cpu / latencies.length,
  };
}

const fromEnv = (name: string, fallback: number): number => (process.env[name] ? Number(process.env[name]) : fallback);

export async function benchEmulatorThroughput(
  options: ThroughputOptions = { processes: fromEnv('BENCH_EMU_PROCESSES', 2), workersPerProcess: fromEnv('BENCH_EMU_WORKERS', 3), seconds: fromEnv('BENCH_EMU_SECONDS', 5) },
): Promise<{ emulator: ThroughputResult; reference: ThroughputResult }> {
  const emulator = await startJsonChild<{ api: string }>(...runTs('emulator/cluster/cli.ts', 'up', '--no-dataplane', '--json', '--nodes', '1'));
  const reference = await startJsonChild<{ ec2: string }>(...runTs('test/bench/reference-server.ts'));
  try {
    const workers = options.processes * options.workersPerProcess;
    const emulatorFixture = await fixture(emulator.ready.api, workers);
    const spec = (endpoint: string, subnetId: string, seconds: number): Omit<LoadSpec, 'interfaceIds'> => ({
      endpoint,
      subnetId,
      workers: options.workersPerProcess,
      clients: Math.max(1, options.workersPerProcess / 2),
      seconds,
    });
    // Warm both servers (JIT) before measuring.
    await drive('warm-up', emulator.child.pid ?? 0, spec(emulator.ready.api, emulatorFixture.subnetId, 1), emulatorFixture.interfaceIds, 1);
    const referenceResult = await drive('reference server', reference.child.pid ?? 0, spec(reference.ready.ec2, 'subnet-reference', options.seconds), [], options.processes);
    const emulatorResult = await drive('emulator', emulator.child.pid ?? 0, spec(emulator.ready.api, emulatorFixture.subnetId, options.seconds), emulatorFixture.interfaceIds, options.processes);
    return { emulator: emulatorResult, reference: referenceResult };
  } finally {
    await stopChild(emulator.child);
    await stopChild(reference.child);
  }
}

export function printThroughput(result: { emulator: ThroughputResult; reference: ThroughputResult }): void {
  const rows = [result.reference, result.emulator];
  console.log('\nEmulator throughput: concurrent EC2 SDK clients in separate processes, zero configured latency');
  console.log('target              calls  errors  calls/s  p50 ms  p99 ms  max ms  server CPU ms/call');
  for (const r of rows) {
    console.log(
      `${r.target.padEnd(17)} ${String(r.calls).padStart(7)} ${String(r.errors).padStart(7)} ${fmt(r.callsPerSecond, 0).padStart(8)} ${fmt(r.latencyMs.p50).padStart(7)} ${fmt(r.latencyMs.p99).padStart(7)} ${fmt(r.latencyMs.max).padStart(7)} ${fmt(r.serverCpuMsPerCall, 3).padStart(19)}`,
    );
  }
  if (result.emulator.firstError) console.log(`first emulator error: ${result.emulator.firstError}`);
  const e = result.emulator;
  console.log(`ratio emulator / reference: throughput ${fmt(e.callsPerSecond / result.reference.callsPerSecond)}, server CPU per call ${fmt(e.serverCpuMsPerCall / result.reference.serverCpuMsPerCall)}`);
  console.log(`one core of emulator could serve about ${fmt(1000 / e.serverCpuMsPerCall, 0)} calls/s`);
  const pass = e.callsPerSecond >= 1000 && e.latencyMs.p99 < 20 && e.errors === 0;
  console.log(`target (>= 1,000 calls/s served, p99 < 20 ms, no errors): ${pass ? 'met' : 'NOT met'}`);
}
