import { addressAt } from '../../lib/ipv4.ts';
import type { AddressRequest, AssignedAddresses, CallWrapper, CloudInterface, CreateInterfaceRequest, InstanceLimits, InstanceMetadata, InterfaceStatus, MetadataInterface, NodeProvider, SecurityGroupInfo, SubnetInfo } from '../contract.ts';
import { CloudError, isCloudError, unlessNotFound } from '../errors.ts';
import { InstanceLimitsCache } from '../shared/limits-cache.ts';
import { primaryInterface, readListedInterfaces } from '../shared/listed-interfaces.ts';
import { Poller } from '../shared/poller.ts';
import { SdkCaller } from '../shared/sdk-call.ts';
import { toCloudError, type ErrorContext } from './errors.ts';
import { AlibabaMetadataClient } from './metadata.ts';
import { credentials as credentialsModule, ecs as ecsModule, openApi as openApiModule, teaUtil as teaUtilModule } from './sdk.ts';

const EcsClient = ecsModule.default;
type EcsClient = InstanceType<typeof ecsModule.default>;
type NicSet = InstanceType<typeof ecsModule.DescribeNetworkInterfacesResponseBodyNetworkInterfaceSetsNetworkInterfaceSet>;
type NicAttribute = InstanceType<typeof ecsModule.DescribeNetworkInterfaceAttributeResponseBody>;
type CreatedNic = InstanceType<typeof ecsModule.CreateNetworkInterfaceResponseBody>;

/** What an ECS call runs with: the client, and the per-request options that keep the SDK from retrying. */
interface EcsCall {
  ecs: EcsClient;
  runtime: InstanceType<typeof teaUtilModule.RuntimeOptions>;
}

export type AlibabaCredential = InstanceType<typeof credentialsModule.default>;

export interface AlibabaProviderOptions {
  /** Region (e.g. cn-hangzhou); read from instance metadata when absent. */
  regionId?: string;
  /**
   * ECS API endpoint: `host[:port]`, or a URL whose scheme picks the protocol
   * (`http://169.254.170.1:80` for the emulator). When absent the SDK's
   * regional endpoint applies (ecs.<region>.aliyuncs.com).
   */
  ecsEndpoint?: string;
  /** Instance metadata base URL (ECS: http://100.100.100.200). */
  metadataEndpoint?: string;
  /** Hardened metadata mode (tokens); on by default. */
  metadataHardened?: boolean;
  /** Credentials; when absent @alicloud/credentials' default chain applies (env keys, RRSA/OIDC, profile, ECS RAM role). */
  credential?: AlibabaCredential;
  /** How long to wait for an attachment to reach InUse, and a detachment to reach Available. */
  attachTimeoutMs?: number;
  detachTimeoutMs?: number;
  /** First polling interval; doubles up to 2 s. */
  pollIntervalMs?: number;
  /** Per-request HTTP timeouts of the SDK. */
  readTimeoutMs?: number;
  connectTimeoutMs?: number;
  wrapCall?: CallWrapper;
}

/** ECS allows at most 49 secondary addresses on an ENI that is not attached yet. */
export const maxAddressesOnCreate = 49;
const pageSize = 100;
const vSwitchPageSize = 50;
/** DescribeSecurityGroups: at most 100 ids in SecurityGroupIds, 50 groups a page. */
const securityGroupBatch = 100;
const securityGroupPageSize = 50;
const maxTags = 20;

function tagsOf(tags: { tag?: Array<{ tagKey?: string; tagValue?: string }> } | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags?.tag ?? []) if (tag.tagKey !== undefined) out[tag.tagKey] = tag.tagValue ?? '';
  return out;
}

const statusOf: Record<string, InterfaceStatus> = { Available: 'available', Attaching: 'attaching', InUse: 'in-use', Detaching: 'detaching' };
const attachmentStatusOf: Record<string, 'attaching' | 'attached' | 'detaching'> = { Attaching: 'attaching', InUse: 'attached', Detaching: 'detaching' };

