import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emulatorAlibabaCredential } from '../../../../emulator/cluster/credentials.ts';
import { Emulator } from '../../../../emulator/cloud/emulator.ts';
import { allows, type Flow } from '../../../../emulator/cloud/model/firewall-evaluate.ts';
import { compileFirewall } from '../../../../emulator/cloud/model/firewall-plan.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';
import { ecs, openApi, teaUtil } from '../../../../providers/alibaba/sdk.ts';

/**
 * The ECS face's security groups: over raw HTTP (ECS's codes and HTTP
 * statuses for every refusal) and through @alicloud/ecs20140526, with the
 * semantics asserted on the model's compiled firewall: priority 1 first,
 * Drop over Accept at the same priority, basic groups' members reach each
 * other and everything goes out, advanced (enterprise) groups deny both,
 * group-referenced rules follow membership, the internal access policy.
 */

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  json: Json;
}

const region = 'cn-hangzhou';
const zone = 'cn-hangzhou-k';

let emulator: Emulator;
let url: string;
let topology: Topology;

beforeEach(async () => {
  emulator = new Emulator({ cloud: 'alibaba' });
  topology = await buildTopology(emulator.model, { nodes: 1, instanceType: 'ecs.g7.large', region, zone });
  ({ url } = await emulator.listen());
});

afterEach(async () => {
  await emulator.model.settled();
  await emulator.close();
});

/** ACS3 form, as the SDK sends it: POST /?<params>, the action in a header. */
async function call(action: string, params: Record<string, string | number> = {}): Promise<Answer> {
  const query = new URLSearchParams(Object.entries({ RegionId: region, ...params }).map(([k, v]) => [k, String(v)]));
  const res = await fetch(`${url}/?${query.toString()}`, { method: 'POST', headers: { 'x-acs-action': action, 'x-acs-version': '2014-05-26' } });
  return { status: res.status, json: (await res.json()) as Json };
}

async function ok(action: string, params: Record<string, string | number> = {}): Promise<Json> {
  const answer = await call(action, params);
  expect(answer.status, `${action}: ${JSON.stringify(answer.json)}`).toBe(200);
  return answer.json;
}

