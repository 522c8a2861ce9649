import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { callIpamd } from '../../../wire/client.ts';
import { IpamError } from '../../../wire/errors.ts';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../../ipamd/api/server.ts';
import { fakeAddResult } from '../../fakes/add-result.ts';
import { callFailure, startFakeIpamd } from '../../fakes/ipamd.ts';
import { FakeIpamService } from '../../fakes/ipam-service.ts';
import { captureLogger } from '../../fakes/logger.ts';
import { removeDir, tempDir } from '../../fakes/temp-dir.ts';
import { addLine, KEY, makeStaleSocket, rawExchange, sleep } from './helpers.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function start(
  overrides: Partial<Omit<ApiServerOptions, 'service'>> & { service?: FakeIpamService } = {},
): Promise<{ server: ApiServer; service: FakeIpamService; socketPath: string; log: ReturnType<typeof captureLogger> }> {
  const log = captureLogger();
  const ipamd = await startFakeIpamd({ logger: log, ...overrides });
  cleanups.push(ipamd.close);
  return { ...ipamd, log };
}

/** A directory for a test that starts its own server, removed after the test. */
async function scratchDir(): Promise<string> {
  const dir = await tempDir('ipamd-api-');
  cleanups.push(() => removeDir(dir));
  return dir;
}

describe('ipamd API: every op through the real client', () => {
  it('add, check, status, gc and del round-trip with the validated params', async () => {
    const { socketPath, service } = await start();
    const pod = { namespace: 'default', name: 'web-0', uid: '6f1c1a3e-8b7e-4a52-9d7a-1f2e3d4c5b6a' };

    const added = await callIpamd(socketPath, 'add', { key: KEY, netns: '/var/run/netns/cni-1', pod });
    expect(added).toEqual(fakeAddResult({ key: KEY, ip: '10.0.16.5' }));
    expect(added.address).toBe('10.0.16.5/32');
    // Idempotent on the key.
    expect((await callIpamd(socketPath, 'add', { key: KEY, netns: '/var/run/netns/cni-1' })).ip).toBe('10.0.16.5');

    expect(await callIpamd(socketPath, 'check', { key: KEY, netns: '/var/run/netns/cni-1' })).toEqual({
      address: '10.0.16.5/32',
      interfaceId: 'eni-0a1b2c3d',
    });
    expect(await callIpamd(socketPath, 'status', {})).toEqual({ ready: true, assigned: 1, available: 10 });

    const other = { ...KEY, containerId: 'deadbeef' };
    await callIpamd(socketPath, 'add', { key: other, netns: '/var/run/netns/cni-2' });
    expect(await callIpamd(socketPath, 'gc', { network: 'aws-cni', validAttachments: [{ containerId: KEY.containerId, ifName: 'eth0' }] })).toEqual({
      released: 1,
    });

    expect(await callIpamd(socketPath, 'del', { key: KEY, netns: '' })).toEqual({});
    expect(await callIpamd(socketPath, 'del', { key: KEY })).toEqual({}); // twice: still fine
    const notFound = await callFailure(callIpamd(socketPath, 'check', { key: KEY }));
    expect(notFound.code).toBe('not-found');
    expect(notFound.message).toContain(KEY.containerId);

    const add = service.calls.find((c) => c.op === 'add');
    expect(add?.containerId).toBe(KEY.containerId);
    expect(service.calls.map((c) => c.op)).toEqual(['add', 'add', 'check', 'status', 'add', 'gc', 'del', 'del', 'check']);
  });

  it('takes a pino logger as it is', async () => {
    const socketPath = path.join(await scratchDir(), 'ipamd.sock');
    const server = await startApiServer({ socketPath, service: new FakeIpamService(), logger: pino({ level: 'silent' }) });
    cleanups.push(() => server.close());
    expect(await callIpamd(socketPath, 'status', {})).toMatchObject({ ready: true });
  });

  it('reports not ready through status', async () => {
    const { socketPath, service } = await start();
    service.ready = false;
    expect(await callIpamd(socketPath, 'status', {})).toEqual({ ready: false, reason: 'pool not warmed yet' });
  });

  it('answers pipelined requests on one connection, each by its id', async () => {
    const { socketPath } = await start();
    const other = { ...KEY, containerId: 'b2' };
    const { responses } = await rawExchange(
      socketPath,
      [addLine(7) + addLine(8, other) + JSON.stringify({ id: 9, op: 'status' }) + '\n'],
      { expect: 3 },
    );
    const byId = new Map(responses.map((r) => [r.id, r]));
    expect([...byId.keys()].sort()).toEqual([7, 8, 9]);
    expect(byId.get(7)).toMatchObject({ ok: true, result: { ip: '10.0.16.5' } });
    expect(byId.get(8)).toMatchObject({ ok: true, result: { ip: '10.0.16.6' } });
    expect(byId.get(9)).toMatchObject({ ok: true, result: { ready: true } });
  });
});

