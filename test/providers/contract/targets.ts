import { CreateNetworkInterfaceCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { CloudName, InstanceLimits, NodeProvider } from '../../../providers/contract.ts';
import { AlibabaProvider } from '../../../providers/alibaba/provider.ts';
import { AwsProvider } from '../../../providers/aws/provider.ts';
import { AzureProvider } from '../../../providers/azure/provider.ts';
import { Emulator } from '../../../emulator/cloud/emulator.ts';
import { armIds } from '../../../emulator/cloud/faces/arm/ids.ts';
import type { Instance } from '../../../emulator/cloud/model/cloud.ts';
import { buildTopology, type Topology } from '../../../emulator/cloud/topology.ts';
import { emulatorAlibabaCredential, emulatorAzureCredential } from '../../../emulator/cluster/credentials.ts';

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
  /** The VPC describeSecurityGroups shows for securityGroupId: "" on Azure, whose NSGs belong to no VNet. */
  securityGroupVpcId: string;
  /** Whether an instance metadata service answers for the instance (LocalStack has none). */
  hasMetadata: boolean;
  /** The emulator behind the provider; absent against a real endpoint. */
  emulator?: Emulator;
  /** Interfaces that exist, detached, carrying the tags (for paging and leak searches). */
  createDetachedInterfaces(count: number, tags: Record<string, string>): Promise<string[]>;
  /** Ids that look right but name nothing. */
  missingSubnetId: string;
  missingInterfaceId: string;
  missingSecurityGroupId: string;
  /** Non-primary interfaces the instance was launched with, by subnet (clouds without hot attach). */
  launchInterfaces: Record<string, string>;
  teardown(): Promise<void>;
}

/** What a cloud can do; where it cannot, the suite asserts the documented refusal instead. */
export interface Capabilities {
  /** Interfaces can be created and attached to a running instance. */
  hotAttach: boolean;
  /** /28 prefixes can be delegated to interfaces. */
  prefixes: boolean;
  /** Reads may lag writes (EC2's Describe calls); ARM reads do not. */
  eventuallyConsistentReads: boolean;
  /**
   * Attaching completes later (ECS: Attaching, then InUse): createInterface
   * polls the cloud's reads until the interface is in use, so it is visible
   * in them when it returns.
   */
  asyncAttach?: boolean;
}

/** The cloud's own names and numbers the suite checks against. */
export interface Expectations {
  cloud: CloudName;
  region: string;
  zone: string;
  vpcCidrs: string[];
  /** Interfaces the instance has when the suite starts, the primary included. */
  interfacesAtLaunch: number;
  /** The router of a subnet, by the cloud's documented rule: [subnet CIDR, gateway]. */
  gateways: Array<[string, string]>;
  /** Free addresses of the tiny /28 at the start. */
  tinySubnetFree: number;
  limits: { instanceType: string; expected: Partial<InstanceLimits>; others: Array<[string, Partial<InstanceLimits>]>; unknownType: string };
  addressesPerInterface: number;
  codes: {
    subnetNotFound: string;
    interfaceNotFound: string;
    interfaceLimit: string;
    interfaceLimitOperation: string;
    interfaceInUse: string;
    addressLimit: string;
    subnetFull: string;
    prefixesFull: string;
    throttled: { code: string; httpStatus: number };
    unauthorized: { code: string; httpStatus: number };
  };
  /** Action names for the emulator's fault injection. */
  actions: { describeSubnets: string; assignAddresses: string };
  /** A burst of reads bigger than the account bucket. */
  throttle: { calls: number; capacity: number };
  /** Attempts the SDK makes at a throttled call (default 3); Alibaba's makes one and leaves retries to ipamd's call gate. */
  sdkAttempts?: number;
}

