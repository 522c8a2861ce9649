import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Emulator } from '../../../../emulator/cloud/emulator.ts';
import type { NetworkInterface } from '../../../../emulator/cloud/model/cloud.ts';
import { allows, type Flow } from '../../../../emulator/cloud/model/firewall-evaluate.ts';
import { compileFirewall } from '../../../../emulator/cloud/model/firewall-plan.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';

/**
 * The EC2 face's security-group actions, over raw HTTP (EC2's error document
 * and code for every refusal) and through @aws-sdk/client-ec2, with the
 * semantics asserted on the model's compiled firewall: a new group allows
 * all egress and no ingress, a group-referenced rule admits exactly the
 * members, a revoked rule stops admitting, the default group admits itself.
 */

interface HttpAnswer {
  status: number;
  body: string;
}

type Node = { [key: string]: unknown };
type Params = Record<string, string | number>;

const errorShape = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>([^<]+)<\/Code><Message>([^<]*)<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/;
const xml = new XMLParser({ parseTagValue: false, isArray: (name) => name === 'item' });
const items = (set: unknown): Node[] => ((set as { item?: Node[] } | '' | undefined) || {}).item ?? [];

let emulator: Emulator;
let url: string;
let topology: Topology;
let client: EC2Client;

async function ec2(action: string, params: Params = {}): Promise<HttpAnswer> {
  const body = new URLSearchParams(Object.entries({ Action: action, Version: '2016-11-15', ...params }).map(([k, v]) => [k, String(v)])).toString();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body });
  return { status: res.status, body: await res.text() };
}

function expectError(answer: HttpAnswer, code: string): string {
  const match = errorShape.exec(answer.body);
  expect(match, `not an EC2 error document: ${answer.body}`).not.toBeNull();
  expect({ status: answer.status, code: match?.[1] }).toEqual({ status: 400, code });
  return match?.[2] ?? '';
}

function expectOk(answer: HttpAnswer, action: string): Node {
  expect(answer.status, answer.body).toBe(200);
  const root = (xml.parse(answer.body) as Record<string, Node>)[`${action}Response`];
  if (!root) throw new Error(`no ${action}Response root in ${answer.body}`);
  return root;
}

async function createGroup(name: string, extra: Params = {}): Promise<string> {
  const root = expectOk(await ec2('CreateSecurityGroup', { GroupName: name, GroupDescription: `${name} group`, VpcId: topology.vpc.id, ...extra }), 'CreateSecurityGroup');
  return String(root.groupId);
}

/** Creates an interface in the first pod subnet, in `groups`. */
function createInterface(groups: string[]): NetworkInterface {
  return emulator.model.createInterface({ subnetId: topology.podSubnets[0]?.id ?? '', securityGroupIds: groups });
}

/** Whether a new TCP flow from one interface's primary address to another's port gets through. */
function tcpAllowed(from: NetworkInterface, to: NetworkInterface, dport: number): boolean {
  const flow: Flow = { src: from.primaryIp, dst: to.primaryIp, protocol: 'tcp', sport: 40000, dport, from: from.id, to: to.id };
  return allows(compileFirewall(emulator.model.securityView()), flow);
}

function firewallAllows(flow: Flow): boolean {
  return allows(compileFirewall(emulator.model.securityView()), flow);
}

