import { CreateNetworkInterfaceCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { NodeProvider } from '../../providers/contract.ts';
import { AwsProvider } from '../../providers/aws/provider.ts';
import { Emulator } from '../../providers/emulator/emulator.ts';
import { buildTopology } from '../../providers/emulator/topology.ts';

/** What the contract suite needs from a cloud it runs against. */
export interface ContractWorld {
  provider: NodeProvider;
  instanceId: string;
  instanceType: string;
  vpcId: string;
  podSubnetId: string;
  /** A subnet with only a handful of free addresses, to exhaust. */
  tinySubnetId: string;
  securityGroupId: string;
  /** Whether an instance metadata service answers for the instance (LocalStack has none). */
  hasMetadata: boolean;
  /** The emulator behind the provider; absent against a real endpoint. */
  emulator?: Emulator;
  /** Interfaces that exist, detached, carrying the tags (for paging and leak searches). */
  createDetachedInterfaces(count: number, tags: Record<string, string>): Promise<string[]>;
  teardown(): Promise<void>;
}

export interface ContractTarget {
  name: string;
  setup(options?: { maxAttempts?: number }): Promise<ContractWorld>;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** AWS: the real EC2 SDK and IMDSv2 client over HTTP against the emulator. */
export const awsOnEmulator: ContractTarget = {
  name: 'aws (emulator)',
  async setup(options = {}) {
    const emulator = new Emulator();
    const topology = await buildTopology(emulator.model, { nodes: 1, instanceType: 'm5.large' });
    const tiny = emulator.model.createSubnet(topology.vpc.id, '10.0.250.0/28', topology.nodeSubnet.zone, { Name: 'tiny' });
    const { url } = await emulator.listen();
    const instance = topology.instances[0];
    if (!instance) throw new Error('topology has no instance');
    const provider = new AwsProvider({
      region: topology.vpc.region,
      ec2Endpoint: url,
      imdsEndpoint: `${url}/_instance/${instance.id}`,
      credentials,
      maxAttempts: options.maxAttempts ?? 3,
      pollIntervalMs: 5,
    });
    return {
      provider,
      instanceId: instance.id,
      instanceType: instance.type,
      vpcId: topology.vpc.id,
      podSubnetId: topology.podSubnets[0]?.id ?? '',
      tinySubnetId: tiny.id,
      securityGroupId: topology.securityGroup.id,
      hasMetadata: true,
      emulator,
      async createDetachedInterfaces(count, tags) {
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          ids.push(emulator.model.createInterface({ subnetId: topology.podSubnets[1]?.id ?? '', securityGroupIds: [topology.securityGroup.id], tags }).id);
        }
        return ids;
      },
      async teardown() {
        provider.destroy();
        await emulator.model.settled();
        await emulator.close();
      },
    };
  },
};

/**
 * LocalStack: the same suite against its EC2 emulation (LOCALSTACK_ENDPOINT,
 * e.g. http://localhost:4566). It has no IMDS, so the suite reads metadata
 * from a small stand-in built from the instance LocalStack launched.
 */
export function localstackTarget(endpoint: string): ContractTarget {
  return {
    name: `aws (localstack ${endpoint})`,
    async setup(options = {}) {
      const region = 'us-east-1';
      const ec2 = new EC2Client({ region, endpoint, credentials });
      const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }));
      const vpcId = vpc.Vpc?.VpcId ?? '';
      const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.42.1.0/24', AvailabilityZone: `${region}a` }));
      const tiny = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.42.250.0/28', AvailabilityZone: `${region}a` }));
      const group = await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `contract-${Date.now()}`, Description: 'contract suite' }));
      const run = await ec2.send(
        new RunInstancesCommand({ ImageId: 'ami-12345678', InstanceType: 'm5.large', MinCount: 1, MaxCount: 1, SubnetId: subnet.Subnet?.SubnetId, SecurityGroupIds: [group.GroupId ?? ''] }),
      );
      const instanceId = run.Instances?.[0]?.InstanceId ?? '';
      const provider = new AwsProvider({ region, ec2Endpoint: endpoint, credentials, maxAttempts: options.maxAttempts ?? 3, imdsEndpoint: `${endpoint}/_localstack_has_no_imds` });
      return {
        provider,
        instanceId,
        instanceType: 'm5.large',
        vpcId,
        podSubnetId: subnet.Subnet?.SubnetId ?? '',
        tinySubnetId: tiny.Subnet?.SubnetId ?? '',
        securityGroupId: group.GroupId ?? '',
        hasMetadata: false,
        async createDetachedInterfaces(count, tags) {
          const ids: string[] = [];
          for (let i = 0; i < count; i++) {
            const created = await ec2.send(
              new CreateNetworkInterfaceCommand({
                SubnetId: subnet.Subnet?.SubnetId,
                Groups: [group.GroupId ?? ''],
                TagSpecifications: [{ ResourceType: 'network-interface', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
              }),
            );
            ids.push(created.NetworkInterface?.NetworkInterfaceId ?? '');
          }
          return ids;
        },
        async teardown() {
          provider.destroy();
          ec2.destroy();
        },
      };
    },
  };
}

export function contractTargets(): ContractTarget[] {
  const targets = [awsOnEmulator];
  const localstack = process.env.LOCALSTACK_ENDPOINT;
  if (localstack) targets.push(localstackTarget(localstack));
  return targets;
}
