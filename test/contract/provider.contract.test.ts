import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CreateInterfaceRequest } from '../../providers/contract.ts';
import { CloudError } from '../../providers/errors.ts';
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

    beforeEach(async () => {
      world = await target.setup();
    });
    afterEach(async () => {
      await world.teardown();
    });

    it('reads the instance from its metadata service', async () => {
      if (!world.hasMetadata) return expect(world.hasMetadata).toBe(false); // LocalStack serves no IMDS.
      const meta = await world.provider.instanceMetadata();
      expect(meta).toMatchObject({ cloud: 'aws', instanceId: world.instanceId, instanceType: world.instanceType, vpcId: world.vpcId, region: 'us-east-1', zone: 'us-east-1a' });
      expect(meta.vpcCidrs).toEqual(['10.0.0.0/16']);
      expect(meta.interfaces).toHaveLength(1);
      const primary = meta.interfaces[0];
      expect(primary).toMatchObject({ deviceIndex: 0, mac: meta.primaryMac, primaryIp: meta.primaryIp, secondaryIps: [], prefixes: [], securityGroupIds: [world.securityGroupId] });
      expect(primary?.subnetCidr).toBe('10.0.0.0/24');
    });

    it('reports the instance type limits', async () => {
      const limits = await world.provider.instanceLimits('m5.large');
      expect(limits).toMatchObject({ maxInterfaces: 3, ipv4PerInterface: 10, supportsPrefixes: true, prefixLength: 28, hotAttach: true });
      expect((await world.provider.instanceLimits('t2.medium')).supportsPrefixes).toBe(false);
      await expectCloudError(world.provider.instanceLimits('x9.nonexistent'), { kind: 'invalid-request' });
    });

    it('creates an interface with its addresses, attaches it with delete-on-termination, and tags it', async () => {
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
      const created = await world.provider.createInterface(request(1, { securityGroupIds: [] }));
      expect(created.securityGroupIds).toEqual([world.securityGroupId]);
    });

    it('assigns and releases addresses and prefixes, and the subnet counts follow', async () => {
      const created = await world.provider.createInterface(request(1, { addresses: { kind: 'ips', count: 1 } }));
      const [before] = await world.provider.describeSubnets(world.vpcId, [world.podSubnetId]);
      const ips = await world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 3 });
      expect(ips.ips).toHaveLength(3);
      expect(ips.prefixes).toEqual([]);
      const prefixes = await world.provider.assignAddresses(created.interfaceId, { kind: 'prefixes', count: 2 });
      expect(prefixes.prefixes).toHaveLength(2);
      for (const prefix of prefixes.prefixes) expect(prefix).toMatch(/\/28$/);
      const [during] = await world.provider.describeSubnets(world.vpcId, [world.podSubnetId]);
      expect((before?.freeAddresses ?? 0) - (during?.freeAddresses ?? 0)).toBe(3 + 2 * 16);
      await world.provider.releaseAddresses(created.interfaceId, { ips: ips.ips.slice(0, 2), prefixes: prefixes.prefixes.slice(0, 1) });
      const nic = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((n) => n.interfaceId === created.interfaceId);
      expect(nic?.secondaryIps).toEqual([...created.secondaryIps, ...ips.ips.slice(2)]);
      expect(nic?.prefixes).toEqual(prefixes.prefixes.slice(1));
      const [after] = await world.provider.describeSubnets(world.vpcId, [world.podSubnetId]);
      expect((after?.freeAddresses ?? 0) - (during?.freeAddresses ?? 0)).toBe(2 + 16);
    });

    it('lists subnets of the VPC with free-address counts', async () => {
      const subnets = await world.provider.describeSubnets(world.vpcId, []);
      expect(subnets.map((s) => s.subnetId)).toEqual(expect.arrayContaining([world.podSubnetId, world.tinySubnetId]));
      expect(subnets.find((s) => s.subnetId === world.tinySubnetId)).toMatchObject({ cidr: '10.0.250.0/28', freeAddresses: 11 });
      await expectCloudError(world.provider.describeSubnets(world.vpcId, ['subnet-doesnotexist']), { kind: 'not-found', code: 'InvalidSubnetID.NotFound' });
    });

    it('detaches and deletes, idempotently, and the addresses go back', async () => {
      const created = await world.provider.createInterface(request(1));
      await world.emulator?.model.settled();
      const [before] = await world.provider.describeSubnets(world.vpcId, [world.podSubnetId]);
      await world.provider.deleteInterface(created.interfaceId);
      await world.provider.deleteInterface(created.interfaceId);
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
      await world.provider.createInterface(request(1));
      await world.provider.createInterface(request(2));
      const tagged = { 'vpc-cni.io/cluster': 'contract' };
      const err = await expectCloudError(world.provider.createInterface(request(3)), { kind: 'limit-exceeded', code: 'AttachmentLimitExceeded', limit: 'interfaces-per-instance' });
      expect(err.operation).toBe('AttachNetworkInterface');
      expect(await world.provider.findInterfacesByTags(tagged)).toHaveLength(2);
    });

    it('enforces the addresses-per-interface limit', async () => {
      const created = await world.provider.createInterface(request(1, { addresses: { kind: 'ips', count: 8 } }));
      await world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 1 });
      await expectCloudError(world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 1 }), {
        kind: 'limit-exceeded',
        code: 'PrivateIpAddressLimitExceeded',
        limit: 'addresses-per-interface',
      });
    });

    it('reports a full subnet', async () => {
      // A /28 has 11 usable addresses: 7 on the first interface, 4 on the second.
      const created = await world.provider.createInterface(request(1, { subnetId: world.tinySubnetId, addresses: { kind: 'ips', count: 6 } }));
      await world.provider.createInterface(request(2, { subnetId: world.tinySubnetId, addresses: { kind: 'ips', count: 3 } }));
      await expectCloudError(world.provider.createInterface(request(2, { subnetId: world.tinySubnetId, addresses: { kind: 'ips', count: 0 } })), { kind: 'subnet-full' });
      await expectCloudError(world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 1 }), {
        kind: 'subnet-full',
        code: 'InsufficientFreeAddressesInSubnet',
        limit: 'subnet-addresses',
      });
      await expectCloudError(world.provider.assignAddresses(created.interfaceId, { kind: 'prefixes', count: 1 }), { kind: 'subnet-full', code: 'InsufficientCidrBlocks' });
    });

    it('maps unknown interfaces to not-found', async () => {
      await expectCloudError(world.provider.assignAddresses('eni-0000000000000000', { kind: 'ips', count: 1 }), { kind: 'not-found', code: 'InvalidNetworkInterfaceID.NotFound' });
    });

    it.runIf(target.name.includes('emulator'))('surfaces throttling as its kind after the SDK retried it', async () => {
      const emulator = world.emulator;
      if (!emulator) throw new Error('emulator target without an emulator');
      emulator.faults.failNext('DescribeSubnets', 5, { code: 'RequestLimitExceeded', message: 'Request limit exceeded.' });
      await expectCloudError(world.provider.describeSubnets(world.vpcId, []), { kind: 'throttled', code: 'RequestLimitExceeded', httpStatus: 503 });
      // The SDK made its 3 attempts: 2 of the 5 injected faults are left.
      expect(emulator.faults.pending()).toEqual({ DescribeSubnets: 2 });
      emulator.faults.clear();
      emulator.faults.failNext('DescribeSubnets', 2, { code: 'RequestLimitExceeded', message: 'Request limit exceeded.' });
      expect(await world.provider.describeSubnets(world.vpcId, [])).not.toHaveLength(0);
    });

    it.runIf(target.name.includes('emulator'))("throttles with EC2's token buckets", async () => {
      const emulator = world.emulator;
      if (!emulator) throw new Error('emulator target without an emulator');
      emulator.configure({ throttling: true });
      // Filtered Describe calls: a bucket of 100 tokens refilled at 20 per second.
      const calls = 250;
      const results = await Promise.allSettled(Array.from({ length: calls }, () => world.provider.describeInstanceInterfaces(world.instanceId)));
      const throttled = results.filter((r) => r.status === 'rejected' && r.reason instanceof CloudError && r.reason.kind === 'throttled');
      expect(throttled.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(100);
      emulator.configure({ throttling: false });
      expect(await world.provider.describeSubnets(world.vpcId, [world.podSubnetId])).toHaveLength(1);
    });

    it.runIf(target.name.includes('emulator'))('shows eventual consistency: Describe lags behind mutations', async () => {
      const emulator = world.emulator;
      if (!emulator) throw new Error('emulator target without an emulator');
      emulator.configure({ describeLagMs: 400 });
      const created = await world.provider.createInterface(request(1, { addresses: { kind: 'ips', count: 1 } }));
      const ids = async (): Promise<string[]> => (await world.provider.describeInstanceInterfaces(world.instanceId)).map((n) => n.interfaceId);
      expect(await ids()).not.toContain(created.interfaceId);
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect(await ids()).toContain(created.interfaceId);
      const assigned = await world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 2 });
      const early = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((n) => n.interfaceId === created.interfaceId);
      expect(early?.secondaryIps).toEqual(created.secondaryIps);
      await new Promise((resolve) => setTimeout(resolve, 450));
      const late = (await world.provider.describeInstanceInterfaces(world.instanceId)).find((n) => n.interfaceId === created.interfaceId);
      expect(late?.secondaryIps).toEqual([...created.secondaryIps, ...assigned.ips]);
    });

    it.runIf(target.name.includes('emulator'))('maps permission failures to unauthorized', async () => {
      world.emulator?.faults.failNext('AssignPrivateIpAddresses', 1, { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' });
      const created = await world.provider.createInterface(request(1));
      await expectCloudError(world.provider.assignAddresses(created.interfaceId, { kind: 'ips', count: 1 }), { kind: 'unauthorized', code: 'UnauthorizedOperation', httpStatus: 403 });
    });
  });
}
