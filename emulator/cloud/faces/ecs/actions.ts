import { cidrContains } from '../../../../lib/ipv4.ts';
import { alibabaInstanceCatalog } from '../../../../providers/catalogs/catalog.ts';
import type { CloudModel, NetworkInterface } from '../../model/cloud.ts';
import { RpcError, invalid, missing, type RpcParams } from './params.ts';
import { interfaceGroups } from './eni-groups.ts';
import { securityGroupActions } from './security-groups.ts';
import { alibabaOwnerId, ecsStatus, ecsTime, eni, eniNotFound, eniState, region, regionOfVpc, tagsJson, tokenPage, type Handler, type JsonObject, type JsonValue } from './shared.ts';

export { alibabaOwnerId, ecsStatus, type JsonObject, type JsonValue };

/**
 * ECS keeps DeleteOnRelease on the ENI itself, attached or not; the model
 * keeps it on the attachment. The flag of an unattached ENI waits here until
 * it is attached.
 */
const deleteOnRelease = new WeakMap<CloudModel, Map<string, boolean>>();

function releaseFlags(model: CloudModel): Map<string, boolean> {
  let flags = deleteOnRelease.get(model);
  if (!flags) {
    flags = new Map();
    deleteOnRelease.set(model, flags);
  }
  return flags;
}

/** One ENI in the shape DescribeNetworkInterfaces, DescribeNetworkInterfaceAttribute and CreateNetworkInterface share. */
function interfaceJson(model: CloudModel, nic: NetworkInterface, primaryIds: Set<string>): JsonObject {
  const attachment = nic.attachment;
  const flag = attachment ? attachment.deleteOnTermination : (releaseFlags(model).get(nic.id) ?? false);
  return {
    NetworkInterfaceId: nic.id,
    NetworkInterfaceName: '',
    Description: nic.description,
    Status: ecsStatus(nic),
    Type: primaryIds.has(nic.id) ? 'Primary' : 'Secondary',
    VpcId: nic.vpcId,
    VSwitchId: nic.subnetId,
    ZoneId: nic.zone,
    PrivateIpAddress: nic.primaryIp,
    MacAddress: nic.mac,
    InstanceId: attachment?.instanceId ?? '',
    CreationTime: ecsTime(nic.createdAt),
    OwnerId: alibabaOwnerId,
    ResourceGroupId: '',
    ServiceManaged: false,
    SourceDestCheck: true,
    DeleteOnRelease: flag,
    AssociatedPublicIp: {},
    SecurityGroupIds: { SecurityGroupId: [...nic.securityGroupIds] },
    PrivateIpSets: {
      PrivateIpSet: [
        { PrivateIpAddress: nic.primaryIp, Primary: true, AssociatedPublicIp: {} },
        ...nic.secondaryIps.map((ip) => ({ PrivateIpAddress: ip, Primary: false, AssociatedPublicIp: {} })),
      ],
    },
    Ipv4PrefixSets: { Ipv4PrefixSet: nic.prefixes.map((Ipv4Prefix) => ({ Ipv4Prefix })) },
    Ipv6Sets: { Ipv6Set: [] },
    Tags: tagsJson(nic.tags),
    ...(attachment ? { Attachment: { InstanceId: attachment.instanceId, DeviceIndex: attachment.deviceIndex, NetworkCardIndex: attachment.networkCardIndex } } : {}),
  };
}

function primaryInterfaceIds(model: CloudModel): Set<string> {
  return new Set(model.listInstances().map((instance) => instance.primaryInterfaceId));
}


const interfaceStatuses = new Set(['Available', 'Attaching', 'InUse', 'Detaching', 'Creating', 'Deleting', 'CreateFailed']);

