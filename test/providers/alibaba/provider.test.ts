import { afterEach, describe, expect, it } from 'vitest';
import { createCallGate } from '../../../ipamd/cloud/call-gate.ts';
import { AlibabaProvider, type AlibabaProviderOptions } from '../../../providers/alibaba/provider.ts';
import { ecs, openApi, teaUtil } from '../../../providers/alibaba/sdk.ts';
import type { CreateInterfaceRequest } from '../../../providers/contract.ts';
import { CloudError } from '../../../providers/errors.ts';
import { Emulator, type EmulatorOptions } from '../../../emulator/cloud/emulator.ts';
import { alibabaInstanceCatalog, mergeCatalogs } from '../../../providers/catalogs/catalog.ts';
import { buildTopology, type Topology } from '../../../emulator/cloud/topology.ts';
import { emulatorAlibabaCredential } from '../../../emulator/cluster/credentials.ts';

/**
 * What the Alibaba adapter does beyond the shared contract, through the real
 * SDK over HTTP: asynchronous attach and detach, the 49-address cap on
 * create, throttling left to ipamd's call gate, both signing forms.
 */

let emulator: Emulator;
let topology: Topology;
let url: string;

const credential = emulatorAlibabaCredential;

async function start(options: EmulatorOptions = {}, instanceType = 'ecs.g7.xlarge'): Promise<void> {
  emulator = new Emulator({ cloud: 'alibaba', ...options });
  topology = await buildTopology(emulator.model, { nodes: 1, instanceType, region: 'cn-hangzhou', zone: 'cn-hangzhou-k' });
  ({ url } = await emulator.listen());
}

/** The adapter against the emulator; every call it makes is logged as `operation:outcome`. */
function adapter(options: AlibabaProviderOptions = {}): { provider: AlibabaProvider; calls: string[] } {
  const calls: string[] = [];
  const gate = options.wrapCall;
  const provider = new AlibabaProvider({
    ecsEndpoint: url,
    metadataEndpoint: `${url}/_instance/${instance()}`,
    credential: credential(),
    pollIntervalMs: 10,
    ...options,
    wrapCall: (operation, call) => {
      const logged = async (): Promise<never | Awaited<ReturnType<typeof call>>> => {
        try {
          const result = await call();
          calls.push(`${operation}:ok`);
          return result;
        } catch (err) {
          calls.push(`${operation}:${err instanceof CloudError ? err.kind : 'error'}`);
          throw err;
        }
      };
      return gate ? gate(operation, logged) : logged();
    },
  });
  return { provider, calls };
}

const instance = (): string => topology.instances[0]?.id ?? '';
const request = (overrides: Partial<CreateInterfaceRequest> = {}): CreateInterfaceRequest => ({
  instanceId: instance(),
  subnetId: topology.podSubnets[0]?.id ?? '',
  securityGroupIds: [topology.securityGroup.id],
  deviceIndex: 1,
  addresses: { kind: 'ips', count: 2 },
  description: 'pods',
  tags: { 'vpc-cni.io/cluster': 'provider-test' },
  ...overrides,
});

afterEach(async () => {
  await emulator.model.settled();
  await emulator.close();
});

