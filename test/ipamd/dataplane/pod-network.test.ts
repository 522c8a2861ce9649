import { describe, expect, it } from 'vitest';
import { hostVethName, hostVethPrefix } from '../../../wire/names.ts';
import { podGateway } from '../../../ipamd/dataplane/gateways.ts';
import {
  attachment,
  hostDump,
  ipJson,
  Lab,
  linkOpsKinds,
  ping,
  primaryIp,
  useLab,
  sh,
  vpcCidr,
  type RuleJson,
} from './helpers.ts';

interface Link {
  ifname: string;
  ifindex: number;
  link_index?: number;
  mtu: number;
  address: string;
  flags: string[];
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

const mac = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const nsName = (path: string): string => path.replace('/var/run/netns/', '');
const spec = { noSnatCidrs: [vpcCidr], primaryIp, primaryInterface: 'eth0' };

describe.each(linkOpsKinds)('IpRoutePodNetwork, pod links through %s', (linkOps) => {
  let lab!: Lab;
  useLab((made) => (lab = made));

  it('host veth names carry the prefix the SNAT rules match', () => {
    expect(hostVethName('n', 'c', 'eth0').startsWith(hostVethPrefix)).toBe(true);
  });

  it('sets up pod and host; pods reach each other and the host; verify() reports what breaks', async () => {
    const agent = await lab.build({ linkOps });
    await agent.call('prepareNode', spec);
    const podA = lab.addPod('a');
    // Pod B is known by a path outside /var/run/netns and its address belongs to the secondary ENI.
    const podB = await lab.addPodByProcess('b');
    const a = attachment(lab, 0, podA);
    const b = attachment(lab, 1, podB.path, true);
    const [linksA, linksB] = await Promise.all([agent.setUp(a), agent.setUp(b)]);

    const vethA = hostVethName(a.network, a.containerId, a.ifName);
    const vethB = hostVethName(b.network, b.containerId, b.ifName);
    expect(linksA.hostInterface).toEqual({ name: vethA, mac: expect.stringMatching(mac) });
    expect(linksA.podInterface).toEqual({ name: 'eth0', mac: expect.stringMatching(mac) });
    expect(linksB.hostInterface.name).toBe(vethB);

    // Pod side.
    for (const [ns, att, links] of [
      [nsName(podA), a, linksA],
      [podB.name, b, linksB],
    ] as const) {
      const [eth0] = ipJson<Link[]>(ns, ['address', 'show', 'dev', 'eth0']);
      expect(eth0?.flags).toContain('UP');
      expect(eth0?.mtu).toBe(9001);
      expect(eth0?.address).toBe(links.podInterface.mac);
      expect(eth0?.addr_info?.filter((x) => x.family === 'inet')).toEqual([expect.objectContaining({ local: att.ip, prefixlen: 32 })]);
      const routes = ipJson<Array<Record<string, unknown>>>(ns, ['route', 'show']);
      expect(routes).toHaveLength(2);
      expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: podGateway, dev: 'eth0' }));
      expect(routes).toContainEqual(expect.objectContaining({ dst: podGateway, dev: 'eth0', scope: 'link' }));
      expect(ipJson(ns, ['neigh', 'show', 'dev', 'eth0'])).toEqual([
        expect.objectContaining({ dst: podGateway, lladdr: links.hostInterface.mac, state: ['PERMANENT'] }),
      ]);
      expect(ipJson<Link[]>(ns, ['link', 'show', 'dev', 'lo'])[0]?.flags).toContain('UP');
    }

    // Host side.
    for (const [veth, att, links] of [
      [vethA, a, linksA],
      [vethB, b, linksB],
    ] as const) {
      const [link] = ipJson<Link[]>(lab.host, ['link', 'show', 'dev', veth]);
      expect(link?.flags).toContain('UP');
      expect(link?.mtu).toBe(9001);
      expect(link?.address).toBe(links.hostInterface.mac);
      expect(ipJson(lab.host, ['route', 'show', 'table', 'main', 'exact', `${att.ip}/32`])).toEqual([
        expect.objectContaining({ dst: att.ip, dev: veth, scope: 'link' }),
      ]);
      expect(sh(['ip', 'netns', 'exec', lab.host, 'cat', `/proc/sys/net/ipv4/conf/${veth}/proxy_arp`]).trim()).toBe('1');
    }
    const rules = ipJson<RuleJson[]>(lab.host, ['rule', 'show']);
    const podRules = rules.filter((r) => r.priority === 512);
    expect(podRules).toHaveLength(2);
    expect(podRules).toEqual(
      expect.arrayContaining([expect.objectContaining({ dst: a.ip, table: 'main' }), expect.objectContaining({ dst: b.ip, table: 'main' })]),
    );
    // Only the secondary ENI's pod gets a `from` rule, into table deviceIndex + 1 (beside the ENI's own rule).
    expect(rules.filter((r) => r.priority === 1536)).toEqual(
      expect.arrayContaining([expect.objectContaining({ src: b.ip, table: '2' }), expect.objectContaining({ src: '10.0.1.10', table: '2' })]),
    );
    expect(rules.filter((r) => r.priority === 1536 && r.src === a.ip)).toEqual([]);

    // Connectivity: pod to pod on the same host both ways, pod to host.
    const results = await Promise.all([
      ping(nsName(podA), b.ip),
      ping(podB.name, a.ip),
      ping(nsName(podA), primaryIp),
      ping(podB.name, primaryIp),
    ]);
    expect(results).toEqual([true, true, true, true]);

    expect(await agent.verify({ ...a, hostInterface: vethA })).toEqual([]);
    expect(await agent.verify(b)).toEqual([]);

    sh(['ip', '-n', lab.host, 'route', 'del', `${a.ip}/32`]);
    expect(await agent.verify(a)).toEqual([`no host route ${a.ip}/32 dev ${vethA} in the main table`]);
    sh(['ip', '-n', podB.name, 'route', 'del', 'default']);
    sh(['ip', '-n', lab.host, 'rule', 'del', 'from', b.ip, 'priority', '1536']);
    expect(await agent.verify({ ...b, hostInterface: 'vcni-other' })).toEqual([
      `host interface is recorded as vcni-other, but this attachment's veth is ${vethB}`,
      `no rule 'from ${b.ip} lookup 2' at priority 1536`,
      `pod lacks the route default via ${podGateway} dev eth0`,
    ]);
    // An attachment whose address moved to another ENI no longer matches.
    expect(await agent.verify({ ...b, owner: { deviceIndex: 0, isPrimary: true } })).not.toContain(`no rule 'from ${b.ip} lookup 2' at priority 1536`);
    sh(['ip', '-n', lab.host, 'route', 'add', `${a.ip}/32`, 'dev', vethA, 'scope', 'link']);
    expect(await agent.verify({ ...a, owner: { deviceIndex: 2, isPrimary: false } })).toEqual([`no rule 'from ${a.ip} lookup 3' at priority 1536`]);
  });

  it('the host still answers for the gateway when the pod loses its neighbour entry (proxy_arp)', async () => {
    const agent = await lab.build({ linkOps });
    await agent.call('prepareNode', spec);
    const pod = lab.addPod('a');
    const a = attachment(lab, 0, pod);
    const links = await agent.setUp(a);
    sh(['ip', '-n', nsName(pod), 'neigh', 'del', podGateway, 'dev', 'eth0']);
    expect(await ping(nsName(pod), primaryIp)).toBe(true);
    expect(ipJson(nsName(pod), ['neigh', 'show', podGateway, 'dev', 'eth0'])).toEqual([
      expect.objectContaining({ dst: podGateway, lladdr: links.hostInterface.mac }),
    ]);
  });

  it('fails clearly when the interface exists in the pod or the namespace is missing, leaving nothing behind', async () => {
    const agent = await lab.build({ linkOps });
    const pod = lab.addPod('a');
    sh(['ip', '-n', nsName(pod), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
    const hostBefore = hostDump(lab.host);
    const podBefore = hostDump(nsName(pod));

    const a = attachment(lab, 0, pod);
    await expect(agent.setUp(a)).rejects.toMatchObject({ reason: 'interface-exists', message: `interface eth0 already exists in network namespace ${pod}` });
    const missing = attachment(lab, 1, `/var/run/netns/${lab.prefix}-nowhere`);
    await expect(agent.setUp(missing)).rejects.toMatchObject({ reason: 'netns-missing' });
    expect(hostDump(lab.host)).toEqual(hostBefore);
    expect(hostDump(nsName(pod))).toEqual(podBefore);
  });

  it('replaces a leftover host veth of the same attachment', async () => {
    const agent = await lab.build({ linkOps });
    const a = attachment(lab, 0, lab.addPod('a'));
    const veth = hostVethName(a.network, a.containerId, a.ifName);
    sh(['ip', '-n', lab.host, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'leftover0']);
    const links = await agent.setUp(a);
    expect(links.hostInterface.name).toBe(veth);
    expect(await agent.verify(a)).toEqual([]);
    expect(ipJson(lab.host, ['link', 'show'])).not.toContainEqual(expect.objectContaining({ ifname: 'leftover0' }));
  });

  it('tearDown removes everything; twice, without the address, with the namespace gone or empty', async () => {
    const agent = await lab.build({ linkOps });
    await agent.call('prepareNode', spec);
    const before = hostDump(lab.host);

    const a = attachment(lab, 0, lab.addPod('a'));
    const b = attachment(lab, 1, lab.addPod('b'), true);
    const c = attachment(lab, 2, lab.addPod('c'), true);
    await Promise.all([agent.setUp(a), agent.setUp(b), agent.setUp(c)]);
    expect(hostDump(lab.host)).not.toEqual(before);

    // With everything known, then again.
    await agent.tearDown(a);
    await agent.tearDown(a);
    // Without the address: found from the route on the veth.
    await agent.tearDown({ network: b.network, containerId: b.containerId, ifName: b.ifName, netns: b.netns });
    // The pod's namespace deleted first; then with an empty netns, and once more with nothing.
    sh(['ip', 'netns', 'del', nsName(c.netns)]);
    await agent.tearDown({ ...c, netns: c.netns });
    await agent.tearDown({ network: c.network, containerId: c.containerId, ifName: c.ifName, ip: c.ip, netns: '' });
    await agent.tearDown({ network: c.network, containerId: c.containerId, ifName: c.ifName });
    // Never set up, netns pointing nowhere.
    await agent.tearDown({ network: 'vpc-cni', containerId: 'never', ifName: 'eth0', netns: '/var/run/netns/nowhere', ip: '10.0.0.250' });

    expect(hostDump(lab.host)).toEqual(before);
    expect(hostDump(nsName(a.netns)).links).toEqual([expect.objectContaining({ ifname: 'lo' })]);
  });
});
