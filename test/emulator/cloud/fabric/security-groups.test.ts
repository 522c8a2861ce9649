import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudModel, type Instance, type SecurityGroup, type Subnet } from '../../../../emulator/cloud/model/cloud.ts';
import { ruleInput } from '../../../../emulator/cloud/model/security-limits.ts';
import type { RuleInput } from '../../../../emulator/cloud/model/security-types.ts';
import { VpcBox } from '../../../../emulator/cloud/fabric/index.ts';
import { namespaceNft } from '../../../../emulator/cloud/fabric/firewall.ts';
import { awsInstanceCatalog, type CloudName } from '../../../../providers/catalogs/catalog.ts';
import { buildWorld, inNode, requireHost, tcpProbe, tcpServer, type World } from './helpers.ts';
import { committed, echoServer, ping, tcpSession, udpProbe, udpServer, until } from './traffic.ts';

/**
 * Security groups enforced on real packets in the fabric: TCP, UDP and ICMP
 * between node namespaces, each cloud's semantics, statefulness, changes in
 * force within a second, memberships that follow addresses, and a refused
 * nft transaction that leaves the previous rules in force.
 */

const tcp = (port: number, remote: RuleInput['remote'], extra: Partial<RuleInput> = {}): RuleInput =>
  ruleInput({ direction: 'ingress', action: 'allow', protocol: 'tcp', ports: [{ from: port, to: port }], remote, ...extra });


const closers: Array<{ close(): void }> = [];
afterAll(() => {
  for (const closer of closers.splice(0)) closer.close();
});

