import { randomBytes } from 'node:crypto';
import { numberToIp, parseCidr } from '../../../../lib/ipv4.ts';
import type { Clock, CloudModel, Instance, NetworkInterface } from '../../model/cloud.ts';
import { alibabaOwnerId } from '../ecs/actions.ts';
import type { MetadataService } from './service.ts';
import { TreeMetadataService, type MetadataTree, type TokenPolicy } from './tree.ts';

/** The RAM role every emulated ECS instance assumes (ram/security-credentials/). */
export const alibabaNodeRoleName = 'vpc-cni-node-role';

const netmask = (cidr: string): string => {
  const { prefixLength } = parseCidr(cidr);
  return numberToIp(prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0);
};

/** ECS prints times to the second: 2019-12-25T12:31:31Z. */
const ecsTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function interfaceTree(model: CloudModel, nic: NetworkInterface): MetadataTree {
  const subnet = model.getSubnet(nic.subnetId);
  const vpc = model.getVpc(nic.vpcId);
  const tree: MetadataTree = {
    gateway: subnet.gateway,
    netmask: netmask(subnet.cidr),
    'network-interface-id': nic.id,
    'primary-ip-address': nic.primaryIp,
    // A JSON array as text, primary address first.
    'private-ipv4s': JSON.stringify([nic.primaryIp, ...nic.secondaryIps]),
    'vpc-cidr-block': vpc.cidrs[0] ?? '',
    'vpc-id': nic.vpcId,
    'vswitch-cidr-block': subnet.cidr,
    'vswitch-id': nic.subnetId,
  };
  // A leaf that does not apply is absent (404).
  if (nic.prefixes.length > 0) tree['ipv4-prefixes'] = JSON.stringify(nic.prefixes);
  return tree;
}

/** STS-shaped credentials of the instance's RAM role, as @alicloud/credentials' ECS RAM role provider reads them. */
function roleCredentials(now: number): string {
  return JSON.stringify({
    AccessKeyId: `STS.${randomBytes(12).toString('hex')}`,
    AccessKeySecret: randomBytes(20).toString('base64url'),
    SecurityToken: randomBytes(48).toString('base64url'),
    Expiration: ecsTime(now + 6 * 3600_000),
    LastUpdated: ecsTime(now),
    Code: 'Success',
  });
}

function metadataTree(model: CloudModel, instance: Instance): MetadataTree {
  const attached = model.attachedInterfaces(instance.id);
  const primary = attached.find((nic) => nic.id === instance.primaryInterfaceId);
  const subnet = model.getSubnet(instance.subnetId);
  const macs: MetadataTree = {};
  for (const nic of attached) macs[nic.mac] = interfaceTree(model, nic);
  return {
    'dns-conf': { nameservers: '100.100.2.136\n100.100.2.138' },
    hostname: `iZ${instance.id.slice(2)}Z`,
    'image-id': 'aliyun_3_x64_20G_alibase_20240528.vhd',
    instance: { 'instance-type': instance.type },
    'instance-id': instance.id,
    mac: primary?.mac ?? '',
    network: { interfaces: { macs } },
    'network-type': 'vpc',
    'owner-account-id': alibabaOwnerId,
    'private-ipv4': primary?.primaryIp ?? '',
    ram: { 'security-credentials': { [alibabaNodeRoleName]: () => roleCredentials(model.clock.now()) } },
    'region-id': instance.region,
    'serial-number': `${instance.id.slice(2, 10)}-0000-4000-8000-${instance.id.slice(-12).padStart(12, '0')}`,
    'vpc-cidr-block': model.getVpc(instance.vpcId).cidrs[0] ?? '',
    'vpc-id': instance.vpcId,
    'vswitch-cidr-block': subnet.cidr,
    'vswitch-id': instance.subnetId,
    'zone-id': instance.zone,
  };
}

/**
 * The ECS instance metadata service (http://100.100.100.200). Normal mode
 * answers plain GETs; hardened mode hands out a token on
 * `PUT /latest/api/token` (`X-aliyun-ecs-metadata-token-ttl-seconds`) that
 * GETs carry in `X-aliyun-ecs-metadata-token`. A wrong or expired token is
 * refused in both modes; a missing one only when tokens are required.
 */
export function alibabaMetadata(clock: Clock, tokensRequired: () => boolean): MetadataService {
  return new TreeMetadataService(
    clock,
    (): TokenPolicy => ({
      ttlHeader: 'x-aliyun-ecs-metadata-token-ttl-seconds',
      tokenHeader: 'x-aliyun-ecs-metadata-token',
      // Hardened mode enforced (HttpTokens=required): GETs without a token are refused.
      missingToken: tokensRequired() ? 'forbidden' : 'allowed',
    }),
    metadataTree,
  );
}
