import { beforeEach, describe, expect, it } from 'vitest';
import { awsInstanceCatalog } from '../../../../providers/catalogs/catalog.ts';
import { CloudModel, type CloudObserver, type Instance } from '../../../../emulator/cloud/model/cloud.ts';
import { ModelError, type ModelErrorCode } from '../../../../emulator/cloud/model/errors.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';

function expectModelError(fn: () => unknown, code: ModelErrorCode): ModelError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe(code);
    return err as ModelError;
  }
  throw new Error(`expected ModelError ${code}`);
}

async function expectModelRejection(promise: Promise<unknown>, code: ModelErrorCode): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelError);
  expect((err as ModelError).code).toBe(code);
}

let now: number;
let model: CloudModel;
let topology: Topology;
let node: Instance;

const pods = (): string => topology.podSubnets[0]?.id ?? '';
const sg = (): string => topology.securityGroup.id;
const free = (subnetId: string): number => model.getSubnet(subnetId).freeAddresses;

beforeEach(async () => {
  now = 1_700_000_000_000;
  model = new CloudModel({ catalog: awsInstanceCatalog(), clock: { now: () => now } });
  topology = await buildTopology(model, { nodes: 1, instanceType: 'm5.large' });
  node = topology.instances[0] as Instance;
});

describe('CloudModel topology', () => {
  it('rejects subnets that overlap another or lie outside the VPC', () => {
    const vpc = topology.vpc.id;
    for (const cidr of ['10.0.0.128/25', '10.0.0.0/24', '10.0.16.0/24', '10.0.0.0/16', '10.0.31.240/28']) {
      expect(expectModelError(() => model.createSubnet(vpc, cidr, 'us-east-1a'), 'InvalidParameter').message, cidr).toMatch(/overlaps|inside/);
    }
    for (const cidr of ['10.1.0.0/24', '9.255.255.0/24', '10.0.0.0/15']) {
      expect(expectModelError(() => model.createSubnet(vpc, cidr, 'us-east-1a'), 'InvalidParameter').message, cidr).toMatch(/inside/);
    }
    for (const cidr of ['10.0.1.1/24', '10.0.1.0/29', '10.0.1.0', 'garbage']) expectModelError(() => model.createSubnet(vpc, cidr, 'us-east-1a'), 'InvalidParameter');
    expectModelError(() => model.createSubnet('vpc-nope', '10.0.1.0/24', 'us-east-1a'), 'VpcNotFound');
    // Adjacent blocks are fine, and so is the same block in another VPC.
    expect(model.createSubnet(vpc, '10.0.1.0/24', 'us-east-1a').cidr).toBe('10.0.1.0/24');
    const other = model.createVpc('us-east-1', ['10.0.0.0/16']);
    expect(model.createSubnet(other.id, '10.0.0.0/24', 'us-east-1a').gateway).toBe('10.0.0.1');
    expect(model.listSubnets()).toHaveLength(5);
  });

  it('gives each subnet its free count: size minus 5, minus what is taken', () => {
    expect(free(topology.nodeSubnet.id)).toBe(256 - 5 - 1);
    expect(free(pods())).toBe(4096 - 5);
  });

  it("follows the cloud's address rules: an ECS vSwitch is vsw-…, keeps 4 addresses, its gateway at .253", () => {
    const ecs = new CloudModel({ catalog: awsInstanceCatalog(), cloud: 'alibaba' });
    const vpc = ecs.createVpc('cn-hangzhou', ['10.0.0.0/16']);
    const vswitch = ecs.createSubnet(vpc.id, '10.0.16.0/20', 'cn-hangzhou-k');
    expect(vswitch).toMatchObject({ id: expect.stringMatching(/^vsw-[0-9a-f]{17}$/), gateway: '10.0.31.253' });
    expect(ecs.getSubnet(vswitch.id).freeAddresses).toBe(4092);
    // ECS and ARM VPCs come without a default security group.
    expect(ecs.listSecurityGroups()).toEqual([]);
    expect(ecs.defaultSecurityGroup(vpc.id)).toBeUndefined();
    const group = ecs.createSecurityGroup(vpc.id, 'nodes');
    expect(ecs.createInterface({ subnetId: vswitch.id, securityGroupIds: [group.id], primaryIp: '10.0.16.2' }).primaryIp).toBe('10.0.16.2');
    expect(topology.nodeSubnet.id).toMatch(/^subnet-/);
  });
});

