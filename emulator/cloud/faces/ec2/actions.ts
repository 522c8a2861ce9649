import type { InstanceTypeInfo } from '../../../../providers/catalogs/catalog.ts';
import type { CloudModel, NetworkInterface } from '../../model/cloud.ts';
import { ModelError } from '../../model/errors.ts';
import { ec2Arn, ok, ownerId, tagSet, tagSpecifications, type Ec2Action, type Handler } from './handler.ts';
import { matchesFilters, page } from './listing.ts';
import { QueryError } from './query.ts';
import { securityGroupActions } from './security-groups.ts';
import type { XmlObject } from './xml.ts';

export { ownerId } from './handler.ts';

function interfaceXml(nic: NetworkInterface, groupNames: Map<string, string>): XmlObject {
  const attachment = nic.attachment;
  return {
    networkInterfaceId: nic.id,
    subnetId: nic.subnetId,
    vpcId: nic.vpcId,
    availabilityZone: nic.zone,
    description: nic.description,
    ownerId,
    requesterManaged: false,
    status: nic.status,
    macAddress: nic.mac,
    privateIpAddress: nic.primaryIp,
    sourceDestCheck: true,
    interfaceType: 'interface',
    groupSet: nic.securityGroupIds.map((groupId) => ({ groupId, groupName: groupNames.get(groupId) ?? groupId })),
    attachment: attachment
      ? {
          attachmentId: attachment.id,
          instanceId: attachment.instanceId,
          instanceOwnerId: ownerId,
          deviceIndex: attachment.deviceIndex,
          networkCardIndex: attachment.networkCardIndex,
          status: attachment.status,
          deleteOnTermination: attachment.deleteOnTermination,
        }
      : undefined,
    tagSet: tagSet(nic.tags),
    privateIpAddressesSet: [
      { privateIpAddress: nic.primaryIp, primary: true },
      ...nic.secondaryIps.map((privateIpAddress) => ({ privateIpAddress, primary: false })),
    ],
    ipv4PrefixSet: nic.prefixes.map((ipv4Prefix) => ({ ipv4Prefix })),
  };
}

function groupNames(model: CloudModel): Map<string, string> {
  return new Map(model.listSecurityGroups().map((group) => [group.id, group.name]));
}

function interfaceField(nic: NetworkInterface, name: string): string[] | undefined {
  switch (name) {
    case 'network-interface-id':
      return [nic.id];
    case 'attachment.instance-id':
      return nic.attachment ? [nic.attachment.instanceId] : [];
    case 'attachment.attachment-id':
      return nic.attachment ? [nic.attachment.id] : [];
    case 'attachment.status':
      return nic.attachment ? [nic.attachment.status] : [];
    case 'attachment.device-index':
      return nic.attachment ? [String(nic.attachment.deviceIndex)] : [];
    case 'status':
      return [nic.status];
    case 'subnet-id':
      return [nic.subnetId];
    case 'vpc-id':
      return [nic.vpcId];
    case 'availability-zone':
      return [nic.zone];
    case 'description':
      return [nic.description];
    case 'mac-address':
      return [nic.mac];
    case 'private-ip-address':
    case 'addresses.private-ip-address':
      return [nic.primaryIp, ...nic.secondaryIps];
    case 'group-id':
      return nic.securityGroupIds;
    case 'owner-id':
      return [ownerId];
    default:
      return undefined;
  }
}

const describeNetworkInterfaces: Handler = (model, params) => {
  const ids = params.list('NetworkInterfaceId');
  const filters = params.filters();
  if (ids.length > 0 && params.optional('MaxResults') !== undefined) {
    throw new QueryError('InvalidParameterCombination', 'The parameter NetworkInterfaceIds cannot be used with the parameter MaxResults');
  }
  const wanted = new Set(ids);
  const all = model.describeInterfaces(wanted.size > 0 ? (nic) => wanted.has(nic.id) : undefined).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  if (all.length < wanted.size) {
    const known = new Set(all.map((nic) => nic.id));
    const missing = ids.filter((id) => !known.has(id));
    throw new ModelError('InterfaceNotFound', `The networkInterface ID '${missing.join(', ')}' does not exist`);
  }
  const matching = all.filter((nic) => matchesFilters(filters, (name) => interfaceField(nic, name), nic.tags));
  const paged = page(matching, params, [5, 1000]);
  const names = groupNames(model);
  return {
    networkInterfaceSet: paged.items.map((nic) => interfaceXml(nic, names)),
    nextToken: paged.nextToken,
  };
};

