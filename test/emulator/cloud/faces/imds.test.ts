import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Emulator, peerHeader } from '../../../../emulator/cloud/emulator.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';

/** IMDSv2 as the emulator serves it per instance at /_instance/<id>/latest/... */

let now: number;
let emulator: Emulator;
let topology: Topology;
let url: string;

const instance = (index = 0): string => topology.instances[index]?.id ?? '';
const base = (id = instance()): string => `${url}/_instance/${encodeURIComponent(id)}`;

async function token(prefix = base(), ttl: string | null = '21600', headers: Record<string, string> = {}): Promise<{ status: number; body: string; ttl: string | null }> {
  const res = await fetch(`${prefix}/latest/api/token`, {
    method: 'PUT',
    headers: { ...(ttl === null ? {} : { 'x-aws-ec2-metadata-token-ttl-seconds': ttl }), ...headers },
  });
  return { status: res.status, body: await res.text(), ttl: res.headers.get('x-aws-ec2-metadata-token-ttl-seconds') };
}

async function get(path: string, sessionToken: string | undefined, prefix = base(), headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`${prefix}${path}`, { headers: { ...(sessionToken === undefined ? {} : { 'x-aws-ec2-metadata-token': sessionToken }), ...headers } });
  return { status: res.status, body: await res.text() };
}

/** Fetches a metadata path with a fresh token and expects a 200. */
async function meta(path: string, prefix = base()): Promise<string> {
  const issued = await token(prefix);
  expect(issued.status).toBe(200);
  const answer = await get(`/latest/meta-data/${path}`, issued.body, prefix);
  expect(answer.status, `${path}: ${answer.body}`).toBe(200);
  return answer.body;
}

async function status(path: string): Promise<number> {
  const issued = await token();
  return (await get(`/latest/meta-data/${path}`, issued.body)).status;
}

beforeEach(async () => {
  now = 1_700_000_000_000;
  emulator = new Emulator({ clock: { now: () => now } });
  topology = await buildTopology(emulator.model, { nodes: 2, instanceType: 'm5.large' });
  ({ url } = await emulator.listen());
});

afterEach(async () => {
  await emulator.model.settled();
  await emulator.close();
});

describe('IMDSv2 tokens', () => {
  it('requires a token: 401 without one or with a wrong one', async () => {
    expect(await get('/latest/meta-data/instance-id', undefined)).toEqual({ status: 401, body: 'Unauthorized' });
    expect((await get('/latest/meta-data/instance-id', 'not-a-token')).status).toBe(401);
    expect((await get('/latest/meta-data/instance-id', '')).status).toBe(401);
    expect((await get('/latest/meta-data/', undefined)).status).toBe(401);
    const issued = await token();
    expect(issued).toMatchObject({ status: 200, ttl: '21600' });
    expect(issued.body).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(await get('/latest/meta-data/instance-id', issued.body)).toEqual({ status: 200, body: instance() });
  });

  it("rejects another instance's token", async () => {
    const other = await token(base(instance(1)));
    expect(other.status).toBe(200);
    expect((await get('/latest/meta-data/instance-id', other.body)).status).toBe(401);
    expect(await get('/latest/meta-data/instance-id', other.body, base(instance(1)))).toEqual({ status: 200, body: instance(1) });
  });

  it('answers 400 for a missing or bad TTL header', async () => {
    for (const ttl of [null, '', '0', '-1', '21601', '1.5', 'abc', '1e3', '0x10', ' ']) {
      expect((await token(base(), ttl)).status, `ttl ${String(ttl)}`).toBe(400);
    }
    expect((await token(base(), '1')).status).toBe(200);
  });

  it('answers 405 to anything but PUT on the token path, and to writes elsewhere', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const res = await fetch(`${base()}/latest/api/token`, { method, headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } });
      expect(res.status, method).toBe(405);
    }
    const issued = await token();
    const res = await fetch(`${base()}/latest/meta-data/instance-id`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token': issued.body } });
    expect(res.status).toBe(405);
  });

  it('expires tokens after their TTL on the injected clock', async () => {
    const issued = await token(base(), '10');
    now += 9_999;
    expect((await get('/latest/meta-data/instance-id', issued.body)).status).toBe(200);
    now += 1;
    expect((await get('/latest/meta-data/instance-id', issued.body)).status).toBe(401);
    // Expired stays expired, even if the clock were to go back.
    now -= 5_000;
    expect((await get('/latest/meta-data/instance-id', issued.body)).status).toBe(401);
    const fresh = await token(base(), '10');
    expect((await get('/latest/meta-data/instance-id', fresh.body)).status).toBe(200);
  });

  it('answers 404 for an unknown instance, before asking for a token', async () => {
    expect((await token(base('i-00000000000000000'))).status).toBe(404);
    const issued = await token();
    expect((await get('/latest/meta-data/instance-id', issued.body, base('i-00000000000000000'))).status).toBe(404);
    expect((await get('/latest/meta-data/instance-id', issued.body, `${url}/_instance/%E0%A4%A`)).status).toBe(404);
  });
});

