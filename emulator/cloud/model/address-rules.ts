import type { CloudName } from '../../../providers/catalogs/catalog.ts';

/**
 * What differs between the clouds in how a subnet hands out addresses and
 * how its objects are named. Each rule is the cloud's documented one; the
 * fidelity tables under docs/fidelity/ give the sources.
 */
export interface AddressRules {
  cloud: CloudName;
  /** Addresses at the start of every subnet that are never handed out (the network address included). */
  reservedLow: number;
  /** Addresses at the end of every subnet that are never handed out (the broadcast address included). */
  reservedHigh: number;
  /** Where the subnet's gateway sits, as an offset from the network address, for a subnet of `size` addresses. */
  gatewayOffset(size: number): number;
  /** The prefix of subnet ids: `subnet-` on EC2, `vsw-` for an ECS vSwitch. */
  subnetIdPrefix: string;
  /** Whether every new VPC comes with a security group named `default` (EC2 only). */
  defaultSecurityGroup: boolean;
}

export const addressRules: Readonly<Record<CloudName, AddressRules>> = {
  // EC2: the network address, .1 (router), .2 (DNS), .3 (reserved) and the broadcast address.
  aws: { cloud: 'aws', reservedLow: 4, reservedHigh: 1, gatewayOffset: () => 1, subnetIdPrefix: 'subnet', defaultSecurityGroup: true },
  // Azure: x.x.x.0-3 (network, gateway, two for Azure DNS) and the last address.
  azure: { cloud: 'azure', reservedLow: 4, reservedHigh: 1, gatewayOffset: () => 1, subnetIdPrefix: 'subnet', defaultSecurityGroup: false },
  // ECS: the first address and the last three; the vSwitch's gateway is the first of those three (.253 in a /24).
  alibaba: { cloud: 'alibaba', reservedLow: 1, reservedHigh: 3, gatewayOffset: (size) => size - 3, subnetIdPrefix: 'vsw', defaultSecurityGroup: false },
};

/** Names the default security group of an EC2 VPC. */
export const defaultSecurityGroupName = 'default';