/** The groups a new interface gets: those named, or else its VPC's `default` group, as EC2 does. */
function groupsForNewInterface(model: CloudModel, subnetId: string, named: string[]): string[] {
  if (named.length > 0) return named;
  const fallback = model.defaultSecurityGroup(model.getSubnet(subnetId).vpcId);
  return fallback ? [fallback.id] : [];
}

const createNetworkInterface: Handler = (model, params) => {
  const subnetId = params.required('SubnetId');
  const tagSpecs = tagSpecifications(params);
  const primaryIp = params.optional('PrivateIpAddress');
  const nic = model.createInterface({
    subnetId,
    securityGroupIds: groupsForNewInterface(model, subnetId, params.list('SecurityGroupId')),
    description: params.optional('Description') ?? '',
    tags: tagSpecs['network-interface'] ?? {},
    secondaryIpCount: params.int('SecondaryPrivateIpAddressCount', 1, 1000),
    prefixCount: params.int('Ipv4PrefixCount', 1, 1000),
    ...(primaryIp ? { primaryIp } : {}),
  });
  return { networkInterface: interfaceXml(nic, groupNames(model)) };
};

const attachNetworkInterface: Handler = (model, params) => {
  const attachment = model.attachInterface(
    params.required('NetworkInterfaceId'),
    params.required('InstanceId'),
    params.requiredInt('DeviceIndex', 0, 1000),
    params.int('NetworkCardIndex', 0, 1000) ?? 0,
  );
  return { attachmentId: attachment.id, networkCardIndex: attachment.networkCardIndex };
};

const modifyNetworkInterfaceAttribute: Handler = (model, params) => {
  const interfaceId = params.required('NetworkInterfaceId');
  const attachmentId = params.optional('Attachment.AttachmentId');
  const deleteOnTermination = params.bool('Attachment.DeleteOnTermination');
  const description = params.optional('Description.Value');
  const groups = params.list('SecurityGroupId');
  const given = [attachmentId !== undefined, description !== undefined, groups.length > 0].filter(Boolean).length;
  if (given === 0) throw new QueryError('MissingParameter', 'The request must contain an attribute to modify');
  // EC2 modifies one attribute per call.
  if (given > 1) throw new QueryError('InvalidParameterCombination', 'Only one attribute can be modified at a time');
  if (attachmentId !== undefined) {
    if (deleteOnTermination === undefined) throw new QueryError('MissingParameter', 'The request must contain the parameter Attachment.DeleteOnTermination');
    model.setDeleteOnTermination(interfaceId, attachmentId, deleteOnTermination);
  } else if (description !== undefined) {
    model.setDescription(interfaceId, description);
  } else {
    model.setSecurityGroups(interfaceId, groups);
  }
  return ok;
};

const assignPrivateIpAddresses: Handler = async (model, params) => {
  const interfaceId = params.required('NetworkInterfaceId');
  const ipCount = params.int('SecondaryPrivateIpAddressCount', 1, 1000);
  const ips = params.list('PrivateIpAddress');
  const prefixCount = params.int('Ipv4PrefixCount', 1, 1000);
  const prefixes = params.list('Ipv4Prefix');
  const wantsIps = ipCount !== undefined || ips.length > 0;
  const wantsPrefixes = prefixCount !== undefined || prefixes.length > 0;
  if (!wantsIps && !wantsPrefixes) {
    throw new QueryError('MissingParameter', 'Either PrivateIpAddresses, SecondaryPrivateIpAddressCount, Ipv4Prefixes or Ipv4PrefixCount must be given');
  }
  if (wantsIps && wantsPrefixes) {
    throw new QueryError('InvalidParameterCombination', 'Addresses and prefixes cannot be assigned in the same request');
  }
  const allowReassignment = params.bool('AllowReassignment') ?? false;
  const change = await model.assignAddresses(interfaceId, { ipCount, ips, prefixCount, prefixes, allowReassignment });
  return {
    networkInterfaceId: interfaceId,
    assignedPrivateIpAddressesSet: change.ips.map((privateIpAddress) => ({ privateIpAddress })),
    assignedIpv4PrefixSet: change.prefixes.map((ipv4Prefix) => ({ ipv4Prefix })),
  };
};

