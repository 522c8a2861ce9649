/**
 * ipamd when the cloud is not kind: throttling and eventual consistency,
 * leaked interfaces, and exhaustion (subnet, MAX_ENI, instance limits).
 */
import { describe, expect, it } from 'vitest';
import { ownedTags } from '../../ipamd/pool/manager.ts';
import type { PoolView } from '../../ipamd/introspection.ts';
import { addPod, cloudInterfaces, cloudIpsPerInterface, converged, failure, instanceId, sleep, useIpamdWorld } from './daemon-helpers.ts';
import { waitFor, type IpamdWorld } from './harness.ts';

const boot = useIpamdWorld();

const throttle = { code: 'RequestLimitExceeded', message: 'Request limit exceeded.' };

describe('throttling and eventual consistency', () => {
  it('adds served from the warm pool all succeed while the cloud throttles and lags; the pool converges afterwards', async () => {
    const w = await boot({
      targets: { warmIpTarget: 5 },
      realism: { throttling: true, describeLagMs: 400, attachDelayMs: 300 },
      // The sweep reads interfaces (DescribeNetworkInterfaces) while the rest goes on.
      daemon: { pool: { leakCleanup: { enabled: true, intervalMs: 100, graceMs: 60_000 } } },
    });
    await converged(w, [5], 'boot');
    w.emulator.faults.failNext('AssignPrivateIpAddresses', 4, throttle);
    w.emulator.faults.failNext('CreateNetworkInterface', 4, throttle);
    w.emulator.faults.failNext('DescribeNetworkInterfaces', 4, throttle);

    const batch = async (from: number): Promise<Array<{ ip: string; ms: number }>> =>
      Promise.all(
        [0, 1, 2, 3].map(async (i) => {
          const started = performance.now();
          const result = await addPod(w, `t${from + i}`);
          return { ip: result.ip, ms: performance.now() - started };
        }),
      );

    // 4 of the 5 warm addresses: answered at once, whatever the cloud does meanwhile.
    const first = await batch(1);
    for (const { ms } of first) expect(ms).toBeLessThan(1000);
    // The refill (AssignPrivateIpAddresses) is throttled first, then goes through.
    await converged(w, [9], 'refill of the primary', 15_000);
    expect(w.daemon.store.freeCount()).toBe(5);

    // The primary is full: the refill needs a new ENI, created while throttled and attached with delay.
    const second = await batch(5);
    for (const { ms } of second) expect(ms).toBeLessThan(1000);
    await converged(w, [9, 4], 'a new ENI', 15_000);
    await sleep(300);
    expect(cloudIpsPerInterface(w)).toEqual([9, 4]);
    expect(w.daemon.store.totalAddresses()).toBe(13);
    expect(w.daemon.store.freeCount()).toBe(5);
    const ips = [...first, ...second].map((r) => r.ip);
    expect(new Set(ips).size).toBe(8);
    for (const ip of ips) expect(cloudInterfaces(w).some((nic) => nic.secondaryIps.includes(ip)), `${ip} is on an interface`).toBe(true);

    // The faults were met (and retried through), not skipped; no interface leaked on the way.
    await waitFor(() => Object.keys(w.emulator.faults.pending()).length === 0, 5000, 'every injected fault consumed');
    const counts = await w.metrics.cloudCallCounts();
    expect(counts['AssignPrivateIpAddresses:throttled']).toBeGreaterThanOrEqual(1);
    expect(counts['CreateNetworkInterface:throttled']).toBeGreaterThanOrEqual(1);
    expect(counts['CreateNetworkInterface:success']).toBe(1);
    expect(w.emulator.model.listInterfaces().filter((nic) => nic.tags[ownedTags.cluster] === 'test')).toHaveLength(1);
    expect(w.daemon.pool.status.exhausted).toBeUndefined();
  });
});