beforeEach(async () => {
  emulator = new Emulator();
  topology = await buildTopology(emulator.model, { nodes: 1, instanceType: 'm5.large' });
  ({ url } = await emulator.listen());
  client = new EC2Client({ region: 'us-east-1', endpoint: url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});

afterEach(async () => {
  client.destroy();
  await emulator.model.settled();
  await emulator.close();
});

describe('EC2 face: CreateSecurityGroup and DeleteSecurityGroup', () => {
  it('creates a group with tags that allows all egress and no ingress', async () => {
    const groupId = await createGroup('web', { 'TagSpecification.1.ResourceType': 'security-group', 'TagSpecification.1.Tag.1.Key': 'team', 'TagSpecification.1.Tag.1.Value': 'a' });
    expect(groupId).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(emulator.model.getSecurityGroup(groupId)).toMatchObject({ name: 'web', description: 'web group', vpcId: topology.vpc.id, tags: { team: 'a' } });
    const web = createInterface([groupId]);
    const peer = createInterface([topology.securityGroup.id]);
    // Out of the group anywhere (the flow's far end has no firewall of its own); into it, nothing.
    expect(firewallAllows({ src: web.primaryIp, dst: peer.primaryIp, protocol: 'tcp', dport: 443, from: web.id })).toBe(true);
    expect(tcpAllowed(peer, web, 443)).toBe(false);
    expect(firewallAllows({ src: '10.0.0.9', dst: web.primaryIp, protocol: 'icmp', icmpType: 8, icmpCode: 0, to: web.id })).toBe(false);
    expect(firewallAllows({ src: web.primaryIp, dst: '8.8.8.8', protocol: 'udp', dport: 53, from: web.id })).toBe(true);
  });

  it('refuses a duplicate name (case-insensitive), the reserved name, sg- names, bad characters and a missing VPC', async () => {
    await createGroup('web');
    expectError(await ec2('CreateSecurityGroup', { GroupName: 'WEB', GroupDescription: 'x', VpcId: topology.vpc.id }), 'InvalidGroup.Duplicate');
    expectError(await ec2('CreateSecurityGroup', { GroupName: 'default', GroupDescription: 'x', VpcId: topology.vpc.id }), 'InvalidGroup.Reserved');
    expectError(await ec2('CreateSecurityGroup', { GroupName: 'sg-web', GroupDescription: 'x', VpcId: topology.vpc.id }), 'InvalidParameterValue');
    expectError(await ec2('CreateSecurityGroup', { GroupName: 'caf\u00e9', GroupDescription: 'x', VpcId: topology.vpc.id }), 'InvalidParameterValue');
    expectError(await ec2('CreateSecurityGroup', { GroupName: 'x'.repeat(256), GroupDescription: 'x', VpcId: topology.vpc.id }), 'InvalidParameterValue');
    expectError(await ec2('CreateSecurityGroup', { GroupName: 'api', GroupDescription: 'x' }), 'VPCIdNotSpecified');
    expectError(await ec2('CreateSecurityGroup', { GroupName: 'api', GroupDescription: 'x', VpcId: 'vpc-00000000' }), 'InvalidVpcID.NotFound');
    expect(expectError(await ec2('CreateSecurityGroup', { GroupName: 'api', VpcId: topology.vpc.id }), 'MissingParameter')).toContain('GroupDescription');
    expect(expectError(await ec2('CreateSecurityGroup', { GroupDescription: 'x', VpcId: topology.vpc.id }), 'MissingParameter')).toContain('GroupName');
  });

  it('deletes an unused group; refuses one in use, one a rule names, the default group, and unknown or malformed ids', async () => {
    const used = await createGroup('used');
    const referenced = await createGroup('referenced');
    const free = await createGroup('free');
    const nic = createInterface([used]);
    expectOk(await ec2('AuthorizeSecurityGroupIngress', { GroupId: used, 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': 80, 'IpPermissions.1.ToPort': 80, 'IpPermissions.1.Groups.1.GroupId': referenced }), 'AuthorizeSecurityGroupIngress');
    expectError(await ec2('DeleteSecurityGroup', { GroupId: used }), 'DependencyViolation');
    expectError(await ec2('DeleteSecurityGroup', { GroupId: referenced }), 'DependencyViolation');
    expectError(await ec2('DeleteSecurityGroup', { GroupId: emulator.model.defaultSecurityGroup(topology.vpc.id)?.id ?? '' }), 'CannotDelete');
    expectError(await ec2('DeleteSecurityGroup', { GroupId: 'sg-00000000' }), 'InvalidGroup.NotFound');
    expectError(await ec2('DeleteSecurityGroup', { GroupId: 'web' }), 'InvalidGroupId.Malformed');
    expectError(await ec2('DeleteSecurityGroup', {}), 'MissingParameter');
    expectError(await ec2('DeleteSecurityGroup', { GroupName: 'free' }), 'InvalidParameterValue');
    const deleted = expectOk(await ec2('DeleteSecurityGroup', { GroupId: free }), 'DeleteSecurityGroup');
    expect(deleted).toMatchObject({ return: 'true', groupId: free });
    expect(emulator.model.listSecurityGroups().some((group) => group.id === free)).toBe(false);
    // Once the interface moves away and the rule is revoked, both can go.
    emulator.model.setSecurityGroups(nic.id, [topology.securityGroup.id]);
    expectOk(await ec2('DeleteSecurityGroup', { GroupId: used }), 'DeleteSecurityGroup');
    expectOk(await ec2('DeleteSecurityGroup', { GroupId: referenced }), 'DeleteSecurityGroup');
  });

  it('creates, lists and deletes through the SDK', async () => {
    const created = await client.send(
      new CreateSecurityGroupCommand({ GroupName: 'sdk', Description: 'through the SDK', VpcId: topology.vpc.id, TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'k', Value: 'v' }] }] }),
    );
    expect(created.GroupId).toMatch(/^sg-/);
    expect(created.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
    expect(created.SecurityGroupArn).toBe(`arn:aws:ec2:us-east-1:111122223333:security-group/${created.GroupId}`);
    const error = await client.send(new CreateSecurityGroupCommand({ GroupName: 'sdk', Description: 'again', VpcId: topology.vpc.id })).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'InvalidGroup.Duplicate', $metadata: { httpStatusCode: 400 } });
    const deleted = await client.send(new DeleteSecurityGroupCommand({ GroupId: created.GroupId ?? '' }));
    expect(deleted).toMatchObject({ Return: true, GroupId: created.GroupId });
    const gone = await client.send(new DeleteSecurityGroupCommand({ GroupId: created.GroupId ?? '' })).catch((err: unknown) => err);
    expect(gone).toMatchObject({ name: 'InvalidGroup.NotFound' });
  });
});