const unassignPrivateIpAddresses: Handler = async (model, params) => {
  const interfaceId = params.required('NetworkInterfaceId');
  const ips = params.list('PrivateIpAddress');
  const prefixes = params.list('Ipv4Prefix');
  if (ips.length === 0 && prefixes.length === 0) throw new QueryError('MissingParameter', 'The request must contain PrivateIpAddress or Ipv4Prefix');
  await model.releaseAddresses(interfaceId, { ips, prefixes });
  return ok;
};

const detachNetworkInterface: Handler = (model, params) => {
  model.detachInterface(params.required('AttachmentId'));
  return ok;
};

const deleteNetworkInterface: Handler = (model, params) => {
  model.deleteInterface(params.required('NetworkInterfaceId'));
  return ok;
};

const createTags: Handler = (model, params) => {
  const resources = params.list('ResourceId');
  if (resources.length === 0) throw new QueryError('MissingParameter', 'The request must contain the parameter ResourceId');
  const tags = params.tags();
  if (Object.keys(tags).length === 0) throw new QueryError('MissingParameter', 'The request must contain the parameter Tag');
  model.tagResources(resources, tags);
  return ok;
};

const describeSubnets: Handler = (model, params) => {
  const ids = params.list('SubnetId');
  const filters = params.filters();
  let subnets = model.listSubnets();
  if (ids.length > 0) {
    const missing = ids.filter((id) => !subnets.some((subnet) => subnet.id === id));
    if (missing.length > 0) throw new ModelError('SubnetNotFound', `The subnet ID '${missing.join(', ')}' does not exist`);
    subnets = subnets.filter((subnet) => ids.includes(subnet.id));
  }
  const matching = subnets.filter((subnet) =>
    matchesFilters(
      filters,
      (name) =>
        ({
          'subnet-id': [subnet.id],
          'vpc-id': [subnet.vpcId],
          'availability-zone': [subnet.zone],
          'cidr-block': [subnet.cidr],
          'cidr-block-association.cidr-block': [subnet.cidr],
          state: ['available'],
        })[name],
      subnet.tags,
    ),
  );
  const paged = page(matching, params, [5, 1000]);
  return {
    subnetSet: paged.items.map((subnet) => ({
      subnetId: subnet.id,
      subnetArn: ec2Arn(model, subnet.vpcId, 'subnet', subnet.id),
      state: 'available',
      ownerId,
      vpcId: subnet.vpcId,
      cidrBlock: subnet.cidr,
      availableIpAddressCount: subnet.freeAddresses,
      availabilityZone: subnet.zone,
      defaultForAz: false,
      mapPublicIpOnLaunch: false,
      tagSet: tagSet(subnet.tags),
    })),
    nextToken: paged.nextToken,
  };
};

/** The model's catalog may hold other clouds' sizes too: EC2 knows its own names only. */
const isEc2TypeName = (name: string): boolean => !name.startsWith('ecs.') && !name.startsWith('Standard_');

function instanceTypeField(type: InstanceTypeInfo, name: string): string[] | undefined {
  switch (name) {
    case 'instance-type':
      return [type.name];
    case 'hypervisor':
      return type.hypervisor ? [type.hypervisor] : [];
    case 'bare-metal':
      return [String(type.bareMetal)];
    case 'current-generation':
      return ['true'];
    case 'network-info.maximum-network-interfaces':
      return [String(type.maxInterfaces)];
    case 'network-info.ipv4-addresses-per-interface':
      return [String(type.ipv4PerInterface)];
    default:
      return undefined;
  }
}

