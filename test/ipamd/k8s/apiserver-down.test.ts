/**
 * The API server going away, hanging or starting late never stands between
 * a pod and its address: every add is served from the warm pool, and the
 * integration catches up when the API server is back.
 */
import { describe, expect, it } from 'vitest';
import { addPod, delPod } from '../daemon-helpers.ts';
import { configObject, eventsFor, nodeNetwork, useK8sWorld, waitFor, type K8sWorld } from './helpers.ts';

const start = useK8sWorld();

async function timedAdds(w: K8sWorld, prefix: string, count: number): Promise<number[]> {
  const took: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await addPod(w.world, `${prefix}-${i}`, { timeoutMs: 5000 });
    took.push(performance.now() - started);
  }
  return took;
}

const assigned = (w: K8sWorld): number | undefined => (nodeNetwork(w.api)?.status?.addresses as { assigned?: number } | undefined)?.assigned;

describe('with the API server in trouble', () => {
  it('serves adds at full speed while the API server hangs, failures included, and catches up after', async () => {
    const w = await start({ targets: { warmIpTarget: 8, minimumIpTarget: 0 }, kubernetes: { requestTimeoutMs: 5000, watch: { backoffInitialMs: 20, backoffMaxMs: 200, watchTimeoutSeconds: 30, watchIdleTimeoutMs: 20_000 } } });
    await waitFor(() => assigned(w) === 0, 3000, 'first status');
    w.api.hang(true);
    // Something for the integration to do meanwhile: writes that will hang.
    w.api.put('nodenetworkconfigs', configObject('during', { warmIPTarget: 8 }));
    const took = await timedAdds(w, 'hung', 6);
    // Served from the warm pool: milliseconds, not the 5 s the hung Kubernetes requests wait for.
    expect(Math.max(...took)).toBeLessThan(1000);
    await delPod(w.world, 'hung-0');
    // An add that fails records its Event in the background: the failure is answered at once too.
    w.world.daemon.pool.configure({ ...w.world.daemon.pool.settings, targets: { ...w.world.daemon.pool.settings.targets, maxEni: 1, warmIpTarget: 0 } });
    let failed: string | undefined;
    const started = performance.now();
    // Up to three interfaces of nine addresses may be attached already: the pool is full within 27 adds.
    for (let i = 0; i < 30 && !failed; i++) await addPod(w.world, `more-${i}`).catch(() => (failed = `more-${i}`));
    expect(failed).toBeDefined();
    expect(performance.now() - started).toBeLessThan(8000);
    // Meanwhile the integration's requests (the status, the event) wait on the hung server.
    expect(w.api.heldRequests).toBeGreaterThan(0);
    expect(eventsFor(w.api, 'Pod', failed ?? '')).toHaveLength(0);
    w.api.hang(false);
    await waitFor(() => assigned(w) === w.world.daemon.store.allocations().length, 5000, 'status caught up');
    await waitFor(() => eventsFor(w.api, 'Pod', failed ?? '').length === 1, 5000, 'the held event written');
  });

  it('serves adds and deletes while the API server is down, and resumes watches and status when it is back', async () => {
    const w = await start();
    await waitFor(() => assigned(w) === 0, 3000, 'first status');
    await w.api.stop();
    const took = await timedAdds(w, 'down', 5);
    expect(Math.max(...took)).toBeLessThan(1000);
    await delPod(w.world, 'down-0');
    const integration = w.world.daemon.kubernetes;
    await waitFor(() => integration?.pods.fresh === false, 3000, 'watches noticed');
    await w.api.start();
    await waitFor(() => integration?.pods.fresh === true && integration.nodes.fresh && integration.configs.fresh, 5000, 'watches back');
    await waitFor(() => assigned(w) === 4, 5000, 'status published again');
    // The watches resumed from their resourceVersions.
    expect(w.api.requests.filter((r) => r.verb === 'list')).toHaveLength(3);
  });

  it('starts without the API server, serves adds, and applies its config when the API server shows up', async () => {
    const w = await start({ apiUp: false, configs: [configObject('late', { warmIPTarget: 11 })], kubernetes: { initialSyncTimeoutMs: 300 } });
    expect(w.world.daemon.pool.targets.warmIpTarget).toBe(0);
    expect((await addPod(w.world, 'early')).ip).toMatch(/^10\.0\./);
    await w.api.start();
    await waitFor(() => w.world.daemon.pool.targets.warmIpTarget === 11, 5000, 'config applied late');
    await waitFor(() => nodeNetwork(w.api)?.status?.config === 'late' && assigned(w) !== undefined, 5000, 'status published');
    expect(eventsFor(w.api, 'Pod', 'early')).toHaveLength(0);
  });
});