/** The fields DescribeNetworkInterfaces, DescribeNetworkInterfaceAttribute and CreateNetworkInterface share. */
type NicShape = Pick<NicSet, 'networkInterfaceId' | 'macAddress' | 'vSwitchId' | 'vpcId' | 'zoneId' | 'description' | 'status' | 'privateIpAddress' | 'type'> & {
  instanceId?: string;
  deleteOnRelease?: boolean;
  attachment?: { deviceIndex?: number };
  privateIpSets?: { privateIpSet?: Array<{ privateIpAddress?: string; primary?: boolean }> };
  ipv4PrefixSets?: { ipv4PrefixSet?: Array<{ ipv4Prefix?: string }> };
  securityGroupIds?: { securityGroupId?: string[] };
  tags?: { tag?: Array<{ tagKey?: string; tagValue?: string }> };
};

/** The Alibaba Cloud adapter: ECS through @alicloud/ecs20140526, the instance through the ECS metadata service. */
export class AlibabaProvider implements NodeProvider {
  readonly cloud = 'alibaba' as const;
  private client: Promise<EcsClient> | undefined;
  private region: Promise<string> | undefined;
  private readonly metadata: AlibabaMetadataClient;
  private readonly limits = new InstanceLimitsCache((instanceType) => this.describeInstanceType(instanceType));
  private primaryGroups: string[] | undefined;
  /** Device indexes learned from the cloud, for answers that lack Attachment.DeviceIndex (it is in preview on ECS). */
  private readonly deviceIndexes = new Map<string, number>();
  /** Every ECS call: through the injected wrapper, failures mapped to CloudErrors; the SDK itself never retries. */
  private readonly api: SdkCaller<EcsCall, ErrorContext>;

  constructor(private readonly options: AlibabaProviderOptions = {}) {
    this.metadata = new AlibabaMetadataClient({ endpoint: options.metadataEndpoint ?? 'http://100.100.100.200', hardened: options.metadataHardened ?? true });
    if (options.regionId) this.region = Promise.resolve(options.regionId);
    this.api = new SdkCaller(() => this.ecsCall(), toCloudError, options.wrapCall);
  }

  async instanceMetadata(): Promise<InstanceMetadata> {
    const [{ instanceId, instanceType, region, zone, vpcId, vpcCidr, primaryMac, primaryIp }, macs] = await Promise.all([
      this.metadata.requireAll({ instanceId: 'instance-id', instanceType: 'instance/instance-type', region: 'region-id', zone: 'zone-id', vpcId: 'vpc-id', vpcCidr: 'vpc-cidr-block', primaryMac: 'mac', primaryIp: 'private-ipv4' }),
      this.metadata.list('network/interfaces/macs/'),
    ]);
    this.region ??= Promise.resolve(region);
    const found = await readListedInterfaces(macs, (mac) => this.metadataInterface(mac));
    const primary = primaryInterface(found, primaryMac, 'Metadata');
    // The metadata service shows neither device indexes nor security groups: one Describe call fills them in.
    const cloudView = new Map((await this.describeInterfaces({ instanceId })).map((nic) => [nic.interfaceId, nic]));
    const taken = new Set<number>([0]);
    for (const nic of found) {
      const index = cloudView.get(nic.interfaceId)?.attachment?.deviceIndex;
      if (index !== undefined && nic !== primary) taken.add(index);
    }
    const interfaces: MetadataInterface[] = found.map((nic) => {
      let deviceIndex = nic === primary ? 0 : cloudView.get(nic.interfaceId)?.attachment?.deviceIndex;
      if (deviceIndex === undefined) {
        // Not in the (lagging) Describe answer yet: the lowest free index keeps the node's route tables apart.
        deviceIndex = 1;
        while (taken.has(deviceIndex)) deviceIndex++;
        taken.add(deviceIndex);
      }
      this.deviceIndexes.set(nic.interfaceId, deviceIndex);
      return { ...nic, deviceIndex, securityGroupIds: cloudView.get(nic.interfaceId)?.securityGroupIds ?? [] };
    });
    interfaces.sort((a, b) => a.deviceIndex - b.deviceIndex);
    const primaryGroups = cloudView.get(primary.interfaceId)?.securityGroupIds;
    if (primaryGroups && primaryGroups.length > 0) this.primaryGroups = primaryGroups;
    return {
      cloud: 'alibaba',
      instanceId,
      instanceType,
      region,
      zone,
      vpcId,
      vpcCidrs: [vpcCidr],
      primaryMac: primaryMac.toLowerCase(),
      primaryIp,
      interfaces,
    };
  }

