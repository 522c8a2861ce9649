/**
 * RBAC, derived and not hardcoded: ipamd runs a tour of everything it does
 * with the API server (configs valid and not, status and its conflicts,
 * events on pods, node and configs, lost deletes), the fake API server
 * records every request as (verb, group, resource, subresource), and
 *
 * (a) the ClusterRole bound to ipamd's ServiceAccount in deploy/base allows
 *     every one of them;
 * (b) it grants nothing beyond them (verbs x resources);
 * (c) ipamd/k8s/rbac-usage.ts, the declared list, is exactly what was used.
 *
 * Every other scenario file (test/ipamd/k8s/*) checks, after its tests, that each
 * request it saw is in rbac-usage.ts: with (c) and (a), the ClusterRole
 * allows every request of every scenario.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { rbacUsage } from '../../../ipamd/k8s/rbac-usage.ts';
import { addPod } from '../daemon-helpers.ts';
import { usedPermissions, type RecordedRequest } from './fake-apiserver.ts';
import { configObject, eventsFor, nodeName, nodeNetwork, podObject, startK8sWorld, waitFor } from './helpers.ts';

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

type Manifest = { kind?: string; metadata?: { name?: string; namespace?: string }; rules?: PolicyRule[]; roleRef?: { kind?: string; name?: string }; subjects?: Array<{ kind?: string; name?: string; namespace?: string }>; spec?: { template?: { spec?: { serviceAccountName?: string } } } };

const baseDir = new URL('../../../deploy/base/', import.meta.url);

function manifests(): Manifest[] {
  let files: string[];
  try {
    files = readdirSync(baseDir).filter((f) => /\.ya?ml$/.test(f));
  } catch {
    throw new Error('deploy/base does not exist: the deploy manifests (ClusterRole per the Kubernetes contract) are missing');
  }
  return files.flatMap((file) => parseAllDocuments(readFileSync(new URL(file, baseDir), 'utf8')).map((doc) => doc.toJS() as Manifest)).filter((m) => m && typeof m === 'object');
}

/** The ClusterRole ipamd runs with: DaemonSet -> ServiceAccount -> ClusterRoleBinding -> ClusterRole. */
function ipamdClusterRole(): { name: string; rules: PolicyRule[] } {
  const all = manifests();
  const daemonSet = all.find((m) => m.kind === 'DaemonSet');
  const account = daemonSet?.spec?.template?.spec?.serviceAccountName;
  if (!daemonSet || !account) throw new Error('deploy/base has no DaemonSet with a serviceAccountName');
  const bindings = all.filter((m) => m.kind === 'ClusterRoleBinding' && m.roleRef?.kind === 'ClusterRole' && m.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === account));
  if (bindings.length !== 1) throw new Error(`expected one ClusterRoleBinding for ServiceAccount ${account}, found ${bindings.length}`);
  const roleName = bindings[0]?.roleRef?.name;
  const role = all.find((m) => m.kind === 'ClusterRole' && m.metadata?.name === roleName);
  if (!role) throw new Error(`ClusterRole ${roleName} (bound to ${account}) is not in deploy/base`);
  return { name: roleName ?? '', rules: role.rules ?? [] };
}

/** Every (group/resource:verb) a rule set grants; wildcards and name restrictions are spelled out so they show. */
function granted(rules: PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs ?? []) out.add(`nonResourceURL ${url}:${verb}`);
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs ?? []) out.add(`${group}/${resource}:${verb}${rule.resourceNames ? ` (only ${rule.resourceNames.join(',')})` : ''}`);
      }
    }
  }
  return out;
}

const declared = new Set(rbacUsage.flatMap((u) => u.verbs.map((verb) => `${u.apiGroup}/${u.resource}:${verb}`)));
const sorted = (set: Iterable<string>): string[] => [...set].sort();

/** ipamd doing everything it does with the API server. */
async function tour(): Promise<RecordedRequest[]> {
  const w = await startK8sWorld({ configs: [configObject('workers', { warmIPTarget: 3 })], targets: { maxEni: 1 } });
  try {
    const { api, world } = w;
    await waitFor(() => nodeNetwork(api)?.status?.config === 'workers', 5000, 'config applied, status written');
    // An invalid config, twice (two versions): one Event, created then patched.
    api.put('nodenetworkconfigs', configObject('broken', { priority: 9, warmIPTarget: 1, warmPrefixTarget: 1 }));
    await waitFor(() => eventsFor(api, 'NodeNetworkConfig', 'broken').length === 1, 3000, 'event');
    api.put('nodenetworkconfigs', configObject('broken', { priority: 9, warmIPTarget: 2, warmPrefixTarget: 1 }));
    await waitFor(() => eventsFor(api, 'NodeNetworkConfig', 'broken')[0]?.count === 2, 3000, 'patched event');
    // Someone else writes the NodeNetwork: a conflict, a re-read, an update.
    const current = nodeNetwork(api);
    if (current) api.put('nodenetworks', { ...current, metadata: { ...current.metadata, labels: { touched: 'yes' } } });
    // Pods, one deleted without a DEL (lost delete); the pool exhausted: an add fails with an Event.
    for (let i = 0; i < 9; i++) {
      api.put('pods', podObject(`p${i}`));
      await addPod(world, `p${i}`);
    }
    await addPod(world, 'no-room').catch(() => undefined);
    await waitFor(() => eventsFor(api, 'Pod', 'no-room').length === 1, 5000, 'pod event');
    api.remove('pods', 'p0', 'default');
    await waitFor(() => eventsFor(api, 'Node', nodeName).some((e) => e.reason === 'LostDeleteReleased'), 5000, 'lost delete released');
    await waitFor(() => (world.daemon.kubernetes?.writer.stats.conflicts ?? 0) >= 1, 5000, 'conflict resolved');
    return [...api.requests];
  } finally {
    await w.teardown();
  }
}

describe('RBAC', () => {
  it('the ClusterRole allows every request ipamd makes, grants nothing more, and rbac-usage.ts lists exactly them', async () => {
    const role = ipamdClusterRole();
    const requests = await tour();
    // Only resource requests: no discovery, no non-resource URLs.
    expect(requests.filter((r) => r.resource === '')).toEqual([]);
    const used = usedPermissions(requests);
    const grants = granted(role.rules);
    expect(sorted(used).filter((p) => !grants.has(p)), `requests ClusterRole ${role.name} does not allow`).toEqual([]);
    expect(sorted(grants).filter((p) => !used.has(p)), `ClusterRole ${role.name} grants beyond what ipamd uses`).toEqual([]);
    expect(sorted(used), 'ipamd/k8s/rbac-usage.ts against the requests made').toEqual(sorted(declared));
  });
});
