/**
 * The crash-safety mechanisms of issue 16, one race each, reproduced in
 * process: a "kill" stops the daemon without waiting for its cloud calls
 * (the emulator completes them, as a real cloud completes a call whose
 * client died) and starts a successor on the same state directory at once.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPendingRelease, pendingFileName } from '../../wire/pending-record.ts';
import { ownedTags } from '../../ipamd/pool/manager.ts';
import { IntentLog } from '../../ipamd/pool/intents.ts';
import type { IpamdWorld } from './harness.ts';
import { waitFor } from './harness.ts';
import { addPod, checkPod, cloudInterfaces, delPod, instanceId, key, mutations, sleep, storeMatchesCloud, useIpamdWorld } from './daemon-helpers.ts';
import { noPodNetwork } from '../fakes/networks.ts';

const boot = useIpamdWorld();

/** Stops the daemon as a kill would (its calls in flight complete at the cloud) and starts a successor on the same state. */
async function killAndRestart(w: IpamdWorld, overrides: Parameters<IpamdWorld['restart']>[0] = {}): Promise<number> {
  await w.daemon.stop();
  const started = Date.now();
  await w.restart(overrides);
  return Date.now() - started;
}

/** Every address these pods were acknowledged with is on one of the node's interfaces in the cloud, and no two pods share one. */
function expectHeldByCloud(w: IpamdWorld, acknowledged: Map<string, string>): void {
  const inCloud = new Set(cloudInterfaces(w).flatMap((nic) => nic.secondaryIps));
  for (const [pod, ip] of acknowledged) expect(inCloud.has(ip), `${pod} holds ${ip}, which the cloud no longer has on the node`).toBe(true);
  expect(new Set(acknowledged.values()).size).toBe(acknowledged.size);
}

describe('a release in flight when ipamd is killed', () => {
  it('the successor never hands out an address the old release takes away later', async () => {
    const w = await boot({ targets: { warmIpTarget: 2 }, daemon: { pool: { cooldownMs: 0 } } });
    for (const pod of ['a', 'b', 'c']) await addPod(w, pod);
    await waitFor(() => w.daemon.store.freeCount() === 2, 5000, 'the pool back at 2 free');
    w.emulator.configure({ latencyMs: { UnassignPrivateIpAddresses: 600 } });
    for (const pod of ['a', 'b', 'c']) await delPod(w, pod);
    // The release of the excess leaves: its addresses are out of the store, the call is at the cloud.
    await waitFor(() => w.daemon.store.totalAddresses() === 2, 5000, 'a release in flight');
    await killAndRestart(w);
    const acknowledged = new Map<string, string>();
    for (const pod of ['d', 'e', 'f', 'g']) acknowledged.set(pod, (await addPod(w, pod)).ip);
    // The old release lands: at no moment may a pod's address be off the node (a later assign may bring it back by chance).
    for (let t = 0; t < 90; t++) {
      expectHeldByCloud(w, acknowledged);
      await sleep(10);
    }
    await waitFor(() => storeMatchesCloud(w), 5000, 'the store to match the cloud');
  });
});

describe('a release re-issued by a successor while the killed daemon\'s call is still on its way', () => {
  it('an address a later assign hands back stays out of the pool until that call can no longer land', async () => {
    const w = await boot({ targets: { warmIpTarget: 2 }, daemon: { pool: { cooldownMs: 0 } } });
    for (const pod of ['a', 'b', 'c']) await addPod(w, pod);
    await waitFor(() => w.daemon.store.freeCount() === 2, 5000, 'the pool back at 2 free');
    // The killed daemon's release is slow; the successor's own calls are quick, so its re-issue lands first.
    w.emulator.configure({ latencyMs: { UnassignPrivateIpAddresses: 2500 } });
    for (const pod of ['a', 'b', 'c']) await delPod(w, pod);
    await waitFor(() => w.daemon.store.totalAddresses() === 2, 5000, 'a release in flight');
    await w.daemon.stop();
    w.emulator.configure({ latencyMs: {} });
    await w.restart();
    const acknowledged = new Map<string, string>();
    // Adds that need the pool to grow: the cloud hands back the lowest free addresses, the ones the old call still names.
    for (const pod of ['d', 'e', 'f', 'g', 'h']) acknowledged.set(pod, (await addPod(w, pod)).ip);
    for (let t = 0; t < 300; t++) {
      expectHeldByCloud(w, acknowledged);
      await sleep(10);
    }
  });
});

