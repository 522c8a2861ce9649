/**
 * NodeNetworkConfig end to end: ipamd on the emulated VPC, configs in the
 * fake API server. Selection at boot and live changes; invalid configs
 * reported (Event + configError) and not applied.
 */
import { describe, expect, it } from 'vitest';
import { cloudInterfaces } from '../daemon-helpers.ts';
import { configObject, eventsFor, nodeName, nodeNetwork, nodeObject, useK8sWorld, waitFor, type K8sWorld } from './helpers.ts';

const start = useK8sWorld();

const statusOf = (w: K8sWorld): Record<string, unknown> => nodeNetwork(w.api)?.status ?? {};
const subnetsOf = (w: K8sWorld): string[] => cloudInterfaces(w.world).map((nic) => nic.subnetId);

describe('NodeNetworkConfig', () => {
  it('is applied before the pool fills: the first interfaces of a (re)starting ipamd already use its subnet', async () => {
    // Only the primary interface at first.
    const w = await start({ targets: { warmIpTarget: 2, minimumIpTarget: 0, warmEniTarget: 0 } });
    expect(cloudInterfaces(w.world)).toHaveLength(1);
    const second = w.world.topology.podSubnets[1];
    if (!second) throw new Error('no second pod subnet');
    await w.world.daemon.stop();
    w.api.put('nodenetworkconfigs', configObject('workers', { nodeSelector: { matchLabels: { 'kubernetes.io/hostname': nodeName } }, subnetIds: [second.id], warmIPTarget: 12 }));
    const daemon = await w.world.restart();
    // Settled before the pool started: the targets were in force from its first plan.
    expect(daemon.pool.targets.warmIpTarget).toBe(12);
    await waitFor(() => daemon.store.freeCount() >= 12, 5000, '12 warm');
    expect(subnetsOf(w).slice(1)).toEqual([second.id]);
    await waitFor(() => statusOf(w).config === 'workers', 5000, 'status names the config');
    expect(statusOf(w).targets).toMatchObject({ warmIPTarget: 12, minimumIPTarget: 0 });
  });

  it('follows configs created, changed and deleted while ipamd runs; new interfaces go to the config subnet', async () => {
    const w = await start({ targets: { warmIpTarget: 2, minimumIpTarget: 0, warmEniTarget: 0 } });
    const second = w.world.topology.podSubnets[1];
    if (!second) throw new Error('no second pod subnet');
    const before = cloudInterfaces(w.world).map((nic) => ({ id: nic.id, subnetId: nic.subnetId }));
    w.api.put('nodenetworkconfigs', configObject('big', { subnetIds: [second.id], warmIPTarget: 20 }));
    await waitFor(() => w.world.daemon.pool.targets.warmIpTarget === 20, 3000, 'targets applied');
    await waitFor(() => w.world.daemon.store.freeCount() >= 20, 5000, '20 warm');
    const after = cloudInterfaces(w.world);
    for (const old of before) expect(after.find((nic) => nic.id === old.id)?.subnetId).toBe(old.subnetId);
    expect(after.filter((nic) => !before.some((old) => old.id === nic.id)).map((nic) => nic.subnetId)).toContain(second.id);
    await waitFor(() => statusOf(w).config === 'big', 3000, 'status config');

    // Edited: the new version applies.
    w.api.put('nodenetworkconfigs', configObject('big', { subnetIds: [second.id], warmIPTarget: 4 }));
    await waitFor(() => w.world.daemon.pool.targets.warmIpTarget === 4, 3000, 'edited targets applied');

    // A higher-priority config that selects the node takes over.
    w.api.put('nodenetworkconfigs', configObject('urgent', { priority: 10, warmIPTarget: 6 }));
    await waitFor(() => w.world.daemon.pool.targets.warmIpTarget === 6 && statusOf(w).config === 'urgent', 3000, 'priority wins');

    // All gone: back to the environment's settings.
    w.api.remove('nodenetworkconfigs', 'urgent');
    w.api.remove('nodenetworkconfigs', 'big');
    await waitFor(() => w.world.daemon.pool.targets.warmIpTarget === 2 && statusOf(w).config === '', 3000, 'environment settings back');
    expect(w.world.daemon.pool.settings.podSubnetIds).toEqual([w.world.topology.podSubnets[0]?.id]);
  });

  it('reports an invalid config (Event on it, configError in the status) and keeps the one in force', async () => {
    const w = await start({ configs: [configObject('good', { warmIPTarget: 7 })] });
    await waitFor(() => statusOf(w).config === 'good', 3000, 'good applied');
    w.api.put('nodenetworkconfigs', configObject('bad', { priority: 5, warmIPTarget: 3, warmPrefixTarget: 2 }));
    await waitFor(() => String(statusOf(w).configError).includes('not both'), 3000, 'configError');
    expect(statusOf(w)).toMatchObject({ config: 'good', configError: expect.stringContaining('NodeNetworkConfig bad not applied') });
    expect(w.world.daemon.pool.targets.warmIpTarget).toBe(7);
    await waitFor(() => eventsFor(w.api, 'NodeNetworkConfig', 'bad').length === 1, 3000, 'event on the config');
    const [event] = eventsFor(w.api, 'NodeNetworkConfig', 'bad');
    expect(event).toMatchObject({
      type: 'Warning',
      reason: 'InvalidNodeNetworkConfig',
      involvedObject: { apiVersion: 'vpc-cni.io/v1alpha1', kind: 'NodeNetworkConfig', name: 'bad', uid: w.api.get('nodenetworkconfigs', 'bad')?.metadata.uid },
      source: { component: 'vpc-cni-ipamd', host: nodeName },
    });
    expect(event?.message).toContain(`not applied on node ${nodeName}`);

    // Fixed: it applies, and the error is gone.
    w.api.put('nodenetworkconfigs', configObject('bad', { priority: 5, warmIPTarget: 3 }));
    await waitFor(() => statusOf(w).config === 'bad' && statusOf(w).configError === '', 3000, 'fixed config applied');
    expect(w.world.daemon.pool.targets.warmIpTarget).toBe(3);
  });

  it("checks the subnets with the cloud: unknown ones and ones of another zone are not applied", async () => {
    const w = await start();
    w.api.put('nodenetworkconfigs', configObject('typo', { subnetIds: ['subnet-0000000000000dead'] }));
    await waitFor(() => String(statusOf(w).configError).includes('subnet-0000000000000dead'), 3000, 'unknown subnet reported');
    expect(statusOf(w).config).toBe('');
    const elsewhere = w.world.emulator.model.createSubnet(w.world.topology.vpc.id, '10.0.64.0/20', 'us-east-1b');
    w.api.put('nodenetworkconfigs', configObject('typo', { subnetIds: [elsewhere.id] }));
    await waitFor(() => String(statusOf(w).configError).includes('is in zone us-east-1b, the node in us-east-1a'), 3000, 'zone mismatch reported');
    expect(w.world.daemon.pool.settings.podSubnetIds).not.toContain(elsewhere.id);
    await waitFor(() => (eventsFor(w.api, 'NodeNetworkConfig', 'typo')[0]?.count ?? 0) >= 2, 3000, 'both versions reported on one event');
  });

  it('checks the security groups with the cloud: unknown ones and ones of another VPC are reported and not applied', async () => {
    const w = await start();
    const { model } = w.world.emulator;
    const ours = w.world.topology.securityGroup.id;
    w.api.put('nodenetworkconfigs', configObject('groups', { securityGroupIds: [ours, 'sg-0000000000000dead'], warmIPTarget: 9 }));
    await waitFor(() => String(statusOf(w).configError).includes('security group sg-0000000000000dead does not exist'), 3000, 'unknown group reported');
    expect(statusOf(w).configError).toContain('NodeNetworkConfig groups not applied');
    expect(statusOf(w).config).toBe('');
    expect(w.world.daemon.pool.targets.warmIpTarget).not.toBe(9);
    expect(w.world.daemon.pool.settings.podSecurityGroupIds).not.toContain('sg-0000000000000dead');
    await waitFor(() => eventsFor(w.api, 'NodeNetworkConfig', 'groups').some((e) => e.reason === 'InvalidNodeNetworkConfig' && String(e.message).includes('sg-0000000000000dead')), 3000, 'event on the config');

    const otherVpc = model.createVpc(model.getVpc(w.world.topology.vpc.id).region, ['10.99.0.0/16']);
    const foreign = model.createSecurityGroup(otherVpc.id, 'elsewhere');
    w.api.put('nodenetworkconfigs', configObject('groups', { securityGroupIds: [foreign.id], warmIPTarget: 9 }));
    await waitFor(() => String(statusOf(w).configError).includes(`security group ${foreign.id} belongs to ${otherVpc.id}`), 3000, 'group of another VPC reported');
    expect(w.world.daemon.pool.settings.podSecurityGroupIds).not.toContain(foreign.id);

    // A group of the node's VPC: applied, and the error is gone.
    const extra = model.createSecurityGroup(w.world.topology.vpc.id, 'pods');
    w.api.put('nodenetworkconfigs', configObject('groups', { securityGroupIds: [ours, extra.id], warmIPTarget: 9 }));
    await waitFor(() => statusOf(w).config === 'groups' && statusOf(w).configError === '', 3000, 'valid groups applied');
    expect(w.world.daemon.pool.settings.podSecurityGroupIds).toEqual([ours, extra.id]);
  });

  it("lets the node's annotation pick its config, and reports an annotation that names none", async () => {
    const w = await start({
      node: nodeObject({}, { 'vpc-cni.io/node-network-config': 'special' }),
      configs: [configObject('everyone', { priority: 100, warmIPTarget: 9 }), configObject('special', { warmIPTarget: 5 })],
    });
    expect(w.world.daemon.pool.targets.warmIpTarget).toBe(5);
    w.api.put('nodes', nodeObject({}, { 'vpc-cni.io/node-network-config': 'gone' }));
    await waitFor(() => String(statusOf(w).configError).includes('"gone", which does not exist'), 3000, 'missing config reported');
    // What was in force stays.
    expect(statusOf(w).config).toBe('special');
    await waitFor(() => eventsFor(w.api, 'Node', nodeName).some((e) => e.reason === 'NodeNetworkConfigNotFound'), 3000, 'event on the node');
  });
});
