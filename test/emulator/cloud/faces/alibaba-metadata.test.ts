import { afterEach, describe, expect, it } from 'vitest';
import { AlibabaMetadataClient } from '../../../../providers/alibaba/metadata.ts';
import { credentials as credentialsModule } from '../../../../providers/alibaba/sdk.ts';
import { alibabaNodeRoleName } from '../../../../emulator/cloud/faces/metadata/alibaba-metadata.ts';
import { Emulator, peerHeader, type EmulatorOptions } from '../../../../emulator/cloud/emulator.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';

/** The ECS instance metadata service as the emulator serves it per instance at /_instance/<id>/latest/... */

let now: number;
let emulator: Emulator;
let topology: Topology;
let url: string;

async function start(options: EmulatorOptions = {}): Promise<void> {
  now = 1_700_000_000_000;
  emulator = new Emulator({ cloud: 'alibaba', clock: { now: () => now }, ...options });
  topology = await buildTopology(emulator.model, { nodes: 2, instanceType: 'ecs.g7.large', region: 'cn-hangzhou', zone: 'cn-hangzhou-k' });
  ({ url } = await emulator.listen());
}

const instance = (index = 0): string => topology.instances[index]?.id ?? '';
const base = (id = instance()): string => `${url}/_instance/${encodeURIComponent(id)}`;

async function get(path: string, headers: Record<string, string> = {}, prefix = base()): Promise<{ status: number; body: string }> {
  const res = await fetch(`${prefix}${path}`, { headers });
  return { status: res.status, body: await res.text() };
}

async function token(ttl: string | null = '21600', prefix = base(), method = 'PUT'): Promise<{ status: number; body: string; ttl: string | null }> {
  const res = await fetch(`${prefix}/latest/api/token`, { method, headers: ttl === null ? {} : { 'x-aliyun-ecs-metadata-token-ttl-seconds': ttl } });
  return { status: res.status, body: await res.text(), ttl: res.headers.get('x-aliyun-ecs-metadata-token-ttl-seconds') };
}

/** A metadata item in normal mode, expecting a 200. */
async function meta(path: string, prefix = base()): Promise<string> {
  const answer = await get(`/latest/meta-data/${path}`, {}, prefix);
  expect(answer.status, `${path}: ${answer.body}`).toBe(200);
  return answer.body;
}

afterEach(async () => {
  await emulator.model.settled();
  await emulator.close();
});

