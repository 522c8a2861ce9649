/**
 * Every Kubernetes API call ipamd makes, as RBAC sees it (API group,
 * resource, verbs). The ClusterRole in deploy/base must grant exactly this:
 * test/ipamd/k8s/rbac.test.ts checks it against the manifest and against the
 * requests the fake API server recorded while ipamd ran its scenarios.
 *
 * Narrower than the first draft of the contract: the node and the
 * NodeNetworkConfigs come from list+watch caches (no `get`), and the
 * NodeNetwork is written with create and optimistic `update` (no `patch`).
 */
export interface ApiUsage {
  /** "" is the core group. */
  apiGroup: string;
  resource: string;
  verbs: readonly string[];
}

export const rbacUsage: readonly ApiUsage[] = [
  // Its own Node, list/watch with fieldSelector metadata.name=<node>: labels, annotations and zone pick the config; the uid owns the NodeNetwork.
  { apiGroup: '', resource: 'nodes', verbs: ['list', 'watch'] },
  // The pods of its node, fieldSelector spec.nodeName=<node>: allocations whose pod is gone are released.
  { apiGroup: '', resource: 'pods', verbs: ['list', 'watch'] },
  // Events on pods, on the node and on NodeNetworkConfigs; repeats are patched (count), as kubelet does.
  { apiGroup: '', resource: 'events', verbs: ['create', 'patch'] },
  { apiGroup: 'vpc-cni.io', resource: 'nodenetworkconfigs', verbs: ['list', 'watch'] },
  // Its own NodeNetwork: created, then replaced with its resourceVersion (re-read on a conflict).
  { apiGroup: 'vpc-cni.io', resource: 'nodenetworks', verbs: ['get', 'create', 'update'] },
];