export interface ContractTarget {
  name: string;
  capabilities: Capabilities;
  expected: Expectations;
  setup(options?: { maxAttempts?: number }): Promise<ContractWorld>;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const awsCapabilities: Capabilities = { hotAttach: true, prefixes: true, eventuallyConsistentReads: true };

const awsExpectations: Expectations = {
  cloud: 'aws',
  region: 'us-east-1',
  zone: 'us-east-1a',
  vpcCidrs: ['10.0.0.0/16'],
  interfacesAtLaunch: 1,
  gateways: [['10.0.0.0/24', '10.0.0.1'], ['10.0.16.0/20', '10.0.16.1']],
  tinySubnetFree: 11,
  limits: {
    instanceType: 'm5.large',
    expected: { maxInterfaces: 3, ipv4PerInterface: 10, supportsPrefixes: true, prefixLength: 28, hotAttach: true },
    others: [['t2.medium', { supportsPrefixes: false }]],
    unknownType: 'x9.nonexistent',
  },
  addressesPerInterface: 10,
  codes: {
    subnetNotFound: 'InvalidSubnetID.NotFound',
    interfaceNotFound: 'InvalidNetworkInterfaceID.NotFound',
    interfaceLimit: 'AttachmentLimitExceeded',
    interfaceLimitOperation: 'AttachNetworkInterface',
    // EC2 refuses to delete an attached interface with InvalidParameterValue "… is currently in use."
    interfaceInUse: 'InvalidParameterValue',
    addressLimit: 'PrivateIpAddressLimitExceeded',
    subnetFull: 'InsufficientFreeAddressesInSubnet',
    prefixesFull: 'InsufficientCidrBlocks',
    throttled: { code: 'RequestLimitExceeded', httpStatus: 503 },
    unauthorized: { code: 'UnauthorizedOperation', httpStatus: 403 },
  },
  actions: { describeSubnets: 'DescribeSubnets', assignAddresses: 'AssignPrivateIpAddresses' },
  // Filtered Describe calls: a bucket of 100 tokens refilled at 20 per second.
  throttle: { calls: 250, capacity: 100 },
};

/** AWS: the real EC2 SDK and IMDSv2 client over HTTP against the emulator. */
export const awsOnEmulator: ContractTarget = {
  name: 'aws (emulator)',
  capabilities: awsCapabilities,
  expected: awsExpectations,
  async setup(options = {}) {
    return hotAttachWorld({ cloud: 'aws', instanceType: 'm5.large', missingSubnetId: 'subnet-doesnotexist' }, ({ url, instance, topology }) => {
      const provider = new AwsProvider({
        region: topology.vpc.region,
        ec2Endpoint: url,
        imdsEndpoint: `${url}/_instance/${instance.id}`,
        credentials,
        maxAttempts: options.maxAttempts ?? 3,
        pollIntervalMs: 5,
      });
      return { provider, close: () => provider.destroy() };
    });
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
    capabilities: awsCapabilities,
    expected: awsExpectations,
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
        securityGroupVpcId: vpcId,
        hasMetadata: false,
        missingSubnetId: 'subnet-doesnotexist',
        missingInterfaceId: 'eni-0000000000000000',
        missingSecurityGroupId: 'sg-0000000000000dead',
        launchInterfaces: {},
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

/** A bearer token for the emulator, which checks that one is sent, not what it says. */

/**
 * Azure: the real @azure/arm-network and @azure/arm-compute clients over plain
 * HTTP against the emulator's ARM face, the VM through its Azure IMDS. The VM
 * (Standard_D8s_v3, 4 NICs at most) starts with three NICs: the primary in the
 * node subnet, one in the pod subnet and one in the tiny subnet.
 */
export const azureOnEmulator: ContractTarget = {
  name: 'azure (emulator)',
  capabilities: { hotAttach: false, prefixes: false, eventuallyConsistentReads: false },
  expected: {
    cloud: 'azure',
    region: 'eastus',
    zone: '1',
    vpcCidrs: ['10.0.0.0/16'],
    interfacesAtLaunch: 3,
    gateways: [['10.0.0.0/24', '10.0.0.1'], ['10.0.16.0/20', '10.0.16.1']],
    // The tiny subnet's NIC holds one of its 11 addresses from the start.
    tinySubnetFree: 10,
    limits: {
      instanceType: 'Standard_D8s_v3',
      expected: { maxInterfaces: 4, ipv4PerInterface: 256, supportsPrefixes: false, hotAttach: false, maxAddressesOnCreate: 0 },
      others: [['Standard_B2s', { maxInterfaces: 3, ipv4PerInterface: 256 }]],
      unknownType: 'Standard_X9_nonexistent',
    },
    addressesPerInterface: 256,
    codes: {
      subnetNotFound: 'NotFound',
      interfaceNotFound: 'ResourceNotFound',
      interfaceLimit: 'AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported',
      interfaceLimitOperation: 'CreateInterface',
      interfaceInUse: 'NicInUse',
      addressLimit: 'IpConfigurationCountLimitReached',
      subnetFull: 'SubnetIsFull',
      prefixesFull: 'PrefixDelegationNotSupported',
      throttled: { code: 'SubscriptionRequestsThrottled', httpStatus: 429 },
      unauthorized: { code: 'AuthorizationFailed', httpStatus: 403 },
    },
    actions: { describeSubnets: 'VirtualNetworks_Get', assignAddresses: 'NetworkInterfaces_CreateOrUpdate' },
    // ARM's subscription read bucket: 250 tokens refilled at 25 per second.
    throttle: { calls: 400, capacity: 250 },
  },
  async setup(options = {}) {
    const emulator = new Emulator({ cloud: 'azure' });
    const topology = await buildTopology(emulator.model, { nodes: 0, region: 'eastus', zone: '1' });
    const tiny = emulator.model.createSubnet(topology.vpc.id, '10.0.250.0/28', topology.nodeSubnet.zone, { Name: 'tiny' });
    const pods = topology.podSubnets[0];
    if (!pods) throw new Error('topology has no pod subnet');
    const instance = await emulator.model.launchInstance({
      type: 'Standard_D8s_v3',
      subnetId: topology.nodeSubnet.id,
      securityGroupIds: [topology.securityGroup.id],
      extraInterfaces: [{ subnetId: pods.id }, { subnetId: tiny.id }],
    });
    const { url } = await emulator.listen();
    const provider = new AzureProvider({
      armEndpoint: url,
      allowInsecureHttp: true,
      imdsEndpoint: `${url}/_instance/${instance.id}`,
      credential: emulatorAzureCredential,
      maxRetries: (options.maxAttempts ?? 3) - 1,
      lroPollIntervalMs: 5,
    });
    const nics = emulator.model.attachedInterfaces(instance.id);
    const subnetId = (subnet: { vpcId: string; id: string }): string => armIds.subnet(subnet.vpcId, subnet.id);
    return {
      provider,
      instanceId: instance.id,
      instanceType: instance.type,
      vpcId: armIds.vnet(topology.vpc.id),
      podSubnetId: subnetId(pods),
      tinySubnetId: subnetId(tiny),
      securityGroupId: armIds.nsg(topology.securityGroup.id),
      securityGroupVpcId: '',
      hasMetadata: true,
      emulator,
      missingSubnetId: armIds.subnet(topology.vpc.id, 'subnet-doesnotexist'),
      missingInterfaceId: armIds.nic('nic-doesnotexist'),
      missingSecurityGroupId: armIds.nsg('nsg-doesnotexist'),
      launchInterfaces: Object.fromEntries(
        nics.filter((nic) => nic.attachment?.deviceIndex !== 0).map((nic) => [subnetId(emulator.model.getSubnet(nic.subnetId)), armIds.nic(nic.id)]),
      ),
      async createDetachedInterfaces(count, tags) {
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          ids.push(armIds.nic(emulator.model.createInterface({ subnetId: topology.podSubnets[1]?.id ?? '', securityGroupIds: [topology.securityGroup.id], tags }).id));
        }
        return ids;
      },
      async teardown() {
        await emulator.model.settled();
        await emulator.close();
      },
    };
  },
};

/**
 * Alibaba Cloud: the real @alicloud/ecs20140526 client (ACS3 signing) over
 * plain HTTP against the emulator's ECS RPC face, the instance (ecs.g7.xlarge:
 * 4 ENIs, 15 addresses each) through its ECS metadata service in hardened mode.
 */
export const alibabaOnEmulator: ContractTarget = {
  name: 'alibaba (emulator)',
  capabilities: { hotAttach: true, prefixes: true, eventuallyConsistentReads: true, asyncAttach: true },
  expected: {
    cloud: 'alibaba',
    region: 'cn-hangzhou',
    zone: 'cn-hangzhou-k',
    vpcCidrs: ['10.0.0.0/16'],
    interfacesAtLaunch: 1,
    gateways: [['10.0.0.0/24', '10.0.0.253'], ['10.0.16.0/20', '10.0.31.253']],
    // ECS keeps the first address and the last three of a vSwitch.
    tinySubnetFree: 12,
    limits: {
      instanceType: 'ecs.g7.xlarge',
      expected: { maxInterfaces: 4, ipv4PerInterface: 15, supportsPrefixes: true, prefixLength: 28, hotAttach: true, maxAddressesOnCreate: 14 },
      // ECS reports no prefix flag per type (prefixes are limited by region), so every type says yes.
      others: [
        ['ecs.g7.large', { maxInterfaces: 3, ipv4PerInterface: 6, maxAddressesOnCreate: 5 }],
        ['ecs.r7.32xlarge', { maxInterfaces: 15, ipv4PerInterface: 30, maxAddressesOnCreate: 29 }],
        ['ecs.xn4.small', { maxInterfaces: 2, ipv4PerInterface: 2, supportsPrefixes: true }],
      ],
      unknownType: 'ecs.x9.nonexistent',
    },
    addressesPerInterface: 15,
    codes: {
      subnetNotFound: 'InvalidVSwitchId.NotFound',
      interfaceNotFound: 'InvalidEniId.NotFound',
      interfaceLimit: 'EniPerInstanceLimitExceeded',
      interfaceLimitOperation: 'AttachNetworkInterface',
      interfaceInUse: 'InvalidOperation.InvalidEniState',
      addressLimit: 'InvalidOperation.Ipv4CountExceeded',
      subnetFull: 'InvalidVSwitchId.IpNotEnough',
      // ECS answers a vSwitch without a free /28 with the same code; the adapter tells the limits apart.
      prefixesFull: 'InvalidVSwitchId.IpNotEnough',
      throttled: { code: 'Throttling.User', httpStatus: 400 },
      unauthorized: { code: 'Forbidden.RAM', httpStatus: 403 },
    },
    actions: { describeSubnets: 'DescribeVSwitches', assignAddresses: 'AssignPrivateIpAddresses' },
    // DescribeNetworkInterfaces: 800 calls a minute.
    throttle: { calls: 900, capacity: 800 },
    sdkAttempts: 1,
  },
  async setup() {
    return hotAttachWorld(
      { cloud: 'alibaba', instanceType: 'ecs.g7.xlarge', region: 'cn-hangzhou', zone: 'cn-hangzhou-k', missingSubnetId: 'vsw-doesnotexist' },
      ({ url, instance }) => {
        const provider = new AlibabaProvider({ ecsEndpoint: url, metadataEndpoint: `${url}/_instance/${instance.id}`, metadataHardened: true, credential: emulatorAlibabaCredential(), pollIntervalMs: 5 });
        return { provider, close: () => undefined };
      },
    );
  },
};

/**
 * The world of a cloud whose ids are the model's own (AWS, Alibaba): one node,
 * a tiny subnet to exhaust, and the adapter `connect` builds, pointed at the emulator.
 */
async function hotAttachWorld(
  shape: { cloud: 'aws' | 'alibaba'; instanceType: string; region?: string; zone?: string; missingSubnetId: string },
  connect: (emulated: { url: string; instance: Instance; topology: Topology }) => { provider: NodeProvider; close(): void },
): Promise<ContractWorld> {
  const emulator = new Emulator({ cloud: shape.cloud });
  const topology = await buildTopology(emulator.model, { nodes: 1, instanceType: shape.instanceType, ...(shape.region ? { region: shape.region } : {}), ...(shape.zone ? { zone: shape.zone } : {}) });
  const tiny = emulator.model.createSubnet(topology.vpc.id, '10.0.250.0/28', topology.nodeSubnet.zone, { Name: 'tiny' });
  const { url } = await emulator.listen();
  const instance = topology.instances[0];
  if (!instance) throw new Error('topology has no instance');
  const { provider, close } = connect({ url, instance, topology });
  return {
    provider,
    instanceId: instance.id,
    instanceType: instance.type,
    vpcId: topology.vpc.id,
    podSubnetId: topology.podSubnets[0]?.id ?? '',
    tinySubnetId: tiny.id,
    securityGroupId: topology.securityGroup.id,
    securityGroupVpcId: topology.vpc.id,
    hasMetadata: true,
    emulator,
    missingSubnetId: shape.missingSubnetId,
    missingInterfaceId: 'eni-0000000000000000',
    missingSecurityGroupId: 'sg-0000000000000dead',
    launchInterfaces: {},
    async createDetachedInterfaces(count, tags) {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        ids.push(emulator.model.createInterface({ subnetId: topology.podSubnets[1]?.id ?? '', securityGroupIds: [topology.securityGroup.id], tags }).id);
      }
      return ids;
    },
    async teardown() {
      close();
      await emulator.model.settled();
      await emulator.close();
    },
  };
}

export function contractTargets(): ContractTarget[] {
  const targets = [awsOnEmulator, azureOnEmulator, alibabaOnEmulator];
  const localstack = process.env.LOCALSTACK_ENDPOINT;
  if (localstack) targets.push(localstackTarget(localstack));
  return targets;
}
