import type { CloudModel, Instance, SecurityGroup, Subnet, Vpc } from './model/cloud.ts';
import { ruleInput } from './model/security-limits.ts';

export interface TopologyOptions {
  region?: string;
  zone?: string;
  vpcCidr?: string;
  /** Subnets for the nodes' primary interfaces and for pod interfaces. */
  nodeSubnetCidr?: string;
  podSubnetCidrs?: string[];
  instanceType?: string;
  nodes?: number;
  clusterName?: string;
  /**
   * Interfaces each instance is launched with, the primary included (default
   * 1). Azure VMs cannot get NICs while running, so they start with all of
   * theirs: the extra ones sit in the first pod subnet.
   */
  interfacesPerInstance?: number;
}

export interface Topology {
  vpc: Vpc;
  nodeSubnet: Subnet;
  podSubnets: Subnet[];
  securityGroup: SecurityGroup;
  instances: Instance[];
}

/** A small, typical VPC: one node subnet, pod subnets, one security group, N nodes. */
export async function buildTopology(model: CloudModel, options: TopologyOptions = {}): Promise<Topology> {
  const region = options.region ?? 'us-east-1';
  const zone = options.zone ?? `${region}a`;
  const clusterName = options.clusterName ?? 'demo';
  const vpc = model.createVpc(region, [options.vpcCidr ?? '10.0.0.0/16'], { Name: `${clusterName}-vpc` });
  const nodeSubnet = model.createSubnet(vpc.id, options.nodeSubnetCidr ?? '10.0.0.0/24', zone, { Name: `${clusterName}-nodes` });
  const podSubnets = (options.podSubnetCidrs ?? ['10.0.16.0/20', '10.0.32.0/20']).map((cidr, index) =>
    model.createSubnet(vpc.id, cidr, zone, { Name: `${clusterName}-pods-${index + 1}`, [`kubernetes.io/cluster/${clusterName}`]: 'shared' }),
  );
  const created = model.createSecurityGroup(vpc.id, `${clusterName}-nodes`, {}, { description: `${clusterName} nodes and pods` });
  // EC2 groups start with no inbound rule: like an EKS cluster group, members reach each other.
  // (An NSG's defaults admit the virtual network; an ECS basic group admits its members.)
  if (created.kind === 'aws') model.security.addRules(created.id, [ruleInput({ direction: 'ingress', action: 'allow', remote: [{ kind: 'group', groupId: created.id }], description: 'members reach each other' })]);
  const securityGroup = model.getSecurityGroup(created.id);
  const instances: Instance[] = [];
  const extraSubnet = podSubnets[0] ?? nodeSubnet;
  const extraInterfaces = Array.from({ length: Math.max(0, (options.interfacesPerInstance ?? 1) - 1) }, () => ({ subnetId: extraSubnet.id }));
  for (let i = 0; i < (options.nodes ?? 2); i++) {
    instances.push(
      await model.launchInstance({
        type: options.instanceType ?? 'm5.large',
        subnetId: nodeSubnet.id,
        securityGroupIds: [securityGroup.id],
        tags: { Name: `${clusterName}-node-${i + 1}` },
        ...(extraInterfaces.length > 0 ? { extraInterfaces } : {}),
      }),
    );
  }
  return { vpc, nodeSubnet, podSubnets, securityGroup, instances };
}