describe('Alibaba adapter: throttling', () => {
  it('does not retry throttling in the SDK; ipamd’s call gate retries it with backoff', async () => {
    await start();
    const throttled = { code: 'Throttling.User', message: 'Request was denied due to user flow control.' };
    emulator.faults.failNext('DescribeVSwitches', 3, throttled);
    const bare = adapter();
    const err = await bare.provider.describeSubnets(topology.vpc.id, []).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'throttled', code: 'Throttling.User', httpStatus: 400, operation: 'DescribeVSwitches' });
    // One request, one fault consumed: the SDK did not try again.
    expect(emulator.faults.pending()).toEqual({ DescribeVSwitches: 2 });
    expect(bare.calls.filter((call) => call.startsWith('DescribeVSwitches'))).toEqual(['DescribeVSwitches:throttled']);

    emulator.faults.clear();
    emulator.faults.failNext('DescribeVSwitches', 3, throttled);
    const sleeps: number[] = [];
    const gated = adapter({
      wrapCall: createCallGate({ rate: 1000, burst: 100, baseDelayMs: 1, maxDelayMs: 5, sleep: async (ms) => void sleeps.push(ms), random: () => 1 }),
    });
    const subnets = await gated.provider.describeSubnets(topology.vpc.id, []);
    expect(subnets.map((subnet) => subnet.subnetId).sort()).toEqual([topology.nodeSubnet.id, ...topology.podSubnets.map((subnet) => subnet.id)].sort());
    expect(emulator.faults.pending()).toEqual({});
    expect(gated.calls.filter((call) => call.startsWith('DescribeVSwitches'))).toEqual(['DescribeVSwitches:throttled', 'DescribeVSwitches:throttled', 'DescribeVSwitches:throttled', 'DescribeVSwitches:ok']);
    expect(sleeps).toEqual([1, 2, 4]);
  });

  it("carries ECS's wait from a throttled answer into the error", async () => {
    await start({ realism: { throttling: true } });
    const { provider } = adapter();
    // DescribeVSwitches: 300 calls a minute.
    const results = await Promise.allSettled(Array.from({ length: 320 }, () => provider.describeSubnets(topology.vpc.id, [topology.nodeSubnet.id])));
    const reasons = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as CloudError] : []));
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(reason).toMatchObject({ kind: 'throttled', code: 'Throttling.User', retryAfterMs: expect.any(Number) });
  });
});

describe('Alibaba adapter: ENIs', () => {
  it('waits for the asynchronous attachment: Attaching, then InUse', async () => {
    await start({ realism: { attachDelayMs: 300 } });
    const { provider, calls } = adapter();
    const started = performance.now();
    const created = await provider.createInterface(request());
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(created).toMatchObject({ status: 'in-use', attachment: { status: 'attached', deviceIndex: 1, deleteOnTermination: true, instanceId: instance() } });
    expect(created.secondaryIps).toHaveLength(2);
    const polls = calls.filter((call) => call === 'DescribeNetworkInterfaceAttribute:ok').length;
    // Backoff from 10 ms: a handful of reads over 300 ms, not one every 10 ms.
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(8);
    expect(emulator.model.getInterface(created.interfaceId).attachment?.status).toBe('attached');
  });

  it('asks for at most 49 addresses in the create call and assigns the rest once the ENI is InUse', async () => {
    // A made-up type with 64 addresses per ENI, to go past ECS's 49 on create.
    const catalog = mergeCatalogs(alibabaInstanceCatalog(), new Map([['ecs.test.big', { name: 'ecs.test.big', maxInterfaces: 4, ipv4PerInterface: 64, hypervisor: '', bareMetal: false, supportsPrefixes: true }]]));
    await start({ catalog }, 'ecs.test.big');
    const { provider, calls } = adapter();
    const created = await provider.createInterface(request({ addresses: { kind: 'ips', count: 60 } }));
    expect(created.secondaryIps).toHaveLength(60);
    expect(new Set(created.secondaryIps).size).toBe(60);
    expect(emulator.model.getInterface(created.interfaceId).secondaryIps).toHaveLength(60);
    const mutations = calls.filter((call) => !call.startsWith('Describe'));
    expect(mutations).toEqual(['CreateNetworkInterface:ok', 'AttachNetworkInterface:ok', 'AssignPrivateIpAddresses:ok']);
  });

  it('detaches before deleting, waits for Available, and is idempotent', async () => {
    await start({ realism: { attachDelayMs: 100, detachDelayMs: 250 } });
    const { provider, calls } = adapter();
    const created = await provider.createInterface(request());
    const before = emulator.model.getSubnet(topology.podSubnets[0]?.id ?? '').freeAddresses;
    await provider.deleteInterface(created.interfaceId);
    expect(emulator.model.listInterfaces().map((nic) => nic.id)).not.toContain(created.interfaceId);
    expect(emulator.model.getSubnet(topology.podSubnets[0]?.id ?? '').freeAddresses - before).toBe(3);
    expect(calls.filter((call) => !call.startsWith('Describe'))).toEqual([
      'CreateNetworkInterface:ok',
      'AttachNetworkInterface:ok',
      'DeleteNetworkInterface:invalid-request',
      'DetachNetworkInterface:ok',
      'DeleteNetworkInterface:ok',
    ]);
    await provider.deleteInterface(created.interfaceId);
    expect(calls.at(-1)).toBe('DeleteNetworkInterface:not-found');
  });

  it('gives up on an attachment that does not complete in time, and leaves no ENI behind', async () => {
    await start({ realism: { attachDelayMs: 1500 } });
    const { provider } = adapter({ attachTimeoutMs: 200 });
    const err = await provider.createInterface(request()).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'transient', code: 'AttachTimeout', operation: 'AttachNetworkInterface' });
    await emulator.model.settled();
    expect(emulator.model.listInterfaces().filter((nic) => nic.tags['vpc-cni.io/cluster'] === 'provider-test')).toEqual([]);
  });

  it('refuses more than 20 tags before calling ECS', async () => {
    await start();
    const { provider, calls } = adapter();
    const tags = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));
    await expect(provider.createInterface(request({ tags }))).rejects.toMatchObject({ kind: 'invalid-request', code: 'TooManyTags' });
    await expect(provider.findInterfacesByTags(tags)).rejects.toMatchObject({ kind: 'invalid-request', code: 'TooManyTags' });
    expect(calls).toEqual([]);
  });
});

