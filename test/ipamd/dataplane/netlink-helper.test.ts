import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IpLinkOps, LinkOpsError, NetlinkLinkOps, type LinkOps, type Segment } from '../../../ipamd/dataplane/link-ops.ts';
import { NetlinkHelperClient } from '../../../lib/netlink/client.ts';
import type { OpLine } from '../../../lib/netlink/ops.ts';
import { builtPlugin, requireRoot, sweepStaleLabs } from './helpers.ts';

/**
 * The netlink helper (dist/vpc-cni netlink-helper) against `ip -batch`: the
 * same steps leave the same kernel state and fail with the same line numbers
 * and tolerated messages; a helper that dies fails what it held and is
 * replaced; one whose ipamd goes away exits.
 */

const made: string[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'netlink-helper-'));
const clients: NetlinkHelperClient[] = [];

function namespace(role: string): string {
  // The dataplane suites' prefix (pn-PID-): a run that dies leaves nothing the next one does not sweep.
  const name = `pn-${process.pid}-nl${randomBytes(3).toString('hex')}-${role}`;
  execFileSync('ip', ['netns', 'add', name]);
  made.push(name);
  return name;
}

function helper(executable = builtPlugin, processes?: number): NetlinkLinkOps {
  const client = new NetlinkHelperClient(executable, processes === undefined ? {} : { processes });
  clients.push(client);
  return new NetlinkLinkOps(client);
}

const ip = (ns: string, args: string[]): unknown => JSON.parse(execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }) || '[]');

/** What the kernel holds in a namespace, without what differs by nature between two namespaces (indexes, link-netnsid). */
function state(ns: string): unknown {
  const strip = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value), (key, v: unknown) => (['ifindex', 'link_index', 'link_netnsid', 'link', 'preferred_life_time', 'valid_life_time'].includes(key) ? undefined : v));
  return strip({ links: ip(ns, ['-d', 'address', 'show']), routes: ip(ns, ['route', 'show', 'table', 'all']), neighbours: ip(ns, ['neigh', 'show']), rules: ip(ns, ['rule', 'show']) });
}

/** An ADD's two segments; the "host" is a namespace of the test's own, named by path as ipamd's would be. */
function podSegments(host: string, pod: string): Segment[] {
  const podSide: OpLine[] = [
    { op: { kind: 'veth-add', name: 'eth0', mtu: 9001, mac: '02:00:00:00:00:01', peer: { name: 'vpcfixed0', mtu: 9001, mac: '02:00:00:00:00:02', netns: `/var/run/netns/${host}` } } },
    { op: { kind: 'address-add', dev: 'eth0', cidr: '10.0.1.2/32' } },
    { op: { kind: 'link-up', dev: 'lo' } },
    { op: { kind: 'link-up', dev: 'eth0' } },
    { op: { kind: 'route-add', dst: '169.254.1.1', dev: 'eth0', scope: 'link' } },
    { op: { kind: 'route-add', dst: 'default', via: '169.254.1.1', dev: 'eth0' } },
    { op: { kind: 'neigh-add', dst: '169.254.1.1', lladdr: '02:00:00:00:00:02', dev: 'eth0' } },
  ];
  const hostSide: OpLine[] = [
    { op: { kind: 'link-up', dev: 'vpcfixed0' } },
    { op: { kind: 'route-add', dst: '10.0.1.2/32', dev: 'vpcfixed0', scope: 'link' } },
    { op: { kind: 'rule-add', match: 'to', cidr: '10.0.1.2/32', table: 'main', priority: 512 }, tolerate: 'exists' },
    { op: { kind: 'rule-add', match: 'from', cidr: '10.0.1.2/32', table: 3, priority: 1536 } },
  ];
  return [
    { netns: `/var/run/netns/${pod}`, lines: podSide },
    { netns: `/var/run/netns/${host}`, lines: hostSide },
  ];
}

async function failureOf(run: Promise<void>): Promise<LinkOpsError> {
  const outcome = await run.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(LinkOpsError);
  return outcome as LinkOpsError;
}

beforeAll(() => {
  requireRoot();
  sweepStaleLabs();
  if (!existsSync(builtPlugin)) throw new Error(`${builtPlugin} is missing: the integration set-up builds it (npm run build:plugin)`);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const name of made.splice(0)) spawnSync('ip', ['netns', 'del', name]);
});

