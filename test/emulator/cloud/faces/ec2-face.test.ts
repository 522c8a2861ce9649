import { XMLParser } from 'fast-xml-parser';
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Emulator, type EmulatorOptions } from '../../../../emulator/cloud/emulator.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';

/**
 * The EC2 Query face over raw HTTP: exact error shapes and statuses, paging,
 * filters, the rules a real EC2 enforces, and the control endpoints. The happy
 * paths through the AWS SDK live in test/providers/contract.
 */

interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

const namespace = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const errorShape =
  /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>([^<]+)<\/Code><Message>([^<]*)<\/Message><\/Error><\/Errors><RequestID>([0-9a-f-]{36})<\/RequestID><\/Response>$/;

const xml = new XMLParser({ parseTagValue: false, isArray: (name) => name === 'item' });

type Node = { [key: string]: unknown };
const items = (set: unknown): Node[] => ((set as { item?: Node[] } | '' | undefined) || {}).item ?? [];

let emulator: Emulator;
let url: string;
let topology: Topology;
/** Every status the EC2 endpoint answered in this test: none may be a 500. */
let statuses: number[];

async function start(options: EmulatorOptions = {}): Promise<void> {
  emulator = new Emulator(options);
  topology = await buildTopology(emulator.model, { nodes: 1, instanceType: 'm5.large' });
  ({ url } = await emulator.listen());
}

async function post(body: string | Uint8Array<ArrayBuffer>, path = '/'): Promise<HttpAnswer> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
  const answer = { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
  statuses.push(answer.status);
  return answer;
}

function form(params: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
}

async function ec2(action: string, params: Record<string, string | number> = {}): Promise<HttpAnswer> {
  return post(form({ Action: action, Version: '2016-11-15', ...params }));
}

/** Asserts EC2's exact error document and returns its message. */
function expectError(answer: HttpAnswer, code: string, status = 400): string {
  const match = errorShape.exec(answer.body);
  expect(match, `not an EC2 error document: ${answer.body}`).not.toBeNull();
  expect({ status: answer.status, code: match?.[1] }).toEqual({ status, code });
  expect(answer.contentType).toMatch(/^text\/xml/);
  return match?.[2] ?? '';
}