const describeNetworkInterfaces: Handler = (model, params) => {
  const regionId = region(params);
  const ids = params.list('NetworkInterfaceId', 100);
  const privateIps = params.list('PrivateIpAddress', 100);
  const tagFilters = params.tagFilters();
  const status = params.optional('Status');
  if (status !== undefined && !interfaceStatuses.has(status)) throw invalid('Status', `Expected one of ${[...interfaceStatuses].join(', ')}.`);
  const type = params.optional('Type');
  if (type !== undefined && type !== 'Primary' && type !== 'Secondary') throw invalid('Type', 'Expected Primary or Secondary.');
  const fields = { InstanceId: params.optional('InstanceId'), VSwitchId: params.optional('VSwitchId'), VpcId: params.optional('VpcId'), SecurityGroupId: params.optional('SecurityGroupId'), PrimaryIpAddress: params.optional('PrimaryIpAddress') };
  const byNextToken = params.has('NextToken') || params.has('MaxResults');
  const pageNumber = params.int('PageNumber', 1, 1_000_000) ?? 1;
  const pageSize = params.int('PageSize', 1, 100) ?? 10;
  const regionOf = regionOfVpc(model);
  const primaries = primaryInterfaceIds(model);
  const wanted = new Set(ids);
  const matching = model
    .describeInterfaces((nic) => regionOf(nic.vpcId) === regionId)
    .filter(
      (nic) =>
        (wanted.size === 0 || wanted.has(nic.id)) &&
        (fields.InstanceId === undefined || nic.attachment?.instanceId === fields.InstanceId) &&
        (fields.VSwitchId === undefined || nic.subnetId === fields.VSwitchId) &&
        (fields.VpcId === undefined || nic.vpcId === fields.VpcId) &&
        (fields.SecurityGroupId === undefined || nic.securityGroupIds.includes(fields.SecurityGroupId)) &&
        (fields.PrimaryIpAddress === undefined || nic.primaryIp === fields.PrimaryIpAddress) &&
        privateIps.every((ip) => nic.primaryIp === ip || nic.secondaryIps.includes(ip)) &&
        (status === undefined || ecsStatus(nic) === status) &&
        (type === undefined || (type === 'Primary') === primaries.has(nic.id)) &&
        tagFilters.every((tag) => Object.hasOwn(nic.tags, tag.key) && (tag.value === undefined || nic.tags[tag.key] === tag.value)),
    )
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  // Two paging styles: NextToken/MaxResults, or PageNumber/PageSize (the default, 10 a page).
  const paged = byNextToken
    ? tokenPage(matching, params, [10, 500], 10)
    : { items: matching.slice((pageNumber - 1) * pageSize, pageNumber * pageSize), nextToken: '' };
  return {
    TotalCount: matching.length,
    PageNumber: byNextToken ? 1 : pageNumber,
    PageSize: byNextToken ? paged.items.length : pageSize,
    NextToken: paged.nextToken,
    NetworkInterfaceSets: { NetworkInterfaceSet: paged.items.map((nic) => interfaceJson(model, nic, primaries)) },
  };
};

const describeNetworkInterfaceAttribute: Handler = (model, params) => {
  const regionId = region(params);
  const id = params.required('NetworkInterfaceId');
  // Reads lag like DescribeNetworkInterfaces: the same eventual consistency.
  const regionOf = regionOfVpc(model);
  const [nic] = model.describeInterfaces((candidate) => candidate.id === id && regionOf(candidate.vpcId) === regionId);
  if (!nic) throw eniNotFound(id);
  return interfaceJson(model, nic, primaryInterfaceIds(model));
};

/** A secondary address or primary address the caller names must lie in the vSwitch. */
function inVSwitch(model: CloudModel, subnetId: string, name: string, ip: string): void {
  const subnet = model.getSubnet(subnetId);
  if (!cidrContains(subnet.cidr, ip)) throw new RpcError('InvalidVSwitchId.IpInvalid', `The specified ${name} ${ip} is not in the CIDR block ${subnet.cidr} of vSwitch ${subnetId}.`, 403);
}

function securityGroups(params: RpcParams): string[] {
  const single = params.optional('SecurityGroupId');
  const many = params.list('SecurityGroupIds', 10);
  if (single !== undefined && many.length > 0) throw invalid('SecurityGroupIds', 'SecurityGroupId and SecurityGroupIds.N cannot be given together.');
  if (single === undefined && many.length === 0) throw missing('SecurityGroupId');
  return single !== undefined ? [single] : many;
}