describe('EC2 security groups in the fabric', () => {
  let w: World;
  let a: Instance;
  let b: Instance;
  let c: Instance;
  let web: SecurityGroup;
  const ipOf = (instance: Instance): string => w.model.getInterface(instance.primaryInterfaceId).primaryIp;

  beforeAll(async () => {
    requireHost();
    w = await buildWorld();
    a = await w.launch();
    b = await w.launch();
    web = w.model.createSecurityGroup(w.sg.vpcId, 'web');
    c = await w.model.launchInstance({ type: 'm5.large', subnetId: w.subnetB.id, securityGroupIds: [web.id] });
    await w.box.idle();
    for (const port of [8080, 8081, 9000]) closers.push(await tcpServer(w.box, c.id, '0.0.0.0', port));
    closers.push(await echoServer(w.box, c.id, '0.0.0.0', 9001));
    closers.push(await tcpServer(w.box, a.id, '0.0.0.0', 8080), await udpServer(w.box, c.id, '0.0.0.0', 5353));
  }, 60_000);

  afterAll(async () => {
    await w?.box.destroy();
  });

  it('lets nothing into a new group and drops (never refuses) what no rule allows; members of the node group reach each other', async () => {
    expect(await tcpProbe(w.box, a.id, { host: ipOf(c), port: 8080 })).toBe('timeout');
    expect(await udpProbe(w.box, a.id, ipOf(c), 5353)).toBe('timeout');
    expect(await ping(w.box, a.id, ipOf(c))).toBe('timeout');
    // c may send (a new group allows all egress) but a's group admits only its members.
    expect(await tcpProbe(w.box, c.id, { host: ipOf(a), port: 8080 })).toBe('timeout');
    expect(await tcpProbe(w.box, b.id, { host: ipOf(a), port: 8080 })).toBe('ok');
  });

  it('a rule naming a group lets exactly that flow in within a second, and its replies out although no rule allows them', async () => {
    w.model.security.addRules(web.id, [tcp(8080, [{ kind: 'group', groupId: w.sg.id }])]);
    expect(await committed(w.box)).toBeLessThanOrEqual(1000);
    await until(() => tcpProbe(w.box, a.id, { host: ipOf(c), port: 8080, timeoutMs: 300 }), 'ok', 3000);
    // The reply from c entered a's port: a's group admits only members, c is none; conntrack let it back.
    expect(await tcpProbe(w.box, b.id, { host: ipOf(c), port: 8080 })).toBe('ok');
    expect(await tcpProbe(w.box, a.id, { host: ipOf(c), port: 8081 })).toBe('timeout');
    expect(await udpProbe(w.box, a.id, ipOf(c), 5353)).toBe('timeout');
    expect(await tcpProbe(w.box, c.id, { host: ipOf(a), port: 8080 })).toBe('timeout');
  });

  it('ICMP by type and UDP by port, from one address', async () => {
    w.model.security.addRules(web.id, [
      ruleInput({ direction: 'ingress', action: 'allow', protocol: 'icmp', icmpType: 8, remote: [{ kind: 'cidr', cidr: `${ipOf(a)}/32` }] }),
      ruleInput({ direction: 'ingress', action: 'allow', protocol: 'udp', ports: [{ from: 5353, to: 5353 }], remote: [{ kind: 'cidr', cidr: `${ipOf(a)}/32` }] }),
    ]);
    await until(() => ping(w.box, a.id, ipOf(c), 300), 'ok', 3000);
    expect(await udpProbe(w.box, a.id, ipOf(c), 5353)).toBe('ok');
    expect(await ping(w.box, b.id, ipOf(c))).toBe('timeout');
    expect(await udpProbe(w.box, b.id, ipOf(c), 5353)).toBe('timeout');
  });

  it('a revoked rule stops new connections within a second; a tracked connection lives on', async () => {
    const [rule] = w.model.security.addRules(web.id, [tcp(9000, [{ kind: 'group', groupId: w.sg.id }], { ports: [{ from: 9000, to: 9001 }] })]);
    await until(() => tcpProbe(w.box, a.id, { host: ipOf(c), port: 9000, timeoutMs: 300 }), 'ok', 3000);
    const session = await tcpSession(w.box, a.id, ipOf(c), 9001);
    closers.push(session);
    expect(await session.exchange()).toBe('ok');
    w.model.security.removeRules(web.id, [rule?.id ?? '']);
    expect(await committed(w.box)).toBeLessThanOrEqual(1000);
    await until(() => tcpProbe(w.box, a.id, { host: ipOf(c), port: 9000, timeoutMs: 300 }), 'timeout', 3000);
    expect(await session.exchange()).toBe('ok');
  });

  it('a group-referenced rule follows membership: addresses assigned and released, interfaces joining the group', async () => {
    const eni = a.primaryInterfaceId;
    const { ips } = await w.model.assignAddresses(eni, { ipCount: 1 });
    const extra = ips[0] ?? '';
    await inNode(w.box, a.id, ['ip', 'addr', 'add', `${extra}/32`, 'dev', 'eth0']);
    expect(await committed(w.box)).toBeLessThanOrEqual(1000);
    await until(() => tcpProbe(w.box, a.id, { host: ipOf(c), port: 8080, localAddress: extra, timeoutMs: 300 }), 'ok', 3000);
    const members = async (): Promise<string> => (await w.box.execInFabric(['nft', 'list', 'ruleset'])).stdout;
    expect(await members()).toContain(extra);
    await w.model.releaseAddresses(eni, { ips: [extra], prefixes: [] });
    await w.box.idle();
    expect(await members()).not.toContain(extra);

    // c's port 8080 admits the node group: c joining it changes nothing for a, but an outsider's membership does.
    const outsiderGroup = w.model.createSecurityGroup(w.sg.vpcId, 'outsiders');
    const d = await w.model.launchInstance({ type: 'm5.large', subnetId: w.subnetA.id, securityGroupIds: [outsiderGroup.id] });
    await w.box.idle();
    expect(await tcpProbe(w.box, d.id, { host: ipOf(c), port: 8080 })).toBe('timeout');
    w.model.setSecurityGroups(d.primaryInterfaceId, [outsiderGroup.id, w.sg.id]);
    expect(await committed(w.box)).toBeLessThanOrEqual(1000);
    await until(() => tcpProbe(w.box, d.id, { host: ipOf(c), port: 8080, timeoutMs: 300 }), 'ok', 3000);
  });
});

