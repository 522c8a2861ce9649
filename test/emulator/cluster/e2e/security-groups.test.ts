/**
 * End to end: the security groups ipamd puts new interfaces in
 * (POD_SECURITY_GROUP_IDS, which a NodeNetworkConfig sets the same way) are
 * enforced on the pods whose addresses those interfaces carry. A pod on a
 * `pods-db` interface answers only what that group allows; a pod on the
 * node group's interface answers as before. Azure is left out: a VM keeps
 * the NICs it was created with, so no interface of ipamd's gets new groups.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmulatedCluster, inNetns, type Pod } from '../../../../emulator/cluster/cluster.ts';
import { ruleInput } from '../../../../emulator/cloud/model/security-limits.ts';
import type { RuleInput } from '../../../../emulator/cloud/model/security-types.ts';
import { e2eClouds } from './clouds.ts';

const serverScript = `require('node:net').createServer((s) => s.end('pong\\n')).listen(Number(process.argv[1]), () => console.log('ready'));`;
const probeScript = `
const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
const done = (w) => { console.log(w); process.exit(0); };
setTimeout(() => done('timeout'), 1000);
s.on('data', () => done('ok'));
s.on('error', (e) => done('error ' + e.code));
`;

describe.sequential.each(e2eClouds.filter((cloud) => cloud !== 'azure'))('security groups of the interfaces ipamd creates (%s)', (cloud) => {
  let cluster: EmulatedCluster;
  let db = '';
  const servers: Array<{ kill(): void }> = [];

  const rule = (input: Partial<RuleInput> & Pick<RuleInput, 'remote'>): RuleInput => ruleInput({ direction: 'ingress', action: 'allow', priority: cloud === 'alibaba' ? 1 : 0, ...input });

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the end-to-end suite needs root (network namespaces)');
    cluster = new EmulatedCluster({
      cloud,
      nodes: 2,
      env: (c) => {
        const model = c.emulator.model;
        db = model.createSecurityGroup(c.topology.vpc.id, 'pods-db').id;
        model.security.addRules(db, [rule({ protocol: 'tcp', ports: [{ from: 5432, to: 5432 }], remote: [{ kind: 'group', groupId: c.topology.securityGroup.id }] })]);
        return { POD_SECURITY_GROUP_IDS: db };
      },
    });
    await cluster.start();
  }, 120_000);

  afterAll(async () => {
    for (const server of servers) server.kill();
    await cluster?.teardown();
  }, 60_000);

  it('a pod on a pods-db interface is reachable only as pods-db allows; a pod on the node group interface as before', async () => {
    const [first, second] = cluster.nodes;
    if (!first || !second) throw new Error('two nodes expected');
    const model = cluster.emulator.model;
    const groupsOf = (pod: Pod): string[] => model.listInterfaces().find((nic) => nic.secondaryIps.includes(pod.ip))?.securityGroupIds ?? [];
    const client = await cluster.createPod(first, 'client');
    expect(groupsOf(client)).toEqual([cluster.topology.securityGroup.id]);
    const onNodeGroup: Pod[] = [];
    let guarded: Pod | undefined;
    for (let i = 0; i < 30 && !guarded; i++) {
      const pod = await cluster.createPod(second, `app-${i}`);
      if (groupsOf(pod).includes(db)) guarded = pod;
      else onNodeGroup.push(pod);
    }
    if (!guarded || !onNodeGroup[0]) throw new Error('expected pods on both kinds of interface');
    const plain = onNodeGroup[0];
    for (const pod of [guarded, plain]) {
      const server = spawn('ip', ['netns', 'exec', pod.netns, process.execPath, '-e', serverScript, '5432'], { stdio: ['ignore', 'pipe', 'ignore'] });
      servers.push(server);
      await new Promise((resolve) => server.stdout.once('data', resolve));
    }
    const probe = async (from: Pod, to: Pod): Promise<string> => (await inNetns(from.netns, [process.execPath, '-e', probeScript, to.ip, '5432'])).stdout.trim();

    expect(await cluster.ping(client, plain.ip)).toBe(true);
    expect(await cluster.ping(client, guarded.ip)).toBe(false);
    expect(await probe(client, guarded)).toBe('ok');
    expect(await probe(client, plain)).toBe('ok');
    // The guarded pod may send, but the client's node group admits only its members; its reply above went back through conntrack.
    expect(await cluster.ping(guarded, client.ip)).toBe(false);

    model.security.addRules(db, [rule({ protocol: 'icmp', remote: [{ kind: 'group', groupId: cluster.topology.securityGroup.id }] })]);
    const started = Date.now();
    await cluster.box.idle();
    // The fabric commits within a second; the pings after it may be slow on a loaded machine.
    expect(Date.now() - started).toBeLessThanOrEqual(1000);
    while (!(await cluster.ping(client, guarded.ip))) {
      if (Date.now() - started > 5000) throw new Error('the ICMP rule committed but ping still fails after 5 s');
    }
    expect(await cluster.ping(client, plain.ip)).toBe(true);
  });
});
