import { randomBytes } from 'node:crypto';
import type { CloudModel, Instance, NetworkInterface } from '../model/cloud.ts';
import type { Clock } from '../model/cloud.ts';
import { ownerId } from './ec2/actions.ts';
import type { FaceResponse } from './ec2/face.ts';
import { header, issueMetadataToken, notFound, serveMetadataTree, text, type MetadataRequest, type MetadataTree } from './metadata-tree.ts';

/** IMDSv2 session tokens: PUT /latest/api/token, then GETs carry the token. */
export class ImdsTokens {
  private readonly tokens = new Map<string, { instanceId: string; expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  issue(instanceId: string, ttlSeconds: number): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, { instanceId, expiresAt: this.clock.now() + ttlSeconds * 1000 });
    return token;
  }

  valid(token: string | undefined, instanceId: string): boolean {
    if (!token) return false;
    const entry = this.tokens.get(token);
    if (!entry) return false;
    if (entry.expiresAt <= this.clock.now()) {
      this.tokens.delete(token);
      return false;
    }
    return entry.instanceId === instanceId;
  }
}


/** A directory listing: children that are directories end in '/'. */


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
export function handleAwsImds(model: CloudModel, tokens: ImdsTokens, instanceId: string, request: MetadataRequest): FaceResponse {
  let instance: Instance;
  try {
    instance = model.getInstance(instanceId);
  } catch {
    return notFound();
  }
  if (request.path === '/latest/api/token') return issueMetadataToken(request, tokens, instance.id, 'x-aws-ec2-metadata-token-ttl-seconds');
  if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'Method Not Allowed');
  if (!tokens.valid(header(request, 'x-aws-ec2-metadata-token'), instance.id)) return text(401, 'Unauthorized');
  return serveMetadataTree(request.path, () => metadataTree(model, instance));
}