describe('a refused nft transaction', () => {
  let w: World;
  let failNext = false;

  beforeAll(async () => {
    requireHost();
    w = await buildWorld({
      nft: (namespace) => {
        const real = namespaceNft(namespace);
        return (script) => {
          if (!failNext) return real(script);
          failNext = false;
          // Break it in the middle: nft has parsed half the commands when it meets the bad one.
          const lines = script.trimEnd().split('\n');
          lines.splice(Math.floor(lines.length / 2), 0, 'add rule ip vpcsg no_such_chain accept');
          return real(`${lines.join('\n')}\n`);
        };
      },
    });
  }, 60_000);

  afterAll(async () => {
    await w?.box.destroy();
  });

  it('leaves the previous rule set in force, is reported by the model, and the next change carries it', async () => {
    const a = await w.launch();
    const web = w.model.createSecurityGroup(w.sg.vpcId, 'web');
    const c = await w.model.launchInstance({ type: 'm5.large', subnetId: w.subnetA.id, securityGroupIds: [web.id] });
    await w.box.idle();
    closers.push(await tcpServer(w.box, c.id, '0.0.0.0', 8080));
    const cIp = w.model.getInterface(c.primaryInterfaceId).primaryIp;
    const ruleset = async (): Promise<string> => (await w.box.execInFabric(['nft', 'list', 'table', 'ip', 'vpcsg'])).stdout;
    const before = await ruleset();

    failNext = true;
    w.model.security.addRules(web.id, [tcp(8080, [{ kind: 'group', groupId: w.sg.id }]), tcp(8081, [{ kind: 'cidr', cidr: '10.0.0.0/16' }])]);
    await w.box.idle();
    expect(await ruleset()).toBe(before);
    expect(await tcpProbe(w.box, a.id, { host: cIp, port: 8080 })).toBe('timeout');
    const status = w.model.snapshot().firewall as { error: string | null };
    expect(status.error).toMatch(/nft refused the transaction.*no_such_chain|No such file or directory/s);

    w.model.security.addRules(web.id, [tcp(8082, [{ kind: 'cidr', cidr: '10.0.0.0/16' }])]);
    await w.box.idle();
    expect(await tcpProbe(w.box, a.id, { host: cIp, port: 8080 })).toBe('ok');
    expect(await ruleset()).toMatch(/dport 8081[\s\S]*dport 8082|dport 8082[\s\S]*dport 8081/);
    expect((w.model.snapshot().firewall as { error: string | null }).error).toBeNull();
  });
});

/** A VPC of another cloud's semantics with two nodes in one subnet. */
async function otherCloud(cloud: CloudName, groups: (model: CloudModel, vpcId: string) => string[]): Promise<{ model: CloudModel; box: VpcBox; subnet: Subnet; nodes: Instance[]; ip(i: Instance): string }> {
  const model = new CloudModel({ catalog: awsInstanceCatalog(), cloud });
  const vpc = model.createVpc('region-1', ['10.0.0.0/16']);
  const subnet = model.createSubnet(vpc.id, '10.0.1.0/24', 'zone-1');
  const box = new VpcBox({ model, onError: () => undefined });
  await box.create();
  const ids = groups(model, vpc.id);
  const nodes = [await model.launchInstance({ type: 'm5.large', subnetId: subnet.id, securityGroupIds: ids }), await model.launchInstance({ type: 'm5.large', subnetId: subnet.id, securityGroupIds: ids })];
  await box.idle();
  return { model, box, subnet, nodes, ip: (i) => model.getInterface(i.primaryInterfaceId).primaryIp };
}

