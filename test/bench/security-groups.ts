/**
 * Security groups in the fabric: how long a change takes to reach the kernel
 * at scale (100 groups × 20 rules × 2,000 member addresses), read against a
 * no-op nft transaction in the same namespace; and what 1,000 rules in the
 * path cost a TCP stream (iperf3 between two nodes) and new connections,
 * read against the same nodes with only the default rules.
 */
import { spawn } from 'node:child_process';
import { CloudModel, type Instance } from '../../emulator/cloud/model/cloud.ts';
import { compileFirewall } from '../../emulator/cloud/model/firewall-plan.ts';
import { ruleInput } from '../../emulator/cloud/model/security-limits.ts';
import { FabricFirewall, namespaceNft } from '../../emulator/cloud/fabric/firewall.ts';
import { VpcBox } from '../../emulator/cloud/fabric/index.ts';
import { boxPrefix, currentOwner, newBoxId } from '../../emulator/cloud/fabric/names.ts';
import { runOk } from '../../lib/command.ts';
import { awsInstanceCatalog } from '../../providers/catalogs/catalog.ts';
import { fmt, summarize } from './stats.ts';

const median = (samples: number[]): number => summarize(samples).p50;

async function timed(op: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await op();
  return performance.now() - started;
}

/** 100 groups of 20 rules naming each other, 100 interfaces of 20 addresses: 2,000 members. */
async function ruleApplyAtScale(): Promise<void> {
  const model = new CloudModel({ catalog: awsInstanceCatalog(), maxAddressesOnCreate: 49 });
  const vpc = model.createVpc('us-east-1', ['10.0.0.0/16']);
  const subnet = model.createSubnet(vpc.id, '10.0.0.0/18', 'us-east-1a');
  const groups = Array.from({ length: 100 }, (_, i) => model.createSecurityGroup(vpc.id, `g${i}`).id);
  groups.forEach((groupId, i) => {
    const rules = Array.from({ length: 20 }, (_, r) =>
      ruleInput({
        direction: 'ingress',
        action: 'allow',
        protocol: r % 2 === 0 ? 'tcp' : 'udp',
        ports: [{ from: 1000 + r, to: 1000 + r }],
        remote: [r % 4 === 0 ? { kind: 'cidr', cidr: `172.16.${i}.${r}/32` } : { kind: 'group', groupId: groups[(i + r) % groups.length] ?? groupId }],
      }),
    );
    model.security.addRules(groupId, rules);
  });
  const nics = groups.map((groupId) => model.createInterface({ subnetId: subnet.id, securityGroupIds: [groupId], secondaryIpCount: 19 }));
  const ports = new Map(nics.map((nic, i) => [nic.id, `fbench${i}`]));
  const addresses = model.securityView().interfaces.reduce((sum, nic) => sum + nic.addresses.length, 0);

  const namespace = `${boxPrefix(newBoxId(), currentOwner())}-bench`;
  await runOk('ip', ['netns', 'add', namespace]);
  try {
    const nft = namespaceNft(namespace);
    const firewall = new FabricFirewall(nft);
    const compileMs = await timed(async () => compileFirewall(model.securityView()));
    const first = await firewall.apply(compileFirewall(model.securityView()), ports);
    const reference: number[] = [];
    const ruleChange: number[] = [];
    const membershipChange: number[] = [];
    for (let round = 0; round < 15; round++) {
      reference.push(await timed(() => nft(`add table ip vpcsg\n`)));
      const group = groups[round] ?? '';
      ruleChange.push(
        await timed(async () => {
          model.security.addRules(group, [ruleInput({ direction: 'ingress', action: 'allow', protocol: 'tcp', ports: [{ from: 2000 + round, to: 2000 + round }], remote: [{ kind: 'cidr', cidr: '192.168.0.0/16' }] })]);
          await firewall.apply(compileFirewall(model.securityView()), ports);
        }),
      );
      const nic = nics[round]?.id ?? '';
      membershipChange.push(
        await timed(async () => {
          await model.assignAddresses(nic, { ipCount: 1 });
          await firewall.apply(compileFirewall(model.securityView()), ports);
        }),
      );
    }
    const ref = median(reference);
    console.log(`security groups at scale: ${groups.length} groups x 20 rules, ${nics.length} interfaces, ${addresses} member addresses`);
    console.log(`  first full apply ${fmt(first.ms, 0)} ms (${first.lines} nft commands); compile alone ${fmt(compileMs, 1)} ms`);
    console.log(`  no-op nft transaction (reference) p50 ${fmt(ref, 1)} ms`);
    console.log(`  rule change (compile + diff + commit) p50 ${fmt(median(ruleChange), 1)} ms = ${fmt(median(ruleChange) / ref)}x reference`);
    console.log(`  membership change (an address assigned) p50 ${fmt(median(membershipChange), 1)} ms = ${fmt(median(membershipChange) / ref)}x reference`);
  } finally {
    await runOk('ip', ['netns', 'del', namespace]);
  }
}

