import { ManagedIdentityCredential } from '@azure/identity';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AzureProvider, type AzureProviderOptions } from '../../../providers/azure/provider.ts';
import { CloudError } from '../../../providers/errors.ts';
import { Emulator } from '../../../emulator/cloud/emulator.ts';
import { armIds } from '../../../emulator/cloud/faces/arm/ids.ts';
import type { Instance } from '../../../emulator/cloud/model/cloud.ts';
import { buildTopology } from '../../../emulator/cloud/topology.ts';
import { emulatorAzureCredential } from '../../../emulator/cluster/credentials.ts';

/**
 * What only the Azure adapter does, against the emulator over HTTP with the
 * real SDK: read-modify-write under etags, long-running operations,
 * Retry-After, the plain-http guard, and managed identity through IMDS.
 * The provider contract itself is in provider.contract.test.ts.
 */

const token = emulatorAzureCredential;

let emulator: Emulator;
let url: string;
let vm: Instance;
/** The VM's second NIC, in the first pod subnet. */
let podNic: string;
let operations: string[];

function provider(options: Partial<AzureProviderOptions> = {}): AzureProvider {
  return new AzureProvider({
    armEndpoint: url,
    allowInsecureHttp: true,
    imdsEndpoint: `${url}/_instance/${vm.id}`,
    credential: token,
    lroPollIntervalMs: 5,
    wrapCall: (operation, call) => {
      operations.push(operation);
      return call();
    },
    ...options,
  });
}

async function rejection(promise: Promise<unknown>): Promise<CloudError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CloudError);
  return err as CloudError;
}

beforeEach(async () => {
  operations = [];
  emulator = new Emulator({ cloud: 'azure' });
  const topology = await buildTopology(emulator.model, { nodes: 1, region: 'eastus', zone: '1', instanceType: 'Standard_D4s_v3', interfacesPerInstance: 2 });
  vm = topology.instances[0] as Instance;
  podNic = armIds.nic(emulator.model.attachedInterfaces(vm.id)[1]?.id ?? '');
  ({ url } = await emulator.listen());
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await emulator.model.settled();
  await emulator.close();
});