const createNetworkInterface: Handler = (model, params) => {
  const regionId = region(params);
  const subnetId = params.required('VSwitchId');
  let subnet: { vpcId: string };
  try {
    subnet = model.getSubnet(subnetId);
  } catch {
    throw new RpcError('InvalidVSwitchId.NotFound', `The specified VSwitchId does not exist: ${subnetId}.`, 404);
  }
  if (regionOfVpc(model)(subnet.vpcId) !== regionId) throw new RpcError('InvalidVSwitchId.NotFound', `The specified VSwitchId does not exist in ${regionId}: ${subnetId}.`, 404);
  const groups = securityGroups(params);
  interfaceGroups(model, 'the new ENI', subnet.vpcId, groups);
  const ipCount = params.int('SecondaryPrivateIpAddressCount', 1, 1000);
  const ips = params.list('PrivateIpAddress', 1000).map((ip, i) => params.ip(`PrivateIpAddress.${i + 1}`, ip));
  if (ipCount !== undefined && ips.length > 0) throw invalid('SecondaryPrivateIpAddressCount', 'SecondaryPrivateIpAddressCount and PrivateIpAddress.N cannot be given together.');
  const prefixCount = params.int('Ipv4PrefixCount', 1, 1000);
  if (params.list('Ipv4Prefix', 10).length > 0) throw new RpcError('UnsupportedParameter', 'The emulator assigns IPv4 prefixes by count only: use Ipv4PrefixCount.');
  const primaryIp = params.optional('PrimaryIpAddress');
  if (primaryIp !== undefined) inVSwitch(model, subnetId, 'PrimaryIpAddress', params.ip('PrimaryIpAddress', primaryIp));
  for (const ip of ips) inVSwitch(model, subnetId, 'PrivateIpAddress', ip);
  const release = params.bool('DeleteOnRelease');
  const description = params.optional('Description') ?? '';
  if (description.length > 256) throw invalid('Description', 'A description has at most 256 characters.');
  const nic = model.createInterface({
    subnetId,
    securityGroupIds: groups,
    description,
    tags: params.tags(),
    secondaryIpCount: ipCount,
    secondaryIps: ips,
    prefixCount,
    ...(primaryIp !== undefined ? { primaryIp } : {}),
  });
  if (release !== undefined) releaseFlags(model).set(nic.id, release);
  return interfaceJson(model, nic, new Set());
};

/** ECS picks the device index itself: the lowest one not taken on the instance. */
function freeDeviceIndex(model: CloudModel, instanceId: string, maxInterfaces: number): number {
  const taken = new Set(model.listInterfaces().flatMap((nic) => (nic.attachment?.instanceId === instanceId ? [nic.attachment.deviceIndex] : [])));
  for (let index = 1; index < maxInterfaces; index++) if (!taken.has(index)) return index;
  // Every index is taken: the model answers with the interface limit.
  return maxInterfaces;
}

const attachNetworkInterface: Handler = (model, params) => {
  const regionId = region(params);
  const id = params.required('NetworkInterfaceId');
  const instanceId = params.required('InstanceId');
  const cardIndex = params.int('NetworkCardIndex', 0, 7) ?? 0;
  params.bool('WaitForNetworkConfigurationReady');
  if (params.has('TrunkNetworkInstanceId')) throw new RpcError('UnsupportedParameter', 'ENI trunking is not emulated: TrunkNetworkInstanceId is not supported.');
  const nic = eni(model, id, regionId);
  let instance: ReturnType<CloudModel['getInstance']>;
  try {
    instance = model.getInstance(instanceId);
  } catch {
    throw new RpcError('InvalidInstanceId.NotFound', `The specified InstanceId does not exist: ${instanceId}.`, 404);
  }
  if (instance.region !== regionId) throw new RpcError('InvalidInstanceId.NotFound', `The specified InstanceId does not exist in ${regionId}: ${instanceId}.`, 404);
  if (nic.attachment) throw eniState(id, ecsStatus(nic));
  if (nic.vpcId !== instance.vpcId) throw new RpcError('InvalidOperation.VpcMismatch', `ENI ${id} and instance ${instanceId} are in different VPCs.`, 403);
  if (nic.zone !== instance.zone) throw new RpcError('InvalidOperation.AvailabilityZoneMismatch', `ENI ${id} is in ${nic.zone}, instance ${instanceId} in ${instance.zone}.`, 403);
  const type = model.instanceType(instance.type);
  const attachment = model.attachInterface(id, instanceId, freeDeviceIndex(model, instanceId, type.maxInterfaces), cardIndex);
  const flag = releaseFlags(model).get(id);
  if (flag !== undefined) model.setDeleteOnTermination(id, attachment.id, flag);
  return {};
};