  private async metadataInterface(mac: string): Promise<Omit<MetadataInterface, 'deviceIndex' | 'securityGroupIds'>> {
    const base = `network/interfaces/macs/${mac}/`;
    const [{ interfaceId, subnetId, subnetCidr, primaryIp }, ips, prefixes] = await Promise.all([
      this.metadata.requireAll({ interfaceId: `${base}network-interface-id`, subnetId: `${base}vswitch-id`, subnetCidr: `${base}vswitch-cidr-block`, primaryIp: `${base}primary-ip-address` }),
      this.metadata.jsonList(`${base}private-ipv4s`),
      this.metadata.jsonList(`${base}ipv4-prefixes`),
    ]);
    return { mac: mac.toLowerCase(), interfaceId, subnetId, subnetCidr, primaryIp, secondaryIps: ips.filter((ip) => ip !== primaryIp), prefixes };
  }

  subnetGateway(subnetCidr: string): string {
    // An ECS vSwitch's gateway is the third address from the end (route tables show `via x.x.x.253`).
    return addressAt(subnetCidr, -3);
  }

  instanceLimits(instanceType: string): Promise<InstanceLimits> {
    return this.limits.get(instanceType);
  }

  private async describeInstanceType(instanceType: string): Promise<InstanceLimits> {
    const output = await this.api.call('DescribeInstanceTypes', ({ ecs, runtime }) =>
      ecs.describeInstanceTypesWithOptions(new ecsModule.DescribeInstanceTypesRequest({ instanceTypes: [instanceType] }), runtime),
    );
    const info = output.body?.instanceTypes?.instanceType?.find((type) => type.instanceTypeId === instanceType);
    if (!info?.eniQuantity || !info.eniPrivateIpAddressQuantity) {
      throw new CloudError({ kind: 'invalid-request', code: 'InvalidInstanceType.NotFound', message: `ECS knows no network limits for instance type ${instanceType}`, operation: 'DescribeInstanceTypes' });
    }
    return {
      instanceType,
      maxInterfaces: info.eniQuantity,
      ipv4PerInterface: info.eniPrivateIpAddressQuantity,
      // ECS reports no prefix flag per type: the feature is limited by region, and each /28 takes one address slot.
      supportsPrefixes: true,
      prefixLength: 28,
      hotAttach: true,
      maxAddressesOnCreate: Math.min(maxAddressesOnCreate, info.eniPrivateIpAddressQuantity - 1),
    };
  }

  async describeInstanceInterfaces(instanceId: string): Promise<CloudInterface[]> {
    return this.describeInterfaces({ instanceId });
  }

  async findInterfacesByTags(tags: Record<string, string>): Promise<CloudInterface[]> {
    const entries = Object.entries(tags);
    if (entries.length === 0) throw new CloudError({ kind: 'invalid-request', code: 'MissingTags', message: 'findInterfacesByTags needs at least one tag', operation: 'DescribeNetworkInterfaces' });
    if (entries.length > maxTags) throw new CloudError({ kind: 'invalid-request', code: 'TooManyTags', message: `ECS filters on at most ${maxTags} tags`, operation: 'DescribeNetworkInterfaces' });
    return this.describeInterfaces({ tag: entries.map(([key, value]) => new ecsModule.DescribeNetworkInterfacesRequestTag({ key, value })) });
  }

  private async describeInterfaces(filter: { instanceId?: string; tag?: InstanceType<typeof ecsModule.DescribeNetworkInterfacesRequestTag>[] }): Promise<CloudInterface[]> {
    const out: CloudInterface[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const output = await this.api.call('DescribeNetworkInterfaces', async ({ ecs, runtime }) =>
        ecs.describeNetworkInterfacesWithOptions(
          new ecsModule.DescribeNetworkInterfacesRequest({ regionId: await this.regionId(), maxResults: pageSize, ...filter, ...(token ? { nextToken: token } : {}) }),
          runtime,
        ),
      );
      out.push(...(output.body?.networkInterfaceSets?.networkInterfaceSet ?? []).map((nic) => this.toCloudInterface(nic)));
      nextToken = output.body?.nextToken || undefined;
    } while (nextToken);
    return out;
  }