describe('ipamd API: the socket file', () => {
  it('is created with mode 0600 in a directory created 0700', async () => {
    const dir = await scratchDir();
    const socketPath = path.join(dir, 'run', 'ipamd', 'ipamd.sock');
    const server = await startApiServer({ socketPath, service: new FakeIpamService(), logger: captureLogger() });
    cleanups.push(() => server.close());
    const stat = await fs.lstat(socketPath);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(socketPath))).mode & 0o777).toBe(0o700);
    // No temporary socket left beside it.
    expect(await fs.readdir(path.dirname(socketPath))).toEqual(['ipamd.sock']);
  });

  it('replaces a stale socket left by a killed daemon', async () => {
    const dir = await scratchDir();
    const socketPath = path.join(dir, 'ipamd.sock');
    await makeStaleSocket(socketPath);
    const unreachable = await callFailure(callIpamd(socketPath, 'status', {}, { timeoutMs: 1000 }));
    expect(unreachable.code).toBe('unreachable');

    const { socketPath: same } = await start({ socketPath });
    expect(same).toBe(socketPath);
    expect((await fs.lstat(socketPath)).mode & 0o777).toBe(0o600);
    expect(await callIpamd(socketPath, 'status', {})).toMatchObject({ ready: true });
  });

  it('refuses to start when another server is live on the socket, which keeps serving', async () => {
    const { socketPath } = await start();
    await expect(startApiServer({ socketPath, service: new FakeIpamService(), logger: captureLogger() })).rejects.toThrow(/another server is listening/);
    expect(await callIpamd(socketPath, 'status', {})).toMatchObject({ ready: true });
    expect((await fs.readdir(path.dirname(socketPath))).sort()).toEqual(['ipamd.sock']);
  });

  it('refuses to replace something that is not a socket', async () => {
    const dir = await scratchDir();
    const socketPath = path.join(dir, 'ipamd.sock');
    await fs.writeFile(socketPath, 'precious');
    await expect(startApiServer({ socketPath, service: new FakeIpamService(), logger: captureLogger() })).rejects.toThrow(/not a socket/);
    expect(await fs.readFile(socketPath, 'utf8')).toBe('precious');
  });

  it('close() waits for running requests, answers them, then removes the socket', async () => {
    const { server, socketPath, service } = await start();
    service.delayMs = 150;
    const running = callIpamd(socketPath, 'add', { key: KEY, netns: '/var/run/netns/cni-1' });
    await sleep(30);
    const t0 = performance.now();
    await server.close();
    expect(performance.now() - t0).toBeGreaterThan(80);
    expect((await running).ip).toBe('10.0.16.5');
    await expect(fs.lstat(socketPath)).rejects.toThrow(/ENOENT/);
    expect((await callFailure(callIpamd(socketPath, 'status', {}))).code).toBe('unreachable');
  });

  it('close() turns away requests still waiting for their container and is bounded for stuck ones', async () => {
    const { server, socketPath, service } = await start({ closeTimeoutMs: 200 });
    service.hook = (op) => (op === 'add' ? new Promise<void>(() => {}) : undefined); // add never finishes
    const stuck = callFailure(callIpamd(socketPath, 'add', { key: KEY, netns: '/var/run/netns/cni-1' }, { timeoutMs: 5000 }));
    await sleep(30);
    const queued = callFailure(callIpamd(socketPath, 'del', { key: KEY }, { timeoutMs: 5000 }));
    await sleep(30);
    const t0 = performance.now();
    await server.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect((await queued).code).toBe('not-ready');
    expect((await stuck).code).toBe('protocol'); // connection closed without an answer
    expect(service.calls.map((c) => c.op)).toEqual(['add']); // the queued del never ran
    expect(service.signals[0]?.aborted).toBe(true);
  });
});

