/**
 * PoolManager.configure: targets, subnets and security groups changed while
 * ipamd runs (what a NodeNetworkConfig does), against the emulator. Existing
 * interfaces keep their subnet and groups; new ones follow the new settings.
 */
import { describe, expect, it } from 'vitest';
import { poolView } from '../../../ipamd/introspection.ts';
import { addPod, cloudInterfaces, useIpamdWorld } from '../daemon-helpers.ts';
import { waitFor } from '../harness.ts';

const boot = useIpamdWorld();

describe('PoolManager.configure', () => {
  it('applies new targets at once: the pool grows to the new warm target', async () => {
    const w = await boot({ targets: { warmIpTarget: 2, minimumIpTarget: 0 } });
    const { pool, store } = w.daemon;
    expect(pool.targets.warmIpTarget).toBe(2);
    pool.configure({ ...pool.settings, targets: { ...pool.settings.targets, warmIpTarget: 14 } });
    await waitFor(() => store.freeCount() >= 14, 5000, '14 warm addresses');
    expect(pool.settings.targets.warmIpTarget).toBe(14);
    // The introspection endpoint shows the targets in force, not the ones ipamd started with.
    expect((await poolView(store, pool, pool.targets, w.metrics)).targets.warmIpTarget).toBe(14);
  });

  it('puts new interfaces in the new subnet with the new security groups; existing ones stay as they are', async () => {
    const w = await boot({ targets: { warmIpTarget: 2, minimumIpTarget: 0 } });
    const [first, second] = w.topology.podSubnets;
    if (!first || !second) throw new Error('two pod subnets expected');
    const group = w.emulator.model.createSecurityGroup(w.topology.vpc.id, 'pods-b');
    const before = cloudInterfaces(w).map((nic) => ({ id: nic.id, subnetId: nic.subnetId, groups: nic.securityGroupIds }));
    const { pool } = w.daemon;
    pool.configure({ targets: { ...pool.settings.targets, warmIpTarget: 2 + 9 * before.length }, podSubnetIds: [second.id], podSecurityGroupIds: [group.id] });
    await waitFor(() => cloudInterfaces(w).length > before.length, 5000, 'a new interface');
    const after = cloudInterfaces(w);
    for (const old of before) expect(after.find((nic) => nic.id === old.id)).toMatchObject({ subnetId: old.subnetId, securityGroupIds: old.groups });
    const added = after.filter((nic) => !before.some((old) => old.id === nic.id));
    expect(added.length).toBeGreaterThan(0);
    for (const nic of added) expect(nic).toMatchObject({ subnetId: second.id, securityGroupIds: [group.id] });
    // The subnets the plan looks at are the new ones.
    await waitFor(() => pool.status.subnets.map((s) => s.subnetId).join() === second.id, 5000, 'subnet list refreshed');
  });

  it('keeps serving adds across a change', async () => {
    const w = await boot({ targets: { warmIpTarget: 3, minimumIpTarget: 0 } });
    const { pool } = w.daemon;
    await addPod(w, 'before');
    pool.configure({ ...pool.settings, targets: { ...pool.settings.targets, warmIpTarget: 5, maxEni: 1 } });
    const result = await addPod(w, 'after');
    expect(result.ip).toMatch(/^10\.0\./);
  });

  it('refuses to switch the address mode', async () => {
    const w = await boot();
    const { pool } = w.daemon;
    expect(() => pool.configure({ ...pool.settings, targets: { ...pool.settings.targets, mode: 'prefixes' } })).toThrow(/address mode is fixed/);
    expect(pool.targets.mode).toBe('ips');
  });
});