describe('Alibaba adapter: metadata and signing', () => {
  it('reads the instance whether or not the metadata service enforces tokens', async () => {
    await start({ alibabaMetadataTokensRequired: true });
    for (const metadataHardened of [true, false]) {
      const meta = await adapter({ metadataHardened }).provider.instanceMetadata();
      expect(meta).toMatchObject({ cloud: 'alibaba', instanceId: instance(), instanceType: 'ecs.g7.xlarge', region: 'cn-hangzhou', zone: 'cn-hangzhou-k' });
    }
  });

  it('numbers interfaces by their ECS device index and keeps them apart when a read lags', async () => {
    await start();
    const { provider } = adapter();
    const first = await provider.createInterface(request());
    emulator.configure({ describeLagMs: 5000 });
    // An ENI attached behind the provider's back: metadata shows it at once, Describe only later.
    const late = emulator.model.createInterface({ subnetId: topology.podSubnets[0]?.id ?? '', securityGroupIds: [topology.securityGroup.id] });
    emulator.model.attachInterface(late.id, instance(), 2);
    await emulator.model.settled();
    const meta = await provider.instanceMetadata();
    expect(meta.interfaces.map((nic) => [nic.interfaceId, nic.deviceIndex])).toEqual([
      [emulator.model.getInstance(instance()).primaryInterfaceId, 0],
      [first.interfaceId, 1],
      [late.id, 2],
    ]);
  });

  it('is answered in the legacy signature-v2 form as in the ACS3 form', async () => {
    await start();
    for (const signatureAlgorithm of ['v2', 'ACS3-HMAC-SHA256']) {
      const client = new ecs.default(new openApi.Config({ credential: credential(), endpoint: new URL(url).host, protocol: 'http', regionId: 'cn-hangzhou', signatureAlgorithm }));
      const answer = await client.describeVSwitchesWithOptions(new ecs.DescribeVSwitchesRequest({ regionId: 'cn-hangzhou', vpcId: topology.vpc.id }), new teaUtil.RuntimeOptions({}));
      expect(answer.statusCode).toBe(200);
      expect(answer.body?.totalCount).toBe(3);
      expect(answer.body?.vSwitches?.vSwitch?.map((vsw) => vsw.cidrBlock).sort()).toEqual(['10.0.0.0/24', '10.0.16.0/20', '10.0.32.0/20']);
    }
  });
});