const detachNetworkInterface: Handler = (model, params) => {
  const regionId = region(params);
  const id = params.required('NetworkInterfaceId');
  const instanceId = params.required('InstanceId');
  if (params.has('TrunkNetworkInstanceId')) throw new RpcError('UnsupportedParameter', 'ENI trunking is not emulated: TrunkNetworkInstanceId is not supported.');
  const nic = eni(model, id, regionId);
  try {
    model.getInstance(instanceId);
  } catch {
    throw new RpcError('InvalidInstanceId.NotFound', `The specified InstanceId does not exist: ${instanceId}.`, 404);
  }
  const attachment = nic.attachment;
  if (!attachment || attachment.instanceId !== instanceId) throw eniState(id, attachment ? `attached to ${attachment.instanceId}` : 'Available');
  if (attachment.deviceIndex === 0) throw new RpcError('InvalidOperation.DetachPrimaryEniNotAllowed', `ENI ${id} is the primary ENI of ${instanceId} and cannot be detached.`, 400);
  // The flag stays with the ENI after it is detached, as on ECS.
  releaseFlags(model).set(id, attachment.deleteOnTermination);
  model.detachInterface(attachment.id);
  return {};
};

const deleteNetworkInterface: Handler = (model, params) => {
  const regionId = region(params);
  const id = params.required('NetworkInterfaceId');
  const nic = eni(model, id, regionId);
  if (nic.attachment) throw eniState(id, ecsStatus(nic));
  model.deleteInterface(id);
  releaseFlags(model).delete(id);
  return {};
};

const modifyNetworkInterfaceAttribute: Handler = (model, params) => {
  const regionId = region(params);
  const id = params.required('NetworkInterfaceId');
  const release = params.bool('DeleteOnRelease');
  for (const name of ['Description', 'NetworkInterfaceName', 'QueueNumber', 'SourceDestCheck']) {
    if (params.has(name)) throw new RpcError('UnsupportedParameter', `The emulator modifies DeleteOnRelease and SecurityGroupId.N only, not ${name}.`);
  }
  // The groups the ENI ends up in, replacing the ones it was in.
  const groups = params.list('SecurityGroupId', 100);
  const nic = eni(model, id, regionId);
  if (groups.length > 0) {
    interfaceGroups(model, id, nic.vpcId, groups);
    model.setSecurityGroups(id, groups);
  }
  if (release !== undefined) {
    releaseFlags(model).set(id, release);
    if (nic.attachment) model.setDeleteOnTermination(id, nic.attachment.id, release);
  }
  return {};
};

/** Addresses change only on an ENI that is Available or InUse. */
function settledEni(model: CloudModel, id: string, regionId: string): NetworkInterface {
  const nic = eni(model, id, regionId);
  const status = ecsStatus(nic);
  if (status !== 'Available' && status !== 'InUse') throw eniState(id, status);
  return nic;
}