  private toCloudInterface(nic: NicShape): CloudInterface {
    const id = nic.networkInterfaceId ?? '';
    const addresses = nic.privateIpSets?.privateIpSet ?? [];
    const primaryIp = nic.privateIpAddress ?? addresses.find((a) => a.primary)?.privateIpAddress ?? '';
    const instanceId = nic.instanceId ?? '';
    const status = statusOf[nic.status ?? ''] ?? 'available';
    const deviceIndex = nic.attachment?.deviceIndex ?? this.deviceIndexes.get(id) ?? (nic.type === 'Primary' ? 0 : undefined);
    if (nic.attachment?.deviceIndex !== undefined) this.deviceIndexes.set(id, nic.attachment.deviceIndex);
    return {
      interfaceId: id,
      mac: (nic.macAddress ?? '').toLowerCase(),
      subnetId: nic.vSwitchId ?? '',
      vpcId: nic.vpcId ?? '',
      zone: nic.zoneId ?? '',
      description: nic.description ?? '',
      status,
      primaryIp,
      secondaryIps: addresses.filter((a) => !a.primary && a.privateIpAddress).map((a) => a.privateIpAddress as string),
      prefixes: (nic.ipv4PrefixSets?.ipv4PrefixSet ?? []).map((p) => p.ipv4Prefix ?? '').filter(Boolean),
      securityGroupIds: [...(nic.securityGroupIds?.securityGroupId ?? [])],
      tags: tagsOf(nic.tags),
      // ECS has no attachment ids: an attachment is the pair (instance, ENI).
      ...(instanceId !== '' && status !== 'available'
        ? {
            attachment: {
              attachmentId: `${instanceId}/${id}`,
              instanceId,
              deviceIndex: deviceIndex ?? -1,
              deleteOnTermination: nic.deleteOnRelease ?? false,
              status: attachmentStatusOf[nic.status ?? ''] ?? 'attaching',
            },
          }
        : {}),
    };
  }

  async createInterface(request: CreateInterfaceRequest): Promise<CloudInterface> {
    const groups = request.securityGroupIds.length > 0 ? request.securityGroupIds : await this.defaultSecurityGroups();
    const tags = Object.entries(request.tags);
    if (tags.length > maxTags) throw new CloudError({ kind: 'invalid-request', code: 'TooManyTags', message: `ECS takes at most ${maxTags} tags on an ENI, got ${tags.length}`, operation: 'CreateNetworkInterface' });
    // At most 49 addresses on an ENI that is not attached: the rest follow once it is InUse.
    const onCreate = Math.min(request.addresses.count, maxAddressesOnCreate);
    const rest = request.addresses.count - onCreate;
    const kind = request.addresses.kind;
    const created = await this.api.call(
      'CreateNetworkInterface',
      async ({ ecs, runtime }) =>
        ecs.createNetworkInterfaceWithOptions(
          new ecsModule.CreateNetworkInterfaceRequest({
            regionId: await this.regionId(),
            vSwitchId: request.subnetId,
            securityGroupIds: groups,
            description: request.description,
            deleteOnRelease: true,
            tag: tags.map(([key, value]) => new ecsModule.CreateNetworkInterfaceRequestTag({ key, value })),
            ...(onCreate > 0 ? (kind === 'ips' ? { secondaryPrivateIpAddressCount: onCreate } : { ipv4PrefixCount: onCreate }) : {}),
          }),
          runtime,
        ),
      { addresses: kind },
    );
    const body: CreatedNic | undefined = created.body;
    const interfaceId = body?.networkInterfaceId;
    if (!interfaceId) throw new CloudError({ kind: 'transient', code: 'EmptyResponse', message: 'CreateNetworkInterface returned no ENI id', operation: 'CreateNetworkInterface' });
    let attached: CloudInterface;
    try {
      await this.api.call('AttachNetworkInterface', async ({ ecs, runtime }) =>
        ecs.attachNetworkInterfaceWithOptions(new ecsModule.AttachNetworkInterfaceRequest({ regionId: await this.regionId(), networkInterfaceId: interfaceId, instanceId: request.instanceId }), runtime),
      );
      attached = await this.waitForAttachment(interfaceId, request.instanceId);
    } catch (err) {
      // An ENI we cannot attach would leak: give it back now (detaching it first if the attachment half-happened).
      await this.deleteInterface(interfaceId).catch(() => undefined);
      throw err;
    }
    if (rest === 0) return attached;
    try {
      const more = await this.assignAddresses(interfaceId, { kind, count: rest });
      return { ...attached, secondaryIps: [...attached.secondaryIps, ...more.ips], prefixes: [...attached.prefixes, ...more.prefixes] };
    } catch {
      // The ENI is attached and useful with what it has; ipamd tops it up on its next pass.
      return attached;
    }
  }

