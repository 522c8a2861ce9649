import type { Clock, CloudModel, Instance, NetworkInterface } from '../../model/cloud.ts';
import { ownerId } from '../ec2/actions.ts';
import type { MetadataService } from './service.ts';
import { TreeMetadataService, type MetadataTree, type TokenPolicy } from './tree.ts';

function interfaceTree(model: CloudModel, nic: NetworkInterface): MetadataTree {
  const subnet = model.getSubnet(nic.subnetId);
  const vpc = model.getVpc(nic.vpcId);
  const tree: MetadataTree = {
    'device-number': String(nic.attachment?.deviceIndex ?? 0),
    'interface-id': nic.id,
    'local-ipv4s': [nic.primaryIp, ...nic.secondaryIps].join('\n'),
    mac: nic.mac,
    'owner-id': ownerId,
    'security-group-ids': nic.securityGroupIds.join('\n'),
    'subnet-id': nic.subnetId,
    'subnet-ipv4-cidr-block': subnet.cidr,
    'vpc-id': nic.vpcId,
    'vpc-ipv4-cidr-block': vpc.cidrs[0] ?? '',
    'vpc-ipv4-cidr-blocks': vpc.cidrs.join('\n'),
  };
  // A leaf that does not apply is absent (404), as on EC2.
  if (nic.prefixes.length > 0) tree['ipv4-prefix'] = nic.prefixes.join('\n');
  return tree;
}

function metadataTree(model: CloudModel, instance: Instance): MetadataTree {
  const attached = model.attachedInterfaces(instance.id);
  const primary = attached.find((nic) => nic.id === instance.primaryInterfaceId);
  const macs: MetadataTree = {};
  for (const nic of attached) macs[nic.mac] = interfaceTree(model, nic);
  return {
    'ami-id': 'ami-0123456789abcdef0',
    hostname: `ip-${(primary?.primaryIp ?? '').replaceAll('.', '-')}.${instance.region}.compute.internal`,
    'instance-id': instance.id,
    'instance-type': instance.type,
    'local-ipv4': primary?.primaryIp ?? '',
    mac: primary?.mac ?? '',
    network: { interfaces: { macs } },
    placement: { 'availability-zone': instance.zone, region: instance.region },
    'security-groups': (primary?.securityGroupIds ?? []).join('\n'),
  };
}

/** The EC2 instance metadata service (IMDSv2 only: tokens are required). */
export function awsImds(clock: Clock): MetadataService {
  const policy: TokenPolicy = { ttlHeader: 'x-aws-ec2-metadata-token-ttl-seconds', tokenHeader: 'x-aws-ec2-metadata-token', missingToken: 'unauthorized' };
  return new TreeMetadataService(clock, () => policy, metadataTree);
}