/** Parses a successful response, checking its root element and namespace. */
function expectOk(answer: HttpAnswer, action: string): Node {
  expect(answer.status, answer.body).toBe(200);
  expect(answer.body.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${namespace}"><requestId>`)).toBe(true);
  expect(answer.body.endsWith(`</${action}Response>`)).toBe(true);
  const doc = xml.parse(answer.body) as Record<string, Node>;
  const root = doc[`${action}Response`];
  if (!root) throw new Error(`no ${action}Response root`);
  expect(root.requestId).toMatch(/^[0-9a-f-]{36}$/);
  return root;
}

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  expect(res.headers.get('content-type')).toBe('application/json');
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const instanceId = (): string => topology.instances[0]?.id ?? '';
const podSubnetId = (): string => topology.podSubnets[0]?.id ?? '';

async function createEni(extra: Record<string, string | number> = {}): Promise<string> {
  const root = expectOk(await ec2('CreateNetworkInterface', { SubnetId: podSubnetId(), 'SecurityGroupId.1': topology.securityGroup.id, ...extra }), 'CreateNetworkInterface');
  const id = (root.networkInterface as Node).networkInterfaceId;
  expect(id).toMatch(/^eni-/);
  return String(id);
}

async function attachEni(eni: string, instance: string, deviceIndex: number): Promise<string> {
  const root = expectOk(await ec2('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instance, DeviceIndex: deviceIndex }), 'AttachNetworkInterface');
  return String(root.attachmentId);
}

beforeEach(() => {
  statuses = [];
});

afterEach(async () => {
  expect(statuses.filter((status) => status >= 500 && status !== 503)).toEqual([]);
  await emulator.model.settled();
  await emulator.close();
});

describe('EC2 face: malformed requests', () => {
  beforeEach(() => start());

  it('answers MissingAction when there is no Action', async () => {
    expectError(await post('Version=2016-11-15'), 'MissingAction');
    expectError(await post(''), 'MissingAction');
    expectError(await post('Action=&Version=2016-11-15'), 'MissingAction');
  });

  it('answers InvalidAction for unknown actions, including names of Object.prototype', async () => {
    const message = expectError(await ec2('RunInstances'), 'InvalidAction');
    expect(message).toContain('RunInstances');
    for (const action of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'describeSubnets']) {
      expectError(await ec2(action), 'InvalidAction');
    }
  });

  it('rejects an unsupported Version', async () => {
    const message = expectError(await post(form({ Action: 'DescribeSubnets', Version: '2014-01-01' })), 'InvalidParameterValue');
    expect(message).toContain('2014-01-01');
    expectError(await post(form({ Action: 'DescribeSubnets', Version: '' })), 'InvalidParameterValue');
    // Version may be left out.
    expectOk(await post(form({ Action: 'DescribeSubnets' })), 'DescribeSubnets');
  });

  it('answers MissingParameter naming the missing parameter', async () => {
    expect(expectError(await ec2('CreateNetworkInterface', { 'SecurityGroupId.1': topology.securityGroup.id }), 'MissingParameter')).toContain('SubnetId');
    expect(expectError(await ec2('CreateNetworkInterface', { SubnetId: '' }), 'MissingParameter')).toContain('SubnetId');
    const eni = await createEni();
    expect(expectError(await ec2('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId() }), 'MissingParameter')).toContain('DeviceIndex');
    expect(expectError(await ec2('DetachNetworkInterface'), 'MissingParameter')).toContain('AttachmentId');
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni }), 'MissingParameter');
    expectError(await ec2('UnassignPrivateIpAddresses', { NetworkInterfaceId: eni }), 'MissingParameter');
    expectError(await ec2('CreateTags', { 'Tag.1.Key': 'k', 'Tag.1.Value': 'v' }), 'MissingParameter');
    expectError(await ec2('CreateTags', { 'ResourceId.1': eni }), 'MissingParameter');
    expectError(await ec2('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni }), 'MissingParameter');
  });

  it('rejects integers that are not integers or out of range', async () => {
    for (const value of ['abc', '1.5', '1e3', ' 5', '', '0x10', '4', '1001', '-5', '99999999999999999999']) {
      const message = expectError(await ec2('DescribeNetworkInterfaces', { MaxResults: value }), 'InvalidParameterValue');
      expect(message).toContain('MaxResults');
    }
    for (const value of ['5', '1000']) expectOk(await ec2('DescribeNetworkInterfaces', { MaxResults: value }), 'DescribeNetworkInterfaces');
    const eni = await createEni();
    expectError(await ec2('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId(), DeviceIndex: 'one' }), 'InvalidParameterValue');
    expectError(await ec2('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId(), DeviceIndex: -1 }), 'InvalidParameterValue');
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, SecondaryPrivateIpAddressCount: 0 }), 'InvalidParameterValue');
  });

  it('rejects a boolean that is not true or false', async () => {
    const eni = await createEni();
    const attachmentId = await attachEni(eni, instanceId(), 1);
    for (const value of ['yes', 'TRUE', '1', '']) {
      const message = expectError(
        await ec2('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, 'Attachment.AttachmentId': attachmentId, 'Attachment.DeleteOnTermination': value }),
        'InvalidParameterValue',
      );
      expect(message).toContain('Attachment.DeleteOnTermination');
    }
    expectOk(await ec2('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, 'Attachment.AttachmentId': attachmentId, 'Attachment.DeleteOnTermination': 'true' }), 'ModifyNetworkInterfaceAttribute');
    expect(emulator.model.getInterface(eni).attachment?.deleteOnTermination).toBe(true);
  });

  it('rejects a NextToken it did not issue', async () => {
    for (const token of ['garbage', Buffer.from('x5').toString('base64url'), '', 'o5']) {
      expectError(await ec2('DescribeNetworkInterfaces', { MaxResults: 5, NextToken: token }), 'InvalidParameterValue');
    }
  });

  it('rejects unknown filter names, including names of Object.prototype, on every Describe', async () => {
    for (const action of ['DescribeNetworkInterfaces', 'DescribeSubnets', 'DescribeInstances']) {
      for (const name of ['no-such-filter', 'constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        const message = expectError(await ec2(action, { 'Filter.1.Name': name, 'Filter.1.Value.1': 'x' }), 'InvalidParameterValue');
        expect(message).toContain(name);
      }
    }
  });

  it('rejects a filter without values', async () => {
    const message = expectError(await ec2('DescribeSubnets', { 'Filter.1.Name': 'vpc-id' }), 'InvalidParameterValue');
    expect(message).toContain('vpc-id');
    // A value list with a gap at .1 has no values either.
    expectError(await ec2('DescribeNetworkInterfaces', { 'Filter.1.Name': 'subnet-id', 'Filter.1.Value.2': podSubnetId() }), 'InvalidParameterValue');
  });

  it('rejects MaxResults together with NetworkInterfaceId', async () => {
    const eni = await createEni();
    expectError(await ec2('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni, MaxResults: 5 }), 'InvalidParameterCombination');
    const root = expectOk(await ec2('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni }), 'DescribeNetworkInterfaces');
    expect(items(root.networkInterfaceSet).map((nic) => nic.networkInterfaceId)).toEqual([eni]);
  });

  it('rejects assigning addresses and prefixes in one call', async () => {
    const eni = await createEni();
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, SecondaryPrivateIpAddressCount: 1, Ipv4PrefixCount: 1 }), 'InvalidParameterCombination');
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': '10.0.16.200', 'Ipv4Prefix.1': '10.0.17.0/28' }), 'InvalidParameterCombination');
    // Nothing was taken by the rejected calls.
    expect(emulator.model.getInterface(eni)).toMatchObject({ secondaryIps: [], prefixes: [] });
  });

  it('answers the NotFound code of each kind of unknown id', async () => {
    const eni = await createEni();
    const cases: Array<[string, Record<string, string | number>, string]> = [
      ['DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni, 'NetworkInterfaceId.2': 'eni-0000000000000000' }, 'InvalidNetworkInterfaceID.NotFound'],
      ['AssignPrivateIpAddresses', { NetworkInterfaceId: 'eni-0000000000000000', SecondaryPrivateIpAddressCount: 1 }, 'InvalidNetworkInterfaceID.NotFound'],
      ['UnassignPrivateIpAddresses', { NetworkInterfaceId: 'eni-0000000000000000', 'PrivateIpAddress.1': '10.0.16.9' }, 'InvalidNetworkInterfaceID.NotFound'],
      ['DeleteNetworkInterface', { NetworkInterfaceId: 'eni-0000000000000000' }, 'InvalidNetworkInterfaceID.NotFound'],
      ['AttachNetworkInterface', { NetworkInterfaceId: 'eni-0000000000000000', InstanceId: instanceId(), DeviceIndex: 1 }, 'InvalidNetworkInterfaceID.NotFound'],
      ['ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: 'eni-0000000000000000', 'Description.Value': 'x' }, 'InvalidNetworkInterfaceID.NotFound'],
      ['CreateNetworkInterface', { SubnetId: 'subnet-00000000', 'SecurityGroupId.1': topology.securityGroup.id }, 'InvalidSubnetID.NotFound'],
      ['DescribeSubnets', { 'SubnetId.1': 'subnet-00000000' }, 'InvalidSubnetID.NotFound'],
      ['CreateNetworkInterface', { SubnetId: podSubnetId(), 'SecurityGroupId.1': 'sg-00000000' }, 'InvalidGroup.NotFound'],
      ['AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: 'i-00000000', DeviceIndex: 1 }, 'InvalidInstanceID.NotFound'],
      ['DescribeInstances', { 'InstanceId.1': 'i-00000000' }, 'InvalidInstanceID.NotFound'],
      ['DetachNetworkInterface', { AttachmentId: 'eni-attach-00000000' }, 'InvalidAttachmentID.NotFound'],
      ['ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, 'Attachment.AttachmentId': 'eni-attach-00000000', 'Attachment.DeleteOnTermination': 'true' }, 'InvalidAttachmentID.NotFound'],
    ];
    for (const [action, params, code] of cases) {
      const message = expectError(await ec2(action, params), code);
      expect(message.length, `${action} gave no message`).toBeGreaterThan(0);
    }
    // The failing DescribeNetworkInterfaces names the missing id, not the known one.
    const message = expectError(await ec2('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni, 'NetworkInterfaceId.2': 'eni-0000000000000000' }), 'InvalidNetworkInterfaceID.NotFound');
    expect(message).toContain('eni-0000000000000000');
    expect(message).not.toContain(eni);
  });

  it('answers a client error, not a 500, for addresses and prefixes that do not parse', async () => {
    const eni = await createEni();
    const before = emulator.model.getSubnet(podSubnetId()).freeAddresses;
    expectError(await ec2('CreateNetworkInterface', { SubnetId: podSubnetId(), 'SecurityGroupId.1': topology.securityGroup.id, PrivateIpAddress: 'not-an-ip' }), 'InvalidParameterValue');
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': '999.1.1.1' }), 'InvalidParameterValue');
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': '10.0.16.20', 'PrivateIpAddress.2': 'x' }), 'InvalidParameterValue');
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'Ipv4Prefix.1': 'garbage' }), 'InvalidParameterValue');
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'Ipv4Prefix.1': '10.0.17.5/28' }), 'InvalidParameterValue');
    // A delegated prefix is a /28: a /24 "prefix" would swallow 256 addresses.
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'Ipv4Prefix.1': '10.0.17.0/24' }), 'InvalidParameterValue');
    // All or nothing: the valid address in the rejected call went back.
    expect(emulator.model.getSubnet(podSubnetId()).freeAddresses).toBe(before);
    expect(emulator.model.getInterface(eni)).toMatchObject({ secondaryIps: [], prefixes: [] });
    // An address outside the subnet, or reserved, is an InvalidParameterValue too; one in use is InvalidIPAddress.InUse.
    expect(expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': '192.168.0.10' }), 'InvalidParameterValue')).toMatch(/does not fall within/);
    expect(expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': '10.0.16.3' }), 'InvalidParameterValue')).toMatch(/reserved/);
    const primary = emulator.model.getInterface(eni).primaryIp;
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, 'PrivateIpAddress.1': primary }), 'InvalidIPAddress.InUse');
  });

  it('answers 413 to a body over 1 MiB and keeps serving', async () => {
    const big = form({ Action: 'DescribeSubnets', Version: '2016-11-15', Pad: 'x'.repeat(1024 * 1024 + 10) });
    const answer = await post(big);
    expect(answer.status).toBe(413);
    expect(answer.contentType).toBe('application/json');
    expect(JSON.parse(answer.body)).toEqual({ error: 'request body too large' });
    // Exactly at the limit is fine.
    const atLimit = `Action=DescribeSubnets&Version=2016-11-15&Pad=`;
    expectOk(await post(atLimit + 'x'.repeat(1024 * 1024 - atLimit.length)), 'DescribeSubnets');
    expectOk(await ec2('DescribeSubnets'), 'DescribeSubnets');
  });

  it('answers garbage bytes and invalid percent-encoding with EC2 errors', async () => {
    expectError(await post(new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x3d, 0x26, 0x26, 0xc3])), 'MissingAction');
    expectError(await post('%%%&&&==='), 'MissingAction');
    expectError(await post('Action=%'), 'InvalidAction');
    expectError(await post('Action=Describe%ZZSubnets'), 'InvalidAction');
    expectError(await post('Action=DescribeSubnets&Version=%E0%A4%A'), 'InvalidParameterValue');
    expectError(await post('Action=DescribeNetworkInterfaces&MaxResults=%FF'), 'InvalidParameterValue');
    expectOk(await post('Action=DescribeSubnets&Filter.1.Name=tag%3AName&Filter.1.Value.1=%E0%A4%A'), 'DescribeSubnets');
  });

  it('answers 404 JSON for other paths and methods', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['PUT', '/'],
      ['GET', '/nope'],
      ['POST', '/nope'],
      ['GET', '/_emulator/nope'],
      ['GET', '/_emulator/faults'],
      ['DELETE', '/_emulator/state'],
    ] as const) {
      const res = await fetch(url + path, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(((await res.json()) as { error: string }).error).toBe(`no such endpoint: ${method} ${path}`);
    }
  });

  it('answers request targets that are not URLs without a 500', async () => {
    const statusLine = (target: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const { hostname, port } = new URL(url);
        const socket = connect(Number(port), hostname, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
        let received = '';
        socket.on('data', (chunk) => (received += String(chunk)));
        socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''));
        socket.on('error', reject);
      });
    expect(await statusLine('http://[')).toBe('HTTP/1.1 400 Bad Request');
    expect(await statusLine('/_instance/%/latest/meta-data/')).toBe('HTTP/1.1 404 Not Found');
    expect(await statusLine('*')).toBe('HTTP/1.1 404 Not Found');
    expectOk(await ec2('DescribeSubnets'), 'DescribeSubnets');
  });

  it('never answers 500 to any of this and keeps serving afterwards', async () => {
    const bodies = [
      '',
      'Action',
      'Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=constructor&Filter.1.Value.1=x',
      'Action=DescribeInstances&Filter.1.Name=__proto__&Filter.1.Value.1=x',
      'Action=CreateNetworkInterface&SubnetId=' + podSubnetId() + '&SecurityGroupId.1=' + topology.securityGroup.id + '&PrivateIpAddress=1.2.3',
      'Action=CreateNetworkInterface&SubnetId=' + podSubnetId() + '&SecurityGroupId.1=' + topology.securityGroup.id + '&SecondaryPrivateIpAddressCount=1000',
      'Action=CreateNetworkInterface&SubnetId=' + podSubnetId() + '&SecurityGroupId.1=' + topology.securityGroup.id + '&Ipv4PrefixCount=1000',
      'Action=CreateNetworkInterface&SubnetId=' + podSubnetId(),
      'Action=CreateTags&ResourceId.1=eni-nope&Tag.1.Key=a&Tag.1.Value=b',
      'Action=CreateTags&ResourceId.1=' + podSubnetId() + '&Tag.1.Key=__proto__&Tag.1.Value=b',
      'Action=DescribeInstanceTypes&InstanceType.1=constructor',
      'Action=DescribeInstanceTypes&InstanceType.1=x9.nonexistent',
      'Action=DescribeNetworkInterfaces&NextToken=' + Buffer.from('o-1').toString('base64url'),
      'Action=DescribeNetworkInterfaces&MaxResults=5&NextToken=' + Buffer.from('o999999').toString('base64url'),
      'Action=UnassignPrivateIpAddresses&NetworkInterfaceId=' + emulator.model.listInterfaces()[0]?.id + '&PrivateIpAddress.1=garbage',
      'Action=UnassignPrivateIpAddresses&NetworkInterfaceId=' + emulator.model.listInterfaces()[0]?.id + '&Ipv4Prefix.1=garbage',
      'Action=AttachNetworkInterface&NetworkInterfaceId=' + emulator.model.listInterfaces()[0]?.id + '&InstanceId=' + instanceId() + '&DeviceIndex=1&NetworkCardIndex=1',
    ];
    const answers = await Promise.all(bodies.map((body) => post(body)));
    for (const [index, answer] of answers.entries()) {
      expect(answer.status, `${bodies[index]} -> ${answer.body}`).toBeLessThan(500);
      if (answer.status !== 200) expect(answer.body, bodies[index]).toMatch(errorShape);
    }
    const root = expectOk(await ec2('DescribeSubnets'), 'DescribeSubnets');
    expect(items(root.subnetSet)).toHaveLength(3);
  });
});