function inNode(box: VpcBox, instance: Instance, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', box.nodeNamespace(instance.id), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')}: ${err || out}`))));
  });
}

async function iperf(box: VpcBox, client: Instance, server: Instance, host: string): Promise<number> {
  const serverProcess = spawn('ip', ['netns', 'exec', box.nodeNamespace(server.id), 'iperf3', '-s', '-1', '-B', host], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  try {
    const report = JSON.parse(await inNode(box, client, ['iperf3', '-c', host, '-t', '3', '-J'])) as { end: { sum_received: { bits_per_second: number } } };
    return report.end.sum_received.bits_per_second / 1e9;
  } finally {
    serverProcess.kill('SIGKILL');
  }
}

const connectScript = `
const [host, port, count] = process.argv.slice(1);
const net = require('node:net');
let done = 0; const started = process.hrtime.bigint();
const one = () => { const s = net.connect({ host, port: Number(port) }, () => { s.destroy(); if (++done === Number(count)) { console.log(Number(process.hrtime.bigint() - started) / 1e6); process.exit(0); } else one(); }); s.on('error', (e) => { console.error(e.message); process.exit(1); }); };
one();
`;

const serverScript = `require('node:net').createServer((s) => s.destroy()).listen(Number(process.argv[1]), () => console.log('ready'));`;

/** 1,000 ARM rules before the one that admits the stream (an NSG holds up to 1,000). */
async function throughputWithRules(): Promise<void> {
  const model = new CloudModel({ catalog: awsInstanceCatalog(), cloud: 'azure' });
  const vpc = model.createVpc('eastus', ['10.0.0.0/16']);
  const subnet = model.createSubnet(vpc.id, '10.0.1.0/24', '1');
  const nsg = model.createSecurityGroup(vpc.id, 'nodes').id;
  const box = new VpcBox({ model, onError: () => undefined });
  await box.create();
  try {
    const [a, b] = [await model.launchInstance({ type: 'm5.large', subnetId: subnet.id, securityGroupIds: [nsg] }), await model.launchInstance({ type: 'm5.large', subnetId: subnet.id, securityGroupIds: [nsg] })];
    if (!a || !b) throw new Error('no nodes');
    await box.idle();
    const host = model.getInterface(b.primaryInterfaceId).primaryIp;
    const server = spawn('ip', ['netns', 'exec', box.nodeNamespace(b.id), process.execPath, '-e', serverScript, '7000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolve) => server.stdout.once('data', resolve));
    const connects = async (): Promise<number> => 1000 / (Number(await inNode(box, a, [process.execPath, '-e', connectScript, host, '7000', '1000'])) / 1000);
    try {
      const measure = async (): Promise<{ gbps: number; connectsPerSecond: number }> => ({ gbps: await iperf(box, a, b, host), connectsPerSecond: await connects() });
      const plain = await measure();
      const rules = Array.from({ length: 1000 }, (_, i) =>
        ruleInput({ id: `deny-${i}`, direction: 'ingress', action: 'deny', priority: 100 + i, protocol: 'tcp', ports: [{ from: 5201, to: 5201 }, { from: 7000, to: 7000 }], remote: [{ kind: 'cidr', cidr: `172.16.${Math.floor(i / 250)}.${i % 250}/32` }] }),
      );
      model.security.replaceRules(nsg, rules);
      await box.idle();
      const heavy = await measure();
      model.security.replaceRules(nsg, []);
      await box.idle();
      const plainAgain = await measure();
      const base = { gbps: (plain.gbps + plainAgain.gbps) / 2, connectsPerSecond: (plain.connectsPerSecond + plainAgain.connectsPerSecond) / 2 };
      console.log('security groups in the path (two nodes, iperf3 3 s; 1,000 sequential connects):');
      console.log(`  default rules only: ${fmt(base.gbps)} Gbit/s, ${fmt(base.connectsPerSecond, 0)} connects/s (mean of a run before and one after)`);
      console.log(`  1,000 rules before the match: ${fmt(heavy.gbps)} Gbit/s = ${fmt(heavy.gbps / base.gbps)}x, ${fmt(heavy.connectsPerSecond, 0)} connects/s = ${fmt(heavy.connectsPerSecond / base.connectsPerSecond)}x`);
    } finally {
      server.kill('SIGKILL');
    }
  } finally {
    await box.destroy();
  }
}

export async function benchSecurityGroups(): Promise<void> {
  await ruleApplyAtScale();
  await throughputWithRules();
}
