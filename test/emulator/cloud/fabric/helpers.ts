import { spawn, spawnSync } from 'node:child_process';
import { CloudModel, type Instance, type SecurityGroup, type Subnet } from '../../../../emulator/cloud/model/cloud.ts';
import { awsInstanceCatalog } from '../../../../providers/catalogs/catalog.ts';
import { VpcBox, type VpcBoxOptions } from '../../../../emulator/cloud/fabric/index.ts';
import { ruleInput } from '../../../../emulator/cloud/model/security-limits.ts';

/**
 * Shared fixtures for the data-plane tests. They need root and iproute2 and
 * fail (never skip) without them: a silently skipped data-plane suite would
 * hide exactly the breakage it exists to catch.
 */

export function requireHost(): void {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`data-plane tests must run as root (uid is ${uid})`);
  const ip = spawnSync('ip', ['-V']);
  if (ip.error || ip.status !== 0) throw new Error(`data-plane tests need iproute2's ip: ${ip.error?.message ?? ip.stderr}`);
}

export interface World {
  model: CloudModel;
  box: VpcBox;
  subnetA: Subnet;
  subnetB: Subnet;
  sg: SecurityGroup;
  launch(subnet?: Subnet, type?: string): Promise<Instance>;
}

/** A model with one VPC, two subnets in one zone, and a box built on it. */
export async function buildWorld(options: Omit<VpcBoxOptions, 'model'> = {}): Promise<World> {
  const model = new CloudModel({ catalog: awsInstanceCatalog() });
  const vpc = model.createVpc('us-east-1', ['10.0.0.0/16']);
  const subnetA = model.createSubnet(vpc.id, '10.0.1.0/24', 'us-east-1a');
  const subnetB = model.createSubnet(vpc.id, '10.0.2.0/24', 'us-east-1a');
  const created = model.createSecurityGroup(vpc.id, 'nodes');
  // As a cluster's node group does: members reach each other (a new EC2 group lets nothing in).
  model.security.addRules(created.id, [ruleInput({ direction: 'ingress', action: 'allow', remote: [{ kind: 'group', groupId: created.id }] })]);
  const sg = model.getSecurityGroup(created.id);
  const box = new VpcBox({ model, onError: () => undefined, ...options });
  await box.create();
  const launch = (subnet: Subnet = subnetA, type = 'm5.large'): Promise<Instance> =>
    model.launchInstance({ type, subnetId: subnet.id, securityGroupIds: [sg.id] });
  return { model, box, subnetA, subnetB, sg, launch };
}

/** Runs a command in a node namespace and insists it succeeds. */
export async function inNode(box: VpcBox, instanceId: string, argv: string[]): Promise<string> {
  const result = await box.execInNode(instanceId, argv);
  if (result.code !== 0) throw new Error(`${argv.join(' ')} in ${instanceId}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

const serverScript = `
const [host, port] = process.argv.slice(1);
require('node:net').createServer((s) => s.end('pong\\n')).listen(Number(port), host, () => console.log('ready'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** A TCP server answering `pong` inside a node; close() kills it. */
export async function tcpServer(box: VpcBox, instanceId: string, host: string, port: number): Promise<{ close(): void }> {
  const child = spawn('ip', ['netns', 'exec', box.nodeNamespace(instanceId), process.execPath, '-e', serverScript, host, String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
  return { close: () => child.kill('SIGKILL') };
}

const probeScript = `
const [host, port, localAddress, timeout] = process.argv.slice(1);
const socket = require('node:net').connect({ host, port: Number(port), localAddress: localAddress || undefined });
const done = (what) => { console.log(what); process.exit(0); };
setTimeout(() => done('timeout'), Number(timeout));
socket.on('data', (data) => done(String(data).trim() === 'pong' ? 'ok' : 'bad'));
socket.on('error', (e) => done('error ' + e.code));
`;

/** Connects from a node to host:port (optionally from a given source); 'ok', 'timeout' or 'error CODE'. */
export async function tcpProbe(
  box: VpcBox,
  instanceId: string,
  target: { host: string; port: number; localAddress?: string; timeoutMs?: number },
): Promise<string> {
  const argv = [process.execPath, '-e', probeScript, target.host, String(target.port), target.localAddress ?? '', String(target.timeoutMs ?? 1000)];
  return (await inNode(box, instanceId, argv)).trim();
}

/** A counter of the fabric's /proc/net/netstat (e.g. TcpExt IPReversePathFilter). */
export async function fabricCounter(box: VpcBox, group: string, name: string): Promise<number> {
  const result = await box.execInFabric(['cat', '/proc/net/netstat']);
  const lines = result.stdout.split('\n').filter((line) => line.startsWith(`${group}:`));
  const [header, values] = lines.map((line) => line.split(/\s+/).slice(1));
  const index = header?.indexOf(name) ?? -1;
  if (index < 0 || !values) throw new Error(`no counter ${group}.${name}`);
  return Number(values[index]);
}
