/** What the API tests share beyond test/fakes: talking to the server over a bare socket, and the request lines they send. */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface RawResult {
  /** Parsed response lines. */
  responses: Array<Record<string, unknown>>;
  /** Bytes that did not form a full line. */
  rest: string;
  error: string | undefined;
}

/**
 * Talk to the server with a bare socket: write each chunk (pausing between
 * them), then end (half-close), destroy, or keep the connection open, and
 * collect what comes back until the server closes or `waitMs` passes.
 */
export function rawExchange(
  socketPath: string,
  chunks: Array<string | Buffer>,
  opts: { after?: 'end' | 'destroy' | 'keep'; pauseMs?: number; waitMs?: number; expect?: number } = {},
): Promise<RawResult> {
  const { after = 'end', pauseMs = 0, waitMs = 3000, expect } = opts;
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath);
    let data = '';
    let error: string | undefined;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const lines = data.split('\n');
      const rest = lines.pop() ?? '';
      resolve({ responses: lines.filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>), rest, error });
    };
    const timer = setTimeout(settle, waitMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
      if (expect !== undefined && data.split('\n').length - 1 >= expect) settle();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.on('close', settle);
    socket.on('connect', async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (socket.destroyed) break;
        socket.write(chunk);
        if (pauseMs > 0 && i < chunks.length - 1) await sleep(pauseMs);
      }
      if (after === 'end') socket.end();
      else if (after === 'destroy') {
        socket.destroy();
        settle();
      }
    });
  });
}

/** Leave a socket file with nobody listening behind it: a daemon that was SIGKILLed. */
export async function makeStaleSocket(socketPath: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`],
    { stdio: 'ignore' },
  );
  await new Promise((resolve) => child.on('exit', resolve));
  const stat = await fs.lstat(socketPath);
  if (!stat.isSocket()) throw new Error('expected a socket file');
}

export const KEY = { network: 'aws-cni', containerId: 'c0ffee1234', ifName: 'eth0' };

export function addLine(id: number, key: Record<string, unknown> = KEY, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ id, op: 'add', params: { key, netns: '/var/run/netns/cni-1', ...extra } }) + '\n';
}