describe('EC2 face: AuthorizeSecurityGroupIngress and Egress', () => {
  it('lets exactly the members of another group in on tcp 80, with one rule per group and range', async () => {
    const web = await createGroup('web');
    const clients = await createGroup('clients');
    const server = createInterface([web]);
    const member = createInterface([clients]);
    const outsider = createInterface([topology.securityGroup.id]);
    expect(tcpAllowed(member, server, 80)).toBe(false);
    const answer = await client.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: web,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: clients, Description: 'clients' }], IpRanges: [{ CidrIp: '192.0.2.18/24', Description: 'office' }] }],
      }),
    );
    expect(answer.Return).toBe(true);
    expect(answer.SecurityGroupRules).toHaveLength(2);
    expect(answer.SecurityGroupRules?.[0]).toMatchObject({ GroupId: web, IsEgress: false, IpProtocol: 'tcp', FromPort: 80, ToPort: 80, Description: 'office', CidrIpv4: '192.0.2.0/24', GroupOwnerId: '111122223333' });
    expect(answer.SecurityGroupRules?.[1]).toMatchObject({ ReferencedGroupInfo: { GroupId: clients, UserId: '111122223333' }, Description: 'clients' });
    expect(answer.SecurityGroupRules?.map((rule) => rule.SecurityGroupRuleId)).toEqual([expect.stringMatching(/^sgr-/), expect.stringMatching(/^sgr-/)]);
    expect(tcpAllowed(member, server, 80)).toBe(true);
    expect(tcpAllowed(member, server, 81)).toBe(false);
    expect(tcpAllowed(outsider, server, 80)).toBe(false);
    expect(firewallAllows({ src: '192.0.2.7', dst: server.primaryIp, protocol: 'tcp', dport: 80, to: server.id })).toBe(true);
    expect(firewallAllows({ src: '192.0.3.7', dst: server.primaryIp, protocol: 'tcp', dport: 80, to: server.id })).toBe(false);
    // Membership follows the interfaces: a new member is let in, one that leaves is not.
    const later = createInterface([clients]);
    expect(tcpAllowed(later, server, 80)).toBe(true);
    emulator.model.setSecurityGroups(member.id, [topology.securityGroup.id]);
    expect(tcpAllowed(member, server, 80)).toBe(false);
  });

  it('takes protocol numbers, icmp type/code and -1, and answers the rules in EC2 form', async () => {
    const group = await createGroup('mixed');
    const target = createInterface([group]);
    const root = expectOk(
      await ec2('AuthorizeSecurityGroupIngress', {
        GroupId: group,
        'IpPermissions.1.IpProtocol': '17',
        'IpPermissions.1.FromPort': 53,
        'IpPermissions.1.ToPort': 53,
        'IpPermissions.1.IpRanges.1.CidrIp': '10.1.0.0/16',
        'IpPermissions.2.IpProtocol': 'icmp',
        'IpPermissions.2.FromPort': 8,
        'IpPermissions.2.ToPort': -1,
        'IpPermissions.2.IpRanges.1.CidrIp': '10.2.0.0/16',
        'IpPermissions.3.IpProtocol': '-1',
        'IpPermissions.3.IpRanges.1.CidrIp': '10.3.0.0/16',
      }),
      'AuthorizeSecurityGroupIngress',
    );
    expect(root.return).toBe('true');
    expect(items(root.securityGroupRuleSet).map((rule) => [rule.ipProtocol, rule.fromPort, rule.toPort, rule.cidrIpv4])).toEqual([
      ['udp', '53', '53', '10.1.0.0/16'],
      ['icmp', '8', '-1', '10.2.0.0/16'],
      ['-1', '-1', '-1', '10.3.0.0/16'],
    ]);
    const into = (src: string, protocol: Flow['protocol'], extra: Partial<Flow>): boolean => firewallAllows({ src, dst: target.primaryIp, protocol, to: target.id, ...extra });
    expect(into('10.1.0.1', 'udp', { dport: 53 })).toBe(true);
    expect(into('10.1.0.1', 'tcp', { dport: 53 })).toBe(false);
    expect(into('10.2.0.1', 'icmp', { icmpType: 8, icmpCode: 0 })).toBe(true);
    expect(into('10.2.0.1', 'icmp', { icmpType: 13, icmpCode: 0 })).toBe(false);
    expect(into('10.3.0.1', 'tcp', { dport: 5432 })).toBe(true);
  });

  it('authorizes egress and refuses the older top-level form for it', async () => {
    const group = await createGroup('egress');
    const nic = createInterface([group]);
    const out = (dst: string): boolean => firewallAllows({ src: nic.primaryIp, dst, protocol: 'tcp', dport: 443, from: nic.id });
    const [allEgress] = emulator.model.getSecurityGroup(group).rules;
    await client.send(new RevokeSecurityGroupEgressCommand({ GroupId: group, SecurityGroupRuleIds: [allEgress?.id ?? ''] }));
    expect(out('203.0.113.9')).toBe(false);
    const answer = await client.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: group, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '203.0.113.0/24' }] }] }));
    expect(answer.SecurityGroupRules?.[0]).toMatchObject({ IsEgress: true, CidrIpv4: '203.0.113.0/24' });
    expect(out('203.0.113.9')).toBe(true);
    expect(out('198.51.100.9')).toBe(false);
    expectError(await ec2('AuthorizeSecurityGroupEgress', { GroupId: group, IpProtocol: 'tcp', FromPort: 1, ToPort: 1, CidrIp: '10.0.0.0/8' }), 'InvalidParameterValue');
  });

  it('accepts the top-level CidrIp form on ingress', async () => {
    const group = await createGroup('legacy');
    const nic = createInterface([group]);
    expectOk(await ec2('AuthorizeSecurityGroupIngress', { GroupId: group, IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIp: '10.9.0.0/16' }), 'AuthorizeSecurityGroupIngress');
    expect(firewallAllows({ src: '10.9.1.1', dst: nic.primaryIp, protocol: 'tcp', dport: 22, to: nic.id })).toBe(true);
  });

  it('refuses duplicates, malformed permissions and unknown groups, adding nothing', async () => {
    const group = await createGroup('strict');
    const tcp80 = { GroupId: group, 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': 80, 'IpPermissions.1.ToPort': 80 };
    expectOk(await ec2('AuthorizeSecurityGroupIngress', { ...tcp80, 'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/8' }), 'AuthorizeSecurityGroupIngress');
    const before = emulator.model.getSecurityGroup(group).rules;
    const refusals: Array<[Params, string]> = [
      // The same rule again, also with another description or the non-canonical CIDR.
      [{ ...tcp80, 'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/8', 'IpPermissions.1.IpRanges.1.Description': 'other' }, 'InvalidPermission.Duplicate'],
      [{ ...tcp80, 'IpPermissions.1.IpRanges.1.CidrIp': '10.1.2.3/8' }, 'InvalidPermission.Duplicate'],
      // A new range and a duplicate in one call: nothing is added.
      [{ ...tcp80, 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12', 'IpPermissions.1.IpRanges.2.CidrIp': '10.0.0.0/8' }, 'InvalidPermission.Duplicate'],
      [{ ...tcp80, 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12', 'IpPermissions.1.IpRanges.2.CidrIp': '172.16.0.0/12' }, 'InvalidPermission.Duplicate'],
      [{ ...tcp80, 'IpPermissions.1.IpProtocol': 'gre-ish', 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidParameterValue'],
      [{ ...tcp80, 'IpPermissions.1.IpProtocol': '47', 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidParameterValue'],
      [{ GroupId: group, 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidParameterValue'],
      [{ ...tcp80, 'IpPermissions.1.ToPort': 70000, 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidParameterValue'],
      [{ ...tcp80, 'IpPermissions.1.FromPort': 90, 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidParameterValue'],
      [{ ...tcp80, 'IpPermissions.1.FromPort': 'x', 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidParameterValue'],
      [{ GroupId: group, 'IpPermissions.1.IpProtocol': 'icmp', 'IpPermissions.1.FromPort': 256, 'IpPermissions.1.ToPort': 0, 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidParameterValue'],
      [{ GroupId: group, 'IpPermissions.1.IpProtocol': 'icmp', 'IpPermissions.1.FromPort': -1, 'IpPermissions.1.ToPort': 3, 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidParameterValue'],
      [{ ...tcp80, 'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/33' }, 'InvalidParameterValue'],
      [{ ...tcp80, 'IpPermissions.1.IpRanges.1.CidrIp': 'not-a-cidr' }, 'InvalidParameterValue'],
      [{ ...tcp80, 'IpPermissions.1.Ipv6Ranges.1.CidrIpv6': '::/0' }, 'InvalidParameterValue'],
      [{ ...tcp80, 'IpPermissions.1.Groups.1.GroupName': 'default' }, 'InvalidParameterValue'],
      [{ ...tcp80, 'IpPermissions.1.Groups.1.GroupId': 'sg-00000000' }, 'InvalidGroup.NotFound'],
      [tcp80, 'InvalidPermission.Malformed'],
      [{ GroupId: group, 'IpPermissions.1.FromPort': 80, 'IpPermissions.1.ToPort': 80, 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidPermission.Malformed'],
      [{ GroupId: group }, 'MissingParameter'],
      [{ ...tcp80, IpProtocol: 'tcp', 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidParameterCombination'],
      [{ ...tcp80, GroupId: 'sg-00000000', 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidGroup.NotFound'],
      [{ ...tcp80, GroupId: 'my-group', 'IpPermissions.1.IpRanges.1.CidrIp': '172.16.0.0/12' }, 'InvalidGroupId.Malformed'],
    ];
    for (const [params, code] of refusals) expectError(await ec2('AuthorizeSecurityGroupIngress', params), code);
    expect(emulator.model.getSecurityGroup(group).rules).toEqual(before);
    const error = await client
      .send(new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }] }))
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'InvalidPermission.Duplicate', $metadata: { httpStatusCode: 400 } });
  });

  it('refuses a group in another VPC as a source', async () => {
    const group = await createGroup('here');
    const otherVpc = emulator.model.createVpc('us-east-1', ['10.50.0.0/16']);
    const elsewhere = emulator.model.createSecurityGroup(otherVpc.id, 'there');
    expectError(
      await ec2('AuthorizeSecurityGroupIngress', { GroupId: group, 'IpPermissions.1.IpProtocol': '-1', 'IpPermissions.1.Groups.1.GroupId': elsewhere.id }),
      'InvalidParameterValue',
    );
  });

  it('refuses rules past 60 per direction with RulesPerSecurityGroupLimitExceeded', async () => {
    const group = await createGroup('full');
    const ranges = (count: number, offset: number): Params =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`IpPermissions.1.IpRanges.${i + 1}.CidrIp`, `10.${offset + i}.0.0/16`]));
    const tcp = { GroupId: group, 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': 80, 'IpPermissions.1.ToPort': 80 };
    expectOk(await ec2('AuthorizeSecurityGroupIngress', { ...tcp, ...ranges(60, 0) }), 'AuthorizeSecurityGroupIngress');
    expectError(await ec2('AuthorizeSecurityGroupIngress', { ...tcp, ...ranges(1, 100) }), 'RulesPerSecurityGroupLimitExceeded');
    // Egress counts apart: the group has its one allow-all egress rule and room for 59 more.
    const egress = { ...tcp, ...ranges(59, 0) };
    expectOk(await ec2('AuthorizeSecurityGroupEgress', egress), 'AuthorizeSecurityGroupEgress');
    const error = await client
      .send(new AuthorizeSecurityGroupEgressCommand({ GroupId: group, IpPermissions: [{ IpProtocol: 'udp', FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: '10.200.0.0/16' }] }] }))
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'RulesPerSecurityGroupLimitExceeded' });
  });
});

describe('EC2 face: RevokeSecurityGroupIngress and Egress', () => {
  it('revokes by rule id and by permission; the revoked traffic stops being admitted', async () => {
    const web = await createGroup('web');
    const server = createInterface([web]);
    const added = await client.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.7.0.0/16' }, { CidrIp: '10.8.0.0/16', Description: 'eight' }] }] }),
    );
    const [first, second] = added.SecurityGroupRules ?? [];
    const from = (src: string): boolean => firewallAllows({ src, dst: server.primaryIp, protocol: 'tcp', dport: 80, to: server.id });
    expect([from('10.7.0.1'), from('10.8.0.1')]).toEqual([true, true]);
    const byId = await client.send(new RevokeSecurityGroupIngressCommand({ GroupId: web, SecurityGroupRuleIds: [first?.SecurityGroupRuleId ?? ''] }));
    expect(byId).toMatchObject({ Return: true, RevokedSecurityGroupRules: [{ SecurityGroupRuleId: first?.SecurityGroupRuleId, CidrIpv4: '10.7.0.0/16', IsEgress: false }] });
    expect([from('10.7.0.1'), from('10.8.0.1')]).toEqual([false, true]);
    // By permission: the description need not be given.
    const byPermission = await client.send(new RevokeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.8.0.0/16' }] }] }));
    expect(byPermission.RevokedSecurityGroupRules?.map((rule) => rule.SecurityGroupRuleId)).toEqual([second?.SecurityGroupRuleId]);
    expect(from('10.8.0.1')).toBe(false);
    expect(emulator.model.getSecurityGroup(web).rules.filter((rule) => rule.direction === 'ingress')).toEqual([]);
  });

  it('refuses a permission or rule id that is not there (a nondefault VPC), revoking nothing', async () => {
    const group = await createGroup('keep');
    const tcp = { GroupId: group, 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': 80, 'IpPermissions.1.ToPort': 80 };
    const root = expectOk(await ec2('AuthorizeSecurityGroupIngress', { ...tcp, 'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/8' }), 'AuthorizeSecurityGroupIngress');
    const ruleId = String(items(root.securityGroupRuleSet)[0]?.securityGroupRuleId);
    const before = emulator.model.getSecurityGroup(group).rules;
    expectError(await ec2('RevokeSecurityGroupIngress', { ...tcp, 'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/8', 'IpPermissions.1.IpRanges.2.CidrIp': '10.9.0.0/16' }), 'InvalidPermission.NotFound');
    expectError(await ec2('RevokeSecurityGroupIngress', { ...tcp, 'IpPermissions.1.ToPort': 81, 'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/8' }), 'InvalidPermission.NotFound');
    // The ingress rule is not an egress rule.
    expectError(await ec2('RevokeSecurityGroupEgress', { ...tcp, 'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/8' }), 'InvalidPermission.NotFound');
    expectError(await ec2('RevokeSecurityGroupEgress', { GroupId: group, 'SecurityGroupRuleId.1': ruleId }), 'InvalidSecurityGroupRuleId.NotFound');
    expectError(await ec2('RevokeSecurityGroupIngress', { GroupId: group, 'SecurityGroupRuleId.1': ruleId, 'SecurityGroupRuleId.2': 'sgr-00000000000000000' }), 'InvalidSecurityGroupRuleId.NotFound');
    expectError(await ec2('RevokeSecurityGroupIngress', { ...tcp, 'SecurityGroupRuleId.1': ruleId, 'IpPermissions.1.IpRanges.1.CidrIp': '10.0.0.0/8' }), 'InvalidParameterCombination');
    expectError(await ec2('RevokeSecurityGroupIngress', { GroupId: 'sg-00000000', 'SecurityGroupRuleId.1': ruleId }), 'InvalidGroup.NotFound');
    expect(emulator.model.getSecurityGroup(group).rules).toEqual(before);
    const error = await client.send(new RevokeSecurityGroupIngressCommand({ GroupId: group, SecurityGroupRuleIds: ['sgr-00000000000000000'] })).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'InvalidSecurityGroupRuleId.NotFound' });
  });
});

describe('EC2 face: DescribeSecurityGroups and DescribeSecurityGroupRules', () => {
  it("shows the default group's self rule, and the default group admits its own members only", async () => {
    const fallback = emulator.model.defaultSecurityGroup(topology.vpc.id);
    const listed = await client.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['default'] }] }));
    expect(listed.SecurityGroups).toHaveLength(1);
    expect(listed.SecurityGroups?.[0]).toMatchObject({
      GroupId: fallback?.id,
      VpcId: topology.vpc.id,
      Description: 'default VPC security group',
      IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: fallback?.id, UserId: '111122223333' }], IpRanges: [] }],
      IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], UserIdGroupPairs: [] }],
    });
    const a = createInterface([fallback?.id ?? '']);
    const b = createInterface([fallback?.id ?? '']);
    const outsider = createInterface([topology.securityGroup.id]);
    expect(tcpAllowed(a, b, 5432)).toBe(true);
    expect(tcpAllowed(outsider, b, 5432)).toBe(false);
  });

  it('groups rules of the same traffic into one IpPermission and filters on them', async () => {
    const web = await createGroup('web', { 'TagSpecification.1.ResourceType': 'security-group', 'TagSpecification.1.Tag.1.Key': 'tier', 'TagSpecification.1.Tag.1.Value': 'front' });
    await client.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.1.0.0/16', Description: 'one' }, { CidrIp: '10.2.0.0/16' }], UserIdGroupPairs: [{ GroupId: topology.securityGroup.id }] }] }),
    );
    const [described] = (await client.send(new DescribeSecurityGroupsCommand({ GroupIds: [web] }))).SecurityGroups ?? [];
    expect(described).toMatchObject({ GroupName: 'web', Description: 'web group', Tags: [{ Key: 'tier', Value: 'front' }], OwnerId: '111122223333' });
    expect(described?.IpPermissions).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        IpRanges: [{ CidrIp: '10.1.0.0/16', Description: 'one' }, { CidrIp: '10.2.0.0/16' }],
        UserIdGroupPairs: [{ GroupId: topology.securityGroup.id, UserId: '111122223333' }],
        Ipv6Ranges: [],
        PrefixListIds: [],
      },
    ]);
    const names = async (filters: Params): Promise<string[]> =>
      items(expectOk(await ec2('DescribeSecurityGroups', filters), 'DescribeSecurityGroups').securityGroupInfo)
        .map((group) => String(group.groupName))
        .sort();
    expect(await names({ 'Filter.1.Name': 'ip-permission.from-port', 'Filter.1.Value.1': '443' })).toEqual(['web']);
    expect(await names({ 'Filter.1.Name': 'ip-permission.cidr', 'Filter.1.Value.1': '10.2.0.0/16' })).toEqual(['web']);
    expect(await names({ 'Filter.1.Name': 'ip-permission.group-id', 'Filter.1.Value.1': topology.securityGroup.id })).toEqual(['demo-nodes', 'web']);
    expect(await names({ 'Filter.1.Name': 'egress.ip-permission.cidr', 'Filter.1.Value.1': '0.0.0.0/0', 'Filter.2.Name': 'vpc-id', 'Filter.2.Value.1': topology.vpc.id })).toEqual(['default', 'demo-nodes', 'web']);
    expect(await names({ 'Filter.1.Name': 'ip-permission.protocol', 'Filter.1.Value.1': '-1' })).toEqual(['default', 'demo-nodes']);
    expect(await names({ 'Filter.1.Name': 'tag:tier', 'Filter.1.Value.1': 'front' })).toEqual(['web']);
    expect(await names({ 'Filter.1.Name': 'tag-key', 'Filter.1.Value.1': 'tier' })).toEqual(['web']);
    expect(await names({ 'Filter.1.Name': 'description', 'Filter.1.Value.1': 'web*' })).toEqual(['web']);
    expect(await names({ 'Filter.1.Name': 'group-id', 'Filter.1.Value.1': web })).toEqual(['web']);
    expectError(await ec2('DescribeSecurityGroups', { 'Filter.1.Name': 'ip-permission.bogus', 'Filter.1.Value.1': 'x' }), 'InvalidParameterValue');
    expectError(await ec2('DescribeSecurityGroups', { 'GroupId.1': 'sg-00000000' }), 'InvalidGroup.NotFound');
    expectError(await ec2('DescribeSecurityGroups', { 'GroupId.1': 'web' }), 'InvalidGroupId.Malformed');
    expectError(await ec2('DescribeSecurityGroups', { 'GroupName.1': 'web' }), 'InvalidGroup.NotFound');
  });

  it('pages DescribeSecurityGroups with MaxResults and NextToken', async () => {
    for (let i = 0; i < 6; i++) await createGroup(`paged-${i}`);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new DescribeSecurityGroupsCommand({ MaxResults: 5, Filters: [{ Name: 'group-name', Values: ['paged-*'] }], ...(token ? { NextToken: token } : {}) }));
      seen.push(...(page.SecurityGroups ?? []).map((group) => group.GroupName ?? ''));
      token = page.NextToken;
    } while (token);
    expect(seen.sort()).toEqual(['paged-0', 'paged-1', 'paged-2', 'paged-3', 'paged-4', 'paged-5']);
    expectError(await ec2('DescribeSecurityGroups', { MaxResults: 4 }), 'InvalidParameterValue');
  });

  it('lists rules by id and by group, paged, and refuses unknown rule ids', async () => {
    const group = await createGroup('rules');
    const added = await client.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: group, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 1, ToPort: 1024, IpRanges: Array.from({ length: 6 }, (_, i) => ({ CidrIp: `10.${i}.0.0/16` })) }] }),
    );
    const ids = (added.SecurityGroupRules ?? []).map((rule) => rule.SecurityGroupRuleId ?? '');
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [group] }], MaxResults: 5, ...(token ? { NextToken: token } : {}) }));
      expect((page.SecurityGroupRules ?? []).length).toBeLessThanOrEqual(5);
      seen.push(...(page.SecurityGroupRules ?? []).map((rule) => rule.SecurityGroupRuleId ?? ''));
      token = page.NextToken;
    } while (token);
    // The six ingress rules and the group's allow-all egress rule.
    expect(seen).toHaveLength(7);
    expect(seen).toEqual(expect.arrayContaining(ids));
    const one = await client.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [ids[2] ?? ''] }));
    expect(one.SecurityGroupRules).toEqual([
      expect.objectContaining({
        SecurityGroupRuleId: ids[2],
        GroupId: group,
        IpProtocol: 'tcp',
        FromPort: 1,
        ToPort: 1024,
        CidrIpv4: '10.2.0.0/16',
        IsEgress: false,
        SecurityGroupRuleArn: `arn:aws:ec2:us-east-1:111122223333:security-group-rule/${ids[2]}`,
      }),
    ]);
    const filtered = await client.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'security-group-rule-id', Values: [ids[0] ?? ''] }] }));
    expect(filtered.SecurityGroupRules?.map((rule) => rule.SecurityGroupRuleId)).toEqual([ids[0]]);
    expectError(await ec2('DescribeSecurityGroupRules', { 'SecurityGroupRuleId.1': 'sgr-00000000000000000' }), 'InvalidSecurityGroupRuleId.NotFound');
    expectError(await ec2('DescribeSecurityGroupRules', { 'Filter.1.Name': 'cidr', 'Filter.1.Value.1': 'x' }), 'InvalidParameterValue');
  });
});

