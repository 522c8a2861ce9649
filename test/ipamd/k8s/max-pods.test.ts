/**
 * Max pods: the formula per cloud and mode, with AWS's calculator's cap,
 * and the `max-pods` command from the bundle, run away from the sources
 * (the instance catalogs must be inside dist/ipamd.mjs).
 */
import { execFile } from 'node:child_process';
import { copyFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capFor, computeMaxPods, type MaxPodsInput } from '../../../ipamd/k8s/max-pods.ts';
import { maxPodsFor } from '../../../ipamd/k8s/max-pods-command.ts';
import { ipamdNode } from '../../../emulator/cluster/cluster.ts';

const run = promisify(execFile);
const aws = { maxInterfaces: 3, ipv4PerInterface: 10, supportsPrefixes: true, prefixLength: 28, hotAttach: true };

describe('computeMaxPods', () => {
  it.each<[string, MaxPodsInput, number]>([
    ['m5.large, secondary IPs: 3 x 9 + 2', { cloud: 'aws', limits: aws, mode: 'ips' }, 29],
    ['t3.medium: 3 x 5 + 2', { cloud: 'aws', limits: { ...aws, ipv4PerInterface: 6 }, mode: 'ips' }, 17],
    ['m5.large, prefixes: 3 x 9 x 16 + 2 = 434, capped at 110', { cloud: 'aws', limits: aws, mode: 'prefixes' }, 110],
    ['prefixes on 30+ vCPUs: capped at 250', { cloud: 'aws', limits: aws, mode: 'prefixes', vcpus: 32 }, 250],
    ['prefixes, no cap', { cloud: 'aws', limits: aws, mode: 'prefixes', cap: 0 }, 434],
    ['MAX_ENI=1: 1 x 9 + 2', { cloud: 'aws', limits: aws, mode: 'ips', maxEni: 1 }, 11],
    ['Azure, one NIC (none attachable at run time): 255 + 2, capped', { cloud: 'azure', limits: { ...aws, maxInterfaces: 4, ipv4PerInterface: 256, hotAttach: false, supportsPrefixes: false }, mode: 'ips', cap: 0 }, 257],
    ['Azure, two NICs, 30 addresses each', { cloud: 'azure', limits: { ...aws, maxInterfaces: 4, ipv4PerInterface: 31, hotAttach: false }, mode: 'ips', interfaces: 2 }, 62],
  ])('%s', (_what, input, expected) => {
    expect(computeMaxPods(input).maxPods).toBe(expected);
  });

  it('caps like AWS: 110 below 30 vCPUs, 250 from 30, 110 when unknown', () => {
    expect([capFor(2), capFor(29), capFor(30), capFor(96), capFor(undefined)]).toEqual([110, 110, 250, 250, 110]);
  });

  it('refuses prefixes where the type cannot have them', () => {
    expect(() => computeMaxPods({ cloud: 'aws', limits: { ...aws, supportsPrefixes: false }, mode: 'prefixes' })).toThrow(/does not support prefix delegation/);
  });

  it('reads every cloud catalog', async () => {
    expect((await maxPodsFor({ cloud: 'aws', instanceType: 'm5.large', mode: 'ips' })).maxPods).toBe(29);
    expect((await maxPodsFor({ cloud: 'aws', instanceType: 't3.medium', mode: 'ips' })).maxPods).toBe(17);
    // The Alibaba table has vCPUs: they choose the cap.
    expect(await maxPodsFor({ cloud: 'alibaba', instanceType: 'ecs.c6.13xlarge', mode: 'prefixes' })).toMatchObject({ vcpus: 52, cap: 250, maxPods: 250 });
    expect((await maxPodsFor({ cloud: 'azure', instanceType: 'Standard_B1s', mode: 'ips', cap: 0 })).maxPods).toBe(257);
    await expect(maxPodsFor({ cloud: 'aws', instanceType: 'm5.lage', mode: 'ips' })).rejects.toThrow(/unknown EC2 instance type "m5.lage" \(did you mean m5\./);
  });
});

describe('vpc-cni-ipamd max-pods, from the bundle', () => {
  let dir: string;
  beforeAll(async () => {
    // The bundle alone (entry and chunks) in an empty directory: no data file within reach.
    dir = await mkdtemp(join(tmpdir(), 'max-pods-'));
    await copyFile(new URL('../../../dist/ipamd.mjs', import.meta.url), join(dir, 'ipamd.mjs'));
    await cp(new URL('../../../dist/ipamd-chunks', import.meta.url), join(dir, 'ipamd-chunks'), { recursive: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const cli = (...args: string[]) => run(ipamdNode(), [join(dir, 'ipamd.mjs'), 'max-pods', ...args], { cwd: dir, timeout: 20_000 });

  // Each run of the bundle costs a second or so of start-up: a few, side by side.
  it('prints the value for kubelet, explains it, and fails clearly on bad input', async () => {
    const [m5, alibaba, unknown, badCap] = await Promise.allSettled([
      cli('--instance-type', 'm5.large'),
      cli('--cloud', 'alibaba', '--instance-type', 'ecs.c6.13xlarge', '--mode', 'prefixes', '--explain'),
      cli('--instance-type', 'nope.large'),
      cli('--instance-type', 'm5.large', '--cap', '-1'),
    ]);
    expect(m5).toMatchObject({ status: 'fulfilled', value: { stdout: '29\n' } });
    expect(alibaba).toMatchObject({ status: 'fulfilled', value: { stdout: expect.stringContaining('7 interfaces x 19 /28 prefixes of 16 + 2 = 2130; cap 250 (52 vCPUs); max pods 250') } });
    expect(unknown).toMatchObject({ status: 'rejected', reason: { code: 1, stderr: expect.stringContaining('unknown EC2 instance type "nope.large"') } });
    expect(badCap).toMatchObject({ status: 'rejected', reason: { stderr: expect.stringContaining('--cap expects a whole number >= 0') } });
  });
});