describe('a release that fails part-way', () => {
  it('keeps none of the addresses the cloud no longer has and finishes the rest', async () => {
    const w = await boot({ targets: { warmIpTarget: 3 } });
    const [primary] = cloudInterfaces(w);
    // The highest address goes first when the pool shrinks: the release below names it.
    const gone = [...(primary?.secondaryIps ?? [])].sort((a, b) => Number(b.split('.')[3]) - Number(a.split('.')[3]))[0] ?? '';
    // Behind ipamd's back (a predecessor's release that landed): that address leaves the interface.
    await w.emulator.model.releaseAddresses(primary?.id ?? '', { ips: [gone], prefixes: [] });
    const settings = w.daemon.pool.settings;
    // Two of the three free addresses are now over the target: their release fails part-way.
    w.daemon.pool.configure({ ...settings, targets: { ...settings.targets, warmIpTarget: 1 } });
    // It leaves the store when its release starts; from then on it must never come back.
    let left = false;
    let sawGone = false;
    await waitFor(
      () => {
        const inStore = w.daemon.store.interfaces().some((nic) => nic.ips.includes(gone));
        if (!inStore) left = true;
        else if (left) sawGone = true;
        return w.daemon.store.totalAddresses() === 1 && (cloudInterfaces(w)[0]?.secondaryIps.length ?? -1) === 1;
      },
      5000,
      'one address left in the store and the cloud',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; store ${JSON.stringify(w.daemon.store.interfaces().map((nic) => nic.ips))}, cloud ${JSON.stringify(cloudInterfaces(w).map((nic) => nic.secondaryIps))}`);
    });
    expect(sawGone, `${gone} went back into the store after the failed release`).toBe(false);
    await sleep(300);
    expect(storeMatchesCloud(w)).toBe(true);
  });
});

describe('serve before shrinking', () => {
  it('a restart that would free an idle interface through a slow cloud is ready at once; the interface goes afterwards', async () => {
    const w = await boot({ targets: { warmEniTarget: 2 } });
    await waitFor(() => cloudInterfaces(w).length === 2, 5000, 'a second interface');
    w.emulator.configure({ latencyMs: { DeleteNetworkInterface: 800, DetachNetworkInterface: 800 } });
    const took = await killAndRestart(w, { pool: { targets: { mode: 'ips', warmEniTarget: 1, warmIpTarget: 0, minimumIpTarget: 0, warmPrefixTarget: 1, maxEni: 0 } } });
    expect(took, 'restart to ready, in ms').toBeLessThan(600);
    expect(w.daemon.pool.status.ready).toBe(true);
    await waitFor(() => cloudInterfaces(w).length === 1, 8000, 'the idle interface freed after serving').catch((err: Error) => {
      throw new Error(`${err.message}; last plan: ${w.daemon.pool.status.lastPlan}; error: ${JSON.stringify(w.daemon.pool.status.lastCloudError)}`);
    });
  });
});

describe('an assign sized from stale metadata after a restart', () => {
  it('re-reads the interface on a limit answer instead of declaring exhaustion', async () => {
    const w = await boot({ instanceType: 't3.small', targets: { warmIpTarget: 2 }, daemon: { pool: { cooldownMs: 0 } } });
    w.emulator.configure({ latencyMs: { AssignPrivateIpAddresses: 400 } });
    await addPod(w, 'a');
    await addPod(w, 'b');
    // The top-up assigns the primary interface's last slot; the daemon dies with it in flight.
    await sleep(100);
    await killAndRestart(w);
    w.emulator.configure({ latencyMs: {} });
    const added = await addPod(w, 'c');
    expect(added.ip).toBeTruthy();
    expect(w.daemon.pool.status.exhausted).toBeUndefined();
  });
});

describe('device indexes held by attaching interfaces', () => {
  it('a successor adopts the interface whose attach is in flight instead of creating another at its index', async () => {
    const w = await boot({ realism: { attachDelayMs: 1000 } });
    await addPod(w, 'a');
    const me = instanceId(w);
    await waitFor(() => w.emulator.model.listInterfaces().some((nic) => nic.attachment?.instanceId === me && nic.attachment.status === 'attaching'), 5000, 'an attach in flight');
    await killAndRestart(w);
    await waitFor(() => w.daemon.store.interfaces().length === 2, 5000, 'the attaching interface adopted');
    await sleep(200);
    const counts = await w.metrics.cloudCallCounts();
    expect(counts['AttachNetworkInterface:error'] ?? 0, 'failed attaches').toBe(0);
    expect((await mutations(w)).CreateNetworkInterface ?? 0, 'interfaces created by the successor').toBe(0);
    expect(cloudInterfaces(w)).toHaveLength(2);
    expect(storeMatchesCloud(w)).toBe(true);
  });
});

describe('pending releases recorded while ipamd was down', () => {
  it('do not hold the socket back; their addresses stay allocated until each is finished', async () => {
    const w = await boot({ targets: { warmIpTarget: 2 } });
    const pods = Array.from({ length: 20 }, (_, i) => `p${i}`);
    for (const pod of pods) await addPod(w, pod, { timeoutMs: 20_000 });
    const held = new Set(w.daemon.store.allocations().map((allocation) => allocation.ip));
    await w.daemon.stop();
    const dir = join(w.stateDir, 'pending-del');
    await mkdir(dir, { recursive: true });
    for (const pod of pods) await writeFile(join(dir, pendingFileName(key(pod))), formatPendingRelease(key(pod), new Date()));
    // Each teardown takes a while, as a real pod network's does.
    const slowTearDown = { ...noPodNetwork, tearDown: () => sleep(50) };
    const started = Date.now();
    await w.restart({ podNetwork: slowTearDown });
    expect(Date.now() - started, 'restart to serving, in ms').toBeLessThan(600);
    const fresh = await addPod(w, 'new');
    expect(held.has(fresh.ip), `${fresh.ip} is still held by a pod whose release is pending`).toBe(false);
    await waitFor(() => w.daemon.store.allocations().length === 1, 10_000, 'the pending releases finished');
  });
});

describe("interfaces this node left detached", () => {
  it('are deleted at start, without the cluster sweep and its hour; other nodes\' are left to that sweep', async () => {
    const w = await boot({ daemon: { pool: { leakCleanup: { enabled: true, intervalMs: 3_600_000, graceMs: 300_000 } } } });
    const model = w.emulator.model;
    const subnetId = w.topology.podSubnets[0]?.id ?? '';
    const make = (node: string) =>
      model.createInterface({ subnetId, securityGroupIds: [w.topology.securityGroup.id], secondaryIpCount: 2, tags: { [ownedTags.cluster]: 'test', [ownedTags.node]: node, [ownedTags.createdAt]: new Date().toISOString() } }).id;
    // What a kill between create and attach (or detach and delete) leaves.
    const mine = make(instanceId(w));
    const theirs = make('i-another');
    const exists = (id: string) => model.listInterfaces().some((nic) => nic.id === id);
    await killAndRestart(w);
    await waitFor(() => !exists(mine), 3000, "this node's detached interface deleted");
    expect(exists(theirs)).toBe(true);
  });
});

/**
 * What a predecessor leaves on record: a release of `ips` from `interfaceId`
 * that settled a moment ago (within the consistency grace), as if the cloud
 * later handed the same addresses back (it reuses the lowest free ones).
 */
async function recordSettledRelease(w: IpamdWorld, interfaceId: string, ips: string[]): Promise<void> {
  const log = await IntentLog.open(join(w.stateDir, 'intents'));
  const entry = await log.begin({ kind: 'release', interfaceId, ips, prefixes: [] }, Date.now() - 1000);
  await log.settle(entry.id, Date.now() - 500);
  log.close();
}

describe('a settled release that names an address a pod holds', () => {
  it('does not drop it after a restart: the pod keeps its address and CHECK finds it', async () => {
    const w = await boot({ targets: { warmIpTarget: 2 } });
    const { ip } = await addPod(w, 'a');
    const nic = cloudInterfaces(w).find((candidate) => candidate.secondaryIps.includes(ip));
    await w.daemon.stop();
    // The predecessor released this address, the cloud handed it back in a later assign, and the pod got it.
    await recordSettledRelease(w, nic?.id ?? '', [ip]);
    await w.restart();
    expect(w.daemon.store.orphans().map((allocation) => allocation.ip)).toEqual([]);
    await checkPod(w, 'a');
    // And it is never handed out a second time.
    const others = await Promise.all(['b', 'c', 'd'].map((pod) => addPod(w, pod)));
    expect(others.map((added) => added.ip)).not.toContain(ip);
  });
});

describe('addresses a late assign handed back that a settled release still names', () => {
  it('are released again and re-assigned instead of counting as full slots: the node is not declared exhausted', async () => {
    // One interface of t3.small: three secondary addresses, all the node has.
    const w = await boot({ instanceType: 't3.small', targets: { warmIpTarget: 1, maxEni: 1 }, daemon: { pool: { cooldownMs: 0 } } });
    await addPod(w, 'a');
    await waitFor(() => w.daemon.store.freeCount() === 1, 5000, 'one free address');
    const [primary] = cloudInterfaces(w);
    await w.daemon.stop();
    // The predecessor released two addresses; its next assign landed after the kill and got them back (the interface is full).
    const known = new Set(primary?.secondaryIps ?? []);
    const free = w.daemon.store.interfaces()[0]?.ips.filter((ip) => ip !== w.daemon.store.allocations()[0]?.ip) ?? [];
    await w.emulator.model.assignAddresses(primary?.id ?? '', { ipCount: 3 - known.size });
    const late = (cloudInterfaces(w)[0]?.secondaryIps ?? []).filter((ip) => !known.has(ip));
    await recordSettledRelease(w, primary?.id ?? '', [...late, ...free]);
    await w.restart();
    for (const pod of ['b', 'c']) {
      const added = await addPod(w, pod).catch((err: Error) => {
        throw new Error(`${pod}: ${err.message}; exhausted: ${JSON.stringify(w.daemon.pool.status.exhausted)}`);
      });
      expect(added.ip).toBeTruthy();
    }
    expect(new Set(w.daemon.store.allocations().map((allocation) => allocation.ip)).size).toBe(3);
    await waitFor(() => storeMatchesCloud(w), 5000, 'the store to match the cloud');
  });
});
