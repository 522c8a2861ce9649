import { addressAt } from '../../lib/ipv4.ts';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstanceTypesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
  type Filter,
  type _InstanceType,
  type NetworkInterface as Ec2NetworkInterface,
} from '@aws-sdk/client-ec2';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { AddressRequest, AssignedAddresses, CallWrapper, CloudInterface, CreateInterfaceRequest, InstanceLimits, InstanceMetadata, InterfaceStatus, MetadataInterface, NodeProvider, SecurityGroupInfo, SubnetInfo } from '../contract.ts';
import { CloudError, isCloudError, unlessNotFound } from '../errors.ts';
import { InstanceLimitsCache } from '../shared/limits-cache.ts';
import { primaryInterface, readListedInterfaces } from '../shared/listed-interfaces.ts';
import { Poller } from '../shared/poller.ts';
import { SdkCaller } from '../shared/sdk-call.ts';
import { toCloudError } from './errors.ts';
import { ImdsClient } from './imds.ts';

export interface AwsProviderOptions {
  /** Region; read from instance metadata when absent. */
  region?: string;
  /** EC2 endpoint; when absent the SDK's standard settings apply (AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL). */
  ec2Endpoint?: string;
  /** Instance metadata base URL (EC2: http://169.254.169.254). */
  imdsEndpoint?: string;
  /** Credentials; when absent the SDK's default chain applies. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** SDK attempts per call, retries of throttling included (SDK default: 3). */
  maxAttempts?: number;
  /** How long to wait for a detaching interface to become deletable. */
  detachTimeoutMs?: number;
  pollIntervalMs?: number;
  wrapCall?: CallWrapper;
}

const pageSize = 100;

function tagsOf(list: Array<{ Key?: string | undefined; Value?: string | undefined }> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of list ?? []) if (tag.Key !== undefined) out[tag.Key] = tag.Value ?? '';
  return out;
}

