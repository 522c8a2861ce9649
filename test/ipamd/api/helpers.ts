import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type {
  AddParams,
  AddResult,
  CheckParams,
  CheckResult,
  DelParams,
  GcParams,
  GcResult,
  IpamService,
  RequestContext,
  StatusResult,
} from '../../../wire/protocol.ts';
import { IpamError } from '../../../wire/errors.ts';
import type { ApiLogger } from '../../../ipamd/api/server.ts';

/** What FakeService answers an add with, for the address it picked. */
export function fakeAddResult(ip: string, ifName: string): AddResult {
  return {
    address: `${ip}/32`,
    ip,
    interfaceId: 'eni-0a1b2c3d',
    deviceIndex: 1,
    mac: '02:00:0a:00:10:01',
    subnetCidr: '10.0.16.0/20',
    gateway: '10.0.16.1',
    hostInterface: { name: 'vcni0123456789a', mac: '02:00:00:00:00:01' },
    podInterface: { name: ifName, mac: '02:00:00:00:00:02' },
    mtu: 9001,
    podGateway: '169.254.1.1',
  };
}

/** A fresh directory for sockets (short, under /tmp: sun_path holds 108 bytes). */
export async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'ipamd-api-'));
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

export function captureLogger(): ApiLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (obj: object, msg?: string): void => {
      entries.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface CallRecord {
  op: string;
  containerId: string | undefined;
  start: number;
  end: number;
}

/**
 * An in-memory IPAM behind the socket: hands out 10.0.16.x, remembers
 * allocations by key, and records when each call ran. `delayMs` makes
 * add/del/check/gc take time, `hook` lets a test throw or stall.
 */
export class FakeService implements IpamService {
  readonly calls: CallRecord[] = [];
  readonly allocations = new Map<string, string>();
  readonly signals: AbortSignal[] = [];
  delayMs = 0;
  ready = true;
  hook: ((op: string, params: unknown, ctx: RequestContext) => Promise<void> | void) | undefined;
  #next = 5;
  #active = new Map<string, number>();
  /** Highest number of calls that ran at once for any one container, and overall. */
  maxPerContainer = 0;
  maxOverall = 0;
  #overall = 0;

  static keyOf(k: { network: string; containerId: string; ifName: string }): string {
    return `${k.network}/${k.containerId}/${k.ifName}`;
  }

  async #track<T>(op: string, containerId: string | undefined, params: unknown, ctx: RequestContext, fn: () => T): Promise<T> {
    const rec: CallRecord = { op, containerId, start: performance.now(), end: 0 };
    this.calls.push(rec);
    this.signals.push(ctx.signal);
    const key = containerId ?? '*';
    const n = (this.#active.get(key) ?? 0) + 1;
    this.#active.set(key, n);
    this.#overall++;
    this.maxPerContainer = Math.max(this.maxPerContainer, n);
    this.maxOverall = Math.max(this.maxOverall, this.#overall);
    try {
      if (this.delayMs > 0) await sleep(this.delayMs);
      if (this.hook) await this.hook(op, params, ctx);
      return fn();
    } finally {
      rec.end = performance.now();
      this.#overall--;
      const left = (this.#active.get(key) ?? 1) - 1;
      if (left === 0) this.#active.delete(key);
      else this.#active.set(key, left);
    }
  }

  add(params: AddParams, ctx: RequestContext): Promise<AddResult> {
    return this.#track('add', params.key.containerId, params, ctx, () => {
      const k = FakeService.keyOf(params.key);
      let ip = this.allocations.get(k);
      if (!ip) {
        ip = `10.0.16.${this.#next++}`;
        this.allocations.set(k, ip);
      }
      return fakeAddResult(ip, params.key.ifName);
    });
  }

  del(params: DelParams, ctx: RequestContext): Promise<void> {
    return this.#track('del', params.key.containerId, params, ctx, () => {
      this.allocations.delete(FakeService.keyOf(params.key));
    });
  }

  check(params: CheckParams, ctx: RequestContext): Promise<CheckResult> {
    return this.#track('check', params.key.containerId, params, ctx, () => {
      const ip = this.allocations.get(FakeService.keyOf(params.key));
      if (!ip) throw new IpamError('not-found', `no address for container ${params.key.containerId}`);
      return { address: `${ip}/32`, interfaceId: 'eni-0a1b2c3d' };
    });
  }

  async status(ctx: RequestContext): Promise<StatusResult> {
    this.signals.push(ctx.signal);
    return this.ready ? { ready: true, assigned: this.allocations.size, available: 10 } : { ready: false, reason: 'pool not warmed yet' };
  }

  gc(params: GcParams, ctx: RequestContext): Promise<GcResult> {
    return this.#track('gc', undefined, params, ctx, () => {
      const keep = new Set(params.validAttachments.map((a) => `${params.network}/${a.containerId}/${a.ifName}`));
      let released = 0;
      for (const k of [...this.allocations.keys()]) {
        if (k.startsWith(`${params.network}/`) && !keep.has(k)) {
          this.allocations.delete(k);
          released++;
        }
      }
      return { released };
    });
  }
}

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