describe('Alibaba metadata: items', () => {
  it('serves the instance items with the model values', async () => {
    await start();
    const inst = emulator.model.getInstance(instance());
    const primary = emulator.model.getInterface(inst.primaryInterfaceId);
    expect(await meta('instance-id')).toBe(inst.id);
    expect(await meta('instance/instance-type')).toBe('ecs.g7.large');
    expect(await meta('region-id')).toBe('cn-hangzhou');
    expect(await meta('zone-id')).toBe('cn-hangzhou-k');
    expect(await meta('vpc-id')).toBe(topology.vpc.id);
    expect(await meta('vpc-cidr-block')).toBe('10.0.0.0/16');
    expect(await meta('vswitch-id')).toBe(topology.nodeSubnet.id);
    expect(topology.nodeSubnet.id).toMatch(/^vsw-/);
    expect(await meta('vswitch-cidr-block')).toBe('10.0.0.0/24');
    expect(await meta('mac')).toBe(primary.mac);
    expect(await meta('private-ipv4')).toBe(primary.primaryIp);
    expect(await meta('network-type')).toBe('vpc');
    const listing = (await meta('')).split('\n');
    expect(listing).toEqual(expect.arrayContaining(['instance/', 'instance-id', 'network/', 'ram/', 'region-id', 'zone-id', 'vpc-id', 'mac']));
  });

  it('lists the attached ENIs by MAC with their items; private-ipv4s is a JSON array, primary first', async () => {
    await start({ realism: { attachDelayMs: 200 } });
    const primary = emulator.model.getInterface(emulator.model.getInstance(instance()).primaryInterfaceId);
    expect(await meta('network/interfaces/macs/')).toBe(`${primary.mac}/`);
    const mac = `network/interfaces/macs/${primary.mac}`;
    expect((await meta(`${mac}/`)).split('\n').sort()).toEqual(['gateway', 'netmask', 'network-interface-id', 'primary-ip-address', 'private-ipv4s', 'vpc-cidr-block', 'vpc-id', 'vswitch-cidr-block', 'vswitch-id']);
    expect(await meta(`${mac}/network-interface-id`)).toBe(primary.id);
    expect(await meta(`${mac}/primary-ip-address`)).toBe(primary.primaryIp);
    // The vSwitch's gateway is the first of its last three addresses: .253 of the node /24.
    expect(await meta(`${mac}/gateway`)).toBe('10.0.0.253');
    expect(await meta(`${mac}/netmask`)).toBe('255.255.255.0');
    expect(JSON.parse(await meta(`${mac}/private-ipv4s`))).toEqual([primary.primaryIp]);
    expect((await get(`/latest/meta-data/${mac}/ipv4-prefixes`)).status).toBe(404);

    const eni = emulator.model.createInterface({ subnetId: topology.podSubnets[0]?.id ?? '', securityGroupIds: [topology.securityGroup.id], secondaryIpCount: 2 });
    emulator.model.attachInterface(eni.id, instance(), 1);
    // Only an attachment that completed shows.
    expect((await meta('network/interfaces/macs/')).split('\n')).toEqual([`${primary.mac}/`]);
    await emulator.model.settled();
    expect((await meta('network/interfaces/macs/')).split('\n').sort()).toEqual([`${primary.mac}/`, `${eni.mac}/`].sort());
    await emulator.model.assignAddresses(eni.id, { prefixCount: 1 });
    const current = emulator.model.getInterface(eni.id);
    expect(JSON.parse(await meta(`network/interfaces/macs/${eni.mac}/private-ipv4s`))).toEqual([current.primaryIp, ...current.secondaryIps]);
    expect(JSON.parse(await meta(`network/interfaces/macs/${eni.mac}/ipv4-prefixes`))).toEqual(current.prefixes);
    expect(await meta(`network/interfaces/macs/${eni.mac}/vswitch-cidr-block`)).toBe('10.0.16.0/20');
    expect(await meta(`network/interfaces/macs/${eni.mac}/netmask`)).toBe('255.255.240.0');
  });

  it('answers 404 for unknown items, prototype names, undecodable paths and unknown instances', async () => {
    await start();
    for (const path of ['/latest/meta-data/nope', '/latest/meta-data/constructor', '/latest/meta-data/__proto__', '/latest/meta-data/instance-id/x', '/latest/meta-data/%E0%A4%A', '/latest/user-data', '/latest/dynamic/x']) {
      expect((await get(path)).status, path).toBe(404);
    }
    expect((await get('/latest/meta-data/instance-id', {}, `${url}/_instance/i-nope`)).status).toBe(404);
  });

  it('answers callers inside the box by their address, and nobody else', async () => {
    await start();
    const primary = emulator.model.getInterface(emulator.model.getInstance(instance(1)).primaryInterfaceId);
    expect(await get('/latest/meta-data/instance-id', { [peerHeader]: primary.primaryIp }, url)).toEqual({ status: 200, body: instance(1) });
    expect((await get('/latest/meta-data/instance-id', {}, url)).status).toBe(404);
    expect((await get('/latest/meta-data/instance-id', { [peerHeader]: '10.9.9.9' }, url)).status).toBe(404);
  });
});

