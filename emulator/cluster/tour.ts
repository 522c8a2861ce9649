import { AlibabaProvider } from '../../providers/alibaba/provider.ts';
import { AwsProvider } from '../../providers/aws/provider.ts';
import { AzureProvider } from '../../providers/azure/provider.ts';
import type { CloudInterface, CloudName, NodeProvider } from '../../providers/contract.ts';
import type { VpcBox } from '../cloud/fabric/index.ts';
import type { Emulator } from '../cloud/emulator.ts';
import type { Topology } from '../cloud/topology.ts';
import { emulatorAlibabaCredential, emulatorAzureCredential } from './credentials.ts';

const say = (line = ''): boolean => process.stdout.write(`${line}\n`);

/** What a node sees from its metadata service, fetched from inside its namespace at the cloud's own address. */
const metadataProbes: Record<CloudName, string> = {
  aws: `
const base = 'http://169.254.169.254/latest';
const token = await (await fetch(base + '/api/token', { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
const get = async (p) => (await fetch(base + '/meta-data/' + p, { headers: { 'x-aws-ec2-metadata-token': token } })).text();
console.log(JSON.stringify({ instanceId: await get('instance-id'), macs: (await get('network/interfaces/macs/')).split('\\n') }));
`,
  azure: `
const doc = await (await fetch('http://169.254.169.254/metadata/instance?api-version=2021-02-01', { headers: { Metadata: 'true' } })).json();
console.log(JSON.stringify({ vm: doc.compute.name, vmSize: doc.compute.vmSize, macs: doc.network.interface.map((nic) => nic.macAddress) }));
`,
  alibaba: `
const base = 'http://100.100.100.200/latest';
const token = await (await fetch(base + '/api/token', { method: 'PUT', headers: { 'x-aliyun-ecs-metadata-token-ttl-seconds': '60' } })).text();
const get = async (p) => (await fetch(base + '/meta-data/' + p, { headers: { 'x-aliyun-ecs-metadata-token': token } })).text();
console.log(JSON.stringify({ instanceId: await get('instance-id'), macs: (await get('network/interfaces/macs/')).split('\\n') }));
`,
};

/** The cloud's real adapter, pointed at the emulator from the host (metadata through the per-instance path). */
function tourProvider(emulator: Emulator, url: string, instanceId: string, region: string): NodeProvider & { destroy?(): void } {
  const metadata = `${url}/_instance/${instanceId}`;
  switch (emulator.cloud) {
    case 'aws':
      return new AwsProvider({ region, ec2Endpoint: url, imdsEndpoint: metadata, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    case 'azure':
      return new AzureProvider({
        armEndpoint: url,
        allowInsecureHttp: true,
        imdsEndpoint: metadata,
        credential: emulatorAzureCredential,
      });
    case 'alibaba':
      return new AlibabaProvider({
        ecsEndpoint: url,
        metadataEndpoint: metadata,
        credential: emulatorAlibabaCredential(),
      });
  }
}

/**
 * A short guided tour of the emulated VPC through the cloud's real adapter.
 * Where interfaces can be hot-attached (AWS, Alibaba) one is created,
 * attached and given addresses, shows up in the node, and goes; on Azure,
 * whose VMs keep the NICs they were created with, addresses come and go on a
 * secondary NIC instead.
 */
export async function runTour(input: { emulator: Emulator; topology: Topology; box: VpcBox | undefined; url: string }): Promise<void> {
  const { emulator, topology, box, url } = input;
  const [first, second] = topology.instances;
  if (!first) return;
  const provider = tourProvider(emulator, url, first.id, topology.vpc.region);
  try {
    say(`\nTour: the ${emulator.cloud} adapter (real SDK + metadata client) against the emulator`);
    const meta = await provider.instanceMetadata();
    say(`  metadata: ${meta.instanceId} ${meta.instanceType} in ${meta.zone}, primary ${meta.primaryIp}, ${meta.interfaces.length} interface(s), VPC ${meta.vpcCidrs.join(',')}`);
    const limits = await provider.instanceLimits(meta.instanceType);
    say(`  limits: ${limits.maxInterfaces} interfaces x ${limits.ipv4PerInterface} IPv4, prefixes ${limits.supportsPrefixes ? 'yes' : 'no'}, hot attach ${limits.hotAttach ? 'yes' : 'no'}`);
    const subnet = topology.podSubnets[0];
    if (!subnet) return;

    let created: CloudInterface | undefined;
    let target: { interfaceId: string; ips: string[] };
    if (limits.hotAttach) {
      created = await provider.createInterface({
        instanceId: meta.instanceId,
        subnetId: subnet.id,
        securityGroupIds: [],
        deviceIndex: 1,
        addresses: { kind: 'ips', count: 3 },
        description: 'vpc-cni tour',
        tags: { 'vpc-cni.io/cluster': 'demo' },
      });
      target = { interfaceId: created.interfaceId, ips: created.secondaryIps };
      say(`  created ${created.interfaceId} (${created.mac}) in ${subnet.cidr} with ${[created.primaryIp, ...created.secondaryIps].join(', ')}, attached at device 1`);
    } else {
      const nic = meta.interfaces.find((candidate) => candidate.deviceIndex > 0) ?? meta.interfaces[0];
      if (!nic) return;
      const assigned = await provider.assignAddresses(nic.interfaceId, { kind: 'ips', count: 3 });
      target = { interfaceId: nic.interfaceId, ips: assigned.ips };
      say(`  no hot attach: assigned ${assigned.ips.join(', ')} to the existing ${nic.interfaceId.split('/').pop() ?? nic.interfaceId} (device ${nic.deviceIndex})`);
    }
    await emulator.model.settled();
    await box?.idle();
    if (box) {
      const links = await box.execInNode(first.id, ['ip', '-br', 'link', 'show']);
      say(`  links in ${box.nodeNamespace(first.id)}:`);
      for (const line of links.stdout.trim().split('\n')) say(`    ${line}`);
      const probe = await box.execInNode(first.id, [process.execPath, '--input-type=module', '-e', metadataProbes[emulator.cloud]]);
      say(`  metadata from inside the node, at the cloud's own address: ${probe.stdout.trim() || probe.stderr.trim()}`);
      if (second) {
        const peer = emulator.model.getInterface(second.primaryInterfaceId).primaryIp;
        const ping = await box.execInNode(first.id, ['ping', '-c', '1', '-W', '1', peer]);
        say(`  ping ${peer} (${second.id}) through the fabric: ${ping.code === 0 ? 'ok' : 'FAILED'}`);
      }
    }
    if (created) await provider.deleteInterface(created.interfaceId);
    else await provider.releaseAddresses(target.interfaceId, { ips: target.ips, prefixes: [] });
    await emulator.model.settled();
    await box?.idle();
    say(`  ${created ? `deleted ${created.interfaceId}` : `released ${target.ips.join(', ')}`}; ${emulator.model.getSubnet(subnet.id).freeAddresses} addresses free again in ${subnet.cidr}`);
  } catch (err) {
    say(`  tour failed: ${(err as Error).message}`);
    throw err;
  } finally {
    provider.destroy?.();
  }
}
