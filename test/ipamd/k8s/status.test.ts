/**
 * The node's NodeNetwork: its contents against the pool's truth, its owner,
 * the fields the CRD's printer columns show (read from deploy/base), how
 * often it is written, and conflicts with other writers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { addPod, instanceId } from '../daemon-helpers.ts';
import type { FakeApiServer } from './fake-apiserver.ts';
import { nodeName, nodeNetwork, nodeObject, useK8sWorld, waitFor } from './helpers.ts';

const start = useK8sWorld();

interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
}

/** The printer columns `kubectl get nodenetworks` shows, from the CRD the deploy manifests install. */
function printerColumns(): PrinterColumn[] {
  const text = readFileSync(new URL('../../../deploy/base/crd-nodenetworks.yaml', import.meta.url), 'utf8');
  const crd = parseAllDocuments(text)
    .map((doc) => doc.toJS() as { kind?: string; spec?: { names?: { kind?: string }; versions?: Array<{ name: string; additionalPrinterColumns?: PrinterColumn[] }> } })
    .find((doc) => doc.kind === 'CustomResourceDefinition' && doc.spec?.names?.kind === 'NodeNetwork');
  const columns = crd?.spec?.versions?.find((v) => v.name === 'v1alpha1')?.additionalPrinterColumns;
  if (!columns || columns.length === 0) throw new Error('deploy/base/crd-nodenetworks.yaml has no printer columns for v1alpha1');
  return columns;
}

/** Simple JSONPaths as printer columns use them: .a.b.c */
function at(object: unknown, path: string): unknown {
  return path
    .replace(/^\./, '')
    .split('.')
    .reduce<unknown>((value, key) => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined), object);
}

const updates = (api: FakeApiServer): number => api.requests.filter((r) => r.resource === 'nodenetworks' && (r.verb === 'update' || r.verb === 'create')).length;

describe('NodeNetwork status', () => {
  it("says what the pool holds, is owned by the node, and fills every printer column", async () => {
    const { api, world } = await start();
    await addPod(world, 'p1');
    await addPod(world, 'p2');
    const { store, pool } = world.daemon;
    const truth = () => ({ total: store.totalAddresses(), assigned: store.allocations().length, warm: store.freeCount(), cooldown: store.coolingCount() });
    await waitFor(() => JSON.stringify(nodeNetwork(api)?.status?.addresses) === JSON.stringify(truth()) && truth().assigned === 2, 5000, 'addresses published');
    const object = nodeNetwork(api);
    const node = api.get('nodes', nodeName);
    expect(object?.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node?.metadata.uid, controller: false }]);
    const status = object?.status ?? {};
    expect(status).toMatchObject({
      provider: 'aws',
      instanceId: instanceId(world),
      instanceType: 'm5.large',
      zone: 'us-east-1a',
      // m5.large: 3 ENIs x (10 - 1) + 2.
      maxPods: 29,
      config: '',
      configError: '',
      targets: { warmIPTarget: 0, minimumIPTarget: 0, warmENITarget: 1, warmPrefixTarget: 1, maxENI: 0 },
    });
    expect(status.interfaces).toEqual(
      store
        .interfaces()
        .sort((a, b) => a.deviceIndex - b.deviceIndex)
        .map((nic) => ({ id: nic.interfaceId, deviceIndex: nic.deviceIndex, subnetId: nic.subnetId, primaryIp: nic.primaryIp, addresses: nic.ips.length, prefixes: 0 })),
    );
    expect(status.subnets).toEqual(pool.status.subnets.map((s) => ({ id: s.subnetId, freeAddresses: s.freeAddresses })));
    expect(status.lastCloudError).toBeUndefined();
    expect(Date.now() - Date.parse(String(status.updatedAt))).toBeLessThan(10_000);

    for (const column of printerColumns()) {
      const value = at(object, column.jsonPath);
      expect(value, `column ${column.name} (${column.jsonPath})`).toBeDefined();
      if (column.type === 'integer') expect(Number.isInteger(value), `column ${column.name} is an integer`).toBe(true);
      if (column.type === 'string') expect(typeof value, `column ${column.name} is a string`).toBe('string');
      if (column.type === 'date') expect(Number.isNaN(Date.parse(String(value))), `column ${column.name} is a date`).toBe(false);
    }
  });

  it('is written on change within the debounce, and otherwise only once per interval', async () => {
    const { api, world } = await start({ kubernetes: { status: { intervalMs: 500, debounceMs: 100 } } });
    await waitFor(() => nodeNetwork(api) !== undefined, 5000, 'first write');
    // Let the warm pool settle, then watch an idle node.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const idleFrom = updates(api);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const idleWrites = updates(api) - idleFrom;
    // 1.6 s idle with a 500 ms interval: 3 heartbeats, give or take one; not one per 100 ms check.
    expect(idleWrites).toBeGreaterThanOrEqual(2);
    expect(idleWrites).toBeLessThanOrEqual(4);

    // A burst of adds is one or a few writes, not one per add.
    const burstFrom = updates(api);
    await Promise.all(Array.from({ length: 6 }, (_, i) => addPod(world, `burst-${i}`)));
    await waitFor(() => (nodeNetwork(api)?.status?.addresses as { assigned?: number } | undefined)?.assigned === 6, 3000, 'burst published');
    expect(updates(api) - burstFrom).toBeLessThanOrEqual(4);
  });

  it('rereads and writes on top after a conflict, keeping what others put on it', async () => {
    const { api, world } = await start();
    await waitFor(() => nodeNetwork(api) !== undefined, 5000, 'first write');
    // Someone labels it (kubectl label nn node-1 team=net): ipamd's resourceVersion is now stale.
    const current = nodeNetwork(api);
    if (!current) throw new Error('no NodeNetwork');
    api.put('nodenetworks', { ...current, metadata: { ...current.metadata, labels: { team: 'net' } } });
    const writer = world.daemon.kubernetes?.writer;
    expect(writer).toBeDefined();
    await addPod(world, 'after-label');
    await waitFor(() => (nodeNetwork(api)?.status?.addresses as { assigned?: number } | undefined)?.assigned === 1, 5000, 'written after the conflict');
    expect(writer?.stats.conflicts).toBe(1);
    expect(nodeNetwork(api)?.metadata.labels).toEqual({ team: 'net' });
    const verbs = api.requests.filter((r) => r.resource === 'nodenetworks').map((r) => r.verb);
    // get + create at first; then a stale update (409), a get, and the update that lands.
    expect(verbs.slice(0, 2)).toEqual(['get', 'create']);
    expect(verbs.join(',')).toContain('update,get,update');
  });

  it('comes back when deleted, and waits for its Node to exist (the owner needs its uid)', async () => {
    const { api, world } = await start({ node: null, kubernetes: { initialSyncTimeoutMs: 300 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(nodeNetwork(api)).toBeUndefined();
    expect(api.requests.some((r) => r.resource === 'nodenetworks')).toBe(false);
    api.put('nodes', nodeObject());
    await waitFor(() => nodeNetwork(api) !== undefined, 5000, 'written once the node exists');
    api.remove('nodenetworks', nodeName);
    await addPod(world, 'after-delete');
    await waitFor(() => (nodeNetwork(api)?.status?.addresses as { assigned?: number } | undefined)?.assigned === 1, 5000, 'recreated');
    expect(nodeNetwork(api)?.metadata.ownerReferences).toMatchObject([{ uid: api.get('nodes', nodeName)?.metadata.uid }]);
  });
});
