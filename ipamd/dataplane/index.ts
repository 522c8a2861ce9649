/**
 * The node's data plane as the rest of ipamd sees it: the pods' veths and
 * routes (PodNetwork), the node's secondary interfaces (HostNetwork), and the
 * gateways both sides answer with. Everything else in this folder is how.
 */
export { podGateway } from './gateways.ts';
export { IpRouteHostNetwork, type HostInterfaceSpec, type HostNetwork } from './host-network.ts';
export { IpRoutePodNetwork, PodNetworkError } from './pod-network.ts';
export { type AttachmentRef, type NodeNetworkSpec, type PodAttachment, type PodLinks, type PodNetwork } from './types.ts';