describe('EC2 face: successful calls', () => {
  beforeEach(() => start());

  it('answers in the EC2 namespace with lowerCamel elements and item sets', async () => {
    const answer = await ec2('DescribeSubnets', { 'SubnetId.1': topology.nodeSubnet.id });
    expect(answer.contentType).toBe('text/xml;charset=UTF-8');
    expect(answer.body).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<DescribeSubnetsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId><subnetSet><item><subnetId>/);
    const [subnet] = items(expectOk(answer, 'DescribeSubnets').subnetSet);
    // A /24 keeps 5 addresses back; the node's primary interface holds one more.
    expect(subnet).toMatchObject({ subnetId: topology.nodeSubnet.id, vpcId: topology.vpc.id, cidrBlock: '10.0.0.0/24', availableIpAddressCount: '250', state: 'available', availabilityZone: 'us-east-1a' });
    expect(items(subnet?.tagSet)).toEqual([{ key: 'Name', value: 'demo-nodes' }]);
  });

  it('escapes XML in values', async () => {
    const eni = await createEni({ Description: '<a href="x">&\'' });
    const root = expectOk(await ec2('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni }), 'DescribeNetworkInterfaces');
    expect(items(root.networkInterfaceSet)[0]?.description).toBe('<a href="x">&\'');
    const raw = (await ec2('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni })).body;
    expect(raw).toContain('<description>&lt;a href=&quot;x&quot;&gt;&amp;&apos;</description>');
  });

  it('pages with nextToken, absent on the last page', async () => {
    const tags = { 'vpc-cni.io/cluster': 'paging' };
    const ids = Array.from({ length: 12 }, () => emulator.model.createInterface({ subnetId: podSubnetId(), securityGroupIds: [topology.securityGroup.id], tags }).id);
    emulator.model.createInterface({ subnetId: podSubnetId(), securityGroupIds: [topology.securityGroup.id], tags: { 'vpc-cni.io/cluster': 'other' } });
    const filter = { 'Filter.1.Name': 'tag:vpc-cni.io/cluster', 'Filter.1.Value.1': 'paging' };
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let token: string | undefined;
    for (let round = 0; round < 10; round++) {
      const root = expectOk(await ec2('DescribeNetworkInterfaces', { ...filter, MaxResults: 5, ...(token ? { NextToken: token } : {}) }), 'DescribeNetworkInterfaces');
      const page = items(root.networkInterfaceSet);
      pageSizes.push(page.length);
      seen.push(...page.map((nic) => String(nic.networkInterfaceId)));
      token = root.nextToken === undefined ? undefined : String(root.nextToken);
      if (!token) break;
    }
    expect(pageSizes).toEqual([5, 5, 2]);
    expect(seen.sort()).toEqual([...ids].sort());
    // When the last page is exactly full there is no token pointing at an empty page.
    const ten = { 'Filter.1.Name': 'network-interface-id', ...Object.fromEntries(ids.slice(0, 10).map((id, i) => [`Filter.1.Value.${i + 1}`, id])) };
    const first = expectOk(await ec2('DescribeNetworkInterfaces', { ...ten, MaxResults: 5 }), 'DescribeNetworkInterfaces');
    expect(first.nextToken).toBeDefined();
    const second = expectOk(await ec2('DescribeNetworkInterfaces', { ...ten, MaxResults: 5, NextToken: String(first.nextToken) }), 'DescribeNetworkInterfaces');
    expect(items(second.networkInterfaceSet)).toHaveLength(5);
    expect(second.nextToken).toBeUndefined();
    // Without MaxResults everything comes in one page.
    const all = expectOk(await ec2('DescribeNetworkInterfaces', filter), 'DescribeNetworkInterfaces');
    expect(items(all.networkInterfaceSet)).toHaveLength(12);
    expect(all.nextToken).toBeUndefined();
  });

  it('matches filter values with * and ? wildcards, and nothing else as a pattern', async () => {
    const names = async (params: Record<string, string>): Promise<string[]> => {
      const root = expectOk(await ec2('DescribeSubnets', params), 'DescribeSubnets');
      return items(root.subnetSet)
        .map((subnet) => items(subnet.tagSet).find((tag) => tag.key === 'Name')?.value as string)
        .sort();
    };
    expect(await names({ 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': 'demo-pods-*' })).toEqual(['demo-pods-1', 'demo-pods-2']);
    expect(await names({ 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': '*-?odes' })).toEqual(['demo-nodes']);
    expect(await names({ 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': '*' })).toHaveLength(3);
    expect(await names({ 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': 'demo-pods-[12]' })).toEqual([]);
    expect(await names({ 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': 'demo.pods.*' })).toEqual([]);
    expect(await names({ 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': 'demo-(nodes|pods-1)*' })).toEqual([]);
    expect(await names({ 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': 'demo-pods' })).toEqual([]);
    // Values of one filter are ORed, filters are ANDed.
    expect(await names({ 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': 'demo-nodes', 'Filter.1.Value.2': 'demo-pods-2' })).toEqual(['demo-nodes', 'demo-pods-2']);
    expect(await names({ 'Filter.1.Name': 'tag:Name', 'Filter.1.Value.1': 'demo-*', 'Filter.2.Name': 'cidr-block', 'Filter.2.Value.1': '10.0.32.0/20' })).toEqual(['demo-pods-2']);
    expect(await names({ 'Filter.1.Name': 'tag-key', 'Filter.1.Value.1': 'kubernetes.io/cluster/*' })).toEqual(['demo-pods-1', 'demo-pods-2']);
    expect(await names({ 'Filter.1.Name': 'tag:Missing', 'Filter.1.Value.1': '*' })).toEqual([]);
  });

  it('rejects prefix delegation on a non-Nitro instance type once the interface is attached', async () => {
    const t2 = await emulator.model.launchInstance({ type: 't2.medium', subnetId: topology.nodeSubnet.id, securityGroupIds: [topology.securityGroup.id] });
    const eni = await createEni();
    // Detached, nothing says which instance it is for yet.
    expectOk(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: eni, Ipv4PrefixCount: 1 }), 'AssignPrivateIpAddresses');
    const other = await createEni();
    await attachEni(other, t2.id, 1);
    const message = expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: other, Ipv4PrefixCount: 1 }), 'InvalidParameterValue');
    expect(message).toContain('t2.medium');
    expect(emulator.model.getInterface(other).prefixes).toEqual([]);
    // Addresses are fine on the same interface.
    expectOk(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: other, SecondaryPrivateIpAddressCount: 2 }), 'AssignPrivateIpAddresses');
    // On m5.large (Nitro) prefixes are delegated, /28 and aligned.
    const nitro = await createEni();
    await attachEni(nitro, instanceId(), 1);
    const root = expectOk(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: nitro, Ipv4PrefixCount: 2 }), 'AssignPrivateIpAddresses');
    const prefixes = items(root.assignedIpv4PrefixSet).map((item) => String(item.ipv4Prefix));
    expect(prefixes).toHaveLength(2);
    for (const prefix of prefixes) expect(Number(prefix.split('/')[0]?.split('.')[3]) % 16).toBe(0);
    expect(root.assignedPrivateIpAddressesSet).toBe('');
  });

  it('refuses to detach the primary interface', async () => {
    const primary = emulator.model.getInterface(emulator.model.getInstance(instanceId()).primaryInterfaceId);
    const message = expectError(await ec2('DetachNetworkInterface', { AttachmentId: primary.attachment?.id ?? '' }), 'OperationNotPermitted');
    expect(message).toBe('The network interface at device index 0 and networkCard index 0 cannot be detached.');
    await emulator.model.settled();
    expect(emulator.model.getInterface(primary.id).attachment).toMatchObject({ status: 'attached', deviceIndex: 0 });
  });

  it('refuses to delete an attached interface, and deletes it once detached', async () => {
    const eni = await createEni();
    const attachmentId = await attachEni(eni, instanceId(), 1);
    // The XML escapes the quotes: Network interface 'eni-…' is currently in use.
    expect(expectError(await ec2('DeleteNetworkInterface', { NetworkInterfaceId: eni }), 'InvalidParameterValue')).toBe(`Network interface &apos;${eni}&apos; is currently in use.`);
    expectError(await ec2('AttachNetworkInterface', { NetworkInterfaceId: eni, InstanceId: instanceId(), DeviceIndex: 2 }), 'InvalidNetworkInterface.InUse');
    expectOk(await ec2('DetachNetworkInterface', { AttachmentId: attachmentId }), 'DetachNetworkInterface');
    await emulator.model.settled();
    expectOk(await ec2('DeleteNetworkInterface', { NetworkInterfaceId: eni }), 'DeleteNetworkInterface');
    expectError(await ec2('DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eni }), 'InvalidNetworkInterfaceID.NotFound');
    expectError(await ec2('DeleteNetworkInterface', { NetworkInterfaceId: eni }), 'InvalidNetworkInterfaceID.NotFound');
  });

  it('answers limits with their EC2 codes', async () => {
    const one = await createEni();
    const two = await createEni();
    const three = await createEni();
    await attachEni(one, instanceId(), 1);
    expectError(await ec2('AttachNetworkInterface', { NetworkInterfaceId: two, InstanceId: instanceId(), DeviceIndex: 1 }), 'InvalidParameterValue');
    await attachEni(two, instanceId(), 2);
    expectError(await ec2('AttachNetworkInterface', { NetworkInterfaceId: three, InstanceId: instanceId(), DeviceIndex: 3 }), 'AttachmentLimitExceeded');
    // m5.large: 10 addresses per interface, the primary included.
    expectOk(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: one, SecondaryPrivateIpAddressCount: 9 }), 'AssignPrivateIpAddresses');
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: one, SecondaryPrivateIpAddressCount: 1 }), 'PrivateIpAddressLimitExceeded');
  });
});

describe('EC2 face: answers as EC2 does (docs/fidelity/ec2.md)', () => {
  beforeEach(() => start());

  it('answers an address in use on create with InvalidIPAddress.InUse, one outside the subnet with InvalidParameterValue', async () => {
    const eni = await createEni();
    const taken = emulator.model.getInterface(eni).primaryIp;
    const group = { SubnetId: podSubnetId(), 'SecurityGroupId.1': topology.securityGroup.id };
    expect(expectError(await ec2('CreateNetworkInterface', { ...group, PrivateIpAddress: taken }), 'InvalidIPAddress.InUse')).toContain(taken);
    expect(expectError(await ec2('CreateNetworkInterface', { ...group, PrivateIpAddress: '10.0.0.50' }), 'InvalidParameterValue')).toMatch(/does not fall within/);
    // The first four and the last address of a subnet are reserved.
    for (const reserved of ['10.0.16.0', '10.0.16.1', '10.0.16.3', '10.0.31.255']) {
      expect(expectError(await ec2('CreateNetworkInterface', { ...group, PrivateIpAddress: reserved }), 'InvalidParameterValue'), reserved).toMatch(/reserved/);
    }
    expectOk(await ec2('CreateNetworkInterface', { ...group, PrivateIpAddress: '10.0.16.40' }), 'CreateNetworkInterface');
    expectOk(await ec2('CreateNetworkInterface', { ...group, PrivateIpAddress: '10.0.31.254' }), 'CreateNetworkInterface');
  });

  it('moves a secondary address from another interface when AllowReassignment is true', async () => {
    const from = await createEni({ SecondaryPrivateIpAddressCount: 1 });
    const to = await createEni();
    const [moving = ''] = emulator.model.getInterface(from).secondaryIps;
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: to, 'PrivateIpAddress.1': moving }), 'InvalidIPAddress.InUse');
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: to, 'PrivateIpAddress.1': moving, AllowReassignment: 'false' }), 'InvalidIPAddress.InUse');
    const root = expectOk(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: to, 'PrivateIpAddress.1': moving, AllowReassignment: 'true' }), 'AssignPrivateIpAddresses');
    expect(items(root.assignedPrivateIpAddressesSet).map((item) => item.privateIpAddress)).toEqual([moving]);
    expect(emulator.model.getInterface(from).secondaryIps).toEqual([]);
    expect(emulator.model.getInterface(to).secondaryIps).toEqual([moving]);
    // A primary address never moves.
    const primary = emulator.model.getInterface(from).primaryIp;
    expectError(await ec2('AssignPrivateIpAddresses', { NetworkInterfaceId: to, 'PrivateIpAddress.1': primary, AllowReassignment: 'true' }), 'InvalidIPAddress.InUse');
  });

  it('answers an unknown instance type with InvalidInstanceType naming it', async () => {
    const message = expectError(await ec2('DescribeInstanceTypes', { 'InstanceType.1': 'm5.large', 'InstanceType.2': 'x9.nonexistent' }), 'InvalidInstanceType');
    expect(message).toBe('The following supplied instance types do not exist: [x9.nonexistent]');
    // Another cloud's size is not an EC2 type.
    expectError(await ec2('DescribeInstanceTypes', { 'InstanceType.1': 'ecs.g7.large' }), 'InvalidInstanceType');
  });

  it('lists every instance type, paged, with filters alone or none at all', async () => {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const root = expectOk(await ec2('DescribeInstanceTypes', token ? { NextToken: token } : {}), 'DescribeInstanceTypes');
      const page = items(root.instanceTypeSet);
      expect(page.length).toBeLessThanOrEqual(100);
      names.push(...page.map((type) => String(type.instanceType)));
      token = typeof root.nextToken === 'string' && root.nextToken !== '' ? root.nextToken : undefined;
    } while (token);
    expect(names.length).toBeGreaterThan(100);
    expect(names).toContain('m5.large');
    expect(names.some((name) => name.startsWith('ecs.') || name.startsWith('Standard_'))).toBe(false);
    const filtered = expectOk(await ec2('DescribeInstanceTypes', { 'Filter.1.Name': 'instance-type', 'Filter.1.Value.1': 'm5.*' }), 'DescribeInstanceTypes');
    const m5 = items(filtered.instanceTypeSet).map((type) => String(type.instanceType));
    expect(m5).toContain('m5.large');
    expect(m5.every((name) => name.startsWith('m5.'))).toBe(true);
    const small = expectOk(await ec2('DescribeInstanceTypes', { MaxResults: 5 }), 'DescribeInstanceTypes');
    expect(items(small.instanceTypeSet)).toHaveLength(5);
    expectError(await ec2('DescribeInstanceTypes', { MaxResults: 101 }), 'InvalidParameterValue');
  });

  it('changes the description and the security groups through ModifyNetworkInterfaceAttribute, one attribute a call', async () => {
    const eni = await createEni();
    const other = emulator.model.createSecurityGroup(topology.vpc.id, 'pods');
    expectOk(await ec2('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, 'Description.Value': 'pods of node 1' }), 'ModifyNetworkInterfaceAttribute');
    expectOk(await ec2('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, 'SecurityGroupId.1': other.id, 'SecurityGroupId.2': topology.securityGroup.id }), 'ModifyNetworkInterfaceAttribute');
    expect(emulator.model.getInterface(eni)).toMatchObject({ description: 'pods of node 1', securityGroupIds: [other.id, topology.securityGroup.id] });
    expectError(await ec2('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, 'SecurityGroupId.1': 'sg-00000000' }), 'InvalidGroup.NotFound');
    expectError(await ec2('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eni, 'Description.Value': 'x', 'SecurityGroupId.1': other.id }), 'InvalidParameterCombination');
    expect(emulator.model.getInterface(eni).description).toBe('pods of node 1');
  });

  it("gives an interface created without groups its VPC's default security group", async () => {
    const root = expectOk(await ec2('CreateNetworkInterface', { SubnetId: podSubnetId() }), 'CreateNetworkInterface');
    const groups = items((root.networkInterface as Node).groupSet);
    const fallback = emulator.model.defaultSecurityGroup(topology.vpc.id);
    expect(fallback).toMatchObject({ name: 'default', vpcId: topology.vpc.id });
    expect(groups).toEqual([{ groupId: fallback?.id, groupName: 'default' }]);
    const listed = expectOk(await ec2('DescribeSecurityGroups', { 'Filter.1.Name': 'group-name', 'Filter.1.Value.1': 'default' }), 'DescribeSecurityGroups');
    expect(items(listed.securityGroupInfo).map((group) => group.vpcId)).toEqual([topology.vpc.id]);
  });
});

describe('EC2 face: realism and control endpoints', () => {
  it('throttles with RequestLimitExceeded and HTTP 503 when throttling is on', async () => {
    let now = 1_700_000_000_000;
    await start({ clock: { now: () => now } });
    expectOk(await ec2('DescribeSubnets'), 'DescribeSubnets'); // off: no bucket is kept
    const settings = await control('PUT', '/_emulator/settings', { throttling: true });
    expect(settings).toMatchObject({ status: 200, json: { throttling: true } });
    // Unfiltered Describe: a bucket of 50, refilled at 10 per second (the clock stands still).
    const burst = await Promise.all(Array.from({ length: 55 }, () => ec2('DescribeSubnets')));
    expect(burst.filter((answer) => answer.status === 200)).toHaveLength(50);
    const throttled = burst.filter((answer) => answer.status !== 200);
    expect(throttled).toHaveLength(5);
    for (const answer of throttled) expectError(answer, 'RequestLimitExceeded', 503);
    // Filtered Describe calls and other actions have buckets of their own.
    expectOk(await ec2('DescribeSubnets', { 'SubnetId.1': podSubnetId() }), 'DescribeSubnets');
    expectOk(await ec2('DescribeInstances'), 'DescribeInstances');
    // 100 ms at 10 per second brings back one token.
    now += 100;
    expectOk(await ec2('DescribeSubnets'), 'DescribeSubnets');
    expectError(await ec2('DescribeSubnets'), 'RequestLimitExceeded', 503);
    expectError(await ec2('NoSuchAction'), 'InvalidAction');
    expect(await control('PUT', '/_emulator/settings', { throttling: false })).toMatchObject({ status: 200, json: { throttling: false } });
    expectOk(await ec2('DescribeSubnets'), 'DescribeSubnets');
  });

  it('changes only the settings it is given, and validates them', async () => {
    await start();
    expect((await control('PUT', '/_emulator/settings', { attachDelayMs: 250, latencyMs: { DescribeInstances: 1 } })).status).toBe(200);
    const { json } = await control('PUT', '/_emulator/settings', { throttling: true });
    expect(json).toMatchObject({ throttling: true, attachDelayMs: 250, latencyMs: { DescribeInstances: 1 } });
    expect(emulator.model.attachDelayMs).toBe(250);
    expect((await control('GET', '/_emulator/settings')).json).toEqual(json);
    for (const [body, field] of [
      [{ throttling: 'yes' }, 'throttling'],
      [{ attachDelayMs: -1 }, 'attachDelayMs'],
      [{ latencyMs: { DescribeSubnets: 1.5 } }, 'latencyMs.DescribeSubnets'],
      [{ bogus: 1 }, 'bogus'],
      ['{not json', 'not valid JSON'],
    ] as const) {
      const answer = await control('PUT', '/_emulator/settings', body);
      expect(answer.status).toBe(400);
      expect((answer.json.issues as string[]).join('\n')).toContain(field);
    }
    // A rejected change changed nothing.
    expect((await control('GET', '/_emulator/settings')).json).toEqual(json);
  });

  it('injects faults through POST /_emulator/faults and validates them', async () => {
    await start();
    const added = await control('POST', '/_emulator/faults', { action: 'DescribeSubnets', count: 2, code: 'InsufficientFreeAddressesInSubnet', message: 'injected <full>' });
    expect(added).toEqual({ status: 200, json: { DescribeSubnets: 2 } });
    await control('POST', '/_emulator/faults', { action: 'CreateNetworkInterface', count: 1, code: 'UnauthorizedOperation' });
    await control('POST', '/_emulator/faults', { action: 'DescribeInstances', count: 1, code: 'Unavailable', status: 502 });
    expect((await control('GET', '/_emulator/state')).json.pendingFaults).toEqual({ DescribeSubnets: 2, CreateNetworkInterface: 1, DescribeInstances: 1 });
    expect(expectError(await ec2('DescribeSubnets'), 'InsufficientFreeAddressesInSubnet')).toBe('injected &lt;full&gt;');
    expectError(await ec2('DescribeSubnets', { 'SubnetId.1': podSubnetId() }), 'InsufficientFreeAddressesInSubnet');
    expectOk(await ec2('DescribeSubnets'), 'DescribeSubnets');
    const before = emulator.model.listInterfaces().length;
    expect(expectError(await ec2('CreateNetworkInterface', { SubnetId: podSubnetId(), 'SecurityGroupId.1': topology.securityGroup.id }), 'UnauthorizedOperation', 403)).toBe('injected fault');
    expect(emulator.model.listInterfaces()).toHaveLength(before); // a faulted call has no effect
    const answer = await ec2('DescribeInstances');
    expect(answer.status).toBe(502);
    expect(answer.body).toMatch(errorShape);
    statuses.pop(); // a deliberate 5xx, not a crash
    expect((await control('GET', '/_emulator/state')).json.pendingFaults).toEqual({});
    // A fault with a throttling code answers like throttling.
    await control('POST', '/_emulator/faults', { action: 'DescribeNetworkInterfaces', count: 1, code: 'RequestLimitExceeded' });
    expectError(await ec2('DescribeNetworkInterfaces'), 'RequestLimitExceeded', 503);
    expectOk(await ec2('DescribeNetworkInterfaces'), 'DescribeNetworkInterfaces');
    await control('POST', '/_emulator/faults', { action: 'DescribeSubnets', count: 3, code: 'X' });
    expect(await control('DELETE', '/_emulator/faults')).toEqual({ status: 200, json: {} });
    expectOk(await ec2('DescribeSubnets'), 'DescribeSubnets');

    for (const [body, fields] of [
      ['{"action":', ['(body)', 'not valid JSON']],
      [[], ['(body)']],
      [{ action: '', count: 1, code: 'X' }, ['action']],
      [{ action: 'DescribeSubnets', count: 0, code: 'X' }, ['count']],
      [{ action: 'DescribeSubnets', count: 1.5, code: 'X' }, ['count']],
      [{ action: 'DescribeSubnets', count: '2', code: 'X' }, ['count']],
      [{ action: 'DescribeSubnets', count: 1 }, ['code']],
      [{ action: 'DescribeSubnets', count: 1, code: 'X', status: 200 }, ['status']],
      [{ action: 'DescribeSubnets', count: 1, code: 'X', colour: 'red' }, ['colour']],
    ] as const) {
      const answer = await control('POST', '/_emulator/faults', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.json.error).toBe('invalid request');
      const issues = (answer.json.issues as string[]).join('\n');
      for (const field of fields) expect(issues, JSON.stringify(body)).toContain(field);
    }
    expect(emulator.faults.pending()).toEqual({});
  });

  it('shows instances, interfaces and subnets at /_emulator/state', async () => {
    await start();
    const eni = await createEni({ SecondaryPrivateIpAddressCount: 2 });
    const { status, json } = await control('GET', '/_emulator/state');
    expect(status).toBe(200);
    const instances = json.instances as Array<{ id: string; type: string; state: string }>;
    expect(instances).toEqual([expect.objectContaining({ id: instanceId(), type: 'm5.large', state: 'running' })]);
    const interfaces = json.interfaces as Array<{ id: string; secondaryIps: string[] }>;
    expect(interfaces.map((nic) => nic.id)).toEqual([emulator.model.getInstance(instanceId()).primaryInterfaceId, eni]);
    expect(interfaces[1]?.secondaryIps).toHaveLength(2);
    const subnets = json.subnets as Array<{ id: string; cidr: string; freeAddresses: number }>;
    expect(subnets.find((subnet) => subnet.id === podSubnetId())).toMatchObject({ cidr: '10.0.16.0/20', freeAddresses: 4096 - 5 - 3 });
    expect(json).toMatchObject({ vpcs: [{ id: topology.vpc.id }], realism: { throttling: false }, pendingFaults: {} });
  });

  it('delays an action by its latency knob, and only that action', async () => {
    await start();
    await control('PUT', '/_emulator/settings', { latencyMs: { DescribeSubnets: 300 } });
    const timed = async (action: string): Promise<number> => {
      const started = performance.now();
      expectOk(await ec2(action), action);
      return performance.now() - started;
    };
    expect(await timed('DescribeSubnets')).toBeGreaterThanOrEqual(290);
    expect(await timed('DescribeInstances')).toBeLessThan(290);
    await control('PUT', '/_emulator/settings', { defaultLatencyMs: 150, latencyMs: { DescribeSubnets: 0 } });
    expect(await timed('DescribeInstances')).toBeGreaterThanOrEqual(140);
    expect(await timed('DescribeSubnets')).toBeLessThan(140);
  });
});