describe('Alibaba metadata: hardened mode', () => {
  it('hands out tokens for a TTL of 1 to 21600 seconds, and only on PUT', async () => {
    await start();
    for (const ttl of [null, '', '0', '-1', '21601', '1.5', 'abc', '1e3', '0x10', ' ']) {
      expect((await token(ttl)).status, `ttl ${String(ttl)}`).toBe(400);
    }
    const issued = await token('60');
    expect(issued).toMatchObject({ status: 200, ttl: '60' });
    expect(issued.body).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((await token('60', base(), 'GET')).status).toBe(405);
    expect((await fetch(`${base()}/latest/meta-data/instance-id`, { method: 'POST' })).status).toBe(405);
  });

  it('takes a valid token, refuses a wrong, foreign or expired one, and lets plain reads through in normal mode', async () => {
    await start();
    const issued = await token('60');
    expect(await get('/latest/meta-data/instance-id', { 'x-aliyun-ecs-metadata-token': issued.body })).toEqual({ status: 200, body: instance() });
    expect((await get('/latest/meta-data/instance-id', { 'x-aliyun-ecs-metadata-token': 'not-a-token' })).status).toBe(401);
    expect((await get('/latest/meta-data/instance-id', { 'x-aliyun-ecs-metadata-token': '' })).status).toBe(401);
    const foreign = await token('60', base(instance(1)));
    expect((await get('/latest/meta-data/instance-id', { 'x-aliyun-ecs-metadata-token': foreign.body })).status).toBe(401);
    now += 61_000;
    expect((await get('/latest/meta-data/instance-id', { 'x-aliyun-ecs-metadata-token': issued.body })).status).toBe(401);
    expect(await get('/latest/meta-data/instance-id')).toEqual({ status: 200, body: instance() });
  });

  it('refuses reads without a token when hardened mode is enforced', async () => {
    await start({ alibabaMetadataTokensRequired: true });
    expect(await get('/latest/meta-data/instance-id')).toEqual({ status: 403, body: 'Forbidden' });
    const issued = await token();
    expect((await get('/latest/meta-data/instance-id', { 'x-aliyun-ecs-metadata-token': issued.body })).status).toBe(200);
    emulator.alibabaMetadataTokensRequired = false;
    expect((await get('/latest/meta-data/instance-id')).status).toBe(200);
  });

  it("is read by the adapter's metadata client in both modes, switching to tokens when they are enforced", async () => {
    await start({ alibabaMetadataTokensRequired: true });
    const calls: string[] = [];
    const counting: typeof fetch = (input, init) => {
      calls.push(`${init?.method ?? 'GET'} ${String(input).replace(base(), '')}`);
      return fetch(input, init);
    };
    const plain = new AlibabaMetadataClient({ endpoint: base(), hardened: false, fetch: counting });
    expect(await plain.require('instance-id')).toBe(instance());
    expect(calls).toEqual(['GET /latest/meta-data/instance-id', 'PUT /latest/api/token', 'GET /latest/meta-data/instance-id']);
    const hardened = new AlibabaMetadataClient({ endpoint: base(), hardened: true });
    const mac = await hardened.require('mac');
    expect(await hardened.jsonList(`network/interfaces/macs/${mac}/private-ipv4s`)).toHaveLength(1);
    expect(await hardened.jsonList(`network/interfaces/macs/${mac}/ipv4-prefixes`)).toEqual([]);
    expect(await hardened.get('nope')).toBeUndefined();
    await expect(hardened.require('nope')).rejects.toMatchObject({ kind: 'not-found', code: 'MetadataNotFound' });
    await expect(hardened.jsonList('instance-id')).rejects.toMatchObject({ kind: 'transient', code: 'MetadataUnavailable' });
    const nowhere = new AlibabaMetadataClient({ endpoint: 'http://127.0.0.1:9', timeoutMs: 500 });
    await expect(nowhere.get('instance-id')).rejects.toMatchObject({ kind: 'transient', code: 'MetadataUnavailable' });
  });
});

describe('Alibaba metadata: the RAM role', () => {
  it('lists the role and serves STS-shaped credentials', async () => {
    await start();
    expect(await meta('ram/security-credentials/')).toBe(alibabaNodeRoleName);
    const credentials = JSON.parse(await meta(`ram/security-credentials/${alibabaNodeRoleName}`)) as Record<string, string>;
    expect(Object.keys(credentials).sort()).toEqual(['AccessKeyId', 'AccessKeySecret', 'Code', 'Expiration', 'LastUpdated', 'SecurityToken']);
    expect(credentials).toMatchObject({ Code: 'Success', AccessKeyId: expect.stringMatching(/^STS\./) });
    expect(Date.parse(credentials.Expiration ?? '')).toBeGreaterThan(now);
    expect((await get('/latest/meta-data/ram/security-credentials/other-role')).status).toBe(404);
  });

  it("feeds @alicloud/credentials' ECS RAM role provider, in normal and enforced hardened mode", async () => {
    for (const tokensRequired of [false, true]) {
      await start({ alibabaMetadataTokensRequired: tokensRequired });
      now = Date.now();
      const provider = credentialsModule.ECSRAMRoleCredentialsProvider.builder().withDisableIMDSv1(tokensRequired).build();
      // The provider always asks 100.100.100.200; send its requests to this instance's metadata instead.
      const target = new URL(base());
      const internals = provider as unknown as { doRequest: (request: { host: string; path: string }) => Promise<unknown> };
      const original = internals.doRequest;
      const seen: string[] = [];
      internals.doRequest = (request) => {
        expect(request.host).toBe('100.100.100.200');
        seen.push(request.path);
        request.host = target.host;
        request.path = `${target.pathname}${request.path}`;
        return original(request);
      };
      const credentials = await provider.getCredentials();
      expect(credentials.accessKeyId).toMatch(/^STS\./);
      expect(credentials.securityToken.length).toBeGreaterThan(20);
      expect(seen).toEqual(['/latest/api/token', '/latest/meta-data/ram/security-credentials/', '/latest/api/token', `/latest/meta-data/ram/security-credentials/${alibabaNodeRoleName}`]);
      provider.close();
      await emulator.close();
    }
  });
});