describe('leaked interfaces', () => {
  it('deletes only the detached interfaces of this cluster older than the grace period', async () => {
    const w = await boot({ daemon: { pool: { leakCleanup: { enabled: true, intervalMs: 150, graceMs: 60_000 } } } });
    const model = w.emulator.model;
    const subnetId = w.topology.podSubnets[0]?.id ?? '';
    const groups = [w.topology.securityGroup.id];
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    const make = (tags: Record<string, string>) => model.createInterface({ subnetId, securityGroupIds: groups, secondaryIpCount: 2, tags }).id;
    const old1 = make({ [ownedTags.cluster]: 'test', [ownedTags.node]: 'i-gone', [ownedTags.createdAt]: hourAgo });
    const old2 = make({ [ownedTags.cluster]: 'test', [ownedTags.createdAt]: new Date(Date.now() - 120_000).toISOString() });
    const young = make({ [ownedTags.cluster]: 'test', [ownedTags.createdAt]: new Date().toISOString() });
    const otherCluster = make({ [ownedTags.cluster]: 'other', [ownedTags.createdAt]: hourAgo });
    const noCreatedAt = make({ [ownedTags.cluster]: 'test' });
    const untagged = make({});
    const freeBefore = model.getSubnet(subnetId).freeAddresses;

    // Our own attached interface of this cluster must survive too.
    await waitFor(() => w.daemon.pool.status.ready, 5000, 'ready');
    await addPod(w, 'keep');
    await waitFor(() => cloudInterfaces(w).length === 2, 5000, 'a second ENI');
    const own = cloudInterfaces(w)[1]?.id ?? '';

    const exists = (id: string) => model.listInterfaces().some((nic) => nic.id === id);
    await waitFor(() => !exists(old1) && !exists(old2), 5000, 'the old leaked interfaces to be deleted');
    // A few more sweeps: nothing else goes.
    await sleep(500);
    for (const id of [young, otherCluster, noCreatedAt, untagged, own]) expect(exists(id), id).toBe(true);
    expect(cloudInterfaces(w).map((nic) => nic.id)).toContain(own);
    // Their addresses went back to the subnet (3 each), minus the new ENI's 10.
    expect(model.getSubnet(subnetId).freeAddresses).toBe(freeBefore + 6 - 10);
    const metric = await w.metrics.registry.getSingleMetricAsString('vpccni_leaked_interfaces_deleted_total');
    expect(metric).toMatch(/^vpccni_leaked_interfaces_deleted_total 2$/m);
    // The node tag does not matter: a leak of a terminated node is this cluster's leak.
    expect(instanceId(w)).not.toBe('i-gone');
  });
});

