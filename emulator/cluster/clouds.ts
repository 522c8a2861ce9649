/**
 * What changes in the emulated cluster from one cloud to the next: where its
 * nodes live, what instance type they are, whose metadata service they see,
 * and the environment that points ipamd's adapter at the emulator from inside
 * a node (API at 169.254.170.1 through the box's proxy, metadata at the
 * cloud's own link-local address). Everything else is one code path.
 */
import type { CloudName } from '../../providers/contract.ts';
import { armIds } from '../cloud/faces/arm/ids.ts';
import type { Subnet } from '../cloud/model/cloud.ts';
import type { Topology, TopologyOptions } from '../cloud/topology.ts';

/** The API address inside the box: the fabric's proxy forwards it to the emulator. */
export const inBoxApiHost = '169.254.170.1';

export interface CloudProfile {
  cloud: CloudName;
  /** Region and zone names in the cloud's own style. */
  region: string;
  zone: string;
  /** Node type for the demo. */
  defaultInstanceType: string;
  /** Node type with room for the end-to-end suites' 20 pods per node and more. */
  largeInstanceType: string;
  /** Topology knobs this cloud needs (e.g. Azure VMs come with all their NICs). */
  topology: Partial<TopologyOptions>;
  /** A subnet's id as this cloud's API names it (POD_SUBNET_IDS, NodeNetworkConfig). */
  subnetId(subnet: Subnet): string;
  /** ipamd's environment on a node of this cloud, talking to the emulator. */
  ipamdEnv(topology: Topology): Record<string, string>;
}

const aws: CloudProfile = {
  cloud: 'aws',
  region: 'us-east-1',
  zone: 'us-east-1a',
  defaultInstanceType: 'm5.large',
  largeInstanceType: 'm5.2xlarge',
  topology: {},
  subnetId: (subnet) => subnet.id,
  ipamdEnv: (topology) => ({
    CLOUD: 'aws',
    AWS_ENDPOINT_URL_EC2: `http://${inBoxApiHost}`,
    AWS_REGION: topology.vpc.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  }),
};

const alibaba: CloudProfile = {
  cloud: 'alibaba',
  region: 'cn-hangzhou',
  zone: 'cn-hangzhou-k',
  // 3 ENIs x 6 addresses: small enough that the demo's pods spill onto a second ENI.
  defaultInstanceType: 'ecs.g7.large',
  largeInstanceType: 'ecs.g7.3xlarge',
  topology: {},
  subnetId: (subnet) => subnet.id,
  // Keys rather than the RAM role: the role path is covered by the adapter's own tests.
  ipamdEnv: () => ({
    CLOUD: 'alibaba',
    ALIBABA_CLOUD_ECS_ENDPOINT: `http://${inBoxApiHost}:80`,
    ALIBABA_CLOUD_ACCESS_KEY_ID: 'test',
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'test',
  }),
};

const azure: CloudProfile = {
  cloud: 'azure',
  region: 'eastus',
  zone: '1',
  defaultInstanceType: 'Standard_D4s_v3',
  largeInstanceType: 'Standard_D8s_v3',
  // A VM keeps the NICs it was created with: two here, both usable for pods. The node
  // subnet is a /27, as small Azure node subnets are: once the primary NICs have taken
  // its addresses (subnet full), the pool moves on to the second NIC in the pod subnet.
  topology: { interfacesPerInstance: 2, nodeSubnetCidr: '10.0.0.0/27' },
  subnetId: (subnet) => armIds.subnet(subnet.vpcId, subnet.id),
  // No credential variables: DefaultAzureCredential finds the managed identity the emulated IMDS serves.
  ipamdEnv: () => ({
    CLOUD: 'azure',
    AZURE_ARM_ENDPOINT: `http://${inBoxApiHost}`,
    AZURE_ARM_ALLOW_INSECURE_HTTP: 'true',
  }),
};

export const cloudProfiles: Record<CloudName, CloudProfile> = {
  aws,
  azure,
  alibaba,
};

export const cloudNames = Object.keys(cloudProfiles) as CloudName[];
