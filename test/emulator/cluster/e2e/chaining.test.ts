/**
 * The seed's two conflists (bandwidth, portmap with KUBE-MARK-MASQ), with
 * vpc-cni in place of calico, chained with Debian's reference plugins; and
 * bad input through the real plugin binary against a real ipamd.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatedCluster, inNetns, type ClusterNode, type Pod, type RunResult } from '../../../../emulator/cluster/cluster.ts';
import { execPlugin, type Conflist } from '../../../../emulator/cluster/runtime.ts';
import { hostVethName } from '../../../../wire/names.ts';
import { e2eClouds } from './clouds.ts';

/** The seed's calico settings, kept as the seed writes them: vpc-cni ignores what it does not know. */
const seedCalicoKeys = {
  log_level: 'info',
  datastore_type: 'kubernetes',
  nodename: '127.0.0.1',
  ipam: { type: 'host-local', subnet: 'usePodCidr' },
  policy: { type: 'k8s' },
  kubernetes: { kubeconfig: '/etc/cni/net.d/calico-kubeconfig' },
};

function seedConflist(written: Conflist, second: Conflist['plugins'][number]): Conflist {
  const ours = written.plugins[0] ?? { type: 'vpc-cni' };
  return { name: 'k8s-pod-network', cniVersion: '0.4.0', plugins: [{ ...seedCalicoKeys, ...ours, type: 'vpc-cni' }, second] };
}