describe('IMDSv2 metadata', () => {
  it('lists directories with a trailing slash and leaves without', async () => {
    const root = (await meta('')).split('\n');
    expect(root).toEqual(expect.arrayContaining(['instance-id', 'instance-type', 'local-ipv4', 'mac', 'network/', 'placement/']));
    expect(root.every((entry) => entry.length > 0 && !entry.includes('\n'))).toBe(true);
    expect(await meta('network/')).toBe('interfaces/');
    expect(await meta('network/interfaces/')).toBe('macs/');
    expect(await meta('placement/')).toBe(['availability-zone', 'region'].join('\n'));
    expect(await meta('placement/availability-zone')).toBe('us-east-1a');
    expect(await meta('instance-type')).toBe('m5.large');
    // A directory reads the same with or without its trailing slash.
    expect(await meta('network/interfaces/macs')).toBe(await meta('network/interfaces/macs/'));
    const issued = await token();
    expect((await get('/latest/meta-data', issued.body)).body).toBe(root.join('\n'));
  });

  it('serves the per-MAC leaves of the primary interface', async () => {
    const model = emulator.model;
    const primary = model.getInterface(model.getInstance(instance()).primaryInterfaceId);
    expect(await meta('mac')).toBe(primary.mac);
    expect(await meta('local-ipv4')).toBe(primary.primaryIp);
    expect(await meta('network/interfaces/macs/')).toBe(`${primary.mac}/`);
    const prefix = `network/interfaces/macs/${primary.mac}/`;
    const leaves = (await meta(prefix)).split('\n');
    expect(leaves).toEqual(expect.arrayContaining(['device-number', 'interface-id', 'local-ipv4s', 'subnet-id', 'subnet-ipv4-cidr-block', 'vpc-id', 'vpc-ipv4-cidr-blocks', 'security-group-ids']));
    expect(leaves.some((leaf) => leaf.endsWith('/'))).toBe(false);
    expect(leaves).not.toContain('ipv4-prefix');
    expect(await meta(`${prefix}device-number`)).toBe('0');
    expect(await meta(`${prefix}interface-id`)).toBe(primary.id);
    expect(await meta(`${prefix}local-ipv4s`)).toBe(primary.primaryIp);
    expect(await meta(`${prefix}subnet-id`)).toBe(topology.nodeSubnet.id);
    expect(await meta(`${prefix}subnet-ipv4-cidr-block`)).toBe('10.0.0.0/24');
    expect(await meta(`${prefix}vpc-id`)).toBe(topology.vpc.id);
    expect(await meta(`${prefix}vpc-ipv4-cidr-blocks`)).toBe('10.0.0.0/16');
    expect(await meta(`${prefix}security-group-ids`)).toBe(topology.securityGroup.id);
    expect(await status(`${prefix}ipv4-prefix`)).toBe(404);
    expect(await status(`${prefix}no-such-leaf`)).toBe(404);
    expect(await status(`${prefix}device-number/more`)).toBe(404);
    expect(await status('network/interfaces/macs/02:00:00:00:00:00/')).toBe(404);
    expect(await status('constructor')).toBe(404);
    expect(await status('__proto__')).toBe(404);
    expect(await status('%E0%A4%A')).toBe(404);
  });

  it('lists local-ipv4s primary first and ipv4-prefix once there are prefixes', async () => {
    const model = emulator.model;
    const primary = model.getInterface(model.getInstance(instance()).primaryInterfaceId);
    const assigned = await model.assignAddresses(primary.id, { ipCount: 3 });
    const prefix = `network/interfaces/macs/${primary.mac}/`;
    expect((await meta(`${prefix}local-ipv4s`)).split('\n')).toEqual([primary.primaryIp, ...assigned.ips]);
    const delegated = await model.assignAddresses(primary.id, { prefixCount: 2 });
    expect((await meta(`${prefix}ipv4-prefix`)).split('\n')).toEqual(delegated.prefixes);
    expect((await meta(prefix)).split('\n')).toContain('ipv4-prefix');
    await model.releaseAddresses(primary.id, { ips: [], prefixes: delegated.prefixes });
    expect(await status(`${prefix}ipv4-prefix`)).toBe(404);
  });

  it('shows an interface only once its attachment completes, and no more once it is detached', async () => {
    const model = emulator.model;
    emulator.configure({ attachDelayMs: 40, detachDelayMs: 40 });
    const podSubnet = topology.podSubnets[0]?.id ?? '';
    const nic = model.createInterface({ subnetId: podSubnet, securityGroupIds: [topology.securityGroup.id], secondaryIpCount: 2 });
    const attachment = model.attachInterface(nic.id, instance(), 1);
    expect(model.getInterface(nic.id).attachment?.status).toBe('attaching');
    expect((await meta('network/interfaces/macs/')).split('\n')).not.toContain(`${nic.mac}/`);
    expect(await status(`network/interfaces/macs/${nic.mac}/interface-id`)).toBe(404);
    await model.settled();
    const macs = (await meta('network/interfaces/macs/')).split('\n');
    expect(macs).toHaveLength(2);
    expect(macs).toContain(`${nic.mac}/`);
    const prefix = `network/interfaces/macs/${nic.mac}/`;
    expect(await meta(`${prefix}device-number`)).toBe('1');
    expect(await meta(`${prefix}interface-id`)).toBe(nic.id);
    expect((await meta(`${prefix}local-ipv4s`)).split('\n')).toEqual([nic.primaryIp, ...nic.secondaryIps]);
    expect(await meta(`${prefix}subnet-ipv4-cidr-block`)).toBe('10.0.16.0/20');
    // Not on the other instance.
    expect((await meta('network/interfaces/macs/', base(instance(1)))).split('\n')).not.toContain(`${nic.mac}/`);
    model.detachInterface(attachment.id);
    await model.settled();
    expect(model.getInterface(nic.id).attachment).toBeNull();
    expect((await meta('network/interfaces/macs/')).split('\n')).not.toContain(`${nic.mac}/`);
    expect(await status(`${prefix}interface-id`)).toBe(404);
  });

  it('resolves the instance from the x-emulator-peer header on /latest/...', async () => {
    const model = emulator.model;
    const primary = model.getInterface(model.getInstance(instance(1)).primaryInterfaceId);
    const peer = { [peerHeader]: primary.primaryIp };
    const res = await fetch(`${url}/latest/api/token`, { method: 'PUT', headers: { ...peer, 'x-aws-ec2-metadata-token-ttl-seconds': '60' } });
    expect(res.status).toBe(200);
    const sessionToken = await res.text();
    expect(await get('/latest/meta-data/instance-id', sessionToken, url, peer)).toEqual({ status: 200, body: instance(1) });
    // The same token works on the instance-scoped path of that instance.
    expect((await get('/latest/meta-data/instance-id', sessionToken, base(instance(1)))).status).toBe(200);
    // Without the header, or with an address no instance has as its primary, there is no instance.
    expect((await get('/latest/meta-data/instance-id', sessionToken, url)).status).toBe(404);
    expect((await fetch(`${url}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).status).toBe(404);
    expect((await get('/latest/meta-data/instance-id', sessionToken, url, { [peerHeader]: '10.0.0.250' })).status).toBe(404);
    // A secondary address does not identify the instance.
    const [secondary] = (await model.assignAddresses(primary.id, { ipCount: 1 })).ips;
    expect((await get('/latest/meta-data/instance-id', sessionToken, url, { [peerHeader]: secondary ?? '' })).status).toBe(404);
  });
});
