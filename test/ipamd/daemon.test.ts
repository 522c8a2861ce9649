/**
 * ipamd end to end against the emulated cloud (real AWS SDK over HTTP):
 * boot to targets, pods coming and going, restart, gc. The cloud's truth is
 * read from the emulator model; ipamd's from its store.
 */
import { describe, expect, it } from 'vitest';
import { callIpamd } from '../../wire/client.ts';
import { ownedTags } from '../../ipamd/pool/manager.ts';
import { parseCidr } from '../../lib/ipv4.ts';
import { addPod, checkPod, cloudInterfaces, cloudIpsPerInterface, converged, delPod, failure, instanceId, mutations, sleep, storeMatchesCloud, useIpamdWorld } from './daemon-helpers.ts';
import { waitFor } from './harness.ts';

const boot = useIpamdWorld();

describe('a node boots and reaches its targets', () => {
  it('WARM_ENI_TARGET=1 (default): the primary ENI is filled with its 9 secondary IPs, no other ENI', async () => {
    const w = await boot();
    await converged(w, [9], 'boot');
    // Stays there: a few pool checks later nothing has changed.
    await sleep(200);
    expect(cloudIpsPerInterface(w)).toEqual([9]);
    expect(cloudInterfaces(w)[0]?.prefixes).toEqual([]);
    expect(w.daemon.store.totalAddresses()).toBe(9);
    expect(w.daemon.store.freeCount()).toBe(9);
    expect(w.daemon.store.interfaces()).toHaveLength(1);
    expect(w.daemon.store.interfaces()[0]?.isPrimary).toBe(true);
    expect(await mutations(w)).toEqual({ AssignPrivateIpAddresses: 1 });
  });

  it('WARM_IP_TARGET=3: three secondary IPs on the primary ENI', async () => {
    const w = await boot({ targets: { warmIpTarget: 3 } });
    await converged(w, [3], 'boot');
    await sleep(200);
    expect(cloudIpsPerInterface(w)).toEqual([3]);
    expect(w.daemon.store.totalAddresses()).toBe(3);
    expect(w.daemon.store.freeCount()).toBe(3);
  });

  it('WARM_IP_TARGET=2 MINIMUM_IP_TARGET=12: the primary is filled, a tagged delete-on-termination ENI holds the 3 more', async () => {
    const started = Date.now();
    const w = await boot({ targets: { warmIpTarget: 2, minimumIpTarget: 12 } });
    await converged(w, [9, 3], 'boot');
    await sleep(200);
    expect(cloudIpsPerInterface(w)).toEqual([9, 3]);
    expect(w.daemon.store.totalAddresses()).toBe(12);
    expect(w.daemon.store.interfaces()).toHaveLength(2);

    const created = cloudInterfaces(w)[1];
    if (!created) throw new Error('no second interface');
    expect(created.attachment?.deviceIndex).toBe(1);
    expect(created.attachment?.deleteOnTermination).toBe(true);
    expect(created.subnetId).toBe(w.topology.podSubnets[0]?.id);
    expect(created.tags[ownedTags.cluster]).toBe('test');
    expect(created.tags[ownedTags.node]).toBe(instanceId(w));
    const createdAt = Date.parse(created.tags[ownedTags.createdAt] ?? '');
    expect(createdAt).toBeGreaterThanOrEqual(started - 1000);
    expect(createdAt).toBeLessThanOrEqual(Date.now());
    // The store holds the same interface, not the primary twice.
    expect(w.daemon.store.interfaces()[1]).toMatchObject({ interfaceId: created.id, mac: created.mac, deviceIndex: 1, isPrimary: false, primaryIp: created.primaryIp });
  });

  it('prefix mode (WARM_PREFIX_TARGET=1): one /28 on the primary ENI; a pod taking an address brings a second prefix', async () => {
    const w = await boot({ targets: { mode: 'prefixes' } });
    await waitFor(() => cloudInterfaces(w)[0]?.prefixes.length === 1 && storeMatchesCloud(w), 5000, 'one prefix');
    await sleep(200);
    const primary = cloudInterfaces(w)[0];
    expect(cloudInterfaces(w)).toHaveLength(1);
    expect(primary?.prefixes).toHaveLength(1);
    expect(primary?.prefixes[0]).toMatch(/\/28$/);
    expect(primary?.secondaryIps).toEqual([]);
    expect(w.daemon.store.totalAddresses()).toBe(16);
    expect(w.daemon.store.freeCount()).toBe(16);

    const pod = await addPod(w, 'p1');
    const { base, size } = parseCidr(primary?.prefixes[0] ?? '');
    const value = parseCidr(`${pod.ip}/32`).base;
    expect(value >= base && value < base + size, `${pod.ip} inside ${primary?.prefixes[0]}`).toBe(true);
    expect(pod.interfaceId).toBe(primary?.id);
    // 15 free < 16: one more prefix on the primary, still one interface.
    await waitFor(() => cloudInterfaces(w)[0]?.prefixes.length === 2 && storeMatchesCloud(w), 5000, 'second prefix');
    await sleep(200);
    expect(cloudInterfaces(w)).toHaveLength(1);
    expect(cloudInterfaces(w)[0]?.prefixes).toHaveLength(2);
    expect(w.daemon.store.totalAddresses()).toBe(32);
    expect(w.daemon.store.freeCount()).toBe(31);
  });
});