describe('EC2 face: ModifyNetworkInterfaceAttribute with security groups', () => {
  it('moves an interface into new groups, which the firewall follows; past five groups answers SecurityGroupsPerInterfaceLimitExceeded', async () => {
    const web = await createGroup('web');
    await client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: topology.securityGroup.id }] }] }));
    const server = createInterface([topology.securityGroup.id]);
    const peer = createInterface([topology.securityGroup.id]);
    expect(tcpAllowed(peer, server, 8080)).toBe(true);
    await client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: server.id, Groups: [web] }));
    expect(tcpAllowed(peer, server, 80)).toBe(true);
    expect(tcpAllowed(peer, server, 8080)).toBe(false);
    const six = [web];
    for (let i = 0; i < 5; i++) six.push(await createGroup(`extra-${i}`));
    const error = await client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: server.id, Groups: six })).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'SecurityGroupsPerInterfaceLimitExceeded', $metadata: { httpStatusCode: 400 } });
    const params = Object.fromEntries(six.map((id, i) => [`SecurityGroupId.${i + 1}`, id]));
    expectError(await ec2('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: server.id, ...params }), 'SecurityGroupsPerInterfaceLimitExceeded');
    expect(emulator.model.getInterface(server.id).securityGroupIds).toEqual([web]);
  });

  it('tags a group through CreateTags', async () => {
    const group = await createGroup('tagged');
    expectOk(await ec2('CreateTags', { 'ResourceId.1': group, 'Tag.1.Key': 'owner', 'Tag.1.Value': 'me' }), 'CreateTags');
    expect(emulator.model.getSecurityGroup(group).tags).toEqual({ owner: 'me' });
  });
});