async function refused(action: string, params: Record<string, string | number>, code: string, status: number): Promise<string> {
  const answer = await call(action, params);
  expect({ status: answer.status, code: answer.json.Code }, JSON.stringify(answer.json)).toEqual({ status, code });
  expect(Object.keys(answer.json).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
  return String(answer.json.Message);
}

async function createGroup(type: 'normal' | 'enterprise' = 'normal', extra: Record<string, string> = {}): Promise<string> {
  const json = await ok('CreateSecurityGroup', { VpcId: topology.vpc.id, SecurityGroupType: type, ...extra });
  expect(json.SecurityGroupId).toMatch(/^sg-/);
  return String(json.SecurityGroupId);
}

async function createEni(...groups: string[]): Promise<{ id: string; ip: string }> {
  const params: Record<string, string> = { VSwitchId: topology.podSubnets[0]?.id ?? '' };
  groups.forEach((group, i) => (params[`SecurityGroupIds.${i + 1}`] = group));
  const json = await ok('CreateNetworkInterface', params);
  return { id: String(json.NetworkInterfaceId), ip: String(json.PrivateIpAddress) };
}

/** Whether a new flow gets through the firewall the model compiles. */
function passes(flow: Flow): boolean {
  return allows(compileFirewall(emulator.model.securityView()), flow);
}

const tcp = (from: { id: string; ip: string }, to: { id: string; ip: string }, dport: number): Flow => ({ src: from.ip, dst: to.ip, protocol: 'tcp', dport, from: from.id, to: to.id });
/** From outside the VPC's interfaces (no sending ENI), from `src`. */
const inbound = (src: string, to: { id: string; ip: string }, dport: number): Flow => ({ src, dst: to.ip, protocol: 'tcp', dport, to: to.id });

async function permissions(groupId: string, direction = 'all'): Promise<Json[]> {
  const json = await ok('DescribeSecurityGroupAttribute', { SecurityGroupId: groupId, Direction: direction });
  return (json.Permissions as { Permission: Json[] }).Permission;
}

function sdkClient(): InstanceType<typeof ecs.default> {
  return new ecs.default(new openApi.Config({ credential: emulatorAlibabaCredential(), endpoint: new URL(url).host, protocol: 'http', regionId: region }));
}
const runtime = (): InstanceType<typeof teaUtil.RuntimeOptions> => new teaUtil.RuntimeOptions({ autoretry: false, maxAttempts: 1 });

describe('ECS face: security groups', () => {
  it('creates basic (normal) and advanced (enterprise) groups and describes them with their type', async () => {
    const basic = await createGroup('normal', { SecurityGroupName: 'web', Description: 'web servers', 'Tag.1.Key': 'team', 'Tag.1.Value': 'a' });
    const advanced = await createGroup('enterprise');
    expect(emulator.model.getSecurityGroup(basic).kind).toBe('basic');
    expect(emulator.model.getSecurityGroup(advanced).kind).toBe('enterprise');
    const listed = await ok('DescribeSecurityGroups', { VpcId: topology.vpc.id, SecurityGroupType: 'enterprise' });
    expect((listed.SecurityGroups as { SecurityGroup: Json[] }).SecurityGroup.map((group) => group.SecurityGroupId)).toEqual([advanced]);
    const one = await ok('DescribeSecurityGroups', { SecurityGroupId: basic });
    expect((one.SecurityGroups as { SecurityGroup: Json[] }).SecurityGroup[0]).toMatchObject({
      SecurityGroupName: 'web',
      SecurityGroupType: 'normal',
      Description: 'web servers',
      VpcId: topology.vpc.id,
      RuleCount: 0,
      Tags: { Tag: [{ TagKey: 'team', TagValue: 'a' }] },
    });
    expect(await ok('DescribeSecurityGroupAttribute', { SecurityGroupId: advanced })).toMatchObject({ SecurityGroupId: advanced, VpcId: topology.vpc.id, InnerAccessPolicy: 'Drop', Permissions: { Permission: [] } });
    expect(await ok('DescribeSecurityGroupAttribute', { SecurityGroupId: basic })).toMatchObject({ InnerAccessPolicy: 'Accept' });
  });

  it('refuses bad CreateSecurityGroup input with ECS codes', async () => {
    await refused('CreateSecurityGroup', {}, 'InvalidVpcId.NotFound', 403);
    await refused('CreateSecurityGroup', { VpcId: 'vpc-doesnotexist' }, 'InvalidVpcId.NotFound', 404);
    await refused('CreateSecurityGroup', { VpcId: topology.vpc.id, SecurityGroupName: '1abc' }, 'InvalidSecurityGroupName.Malformed', 400);
    await refused('CreateSecurityGroup', { VpcId: topology.vpc.id, SecurityGroupName: 'http://x' }, 'InvalidSecurityGroupName.Malformed', 400);
    await refused('CreateSecurityGroup', { VpcId: topology.vpc.id, Description: 'https://example.com' }, 'InvalidDescription.Malformed', 400);
    await refused('CreateSecurityGroup', { VpcId: topology.vpc.id, SecurityGroupType: 'advanced' }, 'InvalidParameter', 400);
    await refused('CreateSecurityGroup', { VpcId: topology.vpc.id, 'Tag.1.Key': 'acs:x' }, 'InvalidTagKey.Malformed', 400);
  });

  it('lets a basic group\'s members reach each other and everything out; an enterprise group denies both', async () => {
    const basic = await createGroup('normal');
    const [a, b] = [await createEni(basic), await createEni(basic)];
    expect(passes(tcp(a, b, 22))).toBe(true);
    expect(passes(inbound('192.0.2.1', b, 22))).toBe(false);
    expect(passes({ src: a.ip, dst: '192.0.2.1', protocol: 'udp', dport: 53, from: a.id })).toBe(true);

    const advanced = await createGroup('enterprise');
    const [c, d] = [await createEni(advanced), await createEni(advanced)];
    expect(passes(tcp(c, d, 22))).toBe(false);
    expect(passes({ src: c.ip, dst: '192.0.2.1', protocol: 'udp', dport: 53, from: c.id })).toBe(false);
    // An egress Accept opens the way out; an ingress Accept from the peer's address lets it in.
    await ok('AuthorizeSecurityGroupEgress', { SecurityGroupId: advanced, IpProtocol: 'ALL', PortRange: '-1/-1', DestCidrIp: '0.0.0.0/0' });
    await ok('AuthorizeSecurityGroup', { SecurityGroupId: advanced, IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: c.ip });
    expect(passes(tcp(c, d, 22))).toBe(true);
    expect(passes(tcp(d, c, 22))).toBe(false);
  });

  it('evaluates priority 1 first and Drop before Accept at the same priority', async () => {
    const group = await createGroup();
    const target = await createEni(group);
    const from = '10.0.5.5';
    await ok('AuthorizeSecurityGroup', { SecurityGroupId: group, Policy: 'accept', Priority: 2, IpProtocol: 'tcp', PortRange: '80/80', SourceCidrIp: '0.0.0.0/0' });
    expect(passes(inbound(from, target, 80))).toBe(true);
    expect(passes(inbound(from, target, 81))).toBe(false);
    await ok('AuthorizeSecurityGroup', { SecurityGroupId: group, Policy: 'Drop', Priority: 1, IpProtocol: 'TCP', PortRange: '80/80', SourceCidrIp: '10.0.0.0/8' });
    expect(passes(inbound(from, target, 80))).toBe(false);
    expect(passes(inbound('192.0.2.9', target, 80))).toBe(true);
    // Accept at priority 1 too: the Drop still wins.
    await ok('AuthorizeSecurityGroup', { SecurityGroupId: group, Policy: 'Accept', Priority: 1, IpProtocol: 'TCP', PortRange: '80/80', SourceCidrIp: '10.0.5.0/24' });
    expect(passes(inbound(from, target, 80))).toBe(false);
    // Revoked by its fields, the Drop no longer stands in the way.
    await ok('RevokeSecurityGroup', { SecurityGroupId: group, Policy: 'drop', Priority: 1, IpProtocol: 'tcp', PortRange: '80/80', SourceCidrIp: '10.0.0.0/8' });
    expect(passes(inbound(from, target, 80))).toBe(true);
    expect((await permissions(group)).map((rule) => [rule.Policy, rule.Priority, rule.SourceCidrIp])).toEqual([
      ['Accept', '2', '0.0.0.0/0'],
      ['Accept', '1', '10.0.5.0/24'],
    ]);
  });

  it('follows membership with a group-referenced rule as ENIs join and leave', async () => {
    const [clients, db, other] = [await createGroup(), await createGroup(), await createGroup()];
    await ok('AuthorizeSecurityGroup', { SecurityGroupId: db, IpProtocol: 'TCP', PortRange: '5432/5432', SourceGroupId: clients });
    const server = await createEni(db);
    const client = await createEni(other);
    expect(passes(tcp(client, server, 5432))).toBe(false);
    await ok('JoinSecurityGroup', { SecurityGroupId: clients, NetworkInterfaceId: client.id });
    expect(emulator.model.getInterface(client.id).securityGroupIds).toEqual([other, clients]);
    expect(passes(tcp(client, server, 5432))).toBe(true);
    expect(passes(tcp(client, server, 5433))).toBe(false);
    await ok('LeaveSecurityGroup', { SecurityGroupId: clients, NetworkInterfaceId: client.id });
    expect(passes(tcp(client, server, 5432))).toBe(false);
    const [rule] = await permissions(db, 'ingress');
    expect(rule).toMatchObject({ Direction: 'ingress', SourceGroupId: clients, SourceCidrIp: '', IpProtocol: 'TCP', PortRange: '5432/5432', Policy: 'Accept', Priority: '1', NicType: 'intranet' });
    expect(rule?.SecurityGroupRuleId).toMatch(/^sgr-/);
    // A group another group's rule names cannot go.
    await refused('DeleteSecurityGroup', { SecurityGroupId: clients }, 'DependencyViolation', 403);
  });

  it('isolates a basic group\'s members with ModifySecurityGroupPolicy Drop, and restores them with Accept', async () => {
    const group = await createGroup();
    const [a, b] = [await createEni(group), await createEni(group)];
    expect(passes(tcp(a, b, 8080))).toBe(true);
    await ok('ModifySecurityGroupPolicy', { SecurityGroupId: group, InnerAccessPolicy: 'Drop' });
    expect(passes(tcp(a, b, 8080))).toBe(false);
    expect((await ok('DescribeSecurityGroupAttribute', { SecurityGroupId: group })).InnerAccessPolicy).toBe('Drop');
    await ok('ModifySecurityGroupPolicy', { SecurityGroupId: group, InnerAccessPolicy: 'accept' });
    expect(passes(tcp(a, b, 8080))).toBe(true);
    await refused('ModifySecurityGroupPolicy', { SecurityGroupId: group, InnerAccessPolicy: 'Allow' }, 'InvalidPolicy.Malformed', 400);
    await refused('ModifySecurityGroupPolicy', { SecurityGroupId: await createGroup('enterprise'), InnerAccessPolicy: 'Accept' }, 'InvalidParameter', 400);
    await refused('ModifySecurityGroupPolicy', { SecurityGroupId: 'sg-doesnotexist', InnerAccessPolicy: 'Accept' }, 'InvalidSecurityGroupId.NotFound', 404);
  });

  it('takes the Permissions.N form, adds nothing for a rule that exists, and revokes by SecurityGroupRuleId.N', async () => {
    const group = await createGroup();
    const permissionsForm = {
      SecurityGroupId: group,
      'Permissions.1.IpProtocol': 'UDP',
      'Permissions.1.PortRange': '53/53',
      'Permissions.1.SourceCidrIp': '10.0.0.0/16',
      'Permissions.1.Description': 'dns',
      'Permissions.2.IpProtocol': 'ICMP',
      'Permissions.2.PortRange': '-1/-1',
      'Permissions.2.SourceCidrIp': '10.0.0.7',
      'Permissions.2.DestCidrIp': '10.0.16.0/20',
    };
    await ok('AuthorizeSecurityGroup', permissionsForm);
    await ok('AuthorizeSecurityGroup', permissionsForm);
    const rules = await permissions(group);
    expect(rules.map((rule) => [rule.IpProtocol, rule.PortRange, rule.SourceCidrIp, rule.DestCidrIp, rule.Description])).toEqual([
      ['UDP', '53/53', '10.0.0.0/16', '', 'dns'],
      ['ICMP', '-1/-1', '10.0.0.7/32', '10.0.16.0/20', ''],
    ]);
    await ok('AuthorizeSecurityGroupEgress', { SecurityGroupId: group, Policy: 'drop', IpProtocol: 'tcp', PortRange: '25/25', DestCidrIp: '0.0.0.0/0' });
    const egress = await permissions(group, 'egress');
    expect(egress.map((rule) => [rule.Direction, rule.Policy, rule.DestCidrIp])).toEqual([['egress', 'Drop', '0.0.0.0/0']]);
    // An ingress rule's id is not an egress rule, and an unknown id is refused.
    await refused('RevokeSecurityGroupEgress', { SecurityGroupId: group, 'SecurityGroupRuleId.1': String(rules[0]?.SecurityGroupRuleId) }, 'InvalidSecurityGroupRuleId.NotFound', 404);
    await refused('RevokeSecurityGroup', { SecurityGroupId: group, 'SecurityGroupRuleId.1': 'sgr-doesnotexist' }, 'InvalidSecurityGroupRuleId.NotFound', 404);
    await ok('RevokeSecurityGroup', { SecurityGroupId: group, 'SecurityGroupRuleId.1': String(rules[0]?.SecurityGroupRuleId), 'SecurityGroupRuleId.2': String(rules[1]?.SecurityGroupRuleId) });
    // A rule that matches nothing is revoked without complaint.
    await ok('RevokeSecurityGroupEgress', { SecurityGroupId: group, IpProtocol: 'tcp', PortRange: '26/26', DestCidrIp: '0.0.0.0/0' });
    await ok('RevokeSecurityGroupEgress', { SecurityGroupId: group, Policy: 'drop', IpProtocol: 'tcp', PortRange: '25/25', DestCidrIp: '0.0.0.0/0' });
    expect(await permissions(group)).toEqual([]);
  });

  it('refuses the 201st rule of a group with AuthorizationLimitExceed, all or nothing', async () => {
    const group = await createGroup();
    const batch = (first: number, count: number): Record<string, string> => {
      const params: Record<string, string> = { SecurityGroupId: group };
      for (let i = 0; i < count; i++) {
        params[`Permissions.${i + 1}.IpProtocol`] = 'TCP';
        params[`Permissions.${i + 1}.PortRange`] = `${first + i}/${first + i}`;
        params[`Permissions.${i + 1}.SourceCidrIp`] = '10.0.0.0/8';
      }
      return params;
    };
    await ok('AuthorizeSecurityGroup', batch(1000, 100));
    await ok('AuthorizeSecurityGroupEgress', { SecurityGroupId: group, IpProtocol: 'ALL', PortRange: '-1/-1', DestCidrIp: '10.0.0.0/8' });
    await refused('AuthorizeSecurityGroup', batch(2000, 100), 'AuthorizationLimitExceed', 403);
    expect(emulator.model.getSecurityGroup(group).rules).toHaveLength(101);
    await ok('AuthorizeSecurityGroup', batch(2000, 99));
    await refused('AuthorizeSecurityGroupEgress', { SecurityGroupId: group, IpProtocol: 'ALL', PortRange: '-1/-1', DestCidrIp: '10.1.0.0/16' }, 'AuthorizationLimitExceed', 403);
  });

  it('refuses malformed and forbidden rules with ECS codes', async () => {
    const group = await createGroup();
    const advanced = await createGroup('enterprise');
    const otherVpc = emulator.model.createVpc(region, ['10.9.0.0/16']);
    const foreign = String((await ok('CreateSecurityGroup', { VpcId: otherVpc.id })).SecurityGroupId);
    const base = { SecurityGroupId: group, IpProtocol: 'TCP', PortRange: '80/80', SourceCidrIp: '10.0.0.0/8' };
    const cases: Array<[string, Record<string, string | number>, string, number]> = [
      ['AuthorizeSecurityGroup', { ...base, IpProtocol: 'GRE', PortRange: '-1/-1' }, 'InvalidIpProtocol.ValueNotSupported', 400],
      ['AuthorizeSecurityGroup', { ...base, IpProtocol: 'SCTP' }, 'InvalidIpProtocol.ValueNotSupported', 400],
      ['AuthorizeSecurityGroup', { SecurityGroupId: group, PortRange: '80/80', SourceCidrIp: '10.0.0.0/8' }, 'MissingParameter', 400],
      ['AuthorizeSecurityGroup', { ...base, Priority: 0 }, 'InvalidPriority.ValueNotSupported', 400],
      ['AuthorizeSecurityGroup', { ...base, Priority: 101 }, 'InvalidPriority.ValueNotSupported', 400],
      ['AuthorizeSecurityGroup', { ...base, Priority: 'high' }, 'InvalidPriority.Malformed', 400],
      ['AuthorizeSecurityGroup', { ...base, Policy: 'allow' }, 'InvalidPolicy.Malformed', 400],
      ['AuthorizeSecurityGroup', { ...base, PortRange: '80' }, 'InvalidParam.PortRange', 400],
      ['AuthorizeSecurityGroup', { ...base, PortRange: '90/80' }, 'InvalidParam.PortRange', 400],
      ['AuthorizeSecurityGroup', { ...base, PortRange: '-1/-1' }, 'InvalidParam.ProtocolAndPortRangeMismatch', 400],
      ['AuthorizeSecurityGroup', { ...base, IpProtocol: 'ICMP', PortRange: '1/2' }, 'InvalidParam.ProtocolAndPortRangeMismatch', 400],
      ['AuthorizeSecurityGroup', { ...base, SourcePortRange: '1-2' }, 'InvalidSourcePortRange.Malformed', 400],
      ['AuthorizeSecurityGroup', { ...base, SourceCidrIp: '10.0.0.0/33' }, 'InvalidSourceCidrIp.Malformed', 400],
      ['AuthorizeSecurityGroup', { ...base, DestCidrIp: 'nowhere' }, 'InvalidDestCidrIp.Malformed', 400],
      ['AuthorizeSecurityGroup', { ...base, DestCidrIp: '10.0.0.0/8' }, 'InvalidParamter.Conflict', 400],
      ['AuthorizeSecurityGroup', { SecurityGroupId: group, IpProtocol: 'TCP', PortRange: '80/80' }, 'MissingParameter.Source', 400],
      ['AuthorizeSecurityGroupEgress', { SecurityGroupId: group, IpProtocol: 'TCP', PortRange: '80/80' }, 'MissingParameter.Dest', 400],
      ['AuthorizeSecurityGroup', { ...base, SourceCidrIp: '', SourceGroupId: 'sg-doesnotexist' }, 'InvalidSourceGroupId.NotFound', 404],
      ['AuthorizeSecurityGroupEgress', { SecurityGroupId: group, IpProtocol: 'TCP', PortRange: '80/80', DestGroupId: 'sg-doesnotexist' }, 'InvalidDestGroupId.NotFound', 404],
      ['AuthorizeSecurityGroup', { ...base, SourceCidrIp: '', SourceGroupId: foreign }, 'InvalidSourceGroupId.Mismatch', 400],
      ['AuthorizeSecurityGroupEgress', { SecurityGroupId: group, IpProtocol: 'TCP', PortRange: '80/80', DestGroupId: foreign }, 'InvalidDestGroupId.Mismatch', 400],
      ['AuthorizeSecurityGroup', { ...base, SourceCidrIp: '', SourceGroupId: group }, 'InvalidParamter.Conflict', 403],
      ['AuthorizeSecurityGroupEgress', { SecurityGroupId: group, IpProtocol: 'TCP', PortRange: '80/80', DestGroupId: group }, 'InvalidSecurityGroup.IsSame', 403],
      // Advanced groups neither authorize a group nor are authorized.
      ['AuthorizeSecurityGroup', { ...base, SecurityGroupId: advanced, SourceCidrIp: '', SourceGroupId: await createGroup('enterprise') }, 'InvalidParameter', 400],
      ['AuthorizeSecurityGroup', { ...base, SourceCidrIp: '', SourceGroupId: advanced }, 'InvalidParameter', 400],
      ['AuthorizeSecurityGroup', { ...base, NicType: 'internet' }, 'InvalidNicType.ValueNotSupported', 400],
      ['AuthorizeSecurityGroup', { ...base, Ipv6SourceCidrIp: '2001:db8::/32' }, 'UnsupportedParameter', 400],
      ['AuthorizeSecurityGroup', { ...base, 'Permissions.1.IpProtocol': 'TCP' }, 'InvalidParameter', 400],
      ['AuthorizeSecurityGroup', { SecurityGroupId: group, 'Permissions.1.IpProtocol': 'TCP', 'Permissions.3.IpProtocol': 'TCP' }, 'InvalidParameter', 400],
      ['AuthorizeSecurityGroup', { ...base, Description: 'x'.repeat(513) }, 'InvalidSecurityGroupDiscription.Malformed', 400],
      ['AuthorizeSecurityGroup', { ...base, SecurityGroupId: 'sg-doesnotexist' }, 'InvalidSecurityGroupId.NotFound', 404],
      ['AuthorizeSecurityGroup', { ...base, RegionId: 'cn-beijing' }, 'InvalidSecurityGroupId.NotFound', 404],
      ['RevokeSecurityGroup', { ...base, 'SecurityGroupRuleId.1': 'sgr-1' }, 'InvalidParameter', 400],
      ['DescribeSecurityGroupAttribute', { SecurityGroupId: group, Direction: 'inbound' }, 'InvalidParameter', 400],
      ['DeleteSecurityGroup', { SecurityGroupId: 'sg-doesnotexist' }, 'InvalidSecurityGroupId.NotFound', 404],
    ];
    for (const [action, params, code, status] of cases) {
      const answer = await call(action, params);
      expect({ action, params, status: answer.status, code: answer.json.Code }, JSON.stringify(answer.json)).toEqual({ action, params, status, code });
    }
    expect(emulator.model.getSecurityGroup(group).rules).toEqual([]);
  });

  it('keeps an ENI in 1 to 5 groups of one type through Join, Leave and ModifyNetworkInterfaceAttribute', async () => {
    const groups = [await createGroup(), await createGroup(), await createGroup(), await createGroup(), await createGroup(), await createGroup()];
    const advanced = await createGroup('enterprise');
    const nic = await createEni(topology.securityGroup.id);
    for (const group of groups.slice(0, 4)) await ok('JoinSecurityGroup', { SecurityGroupId: group, NetworkInterfaceId: nic.id });
    expect(emulator.model.getInterface(nic.id).securityGroupIds).toHaveLength(5);
    await refused('JoinSecurityGroup', { SecurityGroupId: String(groups[5]), NetworkInterfaceId: nic.id }, 'InstanceSecurityGroupLimitExceeded', 403);
    await refused('JoinSecurityGroup', { SecurityGroupId: String(groups[0]), NetworkInterfaceId: nic.id }, 'InvalidInstanceId.AlreadyExists', 403);
    await refused('JoinSecurityGroup', { SecurityGroupId: 'sg-doesnotexist', NetworkInterfaceId: nic.id }, 'InvalidSecurityGroupId.NotFound', 404);
    await refused('JoinSecurityGroup', { SecurityGroupId: String(groups[0]), NetworkInterfaceId: 'eni-doesnotexist' }, 'InvalidEniId.NotFound', 404);
    await refused('JoinSecurityGroup', { SecurityGroupId: String(groups[0]), NetworkInterfaceId: nic.id, InstanceId: topology.instances[0]?.id ?? '' }, 'InvalidParameter', 400);
    await refused('LeaveSecurityGroup', { SecurityGroupId: String(groups[5]), NetworkInterfaceId: nic.id }, 'InstanceNotInSecurityGroup', 403);

    // ModifyNetworkInterfaceAttribute replaces the set: quota and type mixing come through it too.
    const six = Object.fromEntries(groups.map((group, i) => [`SecurityGroupId.${i + 1}`, group]));
    await refused('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: nic.id, ...six }, 'InstanceSecurityGroupLimitExceeded', 403);
    await refused('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: nic.id, 'SecurityGroupId.1': String(groups[0]), 'SecurityGroupId.2': advanced }, 'EnterpriseGroupLimited.MutliGroupType', 403);
    await ok('ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: nic.id, 'SecurityGroupId.1': String(groups[5]) });
    const described = await ok('DescribeNetworkInterfaceAttribute', { NetworkInterfaceId: nic.id });
    expect(described.SecurityGroupIds).toEqual({ SecurityGroupId: [groups[5]] });
    await refused('LeaveSecurityGroup', { SecurityGroupId: String(groups[5]), NetworkInterfaceId: nic.id }, 'InstanceLastSecurityGroup', 403);
    await refused('JoinSecurityGroup', { SecurityGroupId: advanced, NetworkInterfaceId: nic.id }, 'EnterpriseGroupLimited.MutliGroupType', 403);
    await refused('CreateNetworkInterface', { VSwitchId: topology.podSubnets[0]?.id ?? '', 'SecurityGroupIds.1': String(groups[0]), 'SecurityGroupIds.2': advanced }, 'EnterpriseGroupLimited.MutliGroupType', 403);

    // The instance's primary ENI by InstanceId.
    const instance = topology.instances[0];
    await ok('JoinSecurityGroup', { SecurityGroupId: String(groups[1]), InstanceId: instance?.id ?? '' });
    expect(emulator.model.getInterface(instance?.primaryInterfaceId ?? '').securityGroupIds).toContain(groups[1]);
  });

  it('refuses to delete a group while an ENI is in it, and deletes it after', async () => {
    const group = await createGroup();
    const nic = await createEni(group, topology.securityGroup.id);
    await refused('DeleteSecurityGroup', { SecurityGroupId: group }, 'DependencyViolation', 403);
    await ok('LeaveSecurityGroup', { SecurityGroupId: group, NetworkInterfaceId: nic.id });
    await ok('DeleteSecurityGroup', { SecurityGroupId: group });
    await refused('DescribeSecurityGroupAttribute', { SecurityGroupId: group }, 'InvalidSecurityGroupId.NotFound', 404);
  });
});

describe('ECS face: security groups through @alicloud/ecs20140526', () => {
  it('creates, authorizes (Permissions), describes, joins, revokes by id and deletes through the SDK', async () => {
    const client = sdkClient();
    const created = await client.createSecurityGroupWithOptions(new ecs.CreateSecurityGroupRequest({ regionId: region, vpcId: topology.vpc.id, securityGroupName: 'sdk-db', securityGroupType: 'normal' }), runtime());
    const dbGroup = created.body?.securityGroupId ?? '';
    const clients = (await client.createSecurityGroupWithOptions(new ecs.CreateSecurityGroupRequest({ regionId: region, vpcId: topology.vpc.id }), runtime())).body?.securityGroupId ?? '';
    await client.authorizeSecurityGroupWithOptions(
      new ecs.AuthorizeSecurityGroupRequest({
        regionId: region,
        securityGroupId: dbGroup,
        permissions: [
          new ecs.AuthorizeSecurityGroupRequestPermissions({ ipProtocol: 'TCP', portRange: '5432/5432', sourceGroupId: clients, priority: '2' }),
          new ecs.AuthorizeSecurityGroupRequestPermissions({ ipProtocol: 'TCP', portRange: '5432/5432', sourceCidrIp: '10.0.0.0/8', policy: 'drop', priority: '3' }),
        ],
      }),
      runtime(),
    );
    const server = await createEni(dbGroup);
    const client1 = await createEni(topology.securityGroup.id);
    expect(passes(tcp(client1, server, 5432))).toBe(false);
    await client.joinSecurityGroupWithOptions(new ecs.JoinSecurityGroupRequest({ regionId: region, securityGroupId: clients, networkInterfaceId: client1.id }), runtime());
    expect(passes(tcp(client1, server, 5432))).toBe(true);

    const attribute = await client.describeSecurityGroupAttributeWithOptions(new ecs.DescribeSecurityGroupAttributeRequest({ regionId: region, securityGroupId: dbGroup }), runtime());
    expect(attribute.body?.innerAccessPolicy).toBe('Accept');
    const rules = attribute.body?.permissions?.permission ?? [];
    expect(rules.map((rule) => [rule.policy, rule.priority, rule.sourceGroupId, rule.sourceCidrIp])).toEqual([
      ['Accept', '2', clients, ''],
      ['Drop', '3', '', '10.0.0.0/8'],
    ]);
    // The Accept at priority 2 goes: the Drop at 3 now decides.
    await client.revokeSecurityGroupWithOptions(new ecs.RevokeSecurityGroupRequest({ regionId: region, securityGroupId: dbGroup, securityGroupRuleId: [rules[0]?.securityGroupRuleId ?? ''] }), runtime());
    expect(passes(tcp(client1, server, 5432))).toBe(false);

    await client.modifyNetworkInterfaceAttributeWithOptions(new ecs.ModifyNetworkInterfaceAttributeRequest({ regionId: region, networkInterfaceId: client1.id, securityGroupId: [clients] }), runtime());
    expect(emulator.model.getInterface(client1.id).securityGroupIds).toEqual([clients]);

    const listed = await client.describeSecurityGroupsWithOptions(new ecs.DescribeSecurityGroupsRequest({ regionId: region, securityGroupId: dbGroup }), runtime());
    expect(listed.body?.securityGroups?.securityGroup?.[0]).toMatchObject({ securityGroupName: 'sdk-db', securityGroupType: 'normal', ruleCount: 1 });

    // Refusals reach the SDK with ECS's code.
    const inUse = await client.deleteSecurityGroupWithOptions(new ecs.DeleteSecurityGroupRequest({ regionId: region, securityGroupId: dbGroup }), runtime()).catch((err: unknown) => err);
    expect(inUse).toMatchObject({ code: 'DependencyViolation', statusCode: 403 });
    const gre = await client
      .authorizeSecurityGroupEgressWithOptions(
        new ecs.AuthorizeSecurityGroupEgressRequest({ regionId: region, securityGroupId: dbGroup, permissions: [new ecs.AuthorizeSecurityGroupEgressRequestPermissions({ ipProtocol: 'GRE', portRange: '-1/-1', destCidrIp: '0.0.0.0/0' })] }),
        runtime(),
      )
      .catch((err: unknown) => err);
    expect(gre).toMatchObject({ code: 'InvalidIpProtocol.ValueNotSupported', statusCode: 400 });
    const last = await client.leaveSecurityGroupWithOptions(new ecs.LeaveSecurityGroupRequest({ regionId: region, securityGroupId: clients, networkInterfaceId: client1.id }), runtime()).catch((err: unknown) => err);
    expect(last).toMatchObject({ code: 'InstanceLastSecurityGroup', statusCode: 403 });
    await client.modifySecurityGroupPolicyWithOptions(new ecs.ModifySecurityGroupPolicyRequest({ regionId: region, securityGroupId: dbGroup, innerAccessPolicy: 'Drop' }), runtime());
    expect(emulator.model.getSecurityGroup(dbGroup).innerAccess).toBe('drop');
  });
});