describe('CloudModel interfaces', () => {
  const create = (extra: { secondaryIpCount?: number; prefixCount?: number; subnetId?: string; primaryIp?: string } = {}) =>
    model.createInterface({ subnetId: extra.subnetId ?? pods(), securityGroupIds: [sg()], ...extra });

  it('enforces the interfaces-per-instance limit', () => {
    model.attachInterface(create().id, node.id, 1);
    model.attachInterface(create().id, node.id, 2);
    const err = expectModelError(() => model.attachInterface(create().id, node.id, 3), 'AttachmentLimitExceeded');
    expect(err.message).toContain('m5.large');
  });

  it('refuses a device index already in use, and an interface already attached', () => {
    const first = create();
    model.attachInterface(first.id, node.id, 1);
    expectModelError(() => model.attachInterface(create().id, node.id, 1), 'DeviceIndexInUse');
    expectModelError(() => model.attachInterface(create().id, node.id, 0), 'DeviceIndexInUse');
    expectModelError(() => model.attachInterface(first.id, node.id, 2), 'InterfaceInUse');
  });

  it('refuses an interface from another availability zone', () => {
    const zoneB = model.createSubnet(topology.vpc.id, '10.0.64.0/24', 'us-east-1b');
    const nic = create({ subnetId: zoneB.id });
    expect(expectModelError(() => model.attachInterface(nic.id, node.id, 1), 'InvalidParameter').message).toMatch(/us-east-1b/);
    expect(model.getInterface(nic.id).attachment).toBeNull();
  });

  it('holds an attached interface to its instance type address limit, an unattached one to the create limit', async () => {
    const t3 = await model.launchInstance({ type: 't3.medium', subnetId: topology.nodeSubnet.id, securityGroupIds: [sg()] });
    const big = create({ secondaryIpCount: 9 });
    expectModelError(() => model.attachInterface(big.id, t3.id, 1), 'AddressLimitExceeded');
    expect(model.getInterface(big.id).attachment).toBeNull();
    const nic = create({ secondaryIpCount: 4 });
    model.attachInterface(nic.id, t3.id, 1);
    // t3.medium: 6 per interface, the primary included.
    await model.assignAddresses(nic.id, { ipCount: 1 });
    const before = free(pods());
    await expectModelRejection(model.assignAddresses(nic.id, { ipCount: 1 }), 'AddressLimitExceeded');
    expect(free(pods())).toBe(before);
    // Unattached: up to 49 secondary addresses.
    const loose = create({ secondaryIpCount: 40 });
    await model.assignAddresses(loose.id, { ipCount: 9 });
    await expectModelRejection(model.assignAddresses(loose.id, { ipCount: 1 }), 'AddressLimitExceeded');
    expectModelError(() => create({ secondaryIpCount: 50 }), 'AddressLimitExceeded');
  });

  it('refuses prefixes on an interface attached to a non-Nitro instance', async () => {
    const t2 = await model.launchInstance({ type: 't2.medium', subnetId: topology.nodeSubnet.id, securityGroupIds: [sg()] });
    const nic = create();
    model.attachInterface(nic.id, t2.id, 1);
    await expectModelRejection(model.assignAddresses(nic.id, { prefixCount: 1 }), 'PrefixUnsupported');
    const nitro = create();
    model.attachInterface(nitro.id, node.id, 1);
    const change = await model.assignAddresses(nitro.id, { prefixCount: 1 });
    expect(change.prefixes).toHaveLength(1);
    expect(change.prefixes[0]).toMatch(/\/28$/);
  });

  it('takes addresses all or nothing when the subnet runs short', () => {
    const tiny = model.createSubnet(topology.vpc.id, '10.0.250.0/28', 'us-east-1a');
    expectModelError(() => create({ subnetId: tiny.id, secondaryIpCount: 11 }), 'SubnetFull');
    expect(free(tiny.id)).toBe(11);
    const nic = create({ subnetId: tiny.id, secondaryIpCount: 10 });
    expect(free(tiny.id)).toBe(0);
    expectModelError(() => create({ subnetId: tiny.id }), 'SubnetFull');
    model.deleteInterface(nic.id);
    expect(free(tiny.id)).toBe(11);
  });

  it('refuses bad addresses without taking any', async () => {
    const nic = create();
    const before = free(pods());
    await expectModelRejection(model.assignAddresses(nic.id, { ips: ['10.0.16.50', 'not-an-ip'] }), 'InvalidParameter');
    await expectModelRejection(model.assignAddresses(nic.id, { ips: ['10.0.16.50', nic.primaryIp] }), 'AddressInUse');
    await expectModelRejection(model.assignAddresses(nic.id, { prefixes: ['10.0.17.0/24'] }), 'InvalidParameter');
    await expectModelRejection(model.assignAddresses(nic.id, { prefixes: ['10.0.17.1/28'] }), 'InvalidParameter');
    expectModelError(() => model.createInterface({ subnetId: pods(), securityGroupIds: [sg()], primaryIp: '10.0.16' }), 'InvalidParameter');
    expect(free(pods())).toBe(before);
    expect(model.getInterface(nic.id).secondaryIps).toEqual([]);
  });

  it('releases only what is assigned, never the primary, all or nothing', async () => {
    const nic = create({ secondaryIpCount: 2 });
    const [a, b] = nic.secondaryIps as [string, string];
    await expectModelRejection(model.releaseAddresses(nic.id, { ips: [a, nic.primaryIp], prefixes: [] }), 'InvalidParameter');
    await expectModelRejection(model.releaseAddresses(nic.id, { ips: [a, '10.0.16.200'], prefixes: [] }), 'AddressNotAssigned');
    expect(model.getInterface(nic.id).secondaryIps).toEqual([a, b]);
    await model.releaseAddresses(nic.id, { ips: [a], prefixes: [] });
    expect(model.getInterface(nic.id).secondaryIps).toEqual([b]);
  });

  it('refuses to detach the primary interface or delete an attached one', async () => {
    const primary = model.getInterface(node.primaryInterfaceId);
    expectModelError(() => model.detachInterface(primary.attachment?.id ?? ''), 'PrimaryInterfaceDetach');
    const nic = create();
    const attachment = model.attachInterface(nic.id, node.id, 1);
    expectModelError(() => model.deleteInterface(nic.id), 'InterfaceAttached');
    model.detachInterface(attachment.id);
    expectModelError(() => model.deleteInterface(nic.id), 'InterfaceAttached'); // still detaching
    await model.settled();
    model.deleteInterface(nic.id);
    expectModelError(() => model.getInterface(nic.id), 'InterfaceNotFound');
    expectModelError(() => model.detachInterface(attachment.id), 'AttachmentNotFound');
  });

  it('moves attachments through attaching and detaching with the configured delays', async () => {
    model.attachDelayMs = 30;
    model.detachDelayMs = 30;
    const nic = create();
    const attachment = model.attachInterface(nic.id, node.id, 1);
    expect(attachment.status).toBe('attaching');
    expect(model.attachedInterfaces(node.id).map((n) => n.id)).toEqual([node.primaryInterfaceId]);
    await model.settled();
    expect(model.getInterface(nic.id).attachment?.status).toBe('attached');
    expect(model.attachedInterfaces(node.id).map((n) => n.id)).toEqual([node.primaryInterfaceId, nic.id]);
    model.detachInterface(attachment.id);
    expect(model.getInterface(nic.id)).toMatchObject({ status: 'in-use', attachment: { status: 'detaching' } });
    await model.settled();
    expect(model.getInterface(nic.id)).toMatchObject({ status: 'available', attachment: null });
  });

  it('terminates an instance: deletes delete-on-termination interfaces, returns their addresses, detaches the rest', async () => {
    const nodeFree = free(topology.nodeSubnet.id);
    const podsFree = free(pods());
    const kept = create({ secondaryIpCount: 3 });
    const dropped = create({ secondaryIpCount: 2, prefixCount: 1 });
    model.attachInterface(kept.id, node.id, 1);
    const attachment = model.attachInterface(dropped.id, node.id, 2);
    model.setDeleteOnTermination(dropped.id, attachment.id, true);
    expectModelError(() => model.setDeleteOnTermination(kept.id, attachment.id, true), 'AttachmentNotFound');
    await model.settled();
    expect(free(pods())).toBe(podsFree - 4 - 3 - 16);
    const events: string[] = [];
    model.observe({ instanceTerminated: async (instance) => void events.push(`terminated ${instance.id} ${instance.state}`) } as CloudObserver);
    await model.terminateInstance(node.id);
    expect(events).toEqual([`terminated ${node.id} terminated`]);
    expect(model.getInstance(node.id).state).toBe('terminated');
    expectModelError(() => model.getInterface(node.primaryInterfaceId), 'InterfaceNotFound');
    expectModelError(() => model.getInterface(dropped.id), 'InterfaceNotFound');
    expect(model.getInterface(kept.id)).toMatchObject({ status: 'available', attachment: null, secondaryIps: kept.secondaryIps });
    expect(free(topology.nodeSubnet.id)).toBe(nodeFree + 1);
    expect(free(pods())).toBe(podsFree - 4);
    expectModelError(() => model.attachInterface(kept.id, node.id, 1), 'InvalidState');
  });

  it('lets Describe lag writes by describeLagMs, deletions included', () => {
    model.describeLagMs = 1000;
    now += 5000;
    const nic = create();
    const ids = (): string[] => model.describeInterfaces().map((n) => n.id);
    expect(ids()).not.toContain(nic.id);
    now += 999;
    expect(ids()).not.toContain(nic.id);
    now += 1;
    expect(ids()).toContain(nic.id);
    model.tagResources([nic.id], { a: 'b' });
    expect(model.describeInterfaces().find((n) => n.id === nic.id)?.tags).toEqual({});
    model.deleteInterface(nic.id);
    now += 500;
    expect(ids()).toContain(nic.id);
    now += 500;
    expect(ids()).not.toContain(nic.id);
    expect(ids()).toContain(node.primaryInterfaceId);
    // The truth does not lag.
    expect(model.listInterfaces().map((n) => n.id)).toEqual([node.primaryInterfaceId]);
  });

  it('gives every VPC its default security group, and tells a taken, reserved or outside address apart', () => {
    expect(model.defaultSecurityGroup(topology.vpc.id)).toMatchObject({ name: 'default', vpcId: topology.vpc.id });
    const taken = create().primaryIp;
    expectModelError(() => create({ primaryIp: taken }), 'AddressInUse');
    expectModelError(() => create({ primaryIp: '10.0.16.2' }), 'AddressReserved');
    expectModelError(() => create({ primaryIp: '10.0.0.9' }), 'AddressOutsideSubnet');
  });

  it('changes the description and the groups of an interface, groups of its own VPC only', () => {
    const nic = create();
    const other = model.createSecurityGroup(topology.vpc.id, 'pods');
    model.setDescription(nic.id, 'pods');
    model.setSecurityGroups(nic.id, [other.id]);
    expect(model.getInterface(nic.id)).toMatchObject({ description: 'pods', securityGroupIds: [other.id] });
    const foreign = model.createSecurityGroup(model.createVpc('us-east-1', ['10.1.0.0/16']).id, 'elsewhere');
    expectModelError(() => model.setSecurityGroups(nic.id, [foreign.id]), 'InvalidParameter');
    expectModelError(() => model.setSecurityGroups(nic.id, []), 'InvalidParameter');
    expectModelError(() => model.setSecurityGroups(nic.id, ['sg-nope']), 'SecurityGroupNotFound');
  });

  it('rejects unknown ids with their NotFound codes', async () => {
    expectModelError(() => create({ subnetId: 'subnet-nope' }), 'SubnetNotFound');
    expectModelError(() => model.createInterface({ subnetId: pods(), securityGroupIds: ['sg-nope'] }), 'SecurityGroupNotFound');
    expectModelError(() => model.createInterface({ subnetId: pods(), securityGroupIds: [] }), 'InvalidParameter');
    expectModelError(() => model.attachInterface('eni-nope', node.id, 1), 'InterfaceNotFound');
    expectModelError(() => model.attachInterface(create().id, 'i-nope', 1), 'InstanceNotFound');
    await expectModelRejection(model.launchInstance({ type: 'x9.nope', subnetId: pods(), securityGroupIds: [sg()] }), 'InstanceTypeNotFound');
    expectModelError(() => model.tagResources(['eni-nope'], { a: 'b' }), 'InvalidParameter');
  });
});