describe('ipamd API: concurrency', () => {
  it('serializes requests for one container in arrival order and runs different containers in parallel', async () => {
    const { socketPath, service } = await start();
    service.delayMs = 40;
    // Five requests for one container, pipelined in one write so their order is known.
    const sameLines = [1, 2, 3, 4, 5].map((id) => (id % 2 === 1 ? addLine(id) : JSON.stringify({ id, op: 'del', params: { key: KEY } }) + '\n'));
    const t0 = performance.now();
    const same = rawExchange(socketPath, [sameLines.join('')], { expect: 5 });
    // Five different containers at the same time.
    const different = Promise.all(
      [1, 2, 3, 4, 5].map((i) => callIpamd(socketPath, 'add', { key: { ...KEY, containerId: `other${i}` }, netns: '/var/run/netns/x' })),
    );
    const [sameResult] = await Promise.all([same, different]);
    const elapsed = performance.now() - t0;

    expect(sameResult.responses.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    expect(sameResult.responses.every((r) => r.ok === true)).toBe(true);
    const mine = service.calls.filter((c) => c.containerId === KEY.containerId);
    expect(mine.map((c) => c.op)).toEqual(['add', 'del', 'add', 'del', 'add']);
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.start).toBeGreaterThanOrEqual(mine[i - 1]!.end);
    expect(service.maxPerContainer).toBe(1);
    // The other containers overlapped with each other and with the serialized chain.
    expect(service.maxOverall).toBeGreaterThanOrEqual(5);
    // Serial would be 10 x 40 ms; the same-container chain alone is 5 x 40 ms.
    expect(elapsed).toBeLessThan(9 * 40);
  });

  it('runs gc alone: it waits for running requests and holds new ones back, status goes through', async () => {
    const { socketPath, service } = await start();
    service.delayMs = 60;
    const a = callIpamd(socketPath, 'add', { key: { ...KEY, containerId: 'a1' }, netns: '/n/a' });
    await sleep(15);
    const gc = callIpamd(socketPath, 'gc', { network: 'aws-cni', validAttachments: [{ containerId: 'a1', ifName: 'eth0' }] });
    await sleep(15);
    const b = callIpamd(socketPath, 'add', { key: { ...KEY, containerId: 'b1' }, netns: '/n/b' });
    await sleep(5);
    const status = await callIpamd(socketPath, 'status', {});
    expect(status.ready).toBe(true);
    expect(service.calls.map((c) => c.op)).toEqual(['add', 'status']); // gc and b wait
    await Promise.all([a, gc, b]);
    const [ca, , cgc, cb] = service.calls;
    expect(service.calls.map((c) => `${c.op}:${c.containerId ?? ''}`)).toEqual(['add:a1', 'status:', 'gc:', 'add:b1']);
    expect(cgc!.start).toBeGreaterThanOrEqual(ca!.end);
    expect(cb!.start).toBeGreaterThanOrEqual(cgc!.end);
  });

  it('answers busy when a request outlives requestTimeoutMs, and keeps the container locked until the service returns', async () => {
    const { socketPath, service } = await start({ requestTimeoutMs: 100 });
    let release!: () => void;
    service.hook = (op) => (op === 'add' ? new Promise<void>((r) => (release = r)) : undefined);
    const t0 = performance.now();
    const slow = await callFailure(callIpamd(socketPath, 'add', { key: KEY, netns: '/var/run/netns/cni-1' }));
    expect(slow.code).toBe('busy');
    expect(slow.message).toMatch(/timed out after 100 ms running/);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(service.signals[0]?.aborted).toBe(true);

    // Another request for the same container waits (and times out) while the add still runs.
    const waiting = await callFailure(callIpamd(socketPath, 'del', { key: KEY }));
    expect(waiting.code).toBe('busy');
    expect(waiting.message).toMatch(/waiting to run/);
    expect(service.calls.map((c) => c.op)).toEqual(['add']);

    release();
    await sleep(10);
    expect(await callIpamd(socketPath, 'del', { key: KEY })).toEqual({});
  });

  it('answers busy when too many requests queue for one container', async () => {
    const { socketPath, service } = await start({ maxQueuedPerContainer: 2 });
    service.delayMs = 100;
    const lines = [1, 2, 3, 4].map((id) => JSON.stringify({ id, op: 'del', params: { key: KEY } }) + '\n').join('');
    const { responses } = await rawExchange(socketPath, [lines], { expect: 4 });
    const busy = responses.filter((r) => r.ok === false);
    expect(busy).toHaveLength(1);
    expect(busy[0]).toMatchObject({ id: 4, error: { code: 'busy' } });
    expect(responses.filter((r) => r.ok === true).map((r) => r.id).sort()).toEqual([1, 2, 3]);
  });

  it('survives clients that disconnect mid-request', async () => {
    const { socketPath, service, log } = await start();
    service.delayMs = 60;
    // A running add plus a queued del behind it, then the client closes its socket.
    // EOF cannot tell a full close from a half-close, so both run; the answers go nowhere.
    await rawExchange(socketPath, [addLine(1) + JSON.stringify({ id: 2, op: 'del', params: { key: KEY } }) + '\n'], { after: 'destroy' });
    // Another client goes away in the middle of its (slow) request.
    await rawExchange(socketPath, [addLine(1, { ...KEY, containerId: 'gone2' })], { after: 'destroy' });
    await sleep(200);
    expect(service.calls.map((c) => `${c.op}:${c.containerId}`).sort()).toEqual(['add:c0ffee1234', 'add:gone2', 'del:c0ffee1234']);
    expect(log.entries.filter((e) => e.level === 'error')).toEqual([]);
    // The container is free again and the server fine.
    service.delayMs = 0;
    expect((await callIpamd(socketPath, 'add', { key: KEY, netns: '/var/run/netns/cni-1' })).ip).toBe('10.0.16.7');
    expect(service.maxPerContainer).toBe(1);
  });
});

