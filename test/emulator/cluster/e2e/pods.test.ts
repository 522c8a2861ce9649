/**
 * End to end on the VPC in a box: two nodes, ipamd in each node's namespace,
 * pods added and deleted through the real plugin binary by a containerd-like
 * runtime. Needs root (namespaces) and fails loudly without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatedCluster, inNetns, run, type Pod } from '../../../../emulator/cluster/cluster.ts';
import { cloudProfiles } from '../../../../emulator/cluster/clouds.ts';
import { e2eClouds } from './clouds.ts';

/** Everything on the node a pod could leave behind: links, routes, rules, neighbours, firewall. */
async function hostState(ns: string): Promise<string> {
  const parts = await Promise.all([
    inNetns(ns, ['ip', '-o', 'link', 'show']),
    // IPv4 only: the kernel adds IPv6 link-local routes to a freshly attached interface in its own time.
    inNetns(ns, ['ip', '-4', '-o', 'route', 'show', 'table', 'all']),
    inNetns(ns, ['ip', '-o', 'rule', 'show']),
    inNetns(ns, ['ip', '-o', 'neigh', 'show', 'nud', 'permanent']),
    inNetns(ns, ['iptables-save']),
    inNetns(ns, ['nft', 'list', 'ruleset']),
  ]);
  return parts
    .map((part) => part.stdout)
    .join('\n')
    // Counters and link statistics change with traffic, not with configuration.
    .replace(/\[\d+:\d+\]/g, '[x:x]')
    .replace(/^#.*$/gm, '');
}

describe.sequential.each(e2eClouds)('pods on the emulated VPC (%s)', (cloud) => {
  let cluster: EmulatedCluster;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the end-to-end suite needs root (network namespaces)');
    cluster = new EmulatedCluster({ cloud, nodes: 2, instanceType: cloudProfiles[cloud].largeInstanceType });
    await cluster.start();
  }, 120_000);

  afterAll(async () => {
    await cluster?.teardown();
  }, 60_000);

  it('20 pods per node reach each other across nodes, their nodes, and the outside world through SNAT', async () => {
    const [first, second] = cluster.nodes;
    if (!first || !second) throw new Error('two nodes expected');
    const pods: Pod[] = [];
    for (const node of [first, second]) for (let i = 0; i < 20; i++) pods.push(await cluster.createPod(node, `web-${node.index}-${i}`));
    const ips = pods.map((pod) => pod.ip);
    expect(new Set(ips).size).toBe(40);
    // Some addresses sit on secondary interfaces: the fabric's source check proves the policy routing.
    const secondaryOwned = cluster.emulator.model.listInterfaces().filter((nic) => (nic.attachment?.deviceIndex ?? 0) > 0 && nic.secondaryIps.some((ip) => ips.includes(ip)));
    // (On Azure the primary NIC's small node subnet fills first: the rest go to the second NIC.)
    expect(secondaryOwned.length).toBeGreaterThan(0);

    const failures: string[] = [];
    const checks: Array<[Pod | typeof first, string]> = [];
    for (const from of pods) {
      for (const to of pods) if (from !== to && (from.node !== to.node || pods.indexOf(to) % 4 === pods.indexOf(from) % 4)) checks.push([from, to.ip]);
      checks.push([from, from.node.primaryIp]);
      checks.push([from, (from.node === first ? second : first).primaryIp]);
    }
    for (const node of [first, second]) for (const pod of pods) checks.push([node, pod.ip]);
    const queue = [...checks];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let check = queue.shift(); check; check = queue.shift()) {
          const [from, to] = check;
          if (!(await cluster.ping(from, to))) failures.push(`${'netns' in from ? from.name : from.instanceId} -> ${to}`);
        }
      }),
    );
    expect(failures, `unreachable pairs out of ${checks.length}`).toEqual([]);

    // Outside the VPC: a listener on an address of the fabric that is not in the VPC sees the node's address.
    const outside = '198.51.100.10';
    await cluster.box.execInFabric(['ip', 'address', 'add', `${outside}/32`, 'dev', 'lo']);
    const server = `require('net').createServer((s) => { s.end(s.remoteAddress + '\\n'); }).listen(8080, '${outside}', () => console.log('up'));`;
    const listener = run('ip', ['netns', 'exec', cluster.box.fabricNamespace, process.execPath, '-e', `${server} setTimeout(() => process.exit(0), 8000);`], { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const client = `const s = require('net').connect(8080, '${outside}'); s.on('data', (d) => { process.stdout.write(d); s.end(); }); s.on('error', (e) => { console.error(e.message); process.exit(1); });`;
    for (const pod of [pods[0], pods[19], pods[20], pods[39]]) {
      if (!pod) continue;
      const seen = await inNetns(pod.netns, [process.execPath, '-e', client], { timeoutMs: 5000 });
      expect(seen.stdout.trim(), `${pod.name} (${pod.ip}) to ${outside}: ${seen.stderr}`).toBe(pod.node.primaryIp);
    }
    await listener;
    for (const pod of pods) await cluster.deletePod(pod);
  }, 300_000);

  it('50 ADDs at once on one node all succeed with distinct addresses', async () => {
    const node = cluster.nodes[0];
    if (!node) throw new Error('no node');
    const pods = await Promise.all(Array.from({ length: 50 }, (_, i) => cluster.createPod(node, `burst-${i}`)));
    expect(new Set(pods.map((pod) => pod.ip)).size).toBe(50);
    await Promise.all(pods.map((pod) => cluster.deletePod(pod)));
  }, 180_000);

  it('deleted pods leave the node exactly as before, and their addresses come back after the cooldown', async () => {
    const node = cluster.nodes[1];
    if (!node) throw new Error('no node');
    const pods: Pod[] = [];
    for (let i = 0; i < 12; i++) pods.push(await cluster.createPod(node, `temp-${i}`));
    // The pool may attach or free interfaces meanwhile; what a pod leaves names its address or its veth.
    const traces = async (): Promise<string[]> => {
      const ips = new Set(pods.map((pod) => pod.ip));
      return (await hostState(node.namespace)).split('\n').filter((line) => /vcni[0-9a-f]/.test(line) || [...line.matchAll(/\d+\.\d+\.\d+\.\d+/g)].some((m) => ips.has(m[0])));
    };
    expect((await traces()).length).toBeGreaterThanOrEqual(12 * 3);
    for (const pod of pods) await cluster.deletePod(pod);
    expect(await traces()).toEqual([]);
    // The cooldown is 1 s here: afterwards the same addresses are handed out again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const again: Pod[] = [];
    for (let i = 0; i < 12; i++) again.push(await cluster.createPod(node, `again-${i}`));
    expect(again.map((pod) => pod.ip).sort()).toEqual(pods.map((pod) => pod.ip).sort());
    for (const pod of again) await cluster.deletePod(pod);
    // A second DEL of a gone pod succeeds.
    await node.runtime.del(pods[0]!.attachment);
  }, 120_000);

  it('keeps pods working across an ipamd crash, serves new ADDs after the restart, and never double-assigns', async () => {
    const [first, second] = cluster.nodes;
    if (!first || !second) throw new Error('two nodes expected');
    const pods: Pod[] = [];
    for (let i = 0; i < 8; i++) pods.push(await cluster.createPod(first, `steady-${i}`));
    const peer = await cluster.createPod(second, 'peer');
    await cluster.killIpamd(first);
    for (const pod of pods) expect(await cluster.ping(pod, peer.ip), `${pod.name} while ipamd is down`).toBe(true);
    // A DEL while ipamd is down still succeeds: the plugin removes the veth and records the release.
    const gone = pods.pop()!;
    await cluster.deletePod(gone);
    await cluster.startIpamd(first);
    const fresh: Pod[] = [];
    for (let i = 0; i < 6; i++) fresh.push(await cluster.createPod(first, `fresh-${i}`));
    const live = [...pods, ...fresh].map((pod) => pod.ip);
    expect(new Set(live).size).toBe(live.length);
    for (const pod of [...pods, ...fresh]) expect(await cluster.ping(pod, peer.ip), `${pod.name} after the restart`).toBe(true);
    // The release recorded while ipamd was down has been finished.
    const status = await inNetns(first.namespace, [process.execPath, '--import', 'tsx', 'ipamd/cli.ts', 'status', '--json']);
    const view = JSON.parse(status.stdout) as { allocations: Array<{ ip: string }> };
    expect(view.allocations.map((a) => a.ip).sort()).toEqual(live.sort());
    for (const pod of [...pods, ...fresh, peer]) await cluster.deletePod(pod);
  }, 180_000);
});