/** Named types (all must exist), or every type; then the filters; paged (at most 100 a page). */
const describeInstanceTypes: Handler = (model, params) => {
  const names = params.list('InstanceType');
  const filters = params.filters();
  const all = [...model.catalog.values()].filter((type) => isEc2TypeName(type.name));
  const unknown = names.filter((name) => !isEc2TypeName(name) || !model.catalog.has(name));
  if (unknown.length > 0) throw new ModelError('InstanceTypeNotFound', `The following supplied instance types do not exist: [${unknown.join(', ')}]`);
  const named = names.length > 0 ? all.filter((type) => names.includes(type.name)) : all;
  const matching = named.filter((type) => matchesFilters(filters, (field) => instanceTypeField(type, field), {}));
  const paged = page(matching, params, [5, 100], 100);
  return {
    instanceTypeSet: paged.items.map((type) => ({
      instanceType: type.name,
      hypervisor: type.hypervisor || undefined,
      bareMetal: type.bareMetal,
      currentGeneration: true,
      networkInfo: {
        maximumNetworkInterfaces: type.maxInterfaces,
        maximumNetworkCards: 1,
        defaultNetworkCardIndex: 0,
        ipv4AddressesPerInterface: type.ipv4PerInterface,
        ipv6AddressesPerInterface: type.ipv4PerInterface,
        ipv6Supported: true,
        networkCards: [{ networkCardIndex: 0, maximumNetworkInterfaces: type.maxInterfaces }],
      },
    })),
    nextToken: paged.nextToken,
  };
};

const describeInstances: Handler = (model, params) => {
  const ids = params.list('InstanceId');
  const filters = params.filters();
  const instances = model.listInstances().filter((instance) => ids.length === 0 || ids.includes(instance.id));
  const missing = ids.filter((id) => !instances.some((instance) => instance.id === id));
  if (missing.length > 0) throw new ModelError('InstanceNotFound', `The instance ID '${missing.join(', ')}' does not exist`);
  const names = groupNames(model);
  const matching = instances.filter((instance) =>
    matchesFilters(
      filters,
      (name) =>
        ({
          'instance-id': [instance.id],
          'instance-type': [instance.type],
          'vpc-id': [instance.vpcId],
          'subnet-id': [instance.subnetId],
          'availability-zone': [instance.zone],
          'instance-state-name': [instance.state],
        })[name],
      instance.tags,
    ),
  );
  return {
    reservationSet: matching.map((instance) => {
      const nics = model.listInterfaces().filter((nic) => nic.attachment?.instanceId === instance.id);
      const primary = nics.find((nic) => nic.id === instance.primaryInterfaceId);
      return {
        reservationId: `r-${instance.id.slice(2)}`,
        ownerId,
        instancesSet: [
          {
            instanceId: instance.id,
            instanceType: instance.type,
            placement: { availabilityZone: instance.zone },
            instanceState: { code: instance.state === 'running' ? 16 : 48, name: instance.state },
            privateIpAddress: primary?.primaryIp,
            subnetId: instance.subnetId,
            vpcId: instance.vpcId,
            tagSet: tagSet(instance.tags),
            networkInterfaceSet: nics.map((nic) => interfaceXml(nic, names)),
          },
        ],
      };
    }),
  };
};

/** The actions the EC2 face serves: a new action is one entry here. */
export const ec2Actions: Record<string, Ec2Action> = {
  DescribeNetworkInterfaces: { run: describeNetworkInterfaces, bucket: 'describe' },
  CreateNetworkInterface: { run: createNetworkInterface, bucket: 'interface-mutation' },
  AttachNetworkInterface: { run: attachNetworkInterface, bucket: 'other' },
  ModifyNetworkInterfaceAttribute: { run: modifyNetworkInterfaceAttribute, bucket: 'interface-mutation' },
  AssignPrivateIpAddresses: { run: assignPrivateIpAddresses, bucket: 'interface-mutation' },
  UnassignPrivateIpAddresses: { run: unassignPrivateIpAddresses, bucket: 'interface-mutation' },
  DetachNetworkInterface: { run: detachNetworkInterface, bucket: 'other' },
  DeleteNetworkInterface: { run: deleteNetworkInterface, bucket: 'interface-mutation' },
  CreateTags: { run: createTags, bucket: 'tagging' },
  DescribeSubnets: { run: describeSubnets, bucket: 'describe' },
  DescribeInstanceTypes: { run: describeInstanceTypes, bucket: 'describe' },
  DescribeInstances: { run: describeInstances, bucket: 'describe' },
  ...securityGroupActions,
};