describe('pods come and go', () => {
  it('distinct addresses, idempotent adds, and a new ENI whenever the warm ENI is touched', async () => {
    const w = await boot();
    await converged(w, [9], 'boot');
    const first = await addPod(w, 'c1');
    const again = await addPod(w, 'c1');
    expect(again).toEqual(first);
    expect(first.deviceIndex).toBe(0);
    expect(first.address).toBe(`${first.ip}/32`);
    // A pod took an address: 8 free < 9, so a whole ENI's worth more.
    await converged(w, [9, 9], 'after the first pod');
    expect(w.daemon.store.totalAddresses()).toBe(18);
    expect(w.daemon.store.freeCount()).toBe(17);

    const ips = new Map<string, string>([['c1', first.ip]]);
    for (let i = 2; i <= 10; i++) {
      const result = await addPod(w, `c${i}`);
      ips.set(`c${i}`, result.ip);
      // Lowest device index first: 9 pods on the primary, the 10th on the second ENI.
      expect(result.deviceIndex, `pod c${i}`).toBe(i <= 9 ? 0 : 1);
      const nic = cloudInterfaces(w).find((candidate) => candidate.id === result.interfaceId);
      expect(nic?.secondaryIps, `pod c${i} address is on its interface in the cloud`).toContain(result.ip);
      expect(result.mac).toBe(nic?.mac);
    }
    expect(new Set(ips.values()).size).toBe(10);
    // The second ENI was touched: a third (the instance's last) comes.
    await converged(w, [9, 9, 9], 'after the tenth pod');
    expect(w.daemon.store.freeCount()).toBe(17);
    // Repeated adds still give the same addresses, whatever happened in between.
    for (const [containerId, ip] of ips) expect((await addPod(w, containerId)).ip).toBe(ip);
    expect(w.daemon.store.allocations()).toHaveLength(10);
  });

  it('a released address comes back only after the cooldown', async () => {
    const cooldownMs = 1000;
    const w = await boot({ daemon: { pool: { cooldownMs } } });
    await converged(w, [9], 'boot');
    const a = await addPod(w, 'a');
    await delPod(w, 'a');
    const released = Date.now();
    // DEL is idempotent.
    await delPod(w, 'a');
    expect((await failure(checkPod(w, 'a'))).code).toBe('not-found');
    const b = await addPod(w, 'b');
    expect(b.ip).not.toBe(a.ip);
    expect(w.daemon.store.coolingCount()).toBe(1);
    const wait = cooldownMs - (Date.now() - released) + 50;
    if (wait > 0) await sleep(wait);
    expect(w.daemon.store.coolingCount()).toBe(0);
    // The lowest address of the lowest interface is free again: the next pod gets it.
    const c = await addPod(w, 'c');
    expect(c.ip).toBe(a.ip);
    expect(new Set([b.ip, c.ip]).size).toBe(2);
  });

  it('an idle ENI is freed only once nothing (pod or cooling address) sits on it and it is excess', async () => {
    const cooldownMs = 1500;
    const w = await boot({ daemon: { pool: { cooldownMs } } });
    await converged(w, [9], 'boot');
    const placed = new Map<string, number>();
    for (let i = 1; i <= 19; i++) {
      const result = await addPod(w, `p${i}`);
      placed.set(`p${i}`, result.deviceIndex);
    }
    // 9 pods on the primary, 9 on the second ENI, 1 on the third.
    expect([...placed.values()].filter((d) => d === 0)).toHaveLength(9);
    expect([...placed.values()].filter((d) => d === 1)).toHaveLength(9);
    expect(placed.get('p19')).toBe(2);
    await converged(w, [9, 9, 9], '19 pods');
    const [, second, third] = cloudInterfaces(w);
    if (!second || !third) throw new Error('expected three interfaces');

    // Empty the second ENI (and one address of the primary): everything there is cooling now.
    // Before the first DEL: the last address of the ENI cools down later than this plus the cooldown.
    const released = Date.now();
    for (let i = 10; i <= 18; i++) await delPod(w, `p${i}`);
    await delPod(w, 'p1');
    // While the addresses cool down, the ENI stays (checked until shortly before the cooldown ends).
    while (Date.now() - released < cooldownMs - 300) {
      expect(cloudInterfaces(w).map((nic) => nic.id)).toContain(second.id);
      await sleep(50);
    }
    // Once cooled: 18 free >= (1 + 1) * 9, the second ENI is empty and excess, the third holds a pod.
    await waitFor(() => !cloudInterfaces(w).some((nic) => nic.id === second.id), 5000, 'the empty ENI to be freed');
    expect(Date.now() - released).toBeGreaterThanOrEqual(cooldownMs - 50);
    await waitFor(() => storeMatchesCloud(w), 2000, 'store to follow the cloud');
    // Deleted, not just detached (the adapter polls the detachment with backoff); the third ENI with its pod stays; no flapping.
    await waitFor(() => !w.emulator.model.listInterfaces().some((nic) => nic.id === second.id), 10_000, 'the detached ENI to be deleted');
    await sleep(300);
    expect(cloudInterfaces(w).map((nic) => nic.id)).toEqual([cloudInterfaces(w)[0]?.id, third.id]);
    expect(cloudIpsPerInterface(w)).toEqual([9, 9]);
    expect(w.daemon.store.allocations()).toHaveLength(9);
    expect(w.daemon.store.freeCount()).toBe(9);
    expect((await checkPod(w, 'p19')).interfaceId).toBe(third.id);
    expect((await mutations(w)).DeleteNetworkInterface).toBe(1);
  });
});

