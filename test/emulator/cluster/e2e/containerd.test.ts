/**
 * A real container runtime in the loop: Debian's containerd and runc in each
 * node's namespace, busybox containers started by `ctr run --cni`, whose
 * go-cni (the library of containerd's CRI plugin) runs this CNI's conflist
 * with the seed's bandwidth and portmap chained after vpc-cni. Needs root and
 * the containerd, runc and busybox-static packages; fails loudly without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatedCluster, inNetns } from '../../../../emulator/cluster/cluster.ts';
import { assertContainerdInstalled, seedChain, startContainerd, type Container, type NodeContainerd } from '../../../../emulator/cluster/containerd.ts';
import { e2eClouds } from './clouds.ts';
import { expectReachAcrossNodesAndRelease, forever, reaches } from './containers.ts';

describe.sequential.each(e2eClouds)('containerd runs containers networked by vpc-cni through go-cni (%s)', (cloud) => {
  let cluster: EmulatedCluster;
  let first: NodeContainerd;
  let second: NodeContainerd;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the end-to-end suite needs root (network namespaces)');
    assertContainerdInstalled();
    cluster = new EmulatedCluster({ cloud, nodes: 2 });
    await cluster.start();
    // kube-proxy creates this chain on a real node; the seed's portmap jumps to it.
    for (const node of cluster.nodes) await inNetns(node.namespace, ['iptables', '-t', 'nat', '-N', 'KUBE-MARK-MASQ']);
    [first, second] = (await startContainerd(cluster)) as [NodeContainerd, NodeContainerd];
  }, 180_000);

  afterAll(() => cluster?.teardown(), 120_000);

  it('containers on two nodes reach each other by VPC address, and deleting one releases its address', async () => {
    await expectReachAcrossNodesAndRelease(cluster, first, second);
  }, 120_000);

  it("the seed's bandwidth and portmap chain works under go-cni: a rate-limited hostPort", async () => {
    // ctr passes no capability arguments (go-cni gets none from it), so the
    // mapping and the rates are written into the plugins' own configuration:
    // libcni leaves a plugin's runtimeConfig alone when the runtime gives none.
    const rate = 1_000_000;
    const chain = seedChain(first.node.runtime.conflist);
    const limited = {
      ...chain,
      plugins: chain.plugins.map((plugin) => {
        if (plugin.type === 'bandwidth') return { ...plugin, ingressRate: rate, ingressBurst: 200_000, egressRate: rate, egressBurst: 200_000 };
        if (plugin.type === 'portmap') return { ...plugin, runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } };
        return plugin;
      }),
    };
    await first.writeConflist(limited);
    let web: Container;
    try {
      web = await first.runContainer('web', ['sh', '-c', 'mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/blob bs=1000 count=250 2>/dev/null && exec httpd -f -p 80 -h /tmp/www']);
    } finally {
      await first.writeConflist(first.conflist);
    }
    const qdiscs = await inNetns(first.node.namespace, ['tc', 'qdisc', 'show', 'dev', web.hostVeth]);
    expect(qdiscs.stdout).toMatch(/tbf .*rate 1Mbit/);

    // From the other node through the first node's primary address: DNAT by portmap, then the shaped veth.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const fetched = await inNetns(second.node.namespace, ['busybox', 'wget', '-q', '-O', '-', `http://${first.node.primaryIp}:8080/blob`], { timeoutMs: 20_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout.length).toBe(250_000);
    const measured = (250_000 * 8) / seconds;
    console.log(`containerd/${cloud}: hostPort 8080 -> ${web.ip}:80, 250 kB in ${seconds.toFixed(2)} s = ${Math.round(measured)} bit/s against ${rate}`);
    // The 200 kbit burst goes at line rate: the rest is held to the configured rate.
    expect(measured).toBeLessThan(rate * 1.3);
    expect(measured).toBeGreaterThan(rate * 0.6);

    await first.deleteContainer(web);
    expect((await inNetns(first.node.namespace, ['iptables-save', '-t', 'nat'])).stdout).not.toContain(web.ip);
    expect(await first.hostVethExists(web)).toBe(false);
  }, 120_000);

  it("a containerd restart leaves running containers' networking intact", async () => {
    const before = await first.assigned();
    // Detached: a foreground ctr client would lose its Wait stream with containerd and run DEL itself.
    const a = await first.runContainer('steady-a', forever, { detach: true });
    const b = await second.runContainer('steady-b', forever, { detach: true });
    expect(await reaches(first, a, b.ip)).toBe(true);

    await first.restartDaemon();
    expect((await first.tasks()).get(a.name)).toEqual({ pid: a.pid, status: 'RUNNING' });
    expect(await first.assigned()).toBe(before + 1);
    expect(await first.hostVethExists(a)).toBe(true);
    expect(await reaches(first, a, b.ip), 'a -> b after the restart').toBe(true);
    expect(await reaches(second, b, a.ip), 'b -> a after the restart').toBe(true);

    await first.releaseDetached(a);
    await second.releaseDetached(b);
    expect(await first.assigned()).toBe(before);
    expect(await first.hostVethExists(a)).toBe(false);
  }, 120_000);

  it("killing the container's process does not leak: the address comes back and no veth is left", async () => {
    const before = await second.assigned();
    const victim = await second.runContainer('victim', forever);
    expect(await second.assigned()).toBe(before + 1);
    expect(await second.hostVethExists(victim)).toBe(true);
    // As the OOM killer would: the task's process dies under containerd's feet.
    process.kill(victim.pid, 'SIGKILL');
    await second.waitForClient(victim);
    expect(await second.assigned()).toBe(before);
    expect(await second.hostVethExists(victim)).toBe(false);
    expect((await second.tasks()).has(victim.name)).toBe(false);
    expect((await second.ctrOk(['containers', 'list', '--quiet'])).stdout).not.toContain(victim.name);
  }, 120_000);
});