const assignPrivateIpAddresses: Handler = async (model, params) => {
  const regionId = region(params);
  const id = params.required('NetworkInterfaceId');
  const ipCount = params.int('SecondaryPrivateIpAddressCount', 1, 1000);
  const ips = params.list('PrivateIpAddress', 1000).map((ip, i) => params.ip(`PrivateIpAddress.${i + 1}`, ip));
  const prefixCount = params.int('Ipv4PrefixCount', 1, 1000);
  const prefixes = params.list('Ipv4Prefix', 1000).map((prefix, i) => params.cidr(`Ipv4Prefix.${i + 1}`, prefix, model.prefixLength));
  if (ipCount !== undefined && ips.length > 0) throw invalid('SecondaryPrivateIpAddressCount', 'SecondaryPrivateIpAddressCount and PrivateIpAddress.N cannot be given together.');
  if (prefixCount !== undefined && prefixes.length > 0) throw invalid('Ipv4PrefixCount', 'Ipv4PrefixCount and Ipv4Prefix.N cannot be given together.');
  const wantsIps = ipCount !== undefined || ips.length > 0;
  const wantsPrefixes = prefixCount !== undefined || prefixes.length > 0;
  if (!wantsIps && !wantsPrefixes) throw missing('SecondaryPrivateIpAddressCount');
  if (wantsIps && wantsPrefixes) throw invalid('Ipv4PrefixCount', 'Addresses and IPv4 prefixes cannot be assigned in the same request.');
  const nic = settledEni(model, id, regionId);
  for (const ip of ips) inVSwitch(model, nic.subnetId, 'PrivateIpAddress', ip);
  for (const prefix of prefixes) inVSwitch(model, nic.subnetId, 'Ipv4Prefix', prefix.split('/')[0] ?? '');
  const change = await model.assignAddresses(id, { ipCount, ips, prefixCount, prefixes });
  return {
    AssignedPrivateIpAddressesSet: {
      NetworkInterfaceId: id,
      PrivateIpSet: { PrivateIpAddress: change.ips },
      Ipv4PrefixSet: { Ipv4Prefixes: change.prefixes },
    },
  };
};

const unassignPrivateIpAddresses: Handler = async (model, params) => {
  const regionId = region(params);
  const id = params.required('NetworkInterfaceId');
  const ips = params.list('PrivateIpAddress', 1000).map((ip, i) => params.ip(`PrivateIpAddress.${i + 1}`, ip));
  const prefixes = params.list('Ipv4Prefix', 1000).map((prefix, i) => params.cidr(`Ipv4Prefix.${i + 1}`, prefix, model.prefixLength));
  if (ips.length === 0 && prefixes.length === 0) throw missing('PrivateIpAddress.N');
  const nic = settledEni(model, id, regionId);
  for (const ip of ips) {
    if (ip === nic.primaryIp) throw invalid('PrivateIpAddress', `${ip} is the primary address of ${id} and cannot be unassigned.`);
    if (!nic.secondaryIps.includes(ip)) throw new RpcError('InvalidIp.IpUnassigned', `The specified address ${ip} is not assigned to ${id}.`, 403);
  }
  for (const prefix of prefixes) {
    if (!nic.prefixes.includes(prefix)) throw new RpcError('InvalidIp.IpUnassigned', `The specified IPv4 prefix ${prefix} is not assigned to ${id}.`, 403);
  }
  await model.releaseAddresses(id, { ips, prefixes });
  return {};
};

const describeVSwitches: Handler = (model, params) => {
  const regionId = region(params);
  const vpcId = params.optional('VpcId');
  const vSwitchId = params.optional('VSwitchId');
  const zoneId = params.optional('ZoneId');
  const pageNumber = params.int('PageNumber', 1, 1_000_000) ?? 1;
  const pageSize = params.int('PageSize', 1, 50) ?? 10;
  const regionOf = regionOfVpc(model);
  const matching = model
    .listSubnets()
    .filter((subnet) => regionOf(subnet.vpcId) === regionId && (vpcId === undefined || subnet.vpcId === vpcId) && (vSwitchId === undefined || subnet.id === vSwitchId) && (zoneId === undefined || subnet.zone === zoneId));
  return {
    TotalCount: matching.length,
    PageNumber: pageNumber,
    PageSize: pageSize,
    VSwitches: {
      VSwitch: matching.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map((subnet) => ({
        VSwitchId: subnet.id,
        VpcId: subnet.vpcId,
        ZoneId: subnet.zone,
        CidrBlock: subnet.cidr,
        AvailableIpAddressCount: subnet.freeAddresses,
        Status: 'Available',
        VSwitchName: subnet.tags.Name ?? '',
        Description: '',
        IsDefault: false,
        ResourceGroupId: '',
      })),
    },
  };
};