describe('resync with the metadata service while ipamd changes the node', () => {
  /** Watches the store: addresses / interfaces that left it must not come back. */
  function watchLeaving<T>(read: () => Set<T>): { stop(): Promise<{ left: Set<T>; back: T[] }> } {
    const left = new Set<T>();
    const back: T[] = [];
    let previous = read();
    let running = true;
    const loop = (async () => {
      while (running) {
        const current = read();
        for (const item of previous) if (!current.has(item)) left.add(item);
        for (const item of current) if (left.has(item)) back.push(item);
        previous = current;
        await sleep(5);
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return { left, back };
      },
    };
  }

  it('addresses being released are not put back by a resync, and no pod gets one of them', async () => {
    // The clock jumps two minutes once the pool is built, so ipamd's own assigns are no longer "fresh changes".
    let skew = 0;
    const w = await boot({ targets: { warmIpTarget: 2 }, realism: { latencyMs: { UnassignPrivateIpAddresses: 500 } }, daemon: { pool: { cooldownMs: 200 }, now: () => Date.now() + skew } });
    await converged(w, [2], 'boot');
    for (let i = 1; i <= 5; i++) await addPod(w, `p${i}`);
    await converged(w, [7], 'five pods');
    skew = 120_000;
    const watch = watchLeaving(() => new Set(w.daemon.store.interfaces().flatMap((nic) => nic.ips)));
    for (let i = 1; i <= 5; i++) await delPod(w, `p${i}`);
    // Once cooled, 7 free > 2: five are given back, each slowly, with resyncs (every 200 ms) in between.
    await converged(w, [2], 'release of the excess');
    await sleep(300);
    const { left, back } = await watch.stop();
    expect(left.size).toBe(5);
    expect(back).toEqual([]);
    expect(w.daemon.store.totalAddresses()).toBe(2);
    // Three pods now: two from the warm pool, the third waits for new addresses; all are the node's in the cloud.
    const ips = await Promise.all(['q1', 'q2', 'q3'].map(async (id) => (await addPod(w, id)).ip));
    const owned = new Set(cloudInterfaces(w).flatMap((nic) => nic.secondaryIps));
    for (const ip of ips) expect(owned.has(ip), `${ip} is assigned to the node in the cloud`).toBe(true);
    await converged(w, [5], 'three pods, two warm');
  });

  it('an interface being deleted is not adopted again by a resync', async () => {
    let skew = 0;
    const w = await boot({ realism: { latencyMs: { DeleteNetworkInterface: 300 } }, daemon: { pool: { cooldownMs: 200 }, now: () => Date.now() + skew } });
    await converged(w, [9], 'boot');
    for (let i = 1; i <= 10; i++) await addPod(w, `p${i}`);
    await converged(w, [9, 9, 9], 'ten pods');
    const [, second, third] = cloudInterfaces(w);
    skew = 120_000;
    const watch = watchLeaving(() => new Set(w.daemon.store.interfaces().map((nic) => nic.interfaceId)));
    for (let i = 1; i <= 10; i++) await delPod(w, `p${i}`);
    await converged(w, [9], 'both extra interfaces freed', 8000);
    await sleep(300);
    const { left, back } = await watch.stop();
    expect([...left].sort()).toEqual([second?.id, third?.id].sort());
    expect(back).toEqual([]);
    expect(storeMatchesCloud(w)).toBe(true);
  });
});

describe('restart', () => {
  it('restores every allocation, answers the same addresses, never hands one out twice, and makes no cloud change at target', async () => {
    const w = await boot();
    await converged(w, [9], 'boot');
    const before = new Map<string, string>();
    for (let i = 1; i <= 6; i++) before.set(`r${i}`, (await addPod(w, `r${i}`)).ip);
    await converged(w, [9, 9], 'six pods');
    // One address is cooling down (30 s) across the restart.
    const cooling = before.get('r6') ?? '';
    await delPod(w, 'r6');
    before.delete('r6');
    await sleep(100);
    const cloudBefore = JSON.stringify(cloudInterfaces(w));

    await w.daemon.stop();
    const daemon = await w.restart();
    expect(daemon).toBe(w.daemon);
    // Inventory rebuilt from the metadata service, allocations from the state directory, before it serves.
    expect(daemon.store.allocations().map((a) => [a.key.containerId, a.ip]).sort()).toEqual([...before].sort());
    expect(daemon.store.totalAddresses()).toBe(18);
    expect(daemon.store.coolingCount()).toBe(1);
    expect(daemon.store.orphans()).toEqual([]);
    for (const [containerId, ip] of before) expect((await checkPod(w, containerId)).address).toBe(`${ip}/32`);
    const status = await callIpamd(w.socketPath, 'status', {}, { timeoutMs: 2000 });
    expect(status).toMatchObject({ ready: true, assigned: 5, available: 12 });

    // At target (12 free, 18 needed to free an ENI): several pool checks and a reconcile, no cloud change.
    await sleep(500);
    expect(await mutations(w)).toEqual({});
    expect(JSON.stringify(cloudInterfaces(w))).toBe(cloudBefore);

    // New pods get addresses no one holds, and not the cooling one.
    const taken = new Set(before.values());
    for (let i = 7; i <= 18; i++) {
      const ip = (await addPod(w, `r${i}`)).ip;
      expect(taken.has(ip), `r${i} got ${ip}, already handed out`).toBe(false);
      expect(ip).not.toBe(cooling);
      taken.add(ip);
    }
    // A repeated add of a pod from before the restart keeps its address.
    expect((await addPod(w, 'r1')).ip).toBe(before.get('r1'));
  });
});

describe('gc', () => {
  it('releases the allocations not in validAttachments, on the given network only', async () => {
    const w = await boot();
    await converged(w, [9], 'boot');
    const a1 = await addPod(w, 'c1', { network: 'a' });
    await addPod(w, 'c2', { network: 'a' });
    await addPod(w, 'c3', { network: 'a' });
    const a5 = await addPod(w, 'c5', { network: 'a' });
    // (A pod gets one interface from vpc-cni: other containers stand in for further attachments.)
    await addPod(w, 'c7', { network: 'a' });
    const b1 = await addPod(w, 'c6', { network: 'b' });
    const b4 = await addPod(w, 'c4', { network: 'b' });
    expect(w.daemon.store.allocations()).toHaveLength(7);

    const result = await callIpamd(
      w.socketPath,
      'gc',
      { network: 'a', validAttachments: [{ containerId: 'c1', ifName: 'eth0' }, { containerId: 'c5', ifName: 'eth0' }, { containerId: 'c4', ifName: 'eth0' }] },
      { timeoutMs: 5000 },
    );
    expect(result).toEqual({ released: 3 });
    expect((await checkPod(w, 'c1', { network: 'a' })).address).toBe(a1.address);
    expect((await checkPod(w, 'c5', { network: 'a' })).address).toBe(a5.address);
    for (const [containerId, ifName] of [['c2', 'eth0'], ['c3', 'eth0'], ['c7', 'eth0']] as const) {
      expect((await failure(checkPod(w, containerId, { network: 'a', ifName }))).code, `${containerId}/${ifName}`).toBe('not-found');
    }
    // Network b untouched, although neither of its attachments was listed as valid for it.
    expect((await checkPod(w, 'c6', { network: 'b' })).address).toBe(b1.address);
    expect((await checkPod(w, 'c4', { network: 'b' })).address).toBe(b4.address);
    expect(w.daemon.store.allocations()).toHaveLength(4);
    // Released addresses cool down like any DEL.
    expect(w.daemon.store.coolingCount()).toBe(3);
    // gc again: nothing more to do.
    expect(await callIpamd(w.socketPath, 'gc', { network: 'a', validAttachments: [{ containerId: 'c1', ifName: 'eth0' }, { containerId: 'c5', ifName: 'eth0' }] }, { timeoutMs: 5000 })).toEqual({ released: 0 });
    // An empty list releases everything on that network.
    expect(await callIpamd(w.socketPath, 'gc', { network: 'b', validAttachments: [] }, { timeoutMs: 5000 })).toEqual({ released: 2 });
    expect(w.daemon.store.allocations().map((a) => `${a.key.network}/${a.key.containerId}/${a.key.ifName}`).sort()).toEqual(['a/c1/eth0', 'a/c5/eth0']);
  });
});
