import { ManagedIdentityCredential } from '@azure/identity';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Emulator, peerHeader } from '../../../../emulator/cloud/emulator.ts';
import { armIds, armResourceGroup, armSubscriptionId } from '../../../../emulator/cloud/faces/arm/ids.ts';
import type { Instance } from '../../../../emulator/cloud/model/cloud.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';

/** Azure IMDS as the emulator serves it per instance at /_instance/<id>/metadata/... */

let now: number;
let emulator: Emulator;
let topology: Topology;
let url: string;
let vm: Instance;

const base = (id = vm.id): string => `${url}/_instance/${encodeURIComponent(id)}`;

async function get(path: string, headers: Record<string, string> = { Metadata: 'true' }, prefix = base(), method = 'GET'): Promise<{ status: number; body: unknown; text: string; type: string }> {
  const res = await fetch(`${prefix}${path}`, { method, headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text/plain leaves
  }
  return { status: res.status, body, text, type: res.headers.get('content-type') ?? '' };
}

const instance = '/metadata/instance?api-version=2021-02-01';

beforeEach(async () => {
  now = 1_700_000_000_000;
  emulator = new Emulator({ cloud: 'azure', clock: { now: () => now } });
  topology = await buildTopology(emulator.model, { nodes: 2, region: 'eastus', zone: '1', instanceType: 'Standard_D4s_v3', interfacesPerInstance: 2 });
  vm = topology.instances[0] as Instance;
  ({ url } = await emulator.listen());
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await emulator.model.settled();
  await emulator.close();
});

describe('the instance document', () => {
  it('describes the VM and its NICs in Azure IMDS shape', async () => {
    const answer = await get(instance);
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^application\/json/);
    const doc = answer.body as { compute: Record<string, unknown>; network: { interface: Array<{ macAddress: string; ipv4: { ipAddress: Array<{ privateIpAddress: string }>; subnet: Array<{ address: string; prefix: string }> } }> } };
    expect(doc.compute).toMatchObject({
      name: vm.id,
      vmSize: 'Standard_D4s_v3',
      location: 'eastus',
      zone: '1',
      subscriptionId: armSubscriptionId,
      resourceGroupName: armResourceGroup,
      resourceId: armIds.vm(vm.id),
      osType: 'Linux',
    });
    expect(doc.compute.vmId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const nics = emulator.model.attachedInterfaces(vm.id);
    expect(doc.network.interface).toHaveLength(2);
    expect(doc.network.interface.map((nic) => nic.macAddress)).toEqual(nics.map((nic) => nic.mac.replaceAll(':', '').toUpperCase()));
    for (const nic of doc.network.interface) expect(nic.macAddress).toMatch(/^[0-9A-F]{12}$/);
    expect(doc.network.interface[0]?.ipv4).toEqual({ ipAddress: [{ privateIpAddress: nics[0]?.primaryIp, publicIpAddress: '' }], subnet: [{ address: '10.0.0.0', prefix: '24' }] });
    expect(doc.network.interface[1]?.ipv4.subnet).toEqual([{ address: '10.0.16.0', prefix: '20' }]);
  });

  it('lists secondary addresses after the primary, as they are assigned', async () => {
    const second = emulator.model.attachedInterfaces(vm.id)[1];
    if (!second) throw new Error('no second NIC');
    const change = await emulator.model.assignAddresses(second.id, { ipCount: 2 });
    const doc = (await get(instance)).body as { network: { interface: Array<{ ipv4: { ipAddress: Array<{ privateIpAddress: string }> } }> } };
    expect(doc.network.interface[1]?.ipv4.ipAddress.map((a) => a.privateIpAddress)).toEqual([second.primaryIp, ...change.ips]);
  });

  it('serves parts of the document, and leaves as text', async () => {
    expect((await get('/metadata/instance/compute/vmSize?api-version=2021-02-01&format=text')).text).toBe('Standard_D4s_v3');
    expect((await get('/metadata/instance/network/interface/1/ipv4/subnet/0/prefix?api-version=2021-02-01&format=text')).text).toBe('20');
    expect((await get('/metadata/instance/compute?api-version=2021-02-01')).body).toMatchObject({ name: vm.id });
    expect((await get('/metadata/instance/compute/name?api-version=2021-02-01')).body).toBe(vm.id);
    expect((await get('/metadata/instance/compute?api-version=2021-02-01&format=text')).status).toBe(400);
    expect((await get('/metadata/instance/compute?api-version=2021-02-01&format=xml')).status).toBe(400);
    for (const path of ['/metadata/instance/nothing', '/metadata/instance/network/interface/9', '/metadata/instance/network/interface/x', '/metadata/instance/compute/vmSize/deeper', '/metadata/other', '/metadata/instance/%E0%A4%A']) {
      expect(await get(`${path}?api-version=2021-02-01`), path).toMatchObject({ status: 404, body: { error: 'Not found' } });
    }
    expect((await get('/metadata/versions')).body).toMatchObject({ apiVersions: expect.arrayContaining(['2021-02-01']) });
    expect((await get('/metadata/instance/?api-version=2021-02-01')).body).toMatchObject({ compute: { name: vm.id } });
  });

  it('answers each instance its own document', async () => {
    const other = topology.instances[1] as Instance;
    expect(((await get(instance, undefined, base(other.id))).body as { compute: { name: string } }).compute.name).toBe(other.id);
    expect((await get(instance, undefined, base('i-unknown'))).status).toBe(404);
  });

  it('answers callers inside the box by their address', async () => {
    const primary = emulator.model.attachedInterfaces(vm.id)[0];
    const answer = await get(instance, { Metadata: 'true', [peerHeader]: primary?.primaryIp ?? '' }, url);
    expect((answer.body as { compute: { name: string } }).compute.name).toBe(vm.id);
    expect((await get(instance, { Metadata: 'true', [peerHeader]: '10.9.9.9' }, url)).status).toBe(404);
  });
});

describe('bad requests', () => {
  it('wants the Metadata header, no proxy, and a known api-version', async () => {
    expect(await get(instance, {})).toMatchObject({ status: 400, body: { error: 'Bad request. Required metadata header not specified' } });
    expect((await get(instance, { Metadata: 'false' })).status).toBe(400);
    expect((await get(instance, { Metadata: 'true', 'X-Forwarded-For': '1.2.3.4' })).status).toBe(400);
    for (const path of ['/metadata/instance', '/metadata/instance?api-version=', '/metadata/instance?api-version=2000-01-01', '/metadata/instance?api-version=latest']) {
      const answer = await get(path);
      expect(answer.status, path).toBe(400);
      expect(answer.body).toMatchObject({ error: expect.stringContaining('api-version'), 'newest-versions': expect.arrayContaining(['2023-07-01']) });
    }
    expect((await get(instance, { Metadata: 'true' }, base(), 'POST')).status).toBe(405);
    expect((await get(instance, { Metadata: 'true' }, base(), 'PUT')).status).toBe(405);
  });

  it('is not served when the emulator plays another cloud', async () => {
    const aws = new Emulator({ cloud: 'aws' });
    const other = await buildTopology(aws.model, { nodes: 1 });
    const listening = await aws.listen();
    try {
      // AWS's IMDSv2 wants its token first, and knows no /metadata path either way.
      const res = await fetch(`${listening.url}/_instance/${other.instances[0]?.id ?? ''}${instance}`, { headers: { Metadata: 'true' } });
      expect(res.status).toBe(401);
      const token = await (await fetch(`${listening.url}/_instance/${other.instances[0]?.id ?? ''}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).text();
      expect((await fetch(`${listening.url}/_instance/${other.instances[0]?.id ?? ''}${instance}`, { headers: { Metadata: 'true', 'x-aws-ec2-metadata-token': token } })).status).toBe(404);
    } finally {
      await aws.close();
    }
    expect((await get('/latest/meta-data/instance-id')).status).toBe(404);
  });
});

describe('the managed identity token endpoint', () => {
  const token = (query: string, headers: Record<string, string> = { Metadata: 'true' }): ReturnType<typeof get> => get(`/metadata/identity/oauth2/token${query}`, headers);

  it('hands out bearer tokens for a resource', async () => {
    const answer = await token('?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ resource: 'https://management.azure.com/', token_type: 'Bearer', expires_in: '86399', expires_on: String(now / 1000 + 86_399) });
    expect((answer.body as { access_token: string }).access_token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const user = await token('?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F&client_id=11111111-2222-3333-4444-555555555555');
    expect(user.body).toMatchObject({ client_id: '11111111-2222-3333-4444-555555555555' });
  });

  it('answers bad token requests with OAuth errors', async () => {
    expect(await token('?api-version=2018-02-01&resource=x', {})).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await token('?resource=x')).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringContaining('api-version') } });
    expect(await token('?api-version=1999-01-01&resource=x')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await token('?api-version=2018-02-01')).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: expect.stringContaining('resource') } });
    expect((await get('/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x', { Metadata: 'true' }, base(), 'POST')).status).toBe(405);
  });

  it("works as @azure/identity's ManagedIdentityCredential endpoint", async () => {
    // The SDK's documented override of the IMDS address (AKS pod identity uses it too).
    vi.stubEnv('AZURE_POD_IDENTITY_AUTHORITY_HOST', base());
    const credential = new ManagedIdentityCredential();
    const issued = await credential.getToken('https://management.azure.com/.default');
    expect(issued.token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    // expires_on comes from the emulator's (fixed) clock.
    expect(issued.expiresOnTimestamp).toBe(now + 86_399_000);
  });
});
