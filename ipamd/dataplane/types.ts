/**
 * The pod data plane as ipamd drives it: one veth per pod attachment, the
 * address as /32 in the pod, a link-local gateway, host routes and policy
 * rules. The service sees only this interface; tests of the control plane
 * alone use the no-op one in test/fakes/networks.ts.
 */

export interface AttachmentRef {
  network: string;
  containerId: string;
  ifName: string;
}

export interface PodAttachment extends AttachmentRef {
  /** The pod's network namespace (CNI_NETNS): a path. */
  netns: string;
  ip: string;
  /** The interface (ENI) that owns the address: its table routes the pod's traffic out. */
  owner: { deviceIndex: number; isPrimary: boolean };
  mtu: number;
}

export interface PodLinks {
  hostInterface: { name: string; mac: string };
  podInterface: { name: string; mac: string };
}

export interface NodeNetworkSpec {
  /** Traffic to these stays unSNATed (the VPC's CIDRs and any configured ones). */
  noSnatCidrs: string[];
  /** The node's primary address: traffic leaving the VPC is SNATed to it. */
  primaryIp: string;
  /** Name of the primary interface (eth0). */
  primaryInterface: string;
}

export interface PodNetwork {
  /** Once per start: sysctls and the SNAT rules of the node (idempotent). */
  prepareNode(spec: NodeNetworkSpec): Promise<void>;
  /** Whether the pod's network namespace is there to be set up: asked before an address is taken for it. */
  hasNamespace(netns: string): boolean;
  /** Creates the pod's network; fails if `ifName` already exists in the namespace. */
  setUp(attachment: PodAttachment): Promise<PodLinks>;
  /** Removes everything setUp made; succeeds when it is already gone or the namespace is. */
  tearDown(attachment: AttachmentRef & { ip?: string; netns?: string }): Promise<void>;
  /** What differs between the live state and the attachment (empty: all is well). */
  verify(attachment: PodAttachment & { hostInterface?: string }): Promise<string[]>;
}

