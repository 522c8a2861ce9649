import { describe, expect, it } from 'vitest';
import { CloudModel } from '../../../../emulator/cloud/model/cloud.ts';
import { compileFirewall, planName } from '../../../../emulator/cloud/model/firewall-plan.ts';
import { allows } from '../../../../emulator/cloud/model/firewall-evaluate.ts';
import { ruleInput } from '../../../../emulator/cloud/model/security-limits.ts';
import { transition } from '../../../../emulator/cloud/fabric/firewall-script.ts';
import { awsInstanceCatalog } from '../../../../providers/catalogs/catalog.ts';

/** The compiled plan and its nft transactions, without namespaces (the fabric tests send the packets). */
describe('firewall plan', () => {
  const world = (cloud: 'aws' | 'azure' | 'alibaba') => {
    const model = new CloudModel({ catalog: awsInstanceCatalog(), cloud });
    const vpc = model.createVpc('r', ['10.0.0.0/16']);
    const subnet = model.createSubnet(vpc.id, '10.0.1.0/24', 'z');
    return { model, vpc, subnet };
  };

  it('EC2: groups are a union; a group source follows members; the default group admits itself', () => {
    const { model, vpc, subnet } = world('aws');
    const web = model.createSecurityGroup(vpc.id, 'web');
    const db = model.createSecurityGroup(vpc.id, 'db');
    const def = model.defaultSecurityGroup(vpc.id);
    const webNic = model.createInterface({ subnetId: subnet.id, securityGroupIds: [web.id] });
    const dbNic = model.createInterface({ subnetId: subnet.id, securityGroupIds: [db.id, def?.id ?? ''] });
    const flow = { src: webNic.primaryIp, dst: dbNic.primaryIp, protocol: 'tcp' as const, dport: 5432, from: webNic.id, to: dbNic.id };
    expect(allows(compileFirewall(model.securityView()), flow)).toBe(false);
    model.security.addRules(db.id, [ruleInput({ direction: 'ingress', action: 'allow', protocol: 'tcp', ports: [{ from: 5432, to: 5432 }], remote: [{ kind: 'group', groupId: web.id }] })]);
    // The state endpoint shows who is in each group.
    expect(model.snapshot().securityGroupMembers).toMatchObject({ [web.id]: [webNic.primaryIp], [db.id]: [dbNic.primaryIp] });
    expect(allows(compileFirewall(model.securityView()), flow)).toBe(true);
    expect(allows(compileFirewall(model.securityView()), { ...flow, dport: 5433 })).toBe(false);
    // The default group admits its members on any port.
    model.setSecurityGroups(webNic.id, [web.id, def?.id ?? '']);
    expect(allows(compileFirewall(model.securityView()), { ...flow, dport: 5433 })).toBe(true);
    // Egress: revoking a new group's allow-all stops the sender.
    const egress = model.getSecurityGroup(web.id).rules.filter((rule) => rule.direction === 'egress').map((rule) => rule.id);
    model.security.removeRules(web.id, egress);
    const defEgress = model.getSecurityGroup(def?.id ?? '').rules.filter((rule) => rule.direction === 'egress').map((rule) => rule.id);
    model.security.removeRules(def?.id ?? '', defEgress);
    expect(allows(compileFirewall(model.securityView()), flow)).toBe(false);
  });

  it('ECS: drop beats accept at one priority; an ENI may not mix basic and enterprise groups; quotas refuse', () => {
    const { model, vpc, subnet } = world('alibaba');
    const g = model.createSecurityGroup(vpc.id, 'g');
    const a = model.createInterface({ subnetId: subnet.id, securityGroupIds: [g.id] });
    const b = model.createInterface({ subnetId: subnet.id, securityGroupIds: [g.id] });
    const flow = { src: a.primaryIp, dst: b.primaryIp, protocol: 'tcp' as const, dport: 80, from: a.id, to: b.id };
    expect(allows(compileFirewall(model.securityView()), flow)).toBe(true);
    const rule = (action: 'allow' | 'deny', priority: number) => ruleInput({ direction: 'ingress', action, priority, protocol: 'tcp', ports: [{ from: 80, to: 80 }], remote: [{ kind: 'cidr', cidr: '10.0.0.0/8' }] });
    model.security.addRules(g.id, [rule('allow', 1), rule('deny', 1)]);
    expect(allows(compileFirewall(model.securityView()), flow)).toBe(false);
    const enterprise = model.createSecurityGroup(vpc.id, 'e', {}, { kind: 'enterprise' });
    expect(() => model.setSecurityGroups(a.id, [g.id, enterprise.id])).toThrow(/basic and enterprise/);
    expect(() => model.security.addRules(g.id, [rule('allow', 1)])).toThrow(expect.objectContaining({ code: 'DuplicateRule' }));
    const many = Array.from({ length: 11 }, (_, i) => model.createSecurityGroup(vpc.id, `x${i}`).id);
    expect(() => model.setSecurityGroups(a.id, many)).toThrow(expect.objectContaining({ code: 'GroupLimitExceeded' }));
  });

  it('ARM: Internet is everything outside the virtual network; a NIC without any NSG is open', () => {
    const { model, vpc, subnet } = world('azure');
    const nsg = model.createSecurityGroup(vpc.id, 'nsg');
    const open = model.createInterface({ subnetId: subnet.id, securityGroupIds: [], securityGroupsOptional: true });
    const guarded = model.createInterface({ subnetId: subnet.id, securityGroupIds: [nsg.id] });
    const plan = compileFirewall(model.securityView());
    expect(allows(plan, { src: '203.0.113.9', dst: open.primaryIp, protocol: 'tcp', dport: 22, to: open.id })).toBe(true);
    expect(allows(plan, { src: '203.0.113.9', dst: guarded.primaryIp, protocol: 'tcp', dport: 22, to: guarded.id })).toBe(false);
    expect(allows(plan, { src: '10.0.1.200', dst: guarded.primaryIp, protocol: 'tcp', dport: 22, to: guarded.id })).toBe(true);
    expect(allows(plan, { src: guarded.primaryIp, dst: '203.0.113.9', protocol: 'udp', dport: 53, from: guarded.id })).toBe(true);
  });

  it('renders a change as the difference only: a membership change is a set update, not a rule rewrite', () => {
    const { model, vpc, subnet } = world('aws');
    const def = model.defaultSecurityGroup(vpc.id)?.id ?? '';
    const nic = model.createInterface({ subnetId: subnet.id, securityGroupIds: [def] });
    const ports = new Map([[nic.id, 'fport']]);
    const before = { plan: compileFirewall(model.securityView()), ports };
    const full = transition(null, before);
    expect(full.some((line) => line.startsWith('add chain'))).toBe(true);
    const other = model.createInterface({ subnetId: subnet.id, securityGroupIds: [def] });
    const after = { plan: compileFirewall(model.securityView()), ports };
    const delta = transition(before, after);
    expect(delta.filter((line) => line.includes('add element') && line.includes(other.primaryIp))).toHaveLength(1);
    // The group's chains stay as they are; only the newcomer's own port chains are written.
    expect(delta.filter((line) => line.startsWith('flush chain'))).toEqual([]);
    expect(delta.filter((line) => line.startsWith('add rule') && !line.includes(planName('p', other.id)))).toEqual([]);
  });
});
