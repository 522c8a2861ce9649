import { AwsProvider } from '../aws/provider.ts';
import type { VpcBox } from './dataplane/index.ts';
import type { Emulator } from './emulator.ts';
import type { Topology } from './topology.ts';

const say = (line = ''): boolean => process.stdout.write(`${line}\n`);

/** What a node sees through IMDSv2, fetched from inside its namespace. */
const imdsProbe = `
const base = 'http://169.254.169.254/latest';
const token = await (await fetch(base + '/api/token', { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
const get = async (p) => (await fetch(base + '/meta-data/' + p, { headers: { 'x-aws-ec2-metadata-token': token } })).text();
console.log(JSON.stringify({ instanceId: await get('instance-id'), macs: (await get('network/interfaces/macs/')).split('\\n') }));
`;

/**
 * A short guided tour of the emulated VPC through the real AWS adapter: an ENI
 * is created, attached and given addresses, shows up in the node, and goes.
 */
export async function runTour(input: { emulator: Emulator; topology: Topology; box: VpcBox | undefined; url: string }): Promise<void> {
  const { emulator, topology, box, url } = input;
  const [first, second] = topology.instances;
  if (!first) return;
  const provider = new AwsProvider({
    region: topology.vpc.region,
    ec2Endpoint: url,
    imdsEndpoint: `${url}/_instance/${first.id}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    say('\nTour: the AWS adapter (EC2 SDK + IMDSv2) against the emulator');
    const meta = await provider.instanceMetadata();
    say(`  metadata: ${meta.instanceId} ${meta.instanceType} in ${meta.zone}, primary ${meta.primaryIp}, VPC ${meta.vpcCidrs.join(',')}`);
    const limits = await provider.instanceLimits(meta.instanceType);
    say(`  limits: ${limits.maxInterfaces} interfaces x ${limits.ipv4PerInterface} IPv4, prefixes ${limits.supportsPrefixes ? 'yes' : 'no'}`);
    const subnet = topology.podSubnets[0];
    if (!subnet) return;
    const nic = await provider.createInterface({
      instanceId: first.id,
      subnetId: subnet.id,
      securityGroupIds: [],
      deviceIndex: 1,
      addresses: { kind: 'ips', count: 3 },
      description: 'vpc-cni tour',
      tags: { 'vpc-cni.io/cluster': 'demo' },
    });
    await emulator.model.settled();
    await box?.idle();
    say(`  created ${nic.interfaceId} (${nic.mac}) in ${subnet.cidr} with ${[nic.primaryIp, ...nic.secondaryIps].join(', ')}, attached at device 1`);
    if (box) {
      const links = await box.execInNode(first.id, ['ip', '-br', 'link', 'show']);
      say(`  links in ${box.nodeNamespace(first.id)}:`);
      for (const line of links.stdout.trim().split('\n')) say(`    ${line}`);
      const probe = await box.execInNode(first.id, [process.execPath, '--input-type=module', '-e', imdsProbe]);
      say(`  IMDS from inside the node at 169.254.169.254: ${probe.stdout.trim() || probe.stderr.trim()}`);
      if (second) {
        const target = emulator.model.getInterface(second.primaryInterfaceId).primaryIp;
        const ping = await box.execInNode(first.id, ['ping', '-c', '1', '-W', '1', target]);
        say(`  ping ${target} (${second.id}) through the fabric: ${ping.code === 0 ? 'ok' : 'FAILED'}`);
      }
    }
    await provider.deleteInterface(nic.interfaceId);
    await emulator.model.settled();
    await box?.idle();
    say(`  deleted ${nic.interfaceId}; ${emulator.model.getSubnet(subnet.id).freeAddresses} addresses free again in ${subnet.cidr}`);
  } catch (err) {
    say(`  tour failed: ${(err as Error).message}`);
    throw err;
  } finally {
    provider.destroy();
  }
}