describe('exhaustion fails fast with the limit named', () => {
  async function expectExhausted(w: IpamdWorld, containerId: string, limit: string, message: RegExp): Promise<void> {
    const started = performance.now();
    const err = await failure(addPod(w, containerId));
    const ms = performance.now() - started;
    expect(err.code).toBe('exhausted');
    expect(err.limit).toBe(limit);
    expect(err.message).toMatch(message);
    expect(ms).toBeLessThan(500);
  }

  async function exhaustedMetric(url: string | undefined): Promise<string> {
    if (!url) throw new Error('no metrics endpoint');
    const text = await (await fetch(`${url}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('vpccni_pool_exhausted{') && line.endsWith(' 1'))
      .join('\n');
  }

  it('MAX_ENI=1: the 10th pod fails at once with max-eni, visible in /v1/pool and the metrics', async () => {
    const w = await boot({
      targets: { maxEni: 1 },
      daemon: { endpoints: { introspection: { host: '127.0.0.1', port: 0 }, metrics: { host: '127.0.0.1', port: 0 } } },
    });
    await converged(w, [9], 'boot');
    for (let i = 1; i <= 9; i++) await addPod(w, `m${i}`);
    await expectExhausted(w, 'm10', 'max-eni', /MAX_ENI=1/);
    // Again: still fast, same answer; nothing was created in the cloud.
    await expectExhausted(w, 'm11', 'max-eni', /raise MAX_ENI/);
    expect(cloudInterfaces(w)).toHaveLength(1);

    const view = (await (await fetch(`${w.daemon.introspectionUrl}/v1/pool`)).json()) as PoolView;
    expect(view.exhausted?.limit).toBe('max-eni');
    expect(view.exhausted?.message).toMatch(/MAX_ENI=1/);
    expect(view.totals).toMatchObject({ addresses: 9, assigned: 9, warm: 0, interfaces: 1 });
    expect(await exhaustedMetric(w.daemon.metricsUrl)).toBe('vpccni_pool_exhausted{limit="max-eni"} 1');
    expect((await fetch(`${w.daemon.introspectionUrl}/readyz`)).status).toBe(200);
  });

  it('tiny instance type (t3.nano): the third pod fails with interfaces-per-instance', async () => {
    const w = await boot({ instanceType: 't3.nano', daemon: { endpoints: { metrics: { host: '127.0.0.1', port: 0 } } } });
    await converged(w, [1], 'boot');
    await addPod(w, 'n1');
    await converged(w, [1, 1], 'the second (last) ENI');
    expect((await addPod(w, 'n2')).deviceIndex).toBe(1);
    await expectExhausted(w, 'n3', 'interfaces-per-instance', /all 2 interfaces the instance type allows are attached.*larger instance type/);
    expect(await exhaustedMetric(w.daemon.metricsUrl)).toBe('vpccni_pool_exhausted{limit="interfaces-per-instance"} 1');
  });

  it("primary interface's subnet nearly full: assigns there only what it has, the rest on a new interface in the pod subnet, no refused call", async () => {
    const w = await boot({ targets: { warmIpTarget: 2 } });
    await converged(w, [2], 'boot');
    await w.daemon.stop();
    // Someone else takes the node subnet down to 3 free addresses.
    const model = w.emulator.model;
    const nodeSubnet = w.topology.nodeSubnet.id;
    while (model.getSubnet(nodeSubnet).freeAddresses > 3) {
      const take = Math.min(49, model.getSubnet(nodeSubnet).freeAddresses - 4);
      model.createInterface({ subnetId: nodeSubnet, securityGroupIds: [w.topology.securityGroup.id], secondaryIpCount: take });
    }
    expect(model.getSubnet(nodeSubnet).freeAddresses).toBe(3);
    await w.restart({ pool: { targets: { mode: 'ips', warmIpTarget: 10, minimumIpTarget: 0, warmEniTarget: 0, warmPrefixTarget: 0, maxEni: 0 } } });
    // 2 + 3 on the primary (its subnet's last addresses), 5 more on a new interface in the pod subnet: 10 free.
    await converged(w, [5, 5], 'grown past the full node subnet');
    expect(model.getSubnet(nodeSubnet).freeAddresses).toBe(0);
    const counts = await w.metrics.cloudCallCounts();
    expect(Object.keys(counts).filter((key) => !key.endsWith(':success'))).toEqual([]);
  });

  it('pod subnet with no free address: the pod after the warm ones fails with subnet-addresses naming the subnet', async () => {
    const w = await boot({ daemon: { endpoints: { introspection: { host: '127.0.0.1', port: 0 }, metrics: { host: '127.0.0.1', port: 0 } } } });
    await converged(w, [9], 'boot');
    // A /28 pod subnet with its 11 usable addresses taken by someone else.
    const model = w.emulator.model;
    const tiny = model.createSubnet(w.topology.vpc.id, '10.0.48.0/28', w.topology.nodeSubnet.zone, { Name: 'tiny' });
    expect(model.getSubnet(tiny.id).freeAddresses).toBe(11);
    model.createInterface({ subnetId: tiny.id, securityGroupIds: [w.topology.securityGroup.id], secondaryIpCount: 10 });
    expect(model.getSubnet(tiny.id).freeAddresses).toBe(0);
    await w.daemon.stop();
    await w.restart({ pool: { podSubnetIds: [tiny.id] } });
    await waitFor(() => w.daemon.pool.status.ready, 5000, 'ready after restart');

    for (let i = 1; i <= 9; i++) await addPod(w, `s${i}`);
    await expectExhausted(w, 's10', 'subnet-addresses', new RegExp(`${tiny.id} has 0`));
    expect(cloudInterfaces(w)).toHaveLength(1);
    const view = (await (await fetch(`${w.daemon.introspectionUrl}/v1/pool`)).json()) as PoolView;
    expect(view.exhausted).toMatchObject({ limit: 'subnet-addresses' });
    expect(view.subnets).toEqual([{ subnetId: tiny.id, cidr: '10.0.48.0/28', freeAddresses: 0 }]);
    expect(await exhaustedMetric(w.daemon.metricsUrl)).toBe('vpccni_pool_exhausted{limit="subnet-addresses"} 1');
  });

  it('pod subnet filled behind ipamd\'s back: the cloud refuses, the add fails fast with subnet-addresses', async () => {
    const w = await boot({ daemon: { endpoints: { introspection: { host: '127.0.0.1', port: 0 } } } });
    await converged(w, [9], 'boot');
    // ipamd has read the pod subnet (4091 free) and caches it; now someone takes every address.
    const model = w.emulator.model;
    const subnetId = w.topology.podSubnets[0]?.id ?? '';
    while (model.getSubnet(subnetId).freeAddresses > 0) {
      const free = model.getSubnet(subnetId).freeAddresses;
      model.createInterface({ subnetId, securityGroupIds: [w.topology.securityGroup.id], secondaryIpCount: Math.min(49, free - 1) });
    }
    for (let i = 1; i <= 9; i++) await addPod(w, `f${i}`);
    await waitFor(() => w.daemon.pool.status.exhausted !== undefined, 5000, 'exhaustion noticed');
    await expectExhausted(w, 'f10', 'subnet-addresses', new RegExp(subnetId));
    expect(cloudInterfaces(w)).toHaveLength(1);
    const view = (await (await fetch(`${w.daemon.introspectionUrl}/v1/pool`)).json()) as PoolView;
    expect(view.exhausted?.limit).toBe('subnet-addresses');
  });
});