  /** Attaching is asynchronous on ECS: poll the ENI (with backoff) until it is InUse. */
  private async waitForAttachment(interfaceId: string, instanceId: string): Promise<CloudInterface> {
    const timeout = this.options.attachTimeoutMs ?? 60_000;
    const poller = new Poller({ intervalMs: this.options.pollIntervalMs ?? 200, timeoutMs: timeout });
    const attached = await poller.until(
      async () => {
        // Reads lag behind writes: an ENI not found yet, or still Available, may simply not show the change yet.
        const nic = await this.describeOne(interfaceId);
        if (nic?.attachment && nic.attachment.instanceId !== instanceId) {
          throw new CloudError({ kind: 'invalid-request', code: 'InvalidOperation.InvalidEniState', message: `ENI ${interfaceId} got attached to ${nic.attachment.instanceId}, not ${instanceId}`, operation: 'AttachNetworkInterface' });
        }
        return nic;
      },
      (nic): nic is CloudInterface => nic?.status === 'in-use' && nic.attachment?.instanceId === instanceId,
      { readFirst: true },
    );
    if (attached.met) return attached.state;
    throw new CloudError({ kind: 'transient', code: 'AttachTimeout', message: `ENI ${interfaceId} was not InUse on ${instanceId} after ${timeout} ms`, operation: 'AttachNetworkInterface' });
  }

  private async defaultSecurityGroups(): Promise<string[]> {
    if (!this.primaryGroups) await this.instanceMetadata();
    if (!this.primaryGroups) throw new CloudError({ kind: 'not-found', code: 'InvalidSecurityGroupId.NotFound', message: "the primary ENI's security groups are unknown", operation: 'CreateNetworkInterface' });
    return this.primaryGroups;
  }

  async assignAddresses(interfaceId: string, request: AddressRequest): Promise<AssignedAddresses> {
    const output = await this.api.call(
      'AssignPrivateIpAddresses',
      async ({ ecs, runtime }) =>
        ecs.assignPrivateIpAddressesWithOptions(
          new ecsModule.AssignPrivateIpAddressesRequest({
            regionId: await this.regionId(),
            networkInterfaceId: interfaceId,
            ...(request.kind === 'ips' ? { secondaryPrivateIpAddressCount: request.count } : { ipv4PrefixCount: request.count }),
          }),
          runtime,
        ),
      { addresses: request.kind },
    );
    const set = output.body?.assignedPrivateIpAddressesSet;
    return { ips: [...(set?.privateIpSet?.privateIpAddress ?? [])], prefixes: [...(set?.ipv4PrefixSet?.ipv4Prefixes ?? [])] };
  }

  async releaseAddresses(interfaceId: string, addresses: AssignedAddresses): Promise<void> {
    if (addresses.ips.length === 0 && addresses.prefixes.length === 0) return;
    await this.api.call('UnassignPrivateIpAddresses', async ({ ecs, runtime }) =>
      ecs.unassignPrivateIpAddressesWithOptions(
        new ecsModule.UnassignPrivateIpAddressesRequest({
          regionId: await this.regionId(),
          networkInterfaceId: interfaceId,
          ...(addresses.ips.length > 0 ? { privateIpAddress: addresses.ips } : {}),
          ...(addresses.prefixes.length > 0 ? { ipv4Prefix: addresses.prefixes } : {}),
        }),
        runtime,
      ),
    );
  }

