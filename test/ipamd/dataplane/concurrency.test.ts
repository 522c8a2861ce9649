import { describe, expect, it } from 'vitest';
import { hostVethPrefix } from '../../../wire/names.ts';
import type { PodLinks } from '../../../ipamd/dataplane/types.ts';
import { attachment, hostDump, ipJson, Lab, linkOpsKinds, percentile, ping, primaryIp, useLab, vpcCidr, type RuleJson } from './helpers.ts';

const spec = { noSnatCidrs: [vpcCidr], primaryIp, primaryInterface: 'eth0' };
const nsName = (path: string): string => path.replace('/var/run/netns/', '');

describe.each(linkOpsKinds)('IpRoutePodNetwork under load, pod links through %s', (linkOps) => {
  let lab!: Lab;
  useLab((made) => (lab = made));

  it('50 concurrent setUps all succeed; 50 concurrent tearDowns leave the host as before', { timeout: 180_000 }, async () => {
    const agent = await lab.build({ linkOps });
    await agent.call('prepareNode', spec);
    const before = hostDump(lab.host);
    const pods = Array.from({ length: 50 }, (_, i) => attachment(lab, i, lab.addPod(`p${i}`), i % 2 === 1));

    let start = performance.now();
    const results = await Promise.all(pods.map((pod) => agent.timed<PodLinks>('setUp', pod)));
    const setUpWall = performance.now() - start;

    const problems = await Promise.all(pods.map((pod, i) => agent.verify({ ...pod, hostInterface: results[i]?.value.hostInterface.name })));
    expect(problems.flat()).toEqual([]);
    const veths = ipJson<Array<{ ifname: string }>>(lab.host, ['link', 'show']).filter((l) => l.ifname.startsWith(hostVethPrefix));
    expect(veths).toHaveLength(50);
    expect(new Set(results.map((r) => r.value.hostInterface.mac)).size).toBe(50);
    const rules = ipJson<RuleJson[]>(lab.host, ['rule', 'show']);
    expect(rules.filter((r) => r.priority === 512)).toHaveLength(50);
    expect(rules.filter((r) => r.priority === 1536 && r.src !== '10.0.1.10')).toHaveLength(25);
    expect(rules.filter((r) => r.priority === 1536 && r.table === '2')).toHaveLength(26);
    // A few pairs talk, across ENIs.
    const pings = await Promise.all([0, 1, 2, 3].map((i) => ping(nsName(pods[i]?.netns ?? ''), pods[49 - i]?.ip ?? '')));
    expect(pings).toEqual([true, true, true, true]);

    start = performance.now();
    const teardowns = await Promise.all(pods.map((pod) => agent.timed('tearDown', { ...pod })));
    const tearDownWall = performance.now() - start;
    expect(hostDump(lab.host)).toEqual(before);

    const ms = (values: number[]): string => `p50 ${percentile(values, 50).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;
    console.log(
      `50 concurrent setUps: ${setUpWall.toFixed(0)} ms wall (each ${ms(results.map((r) => r.ms))}); ` +
        `50 concurrent tearDowns: ${tearDownWall.toFixed(0)} ms wall (each ${ms(teardowns.map((r) => r.ms))})`,
    );
  });

  it('measures setUp and tearDown latency over 20 pods, one at a time (printed, not asserted)', { timeout: 120_000 }, async () => {
    const agent = await lab.build({ linkOps });
    await agent.call('prepareNode', spec);
    const pods = Array.from({ length: 20 }, (_, i) => attachment(lab, i, lab.addPod(`p${i}`), i % 2 === 1));
    const setUps: number[] = [];
    const tearDowns: number[] = [];
    for (const pod of pods) setUps.push((await agent.timed('setUp', pod)).ms);
    for (const pod of pods) tearDowns.push((await agent.timed('tearDown', pod)).ms);
    const line = (name: string, values: number[]): string =>
      `${name} p50 ${percentile(values, 50).toFixed(2)} ms, p90 ${percentile(values, 90).toFixed(2)} ms, min ${Math.min(...values).toFixed(2)} ms`;
    console.log(`pod data plane latency over 20 pods: ${line('setUp', setUps)}; ${line('tearDown', tearDowns)}`);
    expect(setUps).toHaveLength(20);
  });
});
