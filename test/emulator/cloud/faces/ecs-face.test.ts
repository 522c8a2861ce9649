import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Emulator, type EmulatorOptions } from '../../../../emulator/cloud/emulator.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';

/**
 * The ECS RPC face over raw HTTP: both request forms (ACS3 header and legacy
 * query), ECS's JSON shapes and error documents, its codes and HTTP statuses,
 * asynchronous attach/detach, the Alibaba limits, paging, throttling and
 * faults. The happy paths through the Alibaba SDK live in test/providers/contract.
 */

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  json: Json;
}

const region = 'cn-hangzhou';
const zone = 'cn-hangzhou-k';
const requestIdPattern = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

let emulator: Emulator;
let url: string;
let topology: Topology;
/** Every status the ECS endpoint answered in a test: none may be a 5xx unless a fault asked for it. */
let statuses: number[];

async function start(options: EmulatorOptions = {}): Promise<void> {
  emulator = new Emulator({ cloud: 'alibaba', ...options });
  topology = await buildTopology(emulator.model, { nodes: 1, instanceType: 'ecs.g7.large', region, zone });
  ({ url } = await emulator.listen());
}

const query = (params: Record<string, string | number>): string =>
  new URLSearchParams(
    Object.entries(params)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, String(v)]),
  ).toString();

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    throw new Error(`not JSON (HTTP ${res.status}): ${text.slice(0, 200)}`);
  }
  statuses.push(res.status);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', headers: res.headers, json };
}

/** ACS3 form, as the SDK sends it by default: POST /?<sorted params>, empty body, the action in a header. */
async function ecs(action: string, params: Record<string, string | number> = {}, version = '2014-05-26'): Promise<Answer> {
  const res = await fetch(`${url}/?${query(params)}`, { method: 'POST', headers: { 'x-acs-action': action, 'x-acs-version': version, 'x-acs-signature-nonce': 'n' } });
  return answer(res);
}

/** Legacy form (signature v2): everything in the query. */
async function ecsV2(action: string, params: Record<string, string | number> = {}, method = 'POST'): Promise<Answer> {
  const res = await fetch(`${url}/?${query({ Action: action, Version: '2014-05-26', Format: 'json', SignatureVersion: '1.0', ...params })}`, { method });
  return answer(res);
}

/** Calls with the RegionId every ECS call but DescribeInstanceTypes needs. */
const call = (action: string, params: Record<string, string | number> = {}): Promise<Answer> => ecs(action, { RegionId: region, ...params });

