import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { callIpamd } from '../../../wire/client.ts';
import { callFailure, startFakeIpamd } from '../../fakes/ipamd.ts';
import { removeDir, tempDir } from '../../fakes/temp-dir.ts';
import { KEY, makeStaleSocket } from './helpers.ts';

const run = promisify(execFile);
const clientSource = fileURLToPath(new URL('../../../wire/client.ts', import.meta.url));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A directory removed after the test. */
async function scratchDir(): Promise<string> {
  const dir = await tempDir('ipamd-client-');
  cleanups.push(() => removeDir(dir));
  return dir;
}

async function socketIn(): Promise<string> {
  return path.join(await scratchDir(), 'ipamd.sock');
}

/** A bare server that does whatever `onConnection` says (no ipamd behind it). */
async function bareServer(socketPath: string, onConnection: (s: net.Socket) => void): Promise<void> {
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

describe('ipamd client', () => {
  it('is unreachable when the socket does not exist', async () => {
    const socketPath = await socketIn();
    const t0 = performance.now();
    const err = await callFailure(callIpamd(socketPath, 'status', {}, { timeoutMs: 2000 }));
    expect(err.code).toBe('unreachable');
    expect(err.message).toContain('ENOENT');
    expect(err.message).toContain(socketPath);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('is unreachable when nobody listens on the socket (connection refused)', async () => {
    const socketPath = await socketIn();
    await makeStaleSocket(socketPath);
    const err = await callFailure(callIpamd(socketPath, 'del', { key: KEY }, { timeoutMs: 2000 }));
    expect(err.code).toBe('unreachable');
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('times out when the server never answers', async () => {
    const socketPath = await socketIn();
    let received = '';
    await bareServer(socketPath, (s) => s.on('data', (d) => (received += d.toString())));
    const t0 = performance.now();
    const err = await callFailure(callIpamd(socketPath, 'add', { key: KEY, netns: '/n' }, { timeoutMs: 150 }));
    const elapsed = performance.now() - t0;
    expect(err.code).toBe('timeout');
    expect(err.message).toMatch(/did not answer add within 150 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1000);
    // What went over the wire: one line of JSON.
    expect(received).toBe(JSON.stringify({ id: 1, op: 'add', params: { key: KEY, netns: '/n' } }) + '\n');
  });

  it('reports a protocol error when the answer is garbage or missing', async () => {
    const garbage = await socketIn();
    await bareServer(garbage, (s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n\n')));
    expect((await callFailure(callIpamd(garbage, 'status', {}, { timeoutMs: 1000 }))).code).toBe('protocol');

    const hangup = await socketIn();
    await bareServer(hangup, (s) => s.once('data', () => s.destroy()));
    const err = await callFailure(callIpamd(hangup, 'status', {}, { timeoutMs: 1000 }));
    expect(err.code).toBe('protocol');
    expect(err.message).toMatch(/closed the connection without answering status/);

    const wrongShape = await socketIn();
    await bareServer(wrongShape, (s) => s.once('data', () => s.end('{"id":1,"ok":"yes"}\n')));
    expect((await callFailure(callIpamd(wrongShape, 'status', {}, { timeoutMs: 1000 }))).code).toBe('protocol');
  });

  it('reads an answer that arrives in pieces', async () => {
    const socketPath = await socketIn();
    await bareServer(socketPath, (s) =>
      s.once('data', () => {
        const text = '{"id":1,"ok":true,"result":{"ready":true,"reason":"é"}}\n';
        const bytes = Buffer.from(text);
        const cut = bytes.indexOf(Buffer.from('é')) + 1;
        s.write(bytes.subarray(0, cut));
        setTimeout(() => s.end(bytes.subarray(cut)), 20);
      }),
    );
    expect(await callIpamd(socketPath, 'status', {}, { timeoutMs: 1000 })).toEqual({ ready: true, reason: 'é' });
  });
});

describe('ipamd client: measurements (printed, not asserted)', () => {
  it('round trip over 1,000 sequential calls against a trivial service', async () => {
    const ipamd = await startFakeIpamd();
    cleanups.push(ipamd.close);
    const { socketPath } = ipamd;
    const params = { key: KEY, netns: '/var/run/netns/cni-1', pod: { namespace: 'default', name: 'web-0', uid: 'u-1' } };
    for (let i = 0; i < 100; i++) await callIpamd(socketPath, 'add', params); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t0 = performance.now();
      await callIpamd(socketPath, 'add', params);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const p50 = percentile(times, 50);
    const p99 = percentile(times, 99);
    console.log(`ipamd client round trip (add, 1,000 sequential, new connection each): p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, max ${times.at(-1)?.toFixed(3)} ms`);
    expect(times).toHaveLength(1000);
  });

  it('client module import time in a fresh node process', async () => {
    // Compile the client the way a build would (types stripped), then time its import in new processes.
    const dir = await scratchDir();
    // One file, as the plugin's bundle carries it (client, answer reader and error, types stripped).
    const js = (await build({ entryPoints: [clientSource], bundle: true, write: false, format: 'esm', platform: 'node', target: 'node20' })).outputFiles[0]?.text ?? '';
    const file = path.join(dir, 'client.mjs');
    const empty = path.join(dir, 'empty.mjs');
    await fs.writeFile(file, js);
    await fs.writeFile(empty, 'export {};\n');
    const timeImport = async (specifier: string): Promise<number[]> => {
      const probe = `const t0 = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t0));`;
      const samples: number[] = [];
      for (let i = 0; i < 9; i++) {
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe]);
        samples.push(Number(stdout));
      }
      return samples.sort((a, b) => a - b);
    };
    const samples = await timeImport(file);
    const baseline = await timeImport(empty);
    const netOnly = await timeImport('node:net');
    const fmt = (xs: number[]): string => `median ${percentile(xs, 50).toFixed(2)} ms (min ${xs[0]?.toFixed(2)}, max ${xs.at(-1)?.toFixed(2)})`;
    console.log(
      [
        `ipamd client import in a fresh node process (transpiled, ${js.length} bytes of JS): ${fmt(samples)}`,
        `  for comparison: an empty module ${fmt(baseline)}; node:net alone ${fmt(netOnly)}`,
      ].join('\n'),
    );
    expect(samples.every((s) => Number.isFinite(s))).toBe(true);
  });
});