describe('ARM network security groups in the fabric', () => {
  let env: Awaited<ReturnType<typeof otherCloud>>;
  let nicNsg = '';

  beforeAll(async () => {
    requireHost();
    env = await otherCloud('azure', (model, vpcId) => [(nicNsg = model.createSecurityGroup(vpcId, 'nic-nsg').id)]);
    closers.push(await tcpServer(env.box, env.nodes[1]?.id ?? '', '0.0.0.0', 8080));
  }, 60_000);

  afterAll(async () => {
    await env?.box.destroy();
  });

  const probe = (timeoutMs = 300): Promise<string> => tcpProbe(env.box, env.nodes[0]?.id ?? '', { host: env.ip(env.nodes[1] as Instance), port: 8080, timeoutMs });

  it('admits the virtual network by default; a deny at a lower number beats an allow at a higher one, and the order can be turned', async () => {
    expect(await probe(1000)).toBe('ok');
    const deny = tcp(8080, [{ kind: 'any' }], { id: 'deny-8080', action: 'deny', priority: 100 });
    const allow = tcp(8080, [{ kind: 'any' }], { id: 'allow-8080', action: 'allow', priority: 200 });
    env.model.security.replaceRules(nicNsg, [deny, allow]);
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => probe(), 'timeout', 3000);
    env.model.security.replaceRules(nicNsg, [{ ...deny, priority: 300 }, allow]);
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => probe(), 'ok', 3000);
  });

  it('evaluates the subnet NSG and the NIC NSG: both must allow inbound, both outbound', async () => {
    const subnetNsg = env.model.createSecurityGroup(env.subnet.vpcId, 'subnet-nsg').id;
    env.model.security.replaceRules(subnetNsg, [tcp(8080, [{ kind: 'any' }], { id: 'deny-in', action: 'deny', priority: 100 })]);
    env.model.setSubnetSecurityGroup(env.subnet.id, subnetNsg);
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => probe(), 'timeout', 3000);
    env.model.security.replaceRules(subnetNsg, [
      ruleInput({ id: 'deny-out', direction: 'egress', action: 'deny', priority: 100, protocol: 'tcp', ports: [{ from: 8080, to: 8080 }], remote: [{ kind: 'any' }] }),
    ]);
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => probe(), 'timeout', 3000);
    env.model.setSubnetSecurityGroup(env.subnet.id, null);
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => probe(), 'ok', 3000);
  });

  it('an application security group names exactly the addresses of the ipConfigurations in it', async () => {
    const asg = env.model.createSecurityGroup(env.subnet.vpcId, 'web', {}, { kind: 'asg' }).id;
    const target = env.nodes[1] as Instance;
    env.model.security.replaceRules(nicNsg, [
      ruleInput({ id: 'deny-to-web', direction: 'ingress', action: 'deny', priority: 100, protocol: 'tcp', ports: [{ from: 8080, to: 8080 }], remote: [{ kind: 'any' }], local: [{ kind: 'group', groupId: asg }] }),
    ]);
    await env.box.idle();
    expect(await probe(1000)).toBe('ok');
    env.model.setApplicationGroups(target.primaryInterfaceId, { [env.ip(target)]: [asg] });
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => probe(), 'timeout', 3000);
    env.model.setApplicationGroups(target.primaryInterfaceId, {});
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => probe(), 'ok', 3000);
  });
});

describe('ECS security groups in the fabric', () => {
  let env: Awaited<ReturnType<typeof otherCloud>>;
  let basic = '';

  beforeAll(async () => {
    requireHost();
    env = await otherCloud('alibaba', (model, vpcId) => [(basic = model.createSecurityGroup(vpcId, 'nodes').id)]);
    closers.push(await tcpServer(env.box, env.nodes[1]?.id ?? '', '0.0.0.0', 8080));
  }, 60_000);

  afterAll(async () => {
    await env?.box.destroy();
  });

  const probe = (timeoutMs = 300): Promise<string> => tcpProbe(env.box, env.nodes[0]?.id ?? '', { host: env.ip(env.nodes[1] as Instance), port: 8080, timeoutMs });

  it('a basic group admits its members; drop beats accept at the same priority, accept at a higher one wins', async () => {
    expect(await probe(1000)).toBe('ok');
    const [drop] = env.model.security.addRules(basic, [tcp(8080, [{ kind: 'cidr', cidr: '0.0.0.0/0' }], { action: 'deny', priority: 1 })]);
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => probe(), 'timeout', 3000);
    env.model.security.addRules(basic, [tcp(8080, [{ kind: 'cidr', cidr: '0.0.0.0/0' }], { action: 'allow', priority: 1 })]);
    await env.box.idle();
    expect(await probe()).toBe('timeout');
    env.model.security.removeRules(basic, [drop?.id ?? '']);
    env.model.security.addRules(basic, [tcp(8080, [{ kind: 'cidr', cidr: '0.0.0.0/0' }], { action: 'deny', priority: 2 })]);
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => probe(), 'ok', 3000);
  });

  it('isolating the members (InnerAccessPolicy Drop) and an enterprise group deny by default', async () => {
    const target = env.nodes[1] as Instance;
    const pinger = env.nodes[0] as Instance;
    await until(() => ping(env.box, pinger.id, env.ip(target), 300), 'ok', 3000);
    env.model.security.setInnerAccess(basic, 'drop');
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => ping(env.box, pinger.id, env.ip(target), 300), 'timeout', 3000);
    env.model.security.setInnerAccess(basic, 'accept');
    await until(() => ping(env.box, pinger.id, env.ip(target), 300), 'ok', 3000);
    const enterprise = env.model.createSecurityGroup(env.subnet.vpcId, 'locked', {}, { kind: 'enterprise' }).id;
    env.model.setSecurityGroups(target.primaryInterfaceId, [enterprise]);
    expect(await committed(env.box)).toBeLessThanOrEqual(1000);
    await until(() => ping(env.box, pinger.id, env.ip(target), 300), 'timeout', 3000);
  });
});
