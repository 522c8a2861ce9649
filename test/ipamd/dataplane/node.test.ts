import { describe, expect, it } from 'vitest';
import { snatRuleset } from '../../../ipamd/dataplane/node.ts';
import {
  attachment,
  insideAddress,
  ipJson,
  Lab,
  outsideAddress,
  peerAddressSeen,
  primaryIp,
  useLab,
  sh,
  vpcCidr,
  type RuleJson,
} from './helpers.ts';

const spec = { noSnatCidrs: [vpcCidr], primaryIp, primaryInterface: 'eth0' };
const nsName = (path: string): string => path.replace('/var/run/netns/', '');

interface NftItem {
  table?: { family: string; name: string };
  rule?: { table: string; chain: string };
  set?: { name: string; table: string; elem?: Array<{ prefix?: { addr: string; len: number } }> };
}

describe('IpRoutePodNetwork.prepareNode', () => {
  let lab!: Lab;
  useLab((made) => (lab = made));

  const nft = (args: string[]): NftItem[] =>
    (JSON.parse(sh(['ip', 'netns', 'exec', lab.host, 'nft', '-j', ...args])) as { nftables: NftItem[] }).nftables;
  const sysctl = (key: string): string => sh(['ip', 'netns', 'exec', lab.host, 'sysctl', '-n', key]).trim();

  it('rejects bad input before touching anything', () => {
    expect(() => snatRuleset({ ...spec, primaryInterface: 'eth0"; flush ruleset' })).toThrow(/invalid primary interface/);
    expect(() => snatRuleset({ ...spec, noSnatCidrs: ['10.0.0.0/33'] })).toThrow(/invalid IPv4 CIDR/);
    expect(() => snatRuleset(spec, { mark: 0x81 })).toThrow(/single bit/);
  });

  it('is idempotent and touches only what it created', async () => {
    const agent = await lab.build();
    // Someone else's firewall: an nftables table and an iptables (nft backend) NAT rule.
    sh(['ip', 'netns', 'exec', lab.host, 'nft', '-f', '-'], 'table ip keepme {\n chain post {\n type nat hook postrouting priority 100;\n oifname "eth9" masquerade\n }\n}\n');
    sh(['ip', 'netns', 'exec', lab.host, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth9', '-j', 'MASQUERADE']);
    const othersBefore = sh(['ip', 'netns', 'exec', lab.host, 'nft', 'list', 'ruleset']);

    await agent.call('prepareNode', spec);
    await agent.call('prepareNode', spec);

    const tables = nft(['list', 'tables']).filter((item) => item.table?.name === 'vpc_cni');
    expect(tables).toHaveLength(1);
    const ours = nft(['list', 'table', 'ip', 'vpc_cni']);
    // SNAT: the pod-egress mark and the SNAT itself; NodePort/hostPort: the inbound connmark and its copy onto pod replies.
    expect(ours.filter((item) => item.rule)).toHaveLength(4);
    expect(ours.find((item) => item.set)?.set?.elem).toEqual([{ prefix: { addr: '10.0.0.0', len: 16 } }]);
    const markRules = ipJson<RuleJson[]>(lab.host, ['rule', 'show']).filter((r) => r.fwmark !== undefined);
    expect(markRules).toEqual([expect.objectContaining({ priority: 1024, fwmark: '0x80', table: 'main' })]);
    expect(sysctl('net.ipv4.ip_forward')).toBe('1');
    expect(sysctl('net.ipv4.conf.all.rp_filter')).toBe('2');
    expect(sysctl('net.ipv4.conf.eth0.rp_filter')).toBe('2');

    // New CIDRs replace the set; still one table, one set of rules.
    await agent.call('prepareNode', { ...spec, noSnatCidrs: [vpcCidr, '192.168.0.0/16'] });
    expect(nft(['list', 'tables']).filter((item) => item.table?.name === 'vpc_cni')).toHaveLength(1);
    expect(nft(['list', 'table', 'ip', 'vpc_cni']).find((item) => item.set)?.set?.elem).toHaveLength(2);
    expect(nft(['list', 'table', 'ip', 'vpc_cni']).filter((item) => item.rule)).toHaveLength(4);

    // Everything else is as it was; cleanUpNode removes only ours, twice is fine.
    const withoutOurs = (text: string): string => text.replace(/table ip vpc_cni \{[\s\S]*?\n\}\n/, '');
    expect(withoutOurs(sh(['ip', 'netns', 'exec', lab.host, 'nft', 'list', 'ruleset']))).toBe(othersBefore);
    await agent.call('cleanUpNode');
    await agent.call('cleanUpNode');
    expect(sh(['ip', 'netns', 'exec', lab.host, 'nft', 'list', 'ruleset'])).toBe(othersBefore);
    expect(ipJson<RuleJson[]>(lab.host, ['rule', 'show']).filter((r) => r.fwmark !== undefined)).toEqual([]);
  });

  it('SNATs pod traffic leaving the VPC to the primary address and leaves VPC traffic alone, on either ENI', { timeout: 60_000 }, async () => {
    const agent = await lab.build();
    await agent.call('prepareNode', spec);
    await lab.peerEcho(lab.out, 8080);
    const a = attachment(lab, 0, lab.addPod('a'));
    const b = attachment(lab, 1, lab.addPod('b'), true);
    await Promise.all([agent.setUp(a), agent.setUp(b)]);

    const seen = await Promise.all([
      peerAddressSeen(nsName(a.netns), outsideAddress, 8080),
      peerAddressSeen(nsName(a.netns), insideAddress, 8080),
      // The secondary ENI's pod: out of the primary interface when SNATed (the
      // outside's strict reverse-path filter stands for the VPC's check), out
      // of its own ENI otherwise.
      peerAddressSeen(nsName(b.netns), outsideAddress, 8080),
      peerAddressSeen(nsName(b.netns), insideAddress, 8080),
    ]);
    expect(seen).toEqual([primaryIp, a.ip, primaryIp, b.ip]);
  });
});