describe('the netlink helper against ip -batch', () => {
  it('the same steps leave the same state in the pod and on the host', async () => {
    const results: unknown[] = [];
    for (const ops of [new IpLinkOps(), helper()] as LinkOps[]) {
      const host = namespace('host');
      const pod = namespace('pod');
      await ops.run(podSegments(host, pod));
      results.push({ pod: state(pod), host: state(host) });
    }
    expect(results[1]).toEqual(results[0]);
    const pod = results[0] as { pod: { routes: unknown[]; neighbours: unknown[] } };
    expect(pod.pod.routes.length).toBeGreaterThanOrEqual(2);
    expect(pod.pod.neighbours).toEqual([expect.objectContaining({ dst: '169.254.1.1', lladdr: '02:00:00:00:00:02', state: ['PERMANENT'] })]);
  });

  it('fail on the same line of the same segment, with the messages the tolerance patterns know', async () => {
    for (const ops of [new IpLinkOps(), helper()] as LinkOps[]) {
      const host = namespace('host');
      const pod = namespace('pod');
      await ops.run(podSegments(host, pod));
      // The veth again: line 1 of the pod segment, "File exists", nothing else ran.
      const again = await failureOf(ops.run(podSegments(host, pod)));
      expect([again.segment, again.firstFailedLine, again.failures.get(1)]).toEqual([0, 1, 'RTNETLINK answers: File exists']);
      // Deletes of what is gone are tolerated; a missing device is not, for either.
      const gone: OpLine[] = [
        { op: { kind: 'rule-del', match: 'to', cidr: '10.9.9.9/32', priority: 512 }, tolerate: 'gone' },
        { op: { kind: 'link-del', dev: 'vpcnothere' }, tolerate: 'gone' },
      ];
      await ops.run([{ netns: `/var/run/netns/${host}`, lines: gone }]);
      const missing = await failureOf(ops.run([{ netns: `/var/run/netns/${host}`, lines: [...gone, { op: { kind: 'address-add', dev: 'vpcnothere', cidr: '10.9.9.9/32' } }] }]));
      expect([missing.segment, missing.failures.size]).toEqual([0, 3]);
      expect(missing.message).toContain('line 3 (address add 10.9.9.9/32 dev vpcnothere)');
    }
  });

  it('a namespace that does not exist fails its segment before any line, and the segments after it do not run', async () => {
    for (const ops of [new IpLinkOps(), helper()] as LinkOps[]) {
      const host = namespace('host');
      const err = await failureOf(ops.run([{ netns: '/var/run/netns/vpcb-does-not-exist', lines: podSegments(host, host)[0]!.lines }, podSegments(host, host)[1]!]));
      expect([err.segment, err.firstFailedLine]).toEqual([0, 0]);
      expect(ip(host, ['link', 'show'])).toHaveLength(1); // lo only
    }
  });
});

describe('the helper process', () => {
  it('one that dies holding a request fails it as of unknown progress, and the next request gets a new helper', async () => {
    // A wrapper that records the helper's pid; a FIFO as the "namespace" blocks the helper in open() until killed.
    const pidFile = join(scratch, `pid-${randomBytes(3).toString('hex')}`);
    const wrapper = join(scratch, `helper-${randomBytes(3).toString('hex')}.sh`);
    writeFileSync(wrapper, `#!/bin/sh\necho $$ >> ${pidFile}\nexec ${builtPlugin} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const fifo = join(scratch, `fifo-${randomBytes(3).toString('hex')}`);
    execFileSync('mkfifo', [fifo]);
    const ops = helper(wrapper, 1);
    const host = namespace('host');
    await ops.run([{ netns: `/var/run/netns/${host}`, lines: [] }]);
    const held = failureOf(ops.run([{ netns: fifo, lines: [{ op: { kind: 'link-up', dev: 'lo' } }] }]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [first] = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    process.kill(first!, 'SIGKILL');
    const err = await held;
    expect(err.progressUnknown).toBe(true);
    expect(err.message).toMatch(/exited \(signal SIGKILL\)/);
    await ops.run([{ netns: `/var/run/netns/${host}`, lines: [{ op: { kind: 'link-up', dev: 'lo' } }] }]);
    expect(readFileSync(pidFile, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('grows to its process limit under concurrent requests, and every helper exits once closed', async () => {
    const pidFile = join(scratch, `pid-${randomBytes(3).toString('hex')}`);
    const wrapper = join(scratch, `helper-${randomBytes(3).toString('hex')}.sh`);
    writeFileSync(wrapper, `#!/bin/sh\necho $$ >> ${pidFile}\nexec ${builtPlugin} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const client = new NetlinkHelperClient(wrapper, { processes: 3 });
    const ops = new NetlinkLinkOps(client);
    const host = namespace('host');
    await Promise.all(Array.from({ length: 12 }, () => ops.run([{ netns: `/var/run/netns/${host}`, lines: [{ op: { kind: 'link-up', dev: 'lo' } }] }])));
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(pids.length).toBeLessThanOrEqual(3);
    await client.close();
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    await expect(ops.run([{ lines: [{ op: { kind: 'link-up', dev: 'lo' } }] }])).rejects.toThrow(/closed/);
  });

  it('spares exit after their idle time; the first helper stays', async () => {
    const pidFile = join(scratch, `pid-${randomBytes(3).toString('hex')}`);
    const wrapper = join(scratch, `helper-${randomBytes(3).toString('hex')}.sh`);
    writeFileSync(wrapper, `#!/bin/sh\necho $$ >> ${pidFile}\nexec ${builtPlugin} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const client = new NetlinkHelperClient(wrapper, { processes: 3, idleMs: 300 });
    clients.push(client);
    const ops = new NetlinkLinkOps(client);
    const host = namespace('host');
    await Promise.all(Array.from({ length: 12 }, () => ops.run([{ netns: `/var/run/netns/${host}`, lines: [{ op: { kind: 'link-up', dev: 'lo' } }] }])));
    const [first, ...spares] = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    expect(spares.length).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(spares.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(existsSync(`/proc/${first}`)).toBe(true);
    await ops.run([{ netns: `/var/run/netns/${host}`, lines: [{ op: { kind: 'link-up', dev: 'lo' } }] }]);
  });

  it('answers a malformed request with an error instead of dying', () => {
    const out = execFileSync(builtPlugin, ['netlink-helper'], { input: 'not json\n{"id":3,"segments":"x"}\n{"id":4,"segments":[]}\n', encoding: 'utf8' });
    expect(out.trim().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([
      { id: -1, error: expect.stringMatching(/^malformed request/) },
      { id: -1, error: 'malformed request' },
      { id: 4, results: [] },
    ]);
  });
});

process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