function expectError(res: Answer, code: string, status: number): string {
  expect({ status: res.status, code: res.json.Code }, JSON.stringify(res.json)).toEqual({ status, code });
  expect(res.contentType).toBe('application/json;charset=utf-8');
  expect(Object.keys(res.json).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
  expect(res.json.RequestId).toMatch(requestIdPattern);
  expect(res.headers.get('x-acs-request-id')).toBe(res.json.RequestId);
  expect(String(res.json.Recommend)).toContain(encodeURIComponent(code));
  const message = String(res.json.Message);
  expect(message.length).toBeGreaterThan(0);
  return message;
}

function expectOk(res: Answer): Json {
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  expect(res.json.RequestId).toMatch(requestIdPattern);
  return res.json;
}

const instanceId = (): string => topology.instances[0]?.id ?? '';
const podSubnetId = (): string => topology.podSubnets[0]?.id ?? '';
const groupId = (): string => topology.securityGroup.id;

async function createEni(extra: Record<string, string | number> = {}): Promise<string> {
  const json = expectOk(await call('CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: groupId(), ...extra }));
  expect(json.NetworkInterfaceId).toMatch(/^eni-/);
  return String(json.NetworkInterfaceId);
}

async function describeEni(id: string): Promise<Json> {
  return expectOk(await call('DescribeNetworkInterfaceAttribute', { NetworkInterfaceId: id }));
}

const sets = (json: Json): Json[] => ((json.NetworkInterfaceSets as { NetworkInterfaceSet: Json[] }).NetworkInterfaceSet);

beforeEach(() => {
  statuses = [];
});

afterEach(async () => {
  expect(statuses.filter((status) => status >= 500)).toEqual([]);
  await emulator.model.settled();
  await emulator.close();
});

describe('ECS face: request forms and routing', () => {
  beforeEach(() => start());

  it('answers the ACS3 header form and the legacy query form alike, GET too', async () => {
    const acs3 = expectOk(await call('DescribeVSwitches', { VpcId: topology.vpc.id }));
    const v2 = expectOk(await ecsV2('DescribeVSwitches', { RegionId: region, VpcId: topology.vpc.id }));
    const get = expectOk(await ecsV2('DescribeVSwitches', { RegionId: region, VpcId: topology.vpc.id }, 'GET'));
    for (const json of [acs3, v2, get]) expect(json.TotalCount).toBe(3);
  });

  it('reads the action from the header first, then from the query', async () => {
    const res = await fetch(`${url}/?${query({ Action: 'NoSuchAction', RegionId: region })}`, { method: 'POST', headers: { 'x-acs-action': 'DescribeVSwitches', 'x-acs-version': '2014-05-26' } });
    expect(expectOk(await answer(res)).TotalCount).toBe(3);
  });

  it('takes parameters from a form body too', async () => {
    const res = await fetch(`${url}/`, {
      method: 'POST',
      headers: { 'x-acs-action': 'DescribeVSwitches', 'content-type': 'application/x-www-form-urlencoded' },
      body: query({ RegionId: region, VSwitchId: podSubnetId() }),
    });
    expect(expectOk(await answer(res)).TotalCount).toBe(1);
  });

  it('leaves EC2 Query requests (form body, no x-acs-action, no Action in the query) to the EC2 face', async () => {
    const res = await fetch(`${url}/`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=DescribeSubnets&Version=2016-11-15' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">');
  });

  it('answers unknown actions with InvalidAction.NotFound, names of Object.prototype included', async () => {
    for (const action of ['RunInstances', 'AssignIpv4Prefix', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'describeVSwitches']) {
      expect(expectError(await call(action), 'InvalidAction.NotFound', 404)).toContain(action);
    }
    expectError(await ecsV2('Describe%ZZ', { RegionId: region }), 'InvalidAction.NotFound', 404);
  });

  it('rejects another API version, an empty action and methods other than GET and POST', async () => {
    expect(expectError(await ecs('DescribeVSwitches', { RegionId: region }, '2016-04-28'), 'InvalidVersion', 400)).toContain('2016-04-28');
    expectError(await ecsV2('DescribeVSwitches', { RegionId: region, Version: '1.0' }), 'InvalidVersion', 400);
    const empty = await fetch(`${url}/?RegionId=${region}`, { method: 'POST', headers: { 'x-acs-action': '' } });
    expect(expectError(await answer(empty), 'MissingParameter', 400)).toContain('Action');
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${url}/?${query({ RegionId: region })}`, { method, headers: { 'x-acs-action': 'DescribeVSwitches' } });
      expectError(await answer(res), 'UnsupportedHTTPMethod', 400);
    }
  });
});

describe('ECS face: malformed requests', () => {
  beforeEach(() => start());

  it('answers MissingParameter naming the parameter', async () => {
    expect(expectError(await ecs('DescribeNetworkInterfaces'), 'MissingParameter', 400)).toContain('"RegionId"');
    expect(expectError(await call('CreateNetworkInterface', { SecurityGroupId: groupId() }), 'MissingParameter', 400)).toContain('"VSwitchId"');
    expect(expectError(await call('CreateNetworkInterface', { VSwitchId: podSubnetId() }), 'MissingParameter', 400)).toContain('SecurityGroupId');
    const eni = await createEni();
    expect(expectError(await call('AttachNetworkInterface', { NetworkInterfaceId: eni }), 'MissingParameter', 400)).toContain('"InstanceId"');
    expect(expectError(await call('DetachNetworkInterface', { InstanceId: instanceId() }), 'MissingParameter', 400)).toContain('"NetworkInterfaceId"');
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni }), 'MissingParameter', 400);
    expectError(await call('UnassignPrivateIpAddresses', { NetworkInterfaceId: eni }), 'MissingParameter', 400);
    expectError(await call('TagResources', { ResourceType: 'eni', 'Tag.1.Key': 'k' }), 'MissingParameter', 400);
    expectError(await call('TagResources', { ResourceType: 'eni', 'ResourceId.1': eni }), 'MissingParameter', 400);
    expectError(await call('DeleteNetworkInterface', { NetworkInterfaceId: '' }), 'MissingParameter', 400);
  });

  it('rejects a malformed RegionId', async () => {
    for (const value of ['CN-HANGZHOU', 'hangzhou', 'cn_hangzhou', ' ']) {
      expectError(await ecs('DescribeVSwitches', { RegionId: value }), 'InvalidRegionId.MalFormed', 400);
    }
  });

  it('rejects integers that are not integers or out of range, naming the parameter', async () => {
    for (const value of ['abc', '1.5', '1e3', ' 10', '', '0x10', '9', '501', '-10', '99999999999999999999']) {
      expect(expectError(await call('DescribeNetworkInterfaces', { MaxResults: value }), 'InvalidParameter', 400)).toContain('MaxResults');
    }
    for (const value of ['10', '500']) expectOk(await call('DescribeNetworkInterfaces', { MaxResults: value }));
    expectError(await call('DescribeNetworkInterfaces', { PageSize: 101 }), 'InvalidParameter', 400);
    expectError(await call('DescribeVSwitches', { PageSize: 51 }), 'InvalidParameter', 400);
    expectError(await call('DescribeVSwitches', { PageNumber: 0 }), 'InvalidParameter', 400);
    const eni = await createEni();
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, SecondaryPrivateIpAddressCount: 0 }), 'InvalidParameter', 400);
    expectError(await call('CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: groupId(), Ipv4PrefixCount: 'two' }), 'InvalidParameter', 400);
  });

  it('rejects booleans other than true and false', async () => {
    const eni = await createEni();
    for (const value of ['yes', 'TRUE', '1', '']) {
      expect(expectError(await call('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, DeleteOnRelease: value }), 'InvalidParameter', 400)).toContain('DeleteOnRelease');
    }
  });

  it('rejects lists with gaps or empty values, and too many values', async () => {
    expectError(await call('DescribeNetworkInterfaces', { 'NetworkInterfaceId.2': 'eni-x' }), 'InvalidParameter', 400);
    expectError(await call('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': '' }), 'InvalidParameter', 400);
    const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`InstanceTypes.${i + 1}`, 'ecs.g7.large']));
    expectError(await ecs('DescribeInstanceTypes', many), 'InvalidParameter', 400);
    expectError(await call('CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: groupId(), 'SecurityGroupIds.1': groupId() }), 'InvalidParameter', 400);
  });

  it('rejects tags without a key, with a reserved key, or past 20', async () => {
    expectError(await call('CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: groupId(), 'Tag.1.Value': 'v' }), 'InvalidTagKey.Malformed', 400);
    expectError(await call('CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: groupId(), 'Tag.1.Key': 'acs:owner', 'Tag.1.Value': 'v' }), 'InvalidTagKey.Malformed', 400);
    expectError(await call('CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: groupId(), 'Tag.1.Key': 'k', 'Tag.1.Value': 'v'.repeat(129) }), 'InvalidTagValue.Malformed', 400);
    const tags = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [[`Tag.${i + 1}.Key`, `k${i}`]]).flat());
    expectError(await call('DescribeNetworkInterfaces', tags), 'InvalidParameter', 400);
    // Nothing was created by the rejected calls.
    expect(emulator.model.listInterfaces()).toHaveLength(1);
  });

  it('rejects a NextToken it did not issue, and a bad Status or Type filter', async () => {
    for (const token of ['garbage', Buffer.from('ecs:x').toString('base64url'), Buffer.from('o5').toString('base64url')]) {
      expect(expectError(await call('DescribeNetworkInterfaces', { MaxResults: 10, NextToken: token }), 'InvalidParameter', 400)).toContain('NextToken');
    }
    expectError(await call('DescribeNetworkInterfaces', { Status: 'in-use' }), 'InvalidParameter', 400);
    expectError(await call('DescribeNetworkInterfaces', { Type: 'Trunk' }), 'InvalidParameter', 400);
  });

  it('answers a client error for addresses and prefixes that do not parse or lie outside the vSwitch, and takes nothing', async () => {
    const eni = await createEni();
    const before = emulator.model.getSubnet(podSubnetId()).freeAddresses;
    expectError(await call('CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: groupId(), PrimaryIpAddress: 'not-an-ip' }), 'InvalidParameter', 400);
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': '999.1.1.1' }), 'InvalidParameter', 400);
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': '10.0.16.20', 'PrivateIpAddress.2': 'x' }), 'InvalidParameter', 400);
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'Ipv4Prefix.1': '10.0.17.5/28' }), 'InvalidParameter', 400);
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'Ipv4Prefix.1': '10.0.17.0/24' }), 'InvalidParameter', 400);
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': '192.168.0.10' }), 'InvalidVSwitchId.IpInvalid', 403);
    const primary = emulator.model.getInterface(eni).primaryIp;
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': primary }), 'InvalidPrivateIpAddress.Duplicated', 400);
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, SecondaryPrivateIpAddressCount: 1, Ipv4PrefixCount: 1 }), 'InvalidParameter', 400);
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, SecondaryPrivateIpAddressCount: 1, 'PrivateIpAddress.1': '10.0.16.30' }), 'InvalidParameter', 400);
    expectError(await call('UnassignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': 'garbage' }), 'InvalidParameter', 400);
    expectError(await call('UnassignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': '10.0.16.99' }), 'InvalidIp.IpUnassigned', 403);
    expectError(await call('UnassignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': primary }), 'InvalidParameter', 400);
    expect(emulator.model.getSubnet(podSubnetId()).freeAddresses).toBe(before);
    expect(emulator.model.getInterface(eni)).toMatchObject({ secondaryIps: [], prefixes: [] });
  });

  it('answers the NotFound code of each kind of unknown id with HTTP 404', async () => {
    const eni = await createEni();
    const cases: Array<[string, Record<string, string | number>, string]> = [
      ['DescribeNetworkInterfaceAttribute', { NetworkInterfaceId: 'eni-0000000000000000' }, 'InvalidEniId.NotFound'],
      ['AssignPrivateIpAddresses', { NetworkInterfaceId: 'eni-0000000000000000', SecondaryPrivateIpAddressCount: 1 }, 'InvalidEniId.NotFound'],
      ['UnassignPrivateIpAddresses', { NetworkInterfaceId: 'eni-0000000000000000', 'PrivateIpAddress.1': '10.0.16.9' }, 'InvalidEniId.NotFound'],
      ['DeleteNetworkInterface', { NetworkInterfaceId: 'eni-0000000000000000' }, 'InvalidEniId.NotFound'],
      ['AttachNetworkInterface', { NetworkInterfaceId: 'eni-0000000000000000', InstanceId: instanceId() }, 'InvalidEniId.NotFound'],
      ['DetachNetworkInterface', { NetworkInterfaceId: 'eni-0000000000000000', InstanceId: instanceId() }, 'InvalidEniId.NotFound'],
      ['ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: 'eni-0000000000000000', DeleteOnRelease: 'true' }, 'InvalidEniId.NotFound'],
      ['CreateNetworkInterface', { VSwitchId: 'vsw-00000000', SecurityGroupId: groupId() }, 'InvalidVSwitchId.NotFound'],
      ['CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: 'sg-00000000' }, 'InvalidSecurityGroupId.NotFound'],
      ['AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: 'i-00000000' }, 'InvalidInstanceId.NotFound'],
      ['TagResources', { ResourceType: 'eni', 'ResourceId.1': 'eni-nope', 'Tag.1.Key': 'k' }, 'InvalidResourceId.NotFound'],
      // Resources of another region do not exist for a call in this one.
      ['DescribeNetworkInterfaceAttribute', { NetworkInterfaceId: eni, RegionId: 'cn-beijing' }, 'InvalidEniId.NotFound'],
      ['CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: groupId(), RegionId: 'cn-beijing' }, 'InvalidVSwitchId.NotFound'],
    ];
    for (const [action, params, code] of cases) expectError(await call(action, params), code, 404);
    // Describe calls leave unknown ids out instead of failing.
    const json = expectOk(await call('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni, 'NetworkInterfaceId.2': 'eni-0000000000000000' }));
    expect(sets(json).map((nic) => nic.NetworkInterfaceId)).toEqual([eni]);
    expect(expectOk(await call('DescribeVSwitches', { VSwitchId: 'vsw-nope' })).TotalCount).toBe(0);
    expect(expectOk(await call('DescribeNetworkInterfaces', { RegionId: 'cn-beijing' })).TotalCount).toBe(0);
  });

  it('answers 413 to a body over 1 MiB and keeps serving', async () => {
    const res = await fetch(`${url}/`, { method: 'POST', headers: { 'x-acs-action': 'DescribeVSwitches', 'content-type': 'application/x-www-form-urlencoded' }, body: `RegionId=${region}&Pad=${'x'.repeat(1024 * 1024 + 10)}` });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'request body too large' });
    expectOk(await call('DescribeVSwitches'));
  });

  it('never answers 500 to any of this and keeps serving afterwards', async () => {
    const eni = await createEni();
    const targets = [
      `/?Action=DescribeVSwitches&RegionId=${region}&PageNumber=99999999999999999`,
      `/?Action=CreateNetworkInterface&RegionId=${region}&VSwitchId=${podSubnetId()}&SecurityGroupId=${groupId()}&SecondaryPrivateIpAddressCount=1000`,
      `/?Action=CreateNetworkInterface&RegionId=${region}&VSwitchId=${podSubnetId()}&SecurityGroupId=${groupId()}&Ipv4PrefixCount=1000`,
      `/?Action=CreateNetworkInterface&RegionId=${region}&VSwitchId=${podSubnetId()}&SecurityGroupId=${groupId()}&Ipv4Prefix.1=10.0.17.0/28`,
      `/?Action=CreateNetworkInterface&RegionId=${region}&VSwitchId=${podSubnetId()}&SecurityGroupIds.1=${groupId()}&PrivateIpAddress.1=1.2.3`,
      `/?Action=TagResources&RegionId=${region}&ResourceType=constructor&ResourceId.1=${eni}&Tag.1.Key=a`,
      `/?Action=TagResources&RegionId=${region}&ResourceType=eni&ResourceId.1=${eni}&Tag.1.Key=__proto__&Tag.1.Value=x`,
      `/?Action=DescribeInstanceTypes&InstanceTypes.1=constructor`,
      `/?Action=DescribeNetworkInterfaces&RegionId=${region}&NextToken=${Buffer.from('ecs:-1').toString('base64url')}`,
      `/?Action=DescribeNetworkInterfaces&RegionId=${region}&MaxResults=10&NextToken=${Buffer.from('ecs:999999').toString('base64url')}`,
      `/?Action=AttachNetworkInterface&RegionId=${region}&NetworkInterfaceId=${eni}&InstanceId=${instanceId()}&NetworkCardIndex=1`,
      `/?Action=AttachNetworkInterface&RegionId=${region}&NetworkInterfaceId=${eni}&InstanceId=${instanceId()}&TrunkNetworkInstanceId=eni-x`,
      `/?Action=ModifyNetworkInterfaceAttribute&RegionId=${region}&NetworkInterfaceId=${eni}&Description=x`,
      `/?Action=UnassignPrivateIpAddresses&RegionId=${region}&NetworkInterfaceId=${eni}&Ipv4Prefix.1=garbage`,
      `/?Action=DescribeNetworkInterfaces&RegionId=${region}&Tag.1.Key=%E0%A4%A&Tag.1.Value=%`,
      `/?Action=%&RegionId=${region}`,
    ];
    const answers = await Promise.all(targets.map(async (target) => ({ target, res: await answer(await fetch(url + target, { method: 'POST' })) })));
    for (const { target, res } of answers) {
      expect(res.status, `${target} -> ${JSON.stringify(res.json)}`).toBeLessThan(500);
      if (res.status !== 200) expect(Object.keys(res.json).sort(), target).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
    }
    expect(expectOk(await call('DescribeVSwitches')).TotalCount).toBe(3);
  });

  it('answers request targets that are not URLs without a 500', async () => {
    const statusLine = (target: string, headers = ''): Promise<string> =>
      new Promise((resolve, reject) => {
        const { hostname, port } = new URL(url);
        const socket = connect(Number(port), hostname, () => socket.write(`POST ${target} HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: 0\r\nConnection: close\r\n\r\n`));
        let received = '';
        socket.on('data', (chunk) => (received += String(chunk)));
        socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''));
        socket.on('error', reject);
      });
    expect(await statusLine('/?Action=%FF%FE', '')).toBe('HTTP/1.1 404 Not Found');
    expect(await statusLine('/?RegionId=%%%', 'x-acs-action: DescribeVSwitches\r\n')).toBe('HTTP/1.1 400 Bad Request');
    expectOk(await call('DescribeVSwitches'));
  });
});

describe('ECS face: ENIs, limits and asynchronous attachment', () => {
  it('creates ENIs in the shape ECS answers, with tags and DeleteOnRelease', async () => {
    await start();
    const created = expectOk(
      await call('CreateNetworkInterface', { VSwitchId: podSubnetId(), 'SecurityGroupIds.1': groupId(), SecondaryPrivateIpAddressCount: 2, Description: 'pods', DeleteOnRelease: 'true', 'Tag.1.Key': 'vpc-cni.io/cluster', 'Tag.1.Value': 'c1' }),
    );
    expect(created).toMatchObject({ Status: 'Available', Type: 'Secondary', VSwitchId: podSubnetId(), VpcId: topology.vpc.id, ZoneId: zone, Description: 'pods', SecurityGroupIds: { SecurityGroupId: [groupId()] } });
    expect(created.Tags).toEqual({ Tag: [{ TagKey: 'vpc-cni.io/cluster', TagValue: 'c1' }] });
    const ips = (created.PrivateIpSets as { PrivateIpSet: Json[] }).PrivateIpSet;
    expect(ips).toHaveLength(3);
    expect(ips.filter((ip) => ip.Primary === true).map((ip) => ip.PrivateIpAddress)).toEqual([created.PrivateIpAddress]);
    const described = await describeEni(String(created.NetworkInterfaceId));
    expect(described).toMatchObject({ DeleteOnRelease: true, Status: 'Available', InstanceId: '', MacAddress: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/) });
    expect(described.CreationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(described.Attachment).toBeUndefined();
    const primary = sets(expectOk(await call('DescribeNetworkInterfaces', { InstanceId: instanceId(), Type: 'Primary' })));
    expect(primary).toHaveLength(1);
    expect(primary[0]).toMatchObject({ Type: 'Primary', Status: 'InUse', Attachment: { InstanceId: instanceId(), DeviceIndex: 0 } });
  });

  it('allows at most 49 secondary addresses on an ENI that is not attached', async () => {
    await start();
    expect(expectError(await call('CreateNetworkInterface', { VSwitchId: podSubnetId(), SecurityGroupId: groupId(), SecondaryPrivateIpAddressCount: 50 }), 'InvalidOperation.Ipv4CountExceeded', 403)).toContain('49');
    const eni = await createEni({ SecondaryPrivateIpAddressCount: 49 });
    expect(emulator.model.getInterface(eni).secondaryIps).toHaveLength(49);
    const other = await createEni({ SecondaryPrivateIpAddressCount: 40 });
    expectOk(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: other, SecondaryPrivateIpAddressCount: 9 }));
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: other, SecondaryPrivateIpAddressCount: 1 }), 'InvalidOperation.Ipv4CountExceeded', 403);
  });

  it('attaches and detaches asynchronously: Attaching, InUse, Detaching, Available', async () => {
    await start({ realism: { attachDelayMs: 300, detachDelayMs: 300 } });
    const eni = await createEni({ DeleteOnRelease: 'true' });
    expectOk(await call('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId() }));
    expect(await describeEni(eni)).toMatchObject({ Status: 'Attaching', InstanceId: instanceId(), Attachment: { DeviceIndex: 1 } });
    // While an ENI is in flux, its addresses cannot change and it cannot be deleted or attached again.
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, SecondaryPrivateIpAddressCount: 1 }), 'InvalidOperation.InvalidEniState', 400);
    expectError(await call('DeleteNetworkInterface', { NetworkInterfaceId: eni }), 'InvalidOperation.InvalidEniState', 400);
    expectError(await call('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId() }), 'InvalidOperation.InvalidEniState', 400);
    await emulator.model.settled();
    expect(await describeEni(eni)).toMatchObject({ Status: 'InUse', DeleteOnRelease: true });
    expect(sets(expectOk(await call('DescribeNetworkInterfaces', { Status: 'InUse', InstanceId: instanceId() }))).map((nic) => nic.NetworkInterfaceId)).toContain(eni);
    expectOk(await call('DetachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId() }));
    expect((await describeEni(eni)).Status).toBe('Detaching');
    // Detaching again while detaching is accepted; deleting is not.
    expectError(await call('DeleteNetworkInterface', { NetworkInterfaceId: eni }), 'InvalidOperation.InvalidEniState', 400);
    await emulator.model.settled();
    const detached = await describeEni(eni);
    expect(detached).toMatchObject({ Status: 'Available', InstanceId: '', DeleteOnRelease: true });
    expect(detached.Attachment).toBeUndefined();
    expectError(await call('DetachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId() }), 'InvalidOperation.InvalidEniState', 400);
    expectOk(await call('DeleteNetworkInterface', { NetworkInterfaceId: eni }));
    expectError(await call('DescribeNetworkInterfaceAttribute', { NetworkInterfaceId: eni }), 'InvalidEniId.NotFound', 404);
  });

  it('refuses to detach the primary ENI', async () => {
    await start();
    const primary = topology.instances[0]?.primaryInterfaceId ?? '';
    expectError(await call('DetachNetworkInterface', { NetworkInterfaceId: primary, InstanceId: instanceId() }), 'InvalidOperation.DetachPrimaryEniNotAllowed', 400);
    expectError(await call('DeleteNetworkInterface', { NetworkInterfaceId: primary }), 'InvalidOperation.InvalidEniState', 400);
  });

  it('enforces EniQuantity and EniPrivateIpAddressQuantity of ecs.g7.large (3 ENIs, 6 addresses each)', async () => {
    await start();
    const first = await createEni({ SecondaryPrivateIpAddressCount: 4 });
    const second = await createEni();
    const third = await createEni();
    expectOk(await call('AttachNetworkInterface', { NetworkInterfaceId: first, InstanceId: instanceId() }));
    expectOk(await call('AttachNetworkInterface', { NetworkInterfaceId: second, InstanceId: instanceId() }));
    expectError(await call('AttachNetworkInterface', { NetworkInterfaceId: third, InstanceId: instanceId() }), 'EniPerInstanceLimitExceeded', 403);
    await emulator.model.settled();
    expect([(await describeEni(first)).Attachment, (await describeEni(second)).Attachment]).toEqual([
      { InstanceId: instanceId(), DeviceIndex: 1, NetworkCardIndex: 0 },
      { InstanceId: instanceId(), DeviceIndex: 2, NetworkCardIndex: 0 },
    ]);
    expectOk(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: first, SecondaryPrivateIpAddressCount: 1 }));
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: first, SecondaryPrivateIpAddressCount: 1 }), 'InvalidOperation.Ipv4CountExceeded', 403);
    // A /28 prefix takes one address slot too.
    expectOk(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: second, Ipv4PrefixCount: 5 }));
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: second, Ipv4PrefixCount: 1 }), 'InvalidOperation.Ipv4CountExceeded', 403);
  });

  it('assigns and unassigns /28 prefixes, and lists them', async () => {
    await start();
    const eni = await createEni();
    expectOk(await call('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId() }));
    await emulator.model.settled();
    const assigned = expectOk(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, Ipv4PrefixCount: 2 }));
    const set = assigned.AssignedPrivateIpAddressesSet as { NetworkInterfaceId: string; PrivateIpSet: { PrivateIpAddress: string[] }; Ipv4PrefixSet: { Ipv4Prefixes: string[] } };
    expect(set.NetworkInterfaceId).toBe(eni);
    expect(set.PrivateIpSet.PrivateIpAddress).toEqual([]);
    expect(set.Ipv4PrefixSet.Ipv4Prefixes).toHaveLength(2);
    for (const prefix of set.Ipv4PrefixSet.Ipv4Prefixes) expect(prefix).toMatch(/\/28$/);
    expect((await describeEni(eni)).Ipv4PrefixSets).toEqual({ Ipv4PrefixSet: set.Ipv4PrefixSet.Ipv4Prefixes.map((Ipv4Prefix) => ({ Ipv4Prefix })) });
    expectOk(await call('UnassignPrivateIpAddresses', { NetworkInterfaceId: eni, 'Ipv4Prefix.1': set.Ipv4PrefixSet.Ipv4Prefixes[0] ?? '' }));
    expect(emulator.model.getInterface(eni).prefixes).toEqual(set.Ipv4PrefixSet.Ipv4Prefixes.slice(1));
    expectError(await call('UnassignPrivateIpAddresses', { NetworkInterfaceId: eni, 'Ipv4Prefix.1': set.Ipv4PrefixSet.Ipv4Prefixes[0] ?? '' }), 'InvalidIp.IpUnassigned', 403);
  });

  it('refuses prefixes on an instance type without them (ecs.xn4.small)', async () => {
    await start();
    const small = await emulator.model.launchInstance({ type: 'ecs.xn4.small', subnetId: topology.nodeSubnet.id, securityGroupIds: [groupId()] });
    const eni = await createEni();
    expectOk(await call('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: small.id }));
    await emulator.model.settled();
    expect(expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, Ipv4PrefixCount: 1 }), 'UnsupportedParameter', 400)).toContain('ecs.xn4.small');
  });

  it('reports a vSwitch that runs out of addresses', async () => {
    await start();
    // ECS keeps the first address and the last three of a vSwitch: a /28 has 12 to hand out.
    const tiny = emulator.model.createSubnet(topology.vpc.id, '10.0.250.0/28', zone);
    expect(tiny.id).toMatch(/^vsw-/);
    expect(expectOk(await call('DescribeVSwitches', { VSwitchId: tiny.id })).VSwitches).toEqual({ VSwitch: [expect.objectContaining({ AvailableIpAddressCount: 12 })] });
    expectOk(await call('CreateNetworkInterface', { VSwitchId: tiny.id, SecurityGroupId: groupId(), SecondaryPrivateIpAddressCount: 11 }));
    expectError(await call('CreateNetworkInterface', { VSwitchId: tiny.id, SecurityGroupId: groupId() }), 'InvalidVSwitchId.IpNotEnough', 403);
    const listed = expectOk(await call('DescribeVSwitches', { VSwitchId: tiny.id }));
    expect(listed.VSwitches).toEqual({ VSwitch: [expect.objectContaining({ VSwitchId: tiny.id, CidrBlock: '10.0.250.0/28', AvailableIpAddressCount: 0, ZoneId: zone, VpcId: topology.vpc.id, Status: 'Available' })] });
  });

  it('hands out .2 and refuses the reserved first address and last three of a vSwitch', async () => {
    await start();
    const fresh = emulator.model.createSubnet(topology.vpc.id, '10.0.64.0/20', zone);
    expect(emulator.model.getSubnet(fresh.id)).toMatchObject({ freeAddresses: 4092, gateway: '10.0.79.253' });
    const eni = expectOk(await call('CreateNetworkInterface', { VSwitchId: fresh.id, SecurityGroupId: groupId() }));
    // The lowest free address is .1: only the network address is kept at the start.
    expect(eni.PrivateIpAddress).toBe('10.0.64.1');
    const id = String(eni.NetworkInterfaceId);
    expectOk(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: id, 'PrivateIpAddress.1': '10.0.64.2' }));
    for (const reserved of ['10.0.64.0', '10.0.79.253', '10.0.79.254', '10.0.79.255']) {
      expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: id, 'PrivateIpAddress.1': reserved }), 'InvalidVSwitchId.IpInvalid', 403);
    }
    expectOk(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: id, 'PrivateIpAddress.1': '10.0.79.252' }));
    expectError(await call('AssignPrivateIpAddresses', { NetworkInterfaceId: id, 'PrivateIpAddress.1': '10.0.64.2' }), 'InvalidPrivateIpAddress.Duplicated', 400);
  });

  it('keeps DeleteOnRelease on the ENI through attach and ModifyNetworkInterfaceAttribute', async () => {
    await start();
    const eni = await createEni();
    expect((await describeEni(eni)).DeleteOnRelease).toBe(false);
    expectOk(await call('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, DeleteOnRelease: 'true' }));
    expectOk(await call('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId() }));
    await emulator.model.settled();
    expect(emulator.model.getInterface(eni).attachment?.deleteOnTermination).toBe(true);
    expectOk(await call('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, DeleteOnRelease: 'false' }));
    expect((await describeEni(eni)).DeleteOnRelease).toBe(false);
    expect(expectError(await call('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, Description: 'x' }), 'UnsupportedParameter', 400)).toContain('Description');
  });

  it('tags ENIs with TagResources and finds them by tag', async () => {
    await start();
    const eni = await createEni();
    expectOk(await call('TagResources', { ResourceType: 'eni', 'ResourceId.1': eni, 'Tag.1.Key': 'team', 'Tag.1.Value': 'net' }));
    expectError(await call('TagResources', { ResourceType: 'instance', 'ResourceId.1': eni, 'Tag.1.Key': 'team' }), 'InvalidResourceId.NotFound', 404);
    expect(sets(expectOk(await call('DescribeNetworkInterfaces', { 'Tag.1.Key': 'team' }))).map((nic) => nic.NetworkInterfaceId)).toEqual([eni]);
    expect(sets(expectOk(await call('DescribeNetworkInterfaces', { 'Tag.1.Key': 'team', 'Tag.1.Value': 'other' })))).toEqual([]);
  });
});

describe('ECS face: paging, instance types, throttling, faults and latency', () => {
  it('pages with NextToken (empty on the last page) or with PageNumber/PageSize', async () => {
    await start();
    const tags = { 'vpc-cni.io/cluster': 'paging' };
    const ids = Array.from({ length: 25 }, () => emulator.model.createInterface({ subnetId: podSubnetId(), securityGroupIds: [groupId()], tags }).id);
    emulator.model.createInterface({ subnetId: podSubnetId(), securityGroupIds: [groupId()], tags: { 'vpc-cni.io/cluster': 'other' } });
    const filter = { 'Tag.1.Key': 'vpc-cni.io/cluster', 'Tag.1.Value': 'paging' };
    const seen: string[] = [];
    const sizes: number[] = [];
    let token = '';
    for (let round = 0; round < 10; round++) {
      const json = expectOk(await call('DescribeNetworkInterfaces', { ...filter, MaxResults: 10, ...(token ? { NextToken: token } : {}) }));
      expect(json.TotalCount).toBe(25);
      sizes.push(sets(json).length);
      seen.push(...sets(json).map((nic) => String(nic.NetworkInterfaceId)));
      token = String(json.NextToken);
      if (token === '') break;
    }
    expect(sizes).toEqual([10, 10, 5]);
    expect(seen.sort()).toEqual([...ids].sort());
    // Without MaxResults or NextToken: PageNumber/PageSize, 10 a page by default.
    const byDefault = expectOk(await call('DescribeNetworkInterfaces', filter));
    expect({ count: sets(byDefault).length, page: byDefault.PageNumber, size: byDefault.PageSize, token: byDefault.NextToken }).toEqual({ count: 10, page: 1, size: 10, token: '' });
    expect(sets(expectOk(await call('DescribeNetworkInterfaces', { ...filter, PageNumber: 3, PageSize: 10 })))).toHaveLength(5);
  });

  it('describes ECS instance types only, in ECS shape, leaving unknown names out', async () => {
    await start();
    const json = expectOk(await ecs('DescribeInstanceTypes', { 'InstanceTypes.1': 'ecs.g7.large', 'InstanceTypes.2': 'm5.large', 'InstanceTypes.3': 'ecs.x9.none' }));
    expect(json.InstanceTypes).toEqual({
      InstanceType: [
        {
          InstanceTypeId: 'ecs.g7.large',
          InstanceTypeFamily: 'ecs.g7',
          InstanceFamilyLevel: 'EnterpriseLevel',
          CpuCoreCount: 2,
          MemorySize: 8,
          EniQuantity: 3,
          EniTotalQuantity: 3,
          EniPrivateIpAddressQuantity: 6,
          EniIpv6AddressQuantity: 6,
          EniTrunkSupported: false,
          NetworkCardQuantity: 1,
        },
      ],
    });
    const family = expectOk(await ecs('DescribeInstanceTypes', { InstanceTypeFamily: 'ecs.r7' }));
    expect((family.InstanceTypes as { InstanceType: Json[] }).InstanceType.map((type) => type.InstanceTypeId)).toHaveLength(9);
  });

  it("throttles per API with ECS's per-minute quotas, answering Throttling.User with the wait", async () => {
    await start({ realism: { throttling: true } });
    // DescribeVSwitches: 300 calls a minute.
    const results = await Promise.all(Array.from({ length: 320 }, () => call('DescribeVSwitches')));
    const throttled = results.filter((res) => res.status !== 200);
    expect(results.filter((res) => res.status === 200).length).toBeGreaterThanOrEqual(300);
    expect(throttled.length).toBeGreaterThan(0);
    for (const res of throttled) {
      expect(expectError(res, 'Throttling.User', 400)).toBe('Request was denied due to user flow control.');
      expect(Number(res.headers.get('x-acs-retry-after'))).toBeGreaterThan(0);
    }
    // Other APIs have their own buckets.
    expectOk(await call('DescribeNetworkInterfaces'));
    emulator.configure({ throttling: false });
    expectOk(await call('DescribeVSwitches'));
  });

  it('injects faults with their code and the status ECS uses for it', async () => {
    await start();
    emulator.faults.failNext('DescribeVSwitches', 1, { code: 'Throttling', message: 'Request was denied due to request throttling.' });
    emulator.faults.failNext('DescribeVSwitches', 1, { code: 'Forbidden.RAM', message: 'User not authorized to operate on the specified resource.' });
    emulator.faults.failNext('DescribeVSwitches', 1, { code: 'ServiceUnavailable', message: 'busy', status: 503 });
    expectError(await call('DescribeVSwitches'), 'Throttling', 400);
    expectError(await call('DescribeVSwitches'), 'Forbidden.RAM', 403);
    const unavailable = await call('DescribeVSwitches');
    statuses.pop(); // asked for
    expect(unavailable.status).toBe(503);
    expectOk(await call('DescribeVSwitches'));
  });

  it('delays answers by the configured per-action latency', async () => {
    await start({ realism: { latencyMs: { DescribeVSwitches: 150 } } });
    const started = performance.now();
    expectOk(await call('DescribeVSwitches'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    const quick = performance.now();
    expectOk(await call('DescribeNetworkInterfaces'));
    expect(performance.now() - quick).toBeLessThan(140);
  });
});