function toCloudInterface(nic: Ec2NetworkInterface): CloudInterface {
  const addresses = nic.PrivateIpAddresses ?? [];
  const primaryIp = nic.PrivateIpAddress ?? addresses.find((a) => a.Primary)?.PrivateIpAddress ?? '';
  const attachment = nic.Attachment;
  return {
    interfaceId: nic.NetworkInterfaceId ?? '',
    mac: (nic.MacAddress ?? '').toLowerCase(),
    subnetId: nic.SubnetId ?? '',
    vpcId: nic.VpcId ?? '',
    zone: nic.AvailabilityZone ?? '',
    description: nic.Description ?? '',
    status: (nic.Status ?? 'available') as InterfaceStatus,
    primaryIp,
    secondaryIps: addresses.filter((a) => !a.Primary && a.PrivateIpAddress).map((a) => a.PrivateIpAddress as string),
    prefixes: (nic.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix ?? '').filter(Boolean),
    securityGroupIds: (nic.Groups ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
    tags: tagsOf(nic.TagSet),
    ...(attachment?.AttachmentId
      ? {
          attachment: {
            attachmentId: attachment.AttachmentId,
            instanceId: attachment.InstanceId ?? '',
            deviceIndex: attachment.DeviceIndex ?? 0,
            deleteOnTermination: attachment.DeleteOnTermination ?? false,
            status: (attachment.Status ?? 'attaching') as 'attaching' | 'attached' | 'detaching' | 'detached',
          },
        }
      : {}),
  };
}

/** The AWS adapter: EC2 through @aws-sdk/client-ec2, the instance through IMDSv2. */
export class AwsProvider implements NodeProvider {
  readonly cloud = 'aws' as const;
  private client: EC2Client | undefined;
  private readonly imds: ImdsClient;
  private readonly limits = new InstanceLimitsCache((instanceType) => this.describeInstanceType(instanceType));
  private primaryGroups: string[] | undefined;
  /** Every EC2 call: through the injected wrapper, failures mapped to CloudErrors. */
  private readonly api: SdkCaller<EC2Client>;

  constructor(private readonly options: AwsProviderOptions = {}) {
    this.imds = new ImdsClient({ endpoint: options.imdsEndpoint ?? 'http://169.254.169.254' });
    this.api = new SdkCaller(() => this.ec2(), toCloudError, options.wrapCall);
  }

  async instanceMetadata(): Promise<InstanceMetadata> {
    const [{ instanceId, instanceType, zone, primaryMac, primaryIp }, region, macs] = await Promise.all([
      this.imds.requireAll({ instanceId: 'instance-id', instanceType: 'instance-type', zone: 'placement/availability-zone', primaryMac: 'mac', primaryIp: 'local-ipv4' }),
      this.imds.get('placement/region'),
      this.imds.list('network/interfaces/macs/'),
    ]);
    const interfaces = (await readListedInterfaces(macs, (mac) => this.metadataInterface(mac))).sort((a, b) => a.deviceIndex - b.deviceIndex);
    const primary = primaryInterface(interfaces, primaryMac, 'IMDS');
    this.primaryGroups = primary.securityGroupIds;
    const vpcCidrs = await this.imds.list(`network/interfaces/macs/${primaryMac}/vpc-ipv4-cidr-blocks`);
    return {
      cloud: 'aws',
      instanceId,
      instanceType,
      // Older IMDS has no placement/region: the zone minus its letter is the region.
      region: region ?? zone.replace(/[a-z]$/, ''),
      zone,
      vpcId: await this.imds.require(`network/interfaces/macs/${primaryMac}/vpc-id`),
      vpcCidrs,
      primaryMac: primaryMac.toLowerCase(),
      primaryIp,
      interfaces,
    };
  }

  private async metadataInterface(mac: string): Promise<MetadataInterface> {
    const base = `network/interfaces/macs/${mac}/`;
    const [{ interfaceId, deviceNumber, subnetId, subnetCidr }, groups, ips, prefixes] = await Promise.all([
      this.imds.requireAll({ interfaceId: `${base}interface-id`, deviceNumber: `${base}device-number`, subnetId: `${base}subnet-id`, subnetCidr: `${base}subnet-ipv4-cidr-block` }),
      this.imds.list(`${base}security-group-ids`),
      this.imds.list(`${base}local-ipv4s`),
      this.imds.list(`${base}ipv4-prefix`),
    ]);
    return {
      mac: mac.toLowerCase(),
      interfaceId,
      deviceIndex: Number(deviceNumber),
      subnetId,
      subnetCidr,
      securityGroupIds: groups,
      primaryIp: ips[0] ?? '',
      secondaryIps: ips.slice(1),
      prefixes,
    };
  }

  subnetGateway(subnetCidr: string): string {
    // EC2 reserves the subnet's second address for its router.
    return addressAt(subnetCidr, 1);
  }

  instanceLimits(instanceType: string): Promise<InstanceLimits> {
    return this.limits.get(instanceType);
  }

  private async describeInstanceType(instanceType: string): Promise<InstanceLimits> {
    const output = await this.api.call('DescribeInstanceTypes', (ec2) => ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] })));
    const info = output.InstanceTypes?.[0];
    const network = info?.NetworkInfo;
    if (!info || !network?.MaximumNetworkInterfaces || !network.Ipv4AddressesPerInterface) {
      throw new CloudError({ kind: 'not-found', code: 'InvalidInstanceType', message: `no network limits for instance type ${instanceType}`, operation: 'DescribeInstanceTypes' });
    }
    return {
      instanceType,
      maxInterfaces: network.MaximumNetworkInterfaces,
      ipv4PerInterface: network.Ipv4AddressesPerInterface,
      supportsPrefixes: info.Hypervisor === 'nitro' || info.BareMetal === true,
      prefixLength: 28,
      hotAttach: true,
      maxAddressesOnCreate: network.Ipv4AddressesPerInterface - 1,
    };
  }

  async describeInstanceInterfaces(instanceId: string): Promise<CloudInterface[]> {
    return this.describeInterfaces([{ Name: 'attachment.instance-id', Values: [instanceId] }]);
  }

  async findInterfacesByTags(tags: Record<string, string>): Promise<CloudInterface[]> {
    const filters = Object.entries(tags).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
    if (filters.length === 0) throw new CloudError({ kind: 'invalid-request', code: 'MissingTags', message: 'findInterfacesByTags needs at least one tag', operation: 'DescribeNetworkInterfaces' });
    return this.describeInterfaces(filters);
  }

  private async describeInterfaces(filters: Filter[]): Promise<CloudInterface[]> {
    const out: CloudInterface[] = [];
    let nextToken: string | undefined;
    do {
      const output = await this.api.call('DescribeNetworkInterfaces', (ec2) =>
        ec2.send(new DescribeNetworkInterfacesCommand({ Filters: filters, MaxResults: pageSize, ...(nextToken ? { NextToken: nextToken } : {}) })),
      );
      out.push(...(output.NetworkInterfaces ?? []).map(toCloudInterface));
      nextToken = output.NextToken || undefined;
    } while (nextToken);
    return out;
  }

  async createInterface(request: CreateInterfaceRequest): Promise<CloudInterface> {
    const groups = request.securityGroupIds.length > 0 ? request.securityGroupIds : await this.defaultSecurityGroups();
    const count = request.addresses.count;
    const created = await this.api.call('CreateNetworkInterface', (ec2) =>
      ec2.send(
        new CreateNetworkInterfaceCommand({
          SubnetId: request.subnetId,
          Groups: groups,
          Description: request.description,
          TagSpecifications: [{ ResourceType: 'network-interface', Tags: Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value })) }],
          ...(count > 0 ? (request.addresses.kind === 'ips' ? { SecondaryPrivateIpAddressCount: count } : { Ipv4PrefixCount: count }) : {}),
        }),
      ),
    );
    if (!created.NetworkInterface?.NetworkInterfaceId) {
      throw new CloudError({ kind: 'transient', code: 'EmptyResponse', message: 'CreateNetworkInterface returned no interface', operation: 'CreateNetworkInterface' });
    }
    const nic = toCloudInterface(created.NetworkInterface);
    let attachmentId: string | undefined;
    try {
      const attached = await this.api.call('AttachNetworkInterface', (ec2) =>
        ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: nic.interfaceId, InstanceId: request.instanceId, DeviceIndex: request.deviceIndex, NetworkCardIndex: 0 })),
      );
      attachmentId = attached.AttachmentId;
      if (!attachmentId) throw new CloudError({ kind: 'transient', code: 'EmptyResponse', message: 'AttachNetworkInterface returned no attachment', operation: 'AttachNetworkInterface' });
      const id = attachmentId;
      await this.api.call('ModifyNetworkInterfaceAttribute', (ec2) =>
        ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: nic.interfaceId, Attachment: { AttachmentId: id, DeleteOnTermination: true } })),
      );
    } catch (err) {
      // An interface we cannot attach (or mark for deletion) would leak: give it back now.
      await this.deleteInterface(nic.interfaceId).catch(() => undefined);
      throw err;
    }
    return {
      ...nic,
      status: 'in-use',
      attachment: { attachmentId, instanceId: request.instanceId, deviceIndex: request.deviceIndex, deleteOnTermination: true, status: 'attaching' },
    };
  }

  private async defaultSecurityGroups(): Promise<string[]> {
    if (!this.primaryGroups) await this.instanceMetadata();
    return this.primaryGroups ?? [];
  }

  async assignAddresses(interfaceId: string, request: AddressRequest): Promise<AssignedAddresses> {
    const output = await this.api.call('AssignPrivateIpAddresses', (ec2) =>
      ec2.send(
        new AssignPrivateIpAddressesCommand({
          NetworkInterfaceId: interfaceId,
          ...(request.kind === 'ips' ? { SecondaryPrivateIpAddressCount: request.count } : { Ipv4PrefixCount: request.count }),
        }),
      ),
    );
    return {
      ips: (output.AssignedPrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress ?? '').filter(Boolean),
      prefixes: (output.AssignedIpv4Prefixes ?? []).map((p) => p.Ipv4Prefix ?? '').filter(Boolean),
    };
  }

  async releaseAddresses(interfaceId: string, addresses: AssignedAddresses): Promise<void> {
    if (addresses.ips.length === 0 && addresses.prefixes.length === 0) return;
    await this.api.call('UnassignPrivateIpAddresses', (ec2) =>
      ec2.send(
        new UnassignPrivateIpAddressesCommand({
          NetworkInterfaceId: interfaceId,
          ...(addresses.ips.length > 0 ? { PrivateIpAddresses: addresses.ips } : {}),
          ...(addresses.prefixes.length > 0 ? { Ipv4Prefixes: addresses.prefixes } : {}),
        }),
      ),
    );
  }

  /**
   * Deletes an interface, detaching it first when it is attached: EC2 refuses
   * to delete an attached interface (InvalidParameterValue "Network interface
   * '…' is currently in use."), so the attachment is looked at before the
   * delete, and again whenever a delete is refused that way (reads lag writes).
   */
  async deleteInterface(interfaceId: string): Promise<boolean> {
    const timeout = this.options.detachTimeoutMs ?? 30_000;
    const poller = new Poller({ intervalMs: this.options.pollIntervalMs ?? 100, timeoutMs: timeout });
    let detachRequested = false;
    for (;;) {
      // Not seen is not proof of absence (a fresh interface may not show yet): the delete decides.
      const attachment = (await this.describeOne(interfaceId))?.attachment;
      if (attachment && attachment.status !== 'detaching' && !detachRequested) {
        const attachmentId = attachment.attachmentId;
        await unlessNotFound(this.api.call('DetachNetworkInterface', (ec2) => ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId }))));
        detachRequested = true;
      }
      if (attachment) await this.waitUntilFree(interfaceId, poller, timeout);
      try {
        await this.api.call('DeleteNetworkInterface', (ec2) => ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: interfaceId })));
        return true;
      } catch (err) {
        if (isCloudError(err, 'not-found')) return false;
        if (!isAttachedRefusal(err)) throw err;
      }
      // Attached after all: wait on the cheap read, then look at the attachment again.
      await this.waitUntilFree(interfaceId, poller, timeout);
    }
  }

  /** Waits until the interface is free (or gone); throws DetachTimeout when the poller's budget is spent. */
  private async waitUntilFree(interfaceId: string, poller: Poller, timeout: number): Promise<void> {
    const outcome = await poller.until(() => this.interfaceStatus(interfaceId), (status) => status === undefined || status === 'available');
    if (!outcome.met) {
      throw new CloudError({ kind: 'transient', code: 'DetachTimeout', message: `interface ${interfaceId} was still attached after ${timeout} ms`, operation: 'DeleteNetworkInterface' });
    }
  }

  private async describeOne(interfaceId: string): Promise<CloudInterface | undefined> {
    const output = await unlessNotFound(this.api.call('DescribeNetworkInterfaces', (ec2) => ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [interfaceId] }))));
    const nic = output?.NetworkInterfaces?.[0];
    return nic ? toCloudInterface(nic) : undefined;
  }

  private async interfaceStatus(interfaceId: string): Promise<InterfaceStatus | undefined> {
    return (await this.describeOne(interfaceId))?.status;
  }

  async describeSubnets(vpcId: string, subnetIds: string[]): Promise<SubnetInfo[]> {
    const out: SubnetInfo[] = [];
    let nextToken: string | undefined;
    do {
      const output = await this.api.call('DescribeSubnets', (ec2) =>
        ec2.send(
          new DescribeSubnetsCommand(
            subnetIds.length > 0
              ? { SubnetIds: subnetIds, ...(nextToken ? { NextToken: nextToken } : {}) }
              : { Filters: [{ Name: 'vpc-id', Values: [vpcId] }], MaxResults: pageSize, ...(nextToken ? { NextToken: nextToken } : {}) },
          ),
        ),
      );
      for (const subnet of output.Subnets ?? []) {
        out.push({
          subnetId: subnet.SubnetId ?? '',
          vpcId: subnet.VpcId ?? '',
          zone: subnet.AvailabilityZone ?? '',
          cidr: subnet.CidrBlock ?? '',
          freeAddresses: subnet.AvailableIpAddressCount ?? 0,
          tags: tagsOf(subnet.Tags),
        });
      }
      nextToken = output.NextToken || undefined;
    } while (nextToken);
    return out;
  }

  async describeSecurityGroups(_vpcId: string, ids: string[]): Promise<SecurityGroupInfo[]> {
    if (ids.length === 0) return [];
    const out: SecurityGroupInfo[] = [];
    let nextToken: string | undefined;
    do {
      // A group-id filter, not GroupIds: EC2 answers GroupIds with one unknown id by InvalidGroup.NotFound for the whole batch.
      // No vpc-id filter either: a group of another VPC must come back to be told apart from a missing one.
      const output = await this.api.call('DescribeSecurityGroups', (ec2) =>
        ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: ids }], MaxResults: pageSize, ...(nextToken ? { NextToken: nextToken } : {}) })),
      );
      for (const group of output.SecurityGroups ?? []) {
        if (group.GroupId) out.push({ id: group.GroupId, vpcId: group.VpcId ?? '', name: group.GroupName ?? '' });
      }
      nextToken = output.NextToken || undefined;
    } while (nextToken);
    return out;
  }

  private async ec2(): Promise<EC2Client> {
    if (this.client) return this.client;
    const region = this.options.region ?? (await this.instanceMetadata()).region;
    this.client ??= new EC2Client({
      region,
      ...(this.options.ec2Endpoint ? { endpoint: this.options.ec2Endpoint } : {}),
      ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
      ...(this.options.maxAttempts ? { maxAttempts: this.options.maxAttempts } : {}),
    });
    return this.client;
  }

  destroy(): void {
    this.client?.destroy();
  }
}

/** EC2's refusal to delete an attached interface: InvalidParameterValue "Network interface '…' is currently in use." */
function isAttachedRefusal(err: unknown): boolean {
  return isCloudError(err) && err.code === 'InvalidParameterValue' && /currently in use/i.test(err.message);
}
