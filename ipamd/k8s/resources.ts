/**
 * The Kubernetes objects ipamd reads, reduced to the fields it uses, and the
 * names of its own API group. Objects arrive as JSON from lists and watches;
 * `project*` turn them into these shapes (undefined for one that lacks what
 * identifies it, which is then ignored).
 */
export const apiGroup = 'vpc-cni.io';
export const apiVersion = 'v1alpha1';
export const nodeNetworkConfigPlural = 'nodenetworkconfigs';
export const nodeNetworkPlural = 'nodenetworks';
export const nodeNetworkConfigKind = 'NodeNetworkConfig';
export const nodeNetworkKind = 'NodeNetwork';

/** A node names its config explicitly with this annotation; it wins over selectors. */
export const configAnnotation = 'vpc-cni.io/node-network-config';
export const zoneLabel = 'topology.kubernetes.io/zone';

export interface NodeInfo {
  name: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
}

export interface NodeNetworkConfigObject {
  name: string;
  uid: string;
  resourceVersion: string;
  spec: unknown;
}

interface Metadata {
  name?: unknown;
  namespace?: unknown;
  uid?: unknown;
  resourceVersion?: unknown;
  labels?: unknown;
  annotations?: unknown;
}

function metadataOf(raw: unknown): Metadata | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const metadata = (raw as { metadata?: unknown }).metadata;
  return typeof metadata === 'object' && metadata !== null ? (metadata as Metadata) : undefined;
}

function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

export function projectNode(raw: unknown): NodeInfo | undefined {
  const m = metadataOf(raw);
  if (!m || !str(m.name)) return undefined;
  return { name: str(m.name), uid: str(m.uid), labels: stringMap(m.labels), annotations: stringMap(m.annotations) };
}

export function projectPod(raw: unknown): PodInfo | undefined {
  const m = metadataOf(raw);
  if (!m || !str(m.name) || !str(m.namespace)) return undefined;
  return { namespace: str(m.namespace), name: str(m.name), uid: str(m.uid) };
}

export function projectNodeNetworkConfig(raw: unknown): NodeNetworkConfigObject | undefined {
  const m = metadataOf(raw);
  if (!m || !str(m.name)) return undefined;
  return { name: str(m.name), uid: str(m.uid), resourceVersion: str(m.resourceVersion), spec: (raw as { spec?: unknown }).spec ?? {} };
}

export const podKey = (pod: { namespace: string; name: string }): string => `${pod.namespace}/${pod.name}`;