describe('AzureProvider', () => {
  it('names reads Get/List and writes Put/Delete for the call gate', async () => {
    const azure = provider();
    const meta = await azure.instanceMetadata();
    await azure.assignAddresses(podNic, { kind: 'ips', count: 1 });
    await azure.describeSubnets(meta.vpcId, []);
    await azure.instanceLimits(meta.instanceType);
    expect(new Set(operations)).toEqual(new Set(['IMDS', 'ListNetworkInterfaces', 'GetVirtualNetwork', 'GetNetworkInterface', 'PutNetworkInterface', 'ListVirtualNetworkUsage', 'ListResourceSkus']));
  });

  it('puts new IP configurations in the application security groups the NIC is in (Azure refuses a NIC whose configurations differ)', async () => {
    const nicId = podNic.split('/').pop() ?? '';
    const nic = emulator.model.getInterface(nicId);
    const asg = emulator.model.createSecurityGroup(nic.vpcId, 'web', {}, { kind: 'asg' });
    emulator.model.setApplicationGroups(nicId, { [nic.primaryIp]: [asg.id] });
    const { ips } = await provider().assignAddresses(podNic, { kind: 'ips', count: 2 });
    const groups = emulator.model.getInterface(nicId).applicationGroups;
    for (const ip of ips) expect(groups[ip]).toEqual([asg.id]);
  });

  it('redoes a write that lost the etag race, so concurrent writers all land', async () => {
    const azure = provider();
    const results = await Promise.all([1, 2, 3, 4].map(() => azure.assignAddresses(podNic, { kind: 'ips', count: 2 })));
    const ips = results.flatMap((result) => result.ips);
    expect(new Set(ips).size).toBe(8);
    // Four writers read the same etag: three of them were refused (412) at least once and wrote again.
    expect(operations.filter((operation) => operation === 'PutNetworkInterface').length).toBeGreaterThan(4);
    expect(emulator.model.getInterface(podNic.split('/').pop() ?? '').secondaryIps.sort()).toEqual([...ips].sort());
  });

  it('gives up after maxWriteAttempts when the etag keeps changing', async () => {
    const azure = provider({ maxWriteAttempts: 1 });
    const results = await Promise.allSettled([1, 2].map(() => azure.assignAddresses(podNic, { kind: 'ips', count: 1 })));
    const refused = results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason as CloudError);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ kind: 'transient', code: 'PreconditionFailed', httpStatus: 412, operation: 'PutNetworkInterface' });
  });

  it('waits for the long-running operation before answering', async () => {
    emulator.configure({ attachDelayMs: 300 });
    const azure = provider();
    await azure.instanceMetadata();
    const started = performance.now();
    const assigned = await azure.assignAddresses(podNic, { kind: 'ips', count: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(assigned.ips).toHaveLength(1);
  });

  it('reports throttling with the Retry-After ARM sent', async () => {
    emulator.faults.failNext('NetworkInterfaces_List', 1, { code: 'SubscriptionRequestsThrottled', message: 'Number of read requests exceeded.' });
    const azure = provider({ maxRetries: 0 });
    const err = await rejection(azure.describeInstanceInterfaces(vm.id));
    expect(err).toMatchObject({ kind: 'throttled', code: 'SubscriptionRequestsThrottled', httpStatus: 429, retryAfterMs: 1000, operation: 'ListNetworkInterfaces' });
    // With retries, the SDK waits the Retry-After and tries again.
    emulator.faults.failNext('NetworkInterfaces_List', 1, { code: 'SubscriptionRequestsThrottled', message: 'Number of read requests exceeded.' });
    const started = performance.now();
    expect(await provider().describeInstanceInterfaces(vm.id)).toHaveLength(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('refuses a plain-http ARM endpoint unless insecure http is allowed', () => {
    expect(() => new AzureProvider({ armEndpoint: 'http://169.254.170.1', credential: token })).toThrow(/plain http/);
    expect(() => new AzureProvider({ armEndpoint: 'HTTP://emulator', credential: token })).toThrow(CloudError);
    expect(() => new AzureProvider({ armEndpoint: 'https://management.azure.com', credential: token })).not.toThrow();
  });

  it('maps a credential that yields no token to unauthorized', async () => {
    const azure = provider({ credential: { getToken: () => Promise.resolve(null) } });
    expect(await rejection(azure.describeInstanceInterfaces(vm.id))).toMatchObject({ kind: 'unauthorized', operation: 'ListNetworkInterfaces' });
  });

  it('refuses ids that are not Azure resource ids', async () => {
    const azure = provider();
    expect(await rejection(azure.assignAddresses('eni-0123', { kind: 'ips', count: 1 }))).toMatchObject({ kind: 'invalid-request', code: 'InvalidResourceId' });
    expect(await rejection(azure.assignAddresses(podNic, { kind: 'ips', count: 0 }))).toMatchObject({ kind: 'invalid-request' });
    expect(await rejection(azure.releaseAddresses(podNic, { ips: [emulator.model.getInterface(podNic.split('/').pop() ?? '').primaryIp], prefixes: [] }))).toMatchObject({
      kind: 'invalid-request',
      code: 'IpConfigDeleteNotSupported',
    });
    // Releasing what is already gone needs no write.
    operations = [];
    await azure.releaseAddresses(podNic, { ips: ['10.0.16.200'], prefixes: [] });
    expect(operations).toEqual(['GetNetworkInterface']);
  });

  it("authenticates with the VM's managed identity through the emulated IMDS", async () => {
    vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', `${url}/_instance/${vm.id}`);
    const azure = provider({ credential: new ManagedIdentityCredential() });
    const meta = await azure.instanceMetadata();
    expect(meta.instanceId).toBe(vm.id);
    expect((await azure.assignAddresses(podNic, { kind: 'ips', count: 1 })).ips).toHaveLength(1);
  });
});
