/**
 * Lost deletes: an allocation whose pod is gone from the node (per the pod
 * watch) for longer than the grace is released as a DEL would release it;
 * never while the pod list is not known to be fresh, never without a pod.
 */
import { describe, expect, it } from 'vitest';
import { callIpamd } from '../../../wire/client.ts';
import type { AttachmentRef, PodNetwork } from '../../../ipamd/dataplane/types.ts';
import { noPodNetwork } from '../../fakes/networks.ts';
import { addPod, key } from '../daemon-helpers.ts';
import { eventsFor, nodeName, podObject, useK8sWorld, waitFor, type K8sWorld } from './helpers.ts';

const start = useK8sWorld();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The no-op pod network, recording what DEL tears down. */
function recordingPodNetwork(): PodNetwork & { tornDown: string[] } {
  const tornDown: string[] = [];
  return {
    ...noPodNetwork,
    tornDown,
    tearDown: async (a: AttachmentRef & { ip?: string }) => {
      tornDown.push(`${a.containerId}:${a.ip ?? ''}`);
    },
  };
}

const held = (w: K8sWorld, containerId: string): string | undefined => w.world.daemon.store.find(key(containerId))?.ip;

describe('lost deletes', () => {
  it('releases, after the grace, the address of a pod deleted without a DEL: data plane cleaned, address cooling down', async () => {
    const podNetwork = recordingPodNetwork();
    const w = await start({ daemon: { podNetwork }, kubernetes: { lostDeletes: { enabled: true, graceMs: 500, sweepIntervalMs: 50 } } });
    for (const name of ['gone', 'stays']) {
      w.api.put('pods', podObject(name));
      await addPod(w.world, name);
    }
    // An allocation without a pod reference (a runtime that passes no K8S_POD_* arguments).
    await callIpamd(w.world.socketPath, 'add', { key: key('anonymous'), netns: '/var/run/netns/anonymous' }, { timeoutMs: 5000 });
    const ip = held(w, 'gone');
    expect(ip).toBeDefined();
    await waitFor(() => w.world.daemon.kubernetes?.pods.items().length === 2, 2000, 'pods in the cache');

    const deletedAt = Date.now();
    w.api.remove('pods', 'gone', 'default');
    await sleep(250);
    expect(held(w, 'gone'), 'still held within the grace').toBe(ip);
    await waitFor(() => held(w, 'gone') === undefined, 3000, 'released after the grace');
    expect(Date.now() - deletedAt).toBeGreaterThanOrEqual(500);
    expect(podNetwork.tornDown).toContain(`gone:${ip}`);
    expect(w.world.daemon.store.isCooling(ip ?? '')).toBe(true);
    // The others stay: a pod that exists, and an allocation with no pod to check.
    await sleep(700);
    expect(held(w, 'stays')).toBeDefined();
    expect(held(w, 'anonymous')).toBeDefined();
    expect(w.world.daemon.kubernetes?.lostDeletes?.stats.released).toBe(1);
    await waitFor(() => eventsFor(w.api, 'Node', nodeName).some((e) => e.reason === 'LostDeleteReleased' && String(e.message).includes(`${ip} of pod default/gone`)), 3000, 'event on the node');
  });

  it('releases an allocation whose pod was re-created under the same name (another uid)', async () => {
    const w = await start();
    w.api.put('pods', podObject('web-0'));
    await addPod(w.world, 'web-0');
    await waitFor(() => w.world.daemon.kubernetes?.pods.get('default/web-0') !== undefined, 2000, 'pod cached');
    w.api.remove('pods', 'web-0', 'default');
    w.api.put('pods', podObject('web-0', { uid: 'uid-of-the-new-web-0' }));
    await waitFor(() => held(w, 'web-0') === undefined, 3000, 'old allocation released');
  });

  it('releases nothing while the pod watch is down, and counts the grace again from the resync', async () => {
    const w = await start();
    w.api.put('pods', podObject('p'));
    await addPod(w.world, 'p');
    const pods = w.world.daemon.kubernetes?.pods;
    await waitFor(() => pods?.get('default/p') !== undefined, 2000, 'pod cached');
    await w.api.stop();
    await waitFor(() => pods?.fresh === false, 2000, 'watch down');
    w.api.remove('pods', 'p', 'default');
    // Gone for more than two graces, but nobody can know: kept.
    await sleep(1000);
    expect(held(w, 'p')).toBeDefined();
    await w.api.start();
    await waitFor(() => pods?.fresh === true && pods.get('default/p') === undefined, 3000, 'resynced');
    const resyncedAt = Date.now();
    await waitFor(() => held(w, 'p') === undefined, 3000, 'released after the resync');
    expect(Date.now() - resyncedAt).toBeGreaterThanOrEqual(350);
  });

  it('releases nothing when the pod list was never had', async () => {
    const w = await start({ apiUp: false, kubernetes: { initialSyncTimeoutMs: 200 } });
    await addPod(w.world, 'unknown');
    await sleep(1000);
    expect(held(w, 'unknown')).toBeDefined();
    expect(w.world.daemon.kubernetes?.pods.hasListed).toBe(false);
  });
});
