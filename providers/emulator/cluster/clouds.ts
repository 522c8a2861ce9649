/**
 * What changes in the emulated cluster from one cloud to the next: where its
 * nodes live, what instance type they are, whose metadata service they see,
 * and the environment that points ipamd's adapter at the emulator from inside
 * a node (API at 169.254.170.1 through the box's proxy, metadata at the
 * cloud's own link-local address). Everything else is one code path.
 */
import type { CloudName } from '../../contract.ts';
import type { Topology, TopologyOptions } from '../topology.ts';

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
  ipamdEnv: (topology) => ({
    CLOUD: 'aws',
    AWS_ENDPOINT_URL_EC2: `http://${inBoxApiHost}`,
    AWS_REGION: topology.vpc.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  }),
};

export const cloudProfiles: Record<CloudName, CloudProfile> = {
  aws,
  azure: aws,
  alibaba: aws,
};

export const cloudNames = Object.keys(cloudProfiles) as CloudName[];
