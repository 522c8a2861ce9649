/**
 * One load-generating process for the emulator benchmark: W workers over C
 * EC2 SDK clients, each looping assign, unassign, describe interface,
 * describe subnet until the deadline. Prints one JSON line with every
 * latency, so the parent can merge processes into one distribution.
 */
import {
  AssignPrivateIpAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';

export interface LoadSpec {
  endpoint: string;
  subnetId: string;
  interfaceIds: string[];
  workers: number;
  clients: number;
  seconds: number;
}

export interface LoadResult {
  latenciesMs: number[];
  errors: number;
  firstError?: string;
  seconds: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const pool = Array.from({ length: spec.clients }, () => new EC2Client({ region: 'us-east-1', endpoint: spec.endpoint, credentials, maxAttempts: 1 }));
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const deadline = performance.now() + spec.seconds * 1000;
  const timed = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
    const start = performance.now();
    try {
      return await call();
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message;
      return undefined;
    } finally {
      latenciesMs.push(performance.now() - start);
    }
  };
  const worker = async (index: number): Promise<void> => {
    const client = pool[index % pool.length] as EC2Client;
    const interfaceId = spec.interfaceIds[index] ?? 'eni-reference';
    while (performance.now() < deadline) {
      const assigned = await timed(() => client.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: interfaceId, SecondaryPrivateIpAddressCount: 1 })));
      const ip = assigned?.AssignedPrivateIpAddresses?.[0]?.PrivateIpAddress ?? '10.0.16.200';
      await timed(() => client.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: interfaceId, PrivateIpAddresses: [ip] })));
      await timed(() => client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [interfaceId] })));
      await timed(() => client.send(new DescribeSubnetsCommand({ SubnetIds: [spec.subnetId] })));
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: spec.workers }, (_, i) => worker(i)));
  const seconds = (performance.now() - started) / 1000;
  for (const client of pool) client.destroy();
  return { latenciesMs, errors, seconds, ...(firstError ? { firstError } : {}) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  process.stdout.write(`${JSON.stringify(await runLoad(spec))}\n`);
}