async function snapshot(node: ClusterNode): Promise<string> {
  const parts = await Promise.all([
    inNetns(node.namespace, ['ip', '-o', 'link', 'show']),
    // IPv4 only: the kernel adds IPv6 link-local routes to a freshly attached interface in its own time.
    inNetns(node.namespace, ['ip', '-4', '-o', 'route', 'show', 'table', 'all']),
    inNetns(node.namespace, ['ip', '-o', 'rule', 'show']),
    inNetns(node.namespace, ['iptables-save']),
  ]);
  return parts.map((p) => p.stdout.replace(/\[\d+:\d+\]/g, '')).join('\n').replace(/^#.*$/gm, '');
}

describe.sequential.each(e2eClouds)('bandwidth: the seed conflist with vpc-cni (%s)', (cloud) => {
  let cluster: EmulatedCluster;
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the end-to-end suite needs root (network namespaces)');
    cluster = new EmulatedCluster({ cloud, nodes: 2, conflist: (written) => seedConflist(written, { type: 'bandwidth', capabilities: { bandwidth: true } }) });
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster?.teardown(), 60_000);

  it('iperf3 between pods shows the configured rate (within 20 %)', async () => {
    const [first, second] = cluster.nodes;
    if (!first || !second) throw new Error('two nodes expected');
    const rate = 1_000_000; // kubernetes.io/egress-bandwidth: 1M, in bits per second
    const limited = await cluster.createPod(first, 'limited', { bandwidth: { ingressRate: rate, ingressBurst: 200_000, egressRate: rate, egressBurst: 200_000 } });
    const server = await cluster.createPod(second, 'iperf-server');
    const daemon = spawn('ip', ['netns', 'exec', server.netns, 'iperf3', '-s', '-1', '-B', server.ip], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const out = await inNetns(limited.netns, ['iperf3', '-c', server.ip, '-t', '5', '-J'], { timeoutMs: 30_000 });
      const report = JSON.parse(out.stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
      const measured = report.end?.sum_received?.bits_per_second ?? 0;
      expect(report.error, 'iperf3 error').toBeUndefined();
      expect(measured / rate, `measured ${Math.round(measured)} bit/s against ${rate}`).toBeGreaterThan(0.8);
      expect(measured / rate, `measured ${Math.round(measured)} bit/s against ${rate}`).toBeLessThan(1.2);
      console.log(`bandwidth: configured ${rate} bit/s, iperf3 measured ${Math.round(measured)} bit/s (ratio ${(measured / rate).toFixed(3)})`);
    } finally {
      daemon.kill('SIGKILL');
    }
    await cluster.deletePod(limited);
    await cluster.deletePod(server);
  }, 120_000);
});

describe.sequential.each(e2eClouds)('portmap: the seed conflist with vpc-cni and KUBE-MARK-MASQ (%s)', (cloud) => {
  let cluster: EmulatedCluster;
  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the end-to-end suite needs root (network namespaces)');
    cluster = new EmulatedCluster({
      cloud,
      nodes: 2,
      conflist: (written) => seedConflist(written, { type: 'portmap', capabilities: { portMappings: true }, externalSetMarkChain: 'KUBE-MARK-MASQ' }),
    });
    await cluster.start();
    // kube-proxy creates this chain on a real node; portmap jumps to it.
    for (const node of cluster.nodes) await inNetns(node.namespace, ['iptables', '-t', 'nat', '-N', 'KUBE-MARK-MASQ']);
  }, 120_000);
  afterAll(() => cluster?.teardown(), 60_000);

  /** A TCP server in the pod on port 80, published as `hostPort`, asked through the node's primary address from the other node. */
  async function askThroughHostPort(from: ClusterNode, to: ClusterNode, pod: Pod, hostPort: number): Promise<RunResult> {
    const server = spawn(
      'ip',
      ['netns', 'exec', pod.netns, process.execPath, '-e', "require('net').createServer((s) => s.end('hello from ' + s.localAddress + '\\n')).listen(80, '0.0.0.0', () => console.log('listening')); setTimeout(() => process.exit(0), 20000);"],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      // Until it listens (a fixed pause lost the race on a loaded machine: the connection was refused).
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the pod server did not listen within 10 s')), 10_000);
        server.stdout.once('data', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const client = `const s = require('net').connect(${hostPort}, '${to.primaryIp}'); s.on('data', (d) => { process.stdout.write(d); s.end(); }); s.on('error', (e) => { console.error(e.message); process.exit(1); });`;
      return await inNetns(from.namespace, [process.execPath, '-e', client], { timeoutMs: 10_000 });
    } finally {
      server.kill('SIGKILL');
    }
  }

  it('a hostPort on one node is reachable from the other node', async () => {
    const [first, second] = cluster.nodes;
    if (!first || !second) throw new Error('two nodes expected');
    const pod = await cluster.createPod(first, 'web', { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    const out = await askThroughHostPort(second, first, pod, 8080);
    expect(out.stdout.trim(), out.stderr).toBe(`hello from ${pod.ip}`);
    await cluster.deletePod(pod);
    const left = await inNetns(first.namespace, ['iptables-save', '-t', 'nat']);
    expect(left.stdout).not.toContain(pod.ip);
  }, 120_000);

  it('a hostPort reaches a pod whose address lives on a secondary interface: replies leave through the primary one', async () => {
    const [first, second] = cluster.nodes;
    if (!first || !second) throw new Error('two nodes expected');
    // Fill the node until a pod's address belongs to a secondary interface.
    const fillers: Pod[] = [];
    const onSecondary = (pod: Pod): boolean => cluster.emulator.model.listInterfaces().some((nic) => (nic.attachment?.deviceIndex ?? 0) > 0 && nic.secondaryIps.includes(pod.ip));
    let pod = await cluster.createPod(first, 'deep-web', { portMappings: [{ hostPort: 8081, containerPort: 80, protocol: 'tcp' }] });
    while (!onSecondary(pod) && fillers.length < 40) {
      fillers.push(pod);
      pod = await cluster.createPod(first, `deep-web-${fillers.length}`, { portMappings: [{ hostPort: 8081 + fillers.length, containerPort: 80, protocol: 'tcp' }] });
    }
    expect(onSecondary(pod)).toBe(true);
    const out = await askThroughHostPort(second, first, pod, 8081 + fillers.length);
    expect(out.stdout.trim(), out.stderr).toBe(`hello from ${pod.ip}`);
    for (const done of [...fillers, pod]) await cluster.deletePod(done);
  }, 180_000);

  it('bad input through the real plugin gets the right error code and leaves the node unchanged', async () => {
    const node = cluster.nodes[0];
    if (!node) throw new Error('no node');
    // The pool may still be settling after the previous test (an interface attaching): start from a quiet node.
    let before = await snapshot(node);
    for (let again = await snapshot(node), tries = 0; again !== before && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      [before, again] = [again, await snapshot(node)];
    }
    const conf = JSON.stringify({ ...node.runtime.conflist.plugins[0], cniVersion: '0.4.0', name: 'k8s-pod-network' });
    const env = (over: Record<string, string>) => ({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/var/run/netns/nowhere', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...over });
    const cases: Array<[string, Record<string, string>, string, number]> = [
      ['unknown command', env({ CNI_COMMAND: 'EXPLODE' }), conf, 4],
      ['container id with a path', env({ CNI_CONTAINERID: '../../etc' }), conf, 4],
      ['interface name with a slash', env({ CNI_IFNAME: 'eth/0' }), conf, 4],
      ['relative netns', env({ CNI_NETNS: 'netns/x' }), conf, 4],
      ['stdin not JSON', env({}), '{"cniVersion": ', 6],
      ['unsupported version', env({}), JSON.stringify({ ...JSON.parse(conf), cniVersion: '9.9.9' }), 1],
      ['no network name', env({}), JSON.stringify({ ...JSON.parse(conf), name: undefined }), 7],
    ];
    for (const [what, environment, stdin, code] of cases) {
      const out = await execPlugin({ pluginDirs: [`${process.cwd()}/dist`], hostNamespace: node.namespace }, 'vpc-cni', environment, stdin);
      expect(out.code, `${what}: ${out.stdout}`).not.toBe(0);
      expect((JSON.parse(out.stdout) as { code: number }).code, `${what}: ${out.stdout}`).toBe(code);
      expect((JSON.parse(out.stdout) as { msg: string }).msg.length, what).toBeGreaterThan(5);
    }
    expect(await snapshot(node)).toEqual(before);

    // A namespace that does not exist: ipamd answers with an error and keeps nothing of the attempt.
    const out = await execPlugin({ pluginDirs: [`${process.cwd()}/dist`], hostNamespace: node.namespace }, 'vpc-cni', env({ CNI_CONTAINERID: 'nowhere1' }), conf);
    expect(out.code).not.toBe(0);
    expect((JSON.parse(out.stdout) as { msg: string }).msg).toMatch(/nowhere/);
    expect((await inNetns(node.namespace, ['ip', '-o', 'link', 'show'])).stdout).not.toContain(hostVethName('k8s-pod-network', 'nowhere1', 'eth0'));
  }, 60_000);
});