const describeInstanceTypes: Handler = (model, params) => {
  const names = params.list('InstanceTypes', 10);
  const family = params.optional('InstanceTypeFamily');
  const extra = alibabaInstanceCatalog();
  // The model may hold other clouds' types too: ECS knows its own ecs.* names only; unknown names are left out, not an error.
  const types = [...model.catalog.values()].filter(
    (type) => type.name.startsWith('ecs.') && (names.length === 0 || names.includes(type.name)) && (family === undefined || type.name.startsWith(`${family}.`)),
  );
  const paged = tokenPage(types, params, [1, 1600], 1600);
  return {
    NextToken: paged.nextToken,
    InstanceTypes: {
      InstanceType: paged.items.map((type) => {
        const more = extra.get(type.name);
        return {
          InstanceTypeId: type.name,
          InstanceTypeFamily: more?.family ?? type.name.split('.').slice(0, 2).join('.'),
          InstanceFamilyLevel: type.name.startsWith('ecs.xn4.') ? 'EntryLevel' : 'EnterpriseLevel',
          ...(more ? { CpuCoreCount: more.vcpus, MemorySize: more.memoryGiB } : {}),
          EniQuantity: type.maxInterfaces,
          EniTotalQuantity: type.maxInterfaces,
          EniPrivateIpAddressQuantity: type.ipv4PerInterface,
          EniIpv6AddressQuantity: type.ipv4PerInterface,
          EniTrunkSupported: false,
          NetworkCardQuantity: 1,
        };
      }),
    },
  };
};

const resourceTypes = new Set(['instance', 'eni', 'securitygroup']);

const tagResources: Handler = (model, params) => {
  const regionId = region(params);
  const type = params.required('ResourceType');
  if (!resourceTypes.has(type)) throw invalid('ResourceType', `Expected one of ${[...resourceTypes].join(', ')}.`);
  const ids = params.list('ResourceId', 50);
  if (ids.length === 0) throw missing('ResourceId.N');
  const tags = params.tags();
  if (Object.keys(tags).length === 0) throw missing('Tag.N.Key');
  const regionOf = regionOfVpc(model);
  const existing = new Map<string, string>([
    ...model.listInterfaces().map((nic): [string, string] => [nic.id, `eni:${regionOf(nic.vpcId)}`]),
    ...model.listInstances().map((instance): [string, string] => [instance.id, `instance:${instance.region}`]),
    ...model.listSecurityGroups().map((group): [string, string] => [group.id, `securitygroup:${regionOf(group.vpcId)}`]),
  ]);
  for (const id of ids) {
    if (existing.get(id) !== `${type}:${regionId}`) throw new RpcError('InvalidResourceId.NotFound', `The specified ResourceId does not exist: ${id}.`, 404);
  }
  model.tagResources(ids, tags);
  return {};
};

/** One ECS action: how it runs against the model, and its throttle quota. */
export interface EcsAction {
  run: Handler;
  /**
   * Calls a minute before ECS throttles. ECS throttles each API per account
   * and region with a per-minute quota (Quota Center, "API Rate Limits"; the
   * figures are per account and not published as a table). These are the
   * figures Terway, Alibaba's own CNI, sizes its client-side limiter to
   * (pkg/aliyun/client/ratelimit.go); 500 where it names none.
   */
  perMinute: number;
}

/** The actions the ECS face serves: a new action is one entry here. */
export const ecsActions: Record<string, EcsAction> = {
  DescribeInstanceTypes: { run: describeInstanceTypes, perMinute: 400 },
  DescribeNetworkInterfaces: { run: describeNetworkInterfaces, perMinute: 800 },
  DescribeNetworkInterfaceAttribute: { run: describeNetworkInterfaceAttribute, perMinute: 2000 },
  CreateNetworkInterface: { run: createNetworkInterface, perMinute: 500 },
  AttachNetworkInterface: { run: attachNetworkInterface, perMinute: 500 },
  DetachNetworkInterface: { run: detachNetworkInterface, perMinute: 400 },
  DeleteNetworkInterface: { run: deleteNetworkInterface, perMinute: 500 },
  ModifyNetworkInterfaceAttribute: { run: modifyNetworkInterfaceAttribute, perMinute: 500 },
  AssignPrivateIpAddresses: { run: assignPrivateIpAddresses, perMinute: 400 },
  UnassignPrivateIpAddresses: { run: unassignPrivateIpAddresses, perMinute: 400 },
  DescribeVSwitches: { run: describeVSwitches, perMinute: 300 },
  TagResources: { run: tagResources, perMinute: 500 },
  ...securityGroupActions,
};