describe('ipamd API: idle connections', () => {
  it('does not take a connection whose request is waiting to be read for an idle one after a stall', async () => {
    const { socketPath } = await start({ idleTimeoutMs: 100 });
    const socket = net.createConnection(socketPath);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    await sleep(20); // the server has accepted and armed its idle timer
    socket.write(JSON.stringify({ id: 1, op: 'status', params: {} }) + '\n');
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // Stall the event loop past the idle timeout with the request unread.
    }
    await sleep(100);
    socket.destroy();
    expect(data).toBe(JSON.stringify({ id: 1, ok: true, result: { ready: true, assigned: 0, available: 10 } }) + '\n');
  });

  it('closes a connection that sends nothing', async () => {
    const { socketPath } = await start({ idleTimeoutMs: 100 });
    const t0 = performance.now();
    const { responses, error } = await rawExchange(socketPath, [], { after: 'keep', waitMs: 8000 });
    expect(responses).toEqual([]);
    expect(error).toBeUndefined();
    // Closed by the server, long before the client would give up (a loaded machine delays timers).
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('still closes an idle connection after the idle check was re-armed by a request in flight', async () => {
    const { socketPath, service } = await start({ idleTimeoutMs: 100 });
    service.delayMs = 300; // the first idle check finds the request in flight and re-arms
    const t0 = performance.now();
    const { responses, error } = await rawExchange(socketPath, [addLine(1)], { after: 'keep', waitMs: 8000 });
    expect(responses).toHaveLength(1);
    expect(error).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('ipamd API: service errors', () => {
  it('passes IpamError codes through with message and limit', async () => {
    const { socketPath, service, log } = await start();
    service.hook = (op) => {
      if (op === 'add') throw new IpamError('exhausted', 'no address left: the node has reached MAX_ENI=3 interfaces', 'max-eni');
      if (op === 'del') throw new IpamError('not-ready', 'datastore not restored yet');
      if (op === 'gc') throw new IpamError('busy', 'reconcile in progress');
    };
    const exhausted = await callFailure(callIpamd(socketPath, 'add', { key: KEY, netns: '/var/run/netns/cni-1' }));
    expect(exhausted).toMatchObject({ code: 'exhausted', limit: 'max-eni', message: 'no address left: the node has reached MAX_ENI=3 interfaces (limit: max-eni)' });
    const notReady = await callFailure(callIpamd(socketPath, 'del', { key: KEY }));
    expect(notReady).toMatchObject({ code: 'not-ready', message: 'datastore not restored yet', limit: undefined });
    expect(await callFailure(callIpamd(socketPath, 'gc', { network: 'n', validAttachments: [] }))).toMatchObject({ code: 'busy' });
    expect(log.entries.filter((e) => e.level === 'error')).toEqual([]);
  });

  it('keeps a message that already names the limit as it is', async () => {
    const { socketPath, service } = await start();
    service.hook = () => {
      throw new IpamError('exhausted', 'subnet-addresses: subnet-1 has no free address', 'subnet-addresses');
    };
    const err = await callFailure(callIpamd(socketPath, 'add', { key: KEY, netns: '/n' }));
    expect(err.message).toBe('subnet-addresses: subnet-1 has no free address');
  });

  it('turns any other error into internal without leaking it, and logs it', async () => {
    const { socketPath, service, log } = await start();
    service.hook = () => {
      throw new Error('ECONNRESET talking to ec2.secret-endpoint.internal with token abc123');
    };
    const err = await callFailure(callIpamd(socketPath, 'add', { key: KEY, netns: '/n' }));
    expect(err.code).toBe('internal');
    expect(err.message).toBe('internal error in ipamd; see the ipamd log');
    expect(err.message).not.toMatch(/secret|abc123|at /);
    const logged = log.entries.find((e) => e.level === 'error');
    expect((logged?.obj.err as Error).message).toContain('abc123');

    // A service that throws synchronously and one that rejects with a non-Error.
    const sync = new FakeIpamService();
    sync.add = () => {
      throw new TypeError('boom');
    };
    sync.del = () => Promise.reject('a string');
    const second = await start({ service: sync });
    expect((await callFailure(callIpamd(second.socketPath, 'add', { key: KEY, netns: '/n' }))).code).toBe('internal');
    expect((await callFailure(callIpamd(second.socketPath, 'del', { key: KEY }))).code).toBe('internal');
    expect(await callIpamd(second.socketPath, 'status', {})).toMatchObject({ ready: true });
  });

  it('never sends a client-side code: a service rethrowing a failed ipamd call answers internal', async () => {
    const { socketPath, service, log } = await start();
    service.hook = () => {
      throw new IpamError('unreachable', 'cannot talk to ipamd at /elsewhere.sock: ENOENT');
    };
    const err = await callFailure(callIpamd(socketPath, 'add', { key: KEY, netns: '/n' }));
    expect(err).toMatchObject({ code: 'internal', message: 'internal error in ipamd; see the ipamd log' });
    expect(log.entries.filter((e) => e.level === 'error')).toHaveLength(1);
  });
});