  async deleteInterface(interfaceId: string): Promise<boolean> {
    const timeout = this.options.detachTimeoutMs ?? 60_000;
    const poller = new Poller({ intervalMs: this.options.pollIntervalMs ?? 200, timeoutMs: timeout });
    for (;;) {
      try {
        await this.api.call('DeleteNetworkInterface', async ({ ecs, runtime }) =>
          ecs.deleteNetworkInterfaceWithOptions(new ecsModule.DeleteNetworkInterfaceRequest({ regionId: await this.regionId(), networkInterfaceId: interfaceId }), runtime),
        );
        return true;
      } catch (err) {
        if (isCloudError(err, 'not-found')) return false;
        if (!(isCloudError(err) && err.code === 'InvalidOperation.InvalidEniState')) throw err;
      }
      // Still attached: detach (also asynchronous), then wait on the cheap read until it is Available.
      const nic = await this.describeOne(interfaceId);
      if (nic?.attachment && nic.status !== 'detaching') {
        const instanceId = nic.attachment.instanceId;
        await this.api.call('DetachNetworkInterface', async ({ ecs, runtime }) =>
          ecs.detachNetworkInterfaceWithOptions(new ecsModule.DetachNetworkInterfaceRequest({ regionId: await this.regionId(), networkInterfaceId: interfaceId, instanceId }), runtime),
        ).catch((err: unknown) => {
          // Already detaching (or still attaching): the wait below and the next round sort it out.
          if (!isCloudError(err, 'not-found') && !(isCloudError(err) && err.code === 'InvalidOperation.InvalidEniState')) throw err;
        });
      }
      // Done waiting once it is gone, Available, or attached again (then the next round detaches it anew).
      await poller.until(async () => (await this.describeOne(interfaceId))?.status, (status) => status !== 'detaching');
      if (poller.expired) {
        throw new CloudError({ kind: 'transient', code: 'DetachTimeout', message: `ENI ${interfaceId} was still attached after ${timeout} ms`, operation: 'DeleteNetworkInterface' });
      }
    }
  }

  /** One ENI by id through DescribeNetworkInterfaceAttribute; undefined when ECS does not (or not yet) know it. */
  private async describeOne(interfaceId: string): Promise<CloudInterface | undefined> {
    const output = await unlessNotFound(
      this.api.call('DescribeNetworkInterfaceAttribute', async ({ ecs, runtime }) =>
        ecs.describeNetworkInterfaceAttributeWithOptions(new ecsModule.DescribeNetworkInterfaceAttributeRequest({ regionId: await this.regionId(), networkInterfaceId: interfaceId }), runtime),
      ),
    );
    const body: NicAttribute | undefined = output?.body;
    return body?.networkInterfaceId ? this.toCloudInterface(body) : undefined;
  }

  async describeSubnets(vpcId: string, subnetIds: string[]): Promise<SubnetInfo[]> {
    const out: SubnetInfo[] = [];
    for (let page = 1; ; page++) {
      const output = await this.api.call('DescribeVSwitches', async ({ ecs, runtime }) =>
        ecs.describeVSwitchesWithOptions(
          new ecsModule.DescribeVSwitchesRequest({ regionId: await this.regionId(), pageNumber: page, pageSize: vSwitchPageSize, ...(vpcId ? { vpcId } : {}), ...(subnetIds.length === 1 ? { vSwitchId: subnetIds[0] } : {}) }),
          runtime,
        ),
      );
      const list = output.body?.vSwitches?.vSwitch ?? [];
      for (const vsw of list) {
        out.push({ subnetId: vsw.vSwitchId ?? '', vpcId: vsw.vpcId ?? '', zone: vsw.zoneId ?? '', cidr: vsw.cidrBlock ?? '', freeAddresses: vsw.availableIpAddressCount ?? 0, tags: vsw.vSwitchName ? { Name: vsw.vSwitchName } : {} });
      }
      if (list.length === 0 || page * vSwitchPageSize >= (output.body?.totalCount ?? 0)) break;
    }
    if (subnetIds.length === 0) return out;
    // DescribeVSwitches answers an unknown id with an empty list, not an error: say which ones are missing.
    const missing = subnetIds.filter((id) => !out.some((subnet) => subnet.subnetId === id));
    if (missing.length > 0) throw new CloudError({ kind: 'not-found', code: 'InvalidVSwitchId.NotFound', message: `DescribeVSwitches: vSwitch ${missing.join(', ')} does not exist`, operation: 'DescribeVSwitches' });
    return out.filter((subnet) => subnetIds.includes(subnet.subnetId));
  }

