import { describe, expect, it } from 'vitest';
import { azureVmSizeCatalog } from '../../../../providers/catalogs/catalog.ts';
import { CloudModel } from '../../../../emulator/cloud/model/cloud.ts';
import { ModelError } from '../../../../emulator/cloud/model/errors.ts';
import { Throttler } from '../../../../emulator/cloud/realism/throttle.ts';
import { buildTopology } from '../../../../emulator/cloud/topology.ts';

/** The model's additions for Azure: VMs launched with their NIC set, NICs without groups, tag replacement. */

describe('launching an instance with several interfaces', () => {
  it('attaches them at devices 1, 2, ... from the start, and the data plane hears of each', async () => {
    const model = new CloudModel({ catalog: azureVmSizeCatalog() });
    const heard: string[] = [];
    model.observe({
      instanceLaunched: (_instance, primary) => Promise.resolve(void heard.push(`launch ${primary.id}`)),
      instanceTerminated: () => Promise.resolve(),
      interfaceAttached: (nic) => Promise.resolve(void heard.push(`attach ${nic.id} ${nic.attachment?.deviceIndex ?? -1}`)),
      interfaceDetached: () => Promise.resolve(),
      addressesAssigned: () => Promise.resolve(),
      addressesReleased: () => Promise.resolve(),
    });
    const topology = await buildTopology(model, { nodes: 1, region: 'eastus', zone: '1', instanceType: 'Standard_D8s_v3', interfacesPerInstance: 3 });
    const vm = topology.instances[0];
    const nics = model.attachedInterfaces(vm?.id ?? '');
    expect(nics.map((nic) => nic.attachment?.deviceIndex)).toEqual([0, 1, 2]);
    expect(nics.map((nic) => nic.subnetId)).toEqual([topology.nodeSubnet.id, topology.podSubnets[0]?.id, topology.podSubnets[0]?.id]);
    expect(nics.every((nic) => nic.status === 'in-use' && nic.attachment?.status === 'attached' && nic.attachment.deleteOnTermination)).toBe(true);
    expect(heard).toEqual([`launch ${nics[0]?.id}`, `attach ${nics[1]?.id} 1`, `attach ${nics[2]?.id} 2`]);
    await model.terminateInstance(vm?.id ?? '');
    expect(model.listInterfaces()).toEqual([]);
  });

  it('refuses more interfaces than the size allows, or a subnet of another VPC, and takes no address', async () => {
    const model = new CloudModel({ catalog: azureVmSizeCatalog() });
    const topology = await buildTopology(model, { nodes: 0, region: 'eastus', zone: '1' });
    const free = (): number[] => model.listSubnets().map((subnet) => subnet.freeAddresses);
    const before = free();
    const launch = (extra: number, subnetId = topology.podSubnets[0]?.id ?? ''): Promise<unknown> =>
      model.launchInstance({ type: 'Standard_D4s_v3', subnetId: topology.nodeSubnet.id, securityGroupIds: [topology.securityGroup.id], extraInterfaces: Array.from({ length: extra }, () => ({ subnetId })) });
    await expect(launch(2)).rejects.toMatchObject({ code: 'AttachmentLimitExceeded' });
    const other = model.createVpc('eastus', ['10.1.0.0/16']);
    const foreign = model.createSubnet(other.id, '10.1.0.0/24', '1');
    await expect(launch(1, foreign.id)).rejects.toMatchObject({ code: 'InvalidParameter' });
    // A subnet with no room for the second NIC: the primary's address is given back too.
    const tiny = model.createSubnet(topology.vpc.id, '10.0.250.0/28', '1');
    model.createInterface({ subnetId: tiny.id, securityGroupIds: [topology.securityGroup.id], secondaryIpCount: 10 });
    const withTiny = free();
    await expect(launch(1, tiny.id)).rejects.toBeInstanceOf(ModelError);
    expect(free()).toEqual(withTiny);
    expect(before.length).toBe(3);
    expect(model.listInstances()).toEqual([]);
  });
});

describe('Azure-only interface rules', () => {
  it('makes a network security group optional when asked, and replaces tags as a whole', async () => {
    const model = new CloudModel({ catalog: azureVmSizeCatalog() });
    const topology = await buildTopology(model, { nodes: 0 });
    expect(() => model.createInterface({ subnetId: topology.nodeSubnet.id, securityGroupIds: [] })).toThrow(/security group/);
    const nic = model.createInterface({ subnetId: topology.nodeSubnet.id, securityGroupIds: [], securityGroupsOptional: true, tags: { a: '1', b: '2' } });
    expect(nic.securityGroupIds).toEqual([]);
    model.setInterfaceTags(nic.id, { c: '3' });
    expect(model.getInterface(nic.id).tags).toEqual({ c: '3' });
  });
});

describe('Throttler.remaining', () => {
  it('reports the whole tokens left, a full bucket before first use', () => {
    let now = 0;
    const throttler = new Throttler({ now: () => now }, true);
    const spec = { capacity: 3, refillPerSecond: 1 };
    expect(throttler.remaining('k', spec)).toBe(3);
    throttler.check('k', spec);
    throttler.check('k', spec);
    expect(throttler.remaining('k', spec)).toBe(1);
    now += 1500;
    expect(throttler.remaining('k', spec)).toBe(2);
  });
});
