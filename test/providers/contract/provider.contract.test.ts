import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloudInterface, CreateInterfaceRequest } from '../../../providers/contract.ts';
import { CloudError } from '../../../providers/errors.ts';
import { contractTargets, type ContractWorld } from './targets.ts';

async function expectCloudError(promise: Promise<unknown>, expected: Partial<Pick<CloudError, 'kind' | 'code' | 'limit' | 'httpStatus'>>): Promise<CloudError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to fail').toBeInstanceOf(CloudError);
  expect(err).toMatchObject(expected);
  return err as CloudError;
}

for (const target of contractTargets()) {
  const caps = target.capabilities;
  const x = target.expected;
  describe(`provider contract: ${target.name}`, () => {
    let world: ContractWorld;
    const request = (deviceIndex: number, overrides: Partial<CreateInterfaceRequest> = {}): CreateInterfaceRequest => ({
      instanceId: world.instanceId,
      subnetId: world.podSubnetId,
      securityGroupIds: [world.securityGroupId],
      deviceIndex,
      addresses: { kind: 'ips', count: 4 },
      description: 'vpc-cni pod interface',
      tags: { 'vpc-cni.io/cluster': 'contract', 'vpc-cni.io/node': world.instanceId },
      ...overrides,
    });

    /**
     * An attached interface in a subnet holding `count` secondary addresses:
     * created where interfaces can be hot-attached, one the instance was
     * launched with elsewhere.
     */
    const nicWith = async (subnetId: string, count: number): Promise<Pick<CloudInterface, 'interfaceId' | 'secondaryIps'>> => {
      if (caps.hotAttach) return world.provider.createInterface(request(1, { subnetId, addresses: { kind: 'ips', count } }));
      const interfaceId = world.launchInterfaces[subnetId];
      if (!interfaceId) throw new Error(`the ${target.name} world launched no interface in ${subnetId}`);
      const secondaryIps = count > 0 ? (await world.provider.assignAddresses(interfaceId, { kind: 'ips', count })).ips : [];
      return { interfaceId, secondaryIps };
    };

    /** Where interfaces cannot be hot-attached, creating one is refused up front and nothing is left behind. */
    const expectNoHotAttach = async (overrides: Partial<CreateInterfaceRequest> = {}): Promise<void> => {
      const before = await world.provider.describeInstanceInterfaces(world.instanceId);
      expect(before).toHaveLength(x.interfacesAtLaunch);
      expect(before.every((nic) => nic.status === 'in-use' && nic.attachment?.status === 'attached')).toBe(true);
      const err = await expectCloudError(world.provider.createInterface(request(x.interfacesAtLaunch, overrides)), {
        kind: 'limit-exceeded',
        code: x.codes.interfaceLimit,
        limit: 'interfaces-per-instance',
      });
      expect(err.message).toMatch(/cannot hot-attach/);
      const after = await world.provider.describeInstanceInterfaces(world.instanceId);
      expect(after.map((nic) => nic.interfaceId).sort()).toEqual(before.map((nic) => nic.interfaceId).sort());
      expect(await world.provider.findInterfacesByTags({ 'vpc-cni.io/cluster': 'contract' })).toEqual([]);
    };

    beforeEach(async () => {
      world = await target.setup();
    });
    afterEach(async () => {
      await world.teardown();
    });

    it('reads the instance from its metadata service', async () => {
      if (!world.hasMetadata) return expect(world.hasMetadata).toBe(false); // LocalStack serves no IMDS.
      const meta = await world.provider.instanceMetadata();
      expect(meta).toMatchObject({ cloud: x.cloud, instanceId: world.instanceId, instanceType: world.instanceType, vpcId: world.vpcId, region: x.region, zone: x.zone });
      expect(meta.vpcCidrs).toEqual(x.vpcCidrs);
      expect(meta.interfaces).toHaveLength(x.interfacesAtLaunch);
      const primary = meta.interfaces[0];
      expect(primary).toMatchObject({ deviceIndex: 0, mac: meta.primaryMac, primaryIp: meta.primaryIp, secondaryIps: [], prefixes: [], securityGroupIds: [world.securityGroupId] });
      expect(primary?.subnetCidr).toBe('10.0.0.0/24');
    });

    it("names each subnet's router where the cloud puts it, as the emulated VPC does", () => {
      for (const [cidr, gateway] of x.gateways) expect(world.provider.subnetGateway(cidr), cidr).toBe(gateway);
      // Azure names the subnet by its ARM id, which ends in the model's.
      const pods = world.emulator?.model.listSubnets().find((subnet) => world.podSubnetId === subnet.id || world.podSubnetId.endsWith(`/${subnet.id}`));
      expect(pods === undefined, 'the pod subnet in the emulated VPC').toBe(world.emulator === undefined);
      if (pods) expect(world.provider.subnetGateway(pods.cidr)).toBe(pods.gateway);
    });

    it('reports the instance type limits', async () => {
      const limits = await world.provider.instanceLimits(x.limits.instanceType);
      expect(limits).toMatchObject(x.limits.expected);
      for (const [type, expected] of x.limits.others) expect(await world.provider.instanceLimits(type)).toMatchObject(expected);
      await expectCloudError(world.provider.instanceLimits(x.limits.unknownType), { kind: 'invalid-request' });
    });

    it('creates an interface with its addresses, attaches it with delete-on-termination, and tags it', async () => {
      if (!caps.hotAttach) return expectNoHotAttach();
      const created = await world.provider.createInterface(request(1));
      expect(created.secondaryIps).toHaveLength(4);
      expect(created.attachment).toMatchObject({ instanceId: world.instanceId, deviceIndex: 1, deleteOnTermination: true });
      await world.emulator?.model.settled();
      const seen = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((nic) => nic.interfaceId === created.interfaceId);
      expect(seen).toMatchObject({ status: 'in-use', subnetId: world.podSubnetId, securityGroupIds: [world.securityGroupId], tags: { 'vpc-cni.io/cluster': 'contract' } });
      expect(seen?.attachment).toMatchObject({ deviceIndex: 1, deleteOnTermination: true, status: 'attached' });
      expect(new Set([seen?.primaryIp, ...(seen?.secondaryIps ?? [])]).size).toBe(5);
      if (world.hasMetadata) {
        const meta = await world.provider.instanceMetadata();
        expect(meta.interfaces.map((nic) => nic.interfaceId)).toContain(created.interfaceId);
        expect(meta.interfaces.find((nic) => nic.interfaceId === created.interfaceId)?.secondaryIps).toEqual(created.secondaryIps);
      }
    });

    it('uses the primary interface security groups when none are given', async () => {
      if (!world.hasMetadata) return expect(world.hasMetadata).toBe(false);
      if (!caps.hotAttach) {
        // The interfaces the instance came with carry the primary interface's groups.
        const meta = await world.provider.instanceMetadata();
        for (const nic of meta.interfaces) expect(nic.securityGroupIds).toEqual([world.securityGroupId]);
        return expectNoHotAttach({ securityGroupIds: [] });
      }
      const created = await world.provider.createInterface(request(1, { securityGroupIds: [] }));
      expect(created.securityGroupIds).toEqual([world.securityGroupId]);
    });

    it('assigns and releases addresses and prefixes, and the subnet counts follow', async () => {
      const created = await nicWith(world.podSubnetId, 1);
      const [before] = await world.provider.describeSubnets(world.vpcId, [world.podSubnetId]);
      const ips = await world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 3 });
      expect(ips.ips).toHaveLength(3);
      expect(ips.prefixes).toEqual([]);
      let prefixes: string[] = [];
      if (caps.prefixes) {
        prefixes = (await world.provider.assignAddresses(created.interfaceId, { kind: 'prefixes', count: 2 })).prefixes;
        expect(prefixes).toHaveLength(2);
        for (const prefix of prefixes) expect(prefix).toMatch(/\/28$/);
      } else {
        await expectCloudError(world.provider.assignAddresses(created.interfaceId, { kind: 'prefixes', count: 2 }), { kind: 'invalid-request', code: x.codes.prefixesFull });
      }
      const prefixSize = caps.prefixes ? 16 : 0;
      const [during] = await world.provider.describeSubnets(world.vpcId, [world.podSubnetId]);
      expect((before?.freeAddresses ?? 0) - (during?.freeAddresses ?? 0)).toBe(3 + 2 * prefixSize);
      await world.provider.releaseAddresses(created.interfaceId, { ips: ips.ips.slice(0, 2), prefixes: prefixes.slice(0, 1) });
      const nic = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((n) => n.interfaceId === created.interfaceId);
      expect(nic?.secondaryIps).toEqual([...created.secondaryIps, ...ips.ips.slice(2)]);
      expect(nic?.prefixes).toEqual(prefixes.slice(1));
      const [after] = await world.provider.describeSubnets(world.vpcId, [world.podSubnetId]);
      expect((after?.freeAddresses ?? 0) - (during?.freeAddresses ?? 0)).toBe(2 + prefixSize);
    });

    it('lists subnets of the VPC with free-address counts', async () => {
      const subnets = await world.provider.describeSubnets(world.vpcId, []);
      expect(subnets.map((s) => s.subnetId)).toEqual(expect.arrayContaining([world.podSubnetId, world.tinySubnetId]));
      expect(subnets.find((s) => s.subnetId === world.tinySubnetId)).toMatchObject({ cidr: '10.0.250.0/28', freeAddresses: x.tinySubnetFree });
      await expectCloudError(world.provider.describeSubnets(world.vpcId, [world.missingSubnetId]), { kind: 'not-found', code: x.codes.subnetNotFound });
    });

    it('describes security groups: known ones with their VPC and name, unknown ids absent without failing the others', async () => {
      const groups = await world.provider.describeSecurityGroups(world.vpcId, [world.missingSecurityGroupId, world.securityGroupId]);
      expect(groups).toEqual([{ id: world.securityGroupId, vpcId: world.securityGroupVpcId, name: expect.stringMatching(/\S/) }]);
      expect(await world.provider.describeSecurityGroups(world.vpcId, [world.missingSecurityGroupId])).toEqual([]);
      expect(await world.provider.describeSecurityGroups(world.vpcId, [])).toEqual([]);
    });

    it('detaches and deletes, idempotently, and the addresses go back', async () => {
      if (!caps.hotAttach) {
        // A NIC the running VM uses cannot be deleted; a detached one goes, idempotently.
        const inUse = world.launchInterfaces[world.podSubnetId] ?? '';
        await expectCloudError(world.provider.deleteInterface(inUse), { kind: 'invalid-request', code: x.codes.interfaceInUse });
        const tags = { 'vpc-cni.io/cluster': 'deleting' };
        const [detached = ''] = await world.createDetachedInterfaces(1, tags);
        const free = async (): Promise<number> => (await world.provider.describeSubnets(world.vpcId, [])).reduce((sum, subnet) => sum + subnet.freeAddresses, 0);
        const before = await free();
        expect(await world.provider.deleteInterface(detached)).toBe(true);
        expect(await world.provider.deleteInterface(detached), 'already gone').toBe(false);
        expect(await world.provider.findInterfacesByTags(tags)).toEqual([]);
        expect((await world.provider.describeInstanceInterfaces(world.instanceId)).map((nic) => nic.interfaceId)).toContain(inUse);
        return expect((await free()) - before).toBe(1);
      }
      const created = await world.provider.createInterface(request(1));
      await world.emulator?.model.settled();
      const [before] = await world.provider.describeSubnets(world.vpcId, [world.podSubnetId]);
      expect(await world.provider.deleteInterface(created.interfaceId)).toBe(true);
      expect(await world.provider.deleteInterface(created.interfaceId), 'already gone').toBe(false);
      const remaining = await world.provider.describeInstanceInterfaces(world.instanceId);
      expect(remaining.map((nic) => nic.interfaceId)).not.toContain(created.interfaceId);
      const [after] = await world.provider.describeSubnets(world.vpcId, [world.podSubnetId]);
      expect((after?.freeAddresses ?? 0) - (before?.freeAddresses ?? 0)).toBe(5);
    });

    it('finds tagged interfaces across pages', async () => {
      const tags = { 'vpc-cni.io/cluster': 'paging' };
      const ids = await world.createDetachedInterfaces(230, tags);
      await world.createDetachedInterfaces(3, { 'vpc-cni.io/cluster': 'other' });
      const found = await world.provider.findInterfacesByTags(tags);
      expect(found.map((nic) => nic.interfaceId).sort()).toEqual([...ids].sort());
      expect(found.every((nic) => nic.status === 'available' && nic.attachment === undefined)).toBe(true);
    });

    it('enforces the interfaces-per-instance limit and leaks nothing when attaching fails', async () => {
      // Up to the instance type's limit where interfaces can be hot-attached; none at all elsewhere.
      const creatable = caps.hotAttach ? (x.limits.expected.maxInterfaces ?? 0) - x.interfacesAtLaunch : 0;
      for (let device = 1; device <= creatable; device++) await world.provider.createInterface(request(device));
      const tagged = { 'vpc-cni.io/cluster': 'contract' };
      const err = await expectCloudError(world.provider.createInterface(request(creatable + 1)), { kind: 'limit-exceeded', code: x.codes.interfaceLimit, limit: 'interfaces-per-instance' });
      expect(err.operation).toBe(x.codes.interfaceLimitOperation);
      expect(await world.provider.findInterfacesByTags(tagged)).toHaveLength(creatable);
    });

    it('enforces the addresses-per-interface limit', async () => {
      // The primary address and all but one secondary, then the last one, then one too many.
      const created = await nicWith(world.podSubnetId, x.addressesPerInterface - 2);
      await world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 1 });
      await expectCloudError(world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 1 }), {
        kind: 'limit-exceeded',
        code: x.codes.addressLimit,
        limit: 'addresses-per-interface',
      });
    });

    it('reports a full subnet', async () => {
      if (!caps.hotAttach) {
        // The NIC the instance has in the /28 holds 1 of its 11 addresses: take the other 10, then one more.
        const nic = await nicWith(world.tinySubnetId, 10);
        expect(nic.secondaryIps).toHaveLength(10);
        await expectCloudError(world.provider.assignAddresses(nic.interfaceId, { kind: 'ips', count: 1 }), { kind: 'subnet-full', code: x.codes.subnetFull, limit: 'subnet-addresses' });
        await expectCloudError(world.provider.assignAddresses(nic.interfaceId, { kind: 'prefixes', count: 1 }), { kind: 'invalid-request', code: x.codes.prefixesFull });
        const after = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((n) => n.interfaceId === nic.interfaceId);
        return expect(after?.secondaryIps).toEqual(nic.secondaryIps);
      }
      // The /28's usable addresses (11 on AWS, 12 on ECS): 7 on the first interface, the rest on the second.
      const created = await world.provider.createInterface(request(1, { subnetId: world.tinySubnetId, addresses: { kind: 'ips', count: 6 } }));
      await world.provider.createInterface(request(2, { subnetId: world.tinySubnetId, addresses: { kind: 'ips', count: x.tinySubnetFree - 7 - 1 } }));
      await expectCloudError(world.provider.createInterface(request(2, { subnetId: world.tinySubnetId, addresses: { kind: 'ips', count: 0 } })), { kind: 'subnet-full' });
      await expectCloudError(world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 1 }), {
        kind: 'subnet-full',
        code: x.codes.subnetFull,
        limit: 'subnet-addresses',
      });
      await expectCloudError(world.provider.assignAddresses(created.interfaceId, { kind: 'prefixes', count: 1 }), { kind: 'subnet-full', code: x.codes.prefixesFull });
    });

    it('maps unknown interfaces to not-found', async () => {
      await expectCloudError(world.provider.assignAddresses(world.missingInterfaceId, { kind: 'ips', count: 1 }), { kind: 'not-found', code: x.codes.interfaceNotFound });
    });

    it.runIf(target.name.includes('emulator'))('surfaces throttling as its kind after the SDK retried it', async () => {
      const emulator = world.emulator;
      if (!emulator) throw new Error('emulator target without an emulator');
      const action = x.actions.describeSubnets;
      const fault = { code: x.codes.throttled.code, message: 'Request limit exceeded.' };
      emulator.faults.failNext(action, 5, fault);
      await expectCloudError(world.provider.describeSubnets(world.vpcId, []), { kind: 'throttled', ...x.codes.throttled });
      // The SDK made its attempts (3 by default: 2 of the 5 injected faults are left; Alibaba's SDK makes one
      // and leaves retrying to ipamd's call gate, see test/providers/alibaba/provider.test.ts).
      const attempts = x.sdkAttempts ?? 3;
      expect(emulator.faults.pending()).toEqual({ [action]: 5 - attempts });
      emulator.faults.clear();
      if (attempts > 1) emulator.faults.failNext(action, attempts - 1, fault);
      expect(await world.provider.describeSubnets(world.vpcId, [])).not.toHaveLength(0);
    });

    it.runIf(target.name.includes('emulator'))("throttles with the cloud's token buckets", async () => {
      const emulator = world.emulator;
      if (!emulator) throw new Error('emulator target without an emulator');
      emulator.configure({ throttling: true });
      const results = await Promise.allSettled(Array.from({ length: x.throttle.calls }, () => world.provider.describeInstanceInterfaces(world.instanceId)));
      const throttled = results.filter((r) => r.status === 'rejected' && r.reason instanceof CloudError && r.reason.kind === 'throttled');
      expect(throttled.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(x.throttle.capacity);
      emulator.configure({ throttling: false });
      expect(await world.provider.describeSubnets(world.vpcId, [world.podSubnetId])).toHaveLength(1);
    });

    it.runIf(target.name.includes('emulator'))('shows eventual consistency: Describe lags behind mutations', async () => {
      const emulator = world.emulator;
      if (!emulator) throw new Error('emulator target without an emulator');
      emulator.configure({ describeLagMs: 400 });
      if (!caps.eventuallyConsistentReads) {
        // Reads are consistent (ARM's are): what was just written shows at once, lag setting or not.
        const nic = await nicWith(world.podSubnetId, 0);
        const assigned = await world.provider.assignAddresses(nic.interfaceId, { kind: 'ips', count: 2 });
        const seen = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((n) => n.interfaceId === nic.interfaceId);
        return expect(seen?.secondaryIps).toEqual([...nic.secondaryIps, ...assigned.ips]);
      }
      const created = await world.provider.createInterface(request(1, { addresses: { kind: 'ips', count: 1 } }));
      const ids = async (): Promise<string[]> => (await world.provider.describeInstanceInterfaces(world.instanceId)).map((n) => n.interfaceId);
      if (!caps.asyncAttach) {
        expect(await ids()).not.toContain(created.interfaceId);
        await new Promise((resolve) => setTimeout(resolve, 450));
      }
      // Where attaching is asynchronous, createInterface waited until the reads showed the interface in use.
      expect(await ids()).toContain(created.interfaceId);
      const assigned = await world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 2 });
      const early = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((n) => n.interfaceId === created.interfaceId);
      expect(early?.secondaryIps).toEqual(created.secondaryIps);
      await new Promise((resolve) => setTimeout(resolve, 450));
      const late = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((n) => n.interfaceId === created.interfaceId);
      expect(late?.secondaryIps).toEqual([...created.secondaryIps, ...assigned.ips]);
    });

    it.runIf(target.name.includes('emulator'))('maps permission failures to unauthorized', async () => {
      const created = await nicWith(world.podSubnetId, 4);
      world.emulator?.faults.failNext(x.actions.assignAddresses, 1, { code: x.codes.unauthorized.code, message: 'You are not authorized to perform this operation.' });
      await expectCloudError(world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 1 }), { kind: 'unauthorized', ...x.codes.unauthorized });
    });

    it('keeps both of two concurrent address changes to one interface', async () => {
      const nic = await nicWith(world.podSubnetId, 0);
      // Three writers of one address each: small enough for any instance type's per-interface limit.
      const added = await Promise.all([1, 2, 3].map(() => world.provider.assignAddresses(nic.interfaceId, { kind: 'ips', count: 1 })));
      const ips = added.flatMap((change) => change.ips);
      expect(new Set(ips).size).toBe(3);
      await Promise.all([world.provider.releaseAddresses(nic.interfaceId, { ips: ips.slice(0, 1), prefixes: [] }), world.provider.releaseAddresses(nic.interfaceId, { ips: ips.slice(2), prefixes: [] })]);
      await world.emulator?.model.settled();
      // Past any read lag, the cloud shows exactly what both writers left.
      if (caps.eventuallyConsistentReads) world.emulator?.configure({ describeLagMs: 0 });
      const seen = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((n) => n.interfaceId === nic.interfaceId);
      expect(seen?.secondaryIps).toEqual(ips.slice(1, 2));
    });
  });
}