  /**
   * SecurityGroupIds takes a JSON array; ECS leaves unknown ids out of the
   * answer (no error), which is what the contract asks. No VpcId filter: a
   * group of another VPC must come back to be told apart from a missing one.
   */
  async describeSecurityGroups(_vpcId: string, ids: string[]): Promise<SecurityGroupInfo[]> {
    const out: SecurityGroupInfo[] = [];
    for (let start = 0; start < ids.length; start += securityGroupBatch) {
      const batch = ids.slice(start, start + securityGroupBatch);
      for (let page = 1; ; page++) {
        const output = await this.api.call('DescribeSecurityGroups', async ({ ecs, runtime }) =>
          ecs.describeSecurityGroupsWithOptions(
            new ecsModule.DescribeSecurityGroupsRequest({ regionId: await this.regionId(), securityGroupIds: JSON.stringify(batch), pageNumber: page, pageSize: securityGroupPageSize }),
            runtime,
          ),
        );
        const list = output.body?.securityGroups?.securityGroup ?? [];
        for (const group of list) {
          if (group.securityGroupId) out.push({ id: group.securityGroupId, vpcId: group.vpcId ?? '', name: group.securityGroupName ?? '' });
        }
        if (list.length === 0 || page * securityGroupPageSize >= (output.body?.totalCount ?? 0)) break;
      }
    }
    return out;
  }

  /** One metadata read however many calls start at once; a failed read is tried again next time. */
  private regionId(): Promise<string> {
    this.region ??= this.metadata.require('region-id').catch((err: unknown) => {
      this.region = undefined;
      throw err;
    });
    return this.region;
  }

  /** The client, and fresh per-request options: no SDK retries (the caller's gate retries), the configured timeouts. */
  private async ecsCall(): Promise<EcsCall> {
    const ecs = await this.ecs();
    const runtime = new teaUtilModule.RuntimeOptions({
      autoretry: false,
      maxAttempts: 1,
      readTimeout: this.options.readTimeoutMs ?? 10_000,
      connectTimeout: this.options.connectTimeoutMs ?? 5_000,
    });
    return { ecs, runtime };
  }

  private ecs(): Promise<EcsClient> {
    this.client ??= (async () => {
      const regionId = await this.regionId();
      const endpoint = parseEndpoint(this.options.ecsEndpoint);
      const config = new openApiModule.Config({
        credential: this.options.credential ?? new credentialsModule.default(),
        regionId,
        ...(endpoint ? { endpoint: endpoint.host, protocol: endpoint.protocol } : {}),
      });
      return new EcsClient(config);
    })().catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    return this.client;
  }
}

/** `host[:port]` or `http(s)://host[:port]` into the SDK's endpoint (no scheme) and protocol. */
export function parseEndpoint(value: string | undefined): { host: string; protocol: 'http' | 'https' } | undefined {
  if (!value) return undefined;
  const match = /^(?:(https?):\/\/)?([^/\s]+?)\/?$/.exec(value.trim());
  if (!match?.[2]) throw new CloudError({ kind: 'invalid-request', code: 'InvalidEndpoint', message: `ECS endpoint ${JSON.stringify(value)} is not host[:port] or http(s)://host[:port]` });
  return { host: match[2], protocol: match[1] === 'http' ? 'http' : 'https' };
}
