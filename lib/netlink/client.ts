import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { helperArgument, type HelperReply, type HelperRequest, type Segment, type SegmentResult } from './protocol.ts';

/**
 * ipamd's side of the netlink helper: long-lived children (the plugin
 * executable with `helperArgument`), requests written as JSON lines and
 * answered in order. A helper that exits fails the requests it held (their
 * progress unknown) and is started afresh by the next request.
 */

/** The helper could not run a batch: `progressUnknown` when it died holding it, else nothing ran. */
export class HelperError extends Error {
  constructor(
    message: string,
    readonly progressUnknown: boolean,
  ) {
    super(message);
    this.name = 'HelperError';
  }
}

interface Pending {
  resolve(results: SegmentResult[]): void;
  reject(error: HelperError): void;
}

type HelperProcess = ChildProcessByStdio<Writable, Readable, Readable>;

export interface HelperClientOptions {
  /** Each line a helper writes to stderr. */
  onStderr?(line: string): void;
  /** A helper exited: `how` is its code or signal; `asked` when we ended it (closed, or a spare retired idle). */
  onExit?(how: string, asked: boolean): void;
  /** Most helper processes at once (default 8). */
  processes?: number;
  /** A helper other than the first that has been idle this long exits (default 30 s): bursts borrow memory, they do not keep it. */
  idleMs?: number;
}

/**
 * Up to `processes` helpers, each serving one batch at a time: a request
 * goes to the least busy, and a new helper starts only when all are busy;
 * the extra ones exit after `idleMs` without work (each holds ~6 MB of its
 * own). Why more than one: the kernel makes the caller of a link deletion
 * wait for the device to be released (an RCU grace period, 10-30 ms), so one
 * helper would queue a burst of DELs behind each other, where separate
 * callers overlap their waits.
 */
export class NetlinkHelperClient {
  private readonly helpers: HelperProcessChannel[] = [];
  private readonly processes: number;
  private closed = false;

  constructor(
    readonly executable: string,
    private readonly options: HelperClientOptions = {},
  ) {
    this.processes = Math.max(1, options.processes ?? 8);
  }

  /** Runs the segments in order, up to the first that fails; resolves with what became of each segment that ran. */
  run(segments: Segment[]): Promise<SegmentResult[]> {
    if (this.closed) return Promise.reject(new HelperError('the netlink helper is closed', false));
    return this.leastBusy().run(segments);
  }

  private leastBusy(): HelperProcessChannel {
    let best: HelperProcessChannel | undefined;
    for (const helper of this.helpers) if (!best || helper.inFlight < best.inFlight) best = helper;
    if (best && (best.inFlight === 0 || this.helpers.length >= this.processes)) return best;
    const spare = this.helpers.length > 0;
    const helper = new HelperProcessChannel(this.executable, this.options, spare ? () => this.retire(helper) : undefined);
    this.helpers.push(helper);
    return helper;
  }

  /** A spare helper that stayed idle: it leaves the pool and exits. */
  private retire(helper: HelperProcessChannel): void {
    const index = this.helpers.indexOf(helper);
    if (index < 0 || helper.inFlight > 0) return;
    this.helpers.splice(index, 1);
    void helper.close();
  }

  /** Ends the helpers (their stdin closes, they exit); later requests fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.helpers.splice(0).map((helper) => helper.close()));
  }
}

/** One helper process, started on first use and again after it exits. */
class HelperProcessChannel {
  private child: HelperProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(
    private readonly executable: string,
    private readonly options: HelperClientOptions,
    /** Called once this helper has been idle for `idleMs` (spares only). */
    private readonly onIdle?: () => void,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  run(segments: Segment[]): Promise<SegmentResult[]> {
    let child: HelperProcess;
    try {
      child = this.child ?? this.start();
    } catch (err) {
      return Promise.reject(new HelperError(`cannot start the netlink helper ${this.executable}: ${(err as Error).message}`, false));
    }
    const id = this.nextId++;
    const request: HelperRequest = { id, segments };
    clearTimeout(this.idleTimer);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.holdLoop(child, true);
      child.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  private start(): HelperProcess {
    const child = spawn(this.executable, [helperArgument], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    // A helper that cannot start emits 'error' (then 'close'): the requests fail below.
    child.on('error', (err) => this.fail(child, `the netlink helper ${this.executable} failed: ${err.message}`, false));
    child.on('close', (code, signal) => {
      const how = signal ? `signal ${signal}` : `exit ${code}`;
      this.fail(child, `the netlink helper exited (${how}) while holding the request`, true);
      this.options.onExit?.(how, this.closing);
    });
    child.stdin.on('error', () => undefined); // a dead helper: 'close' reports it
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (text) => this.answer(text));
    createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (text) => this.options.onStderr?.(text));
    this.holdLoop(child, false);
    return child;
  }

  /**
   * An idle helper never keeps ipamd alive (it ends when its stdin closes);
   * one holding a request must, or a process waiting only for its answer
   * would exit under it.
   */
  private holdLoop(child: HelperProcess, hold: boolean): void {
    for (const handle of [child, child.stdin, child.stdout, child.stderr] as Array<{ ref?(): void; unref?(): void }>) {
      if (hold) handle.ref?.();
      else handle.unref?.();
    }
  }

  private answer(text: string): void {
    let reply: HelperReply;
    try {
      reply = JSON.parse(text) as HelperReply;
    } catch {
      return;
    }
    // Answers come in order: one the helper could not tie to a request (it could not read it) is the oldest's.
    const id = this.pending.has(reply.id) ? reply.id : this.pending.keys().next().value;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (id === undefined || !pending) return;
    this.pending.delete(id);
    if (this.pending.size === 0 && this.child) {
      this.holdLoop(this.child, false);
      if (this.onIdle) {
        this.idleTimer = setTimeout(this.onIdle, this.options.idleMs ?? 30_000);
        this.idleTimer.unref();
      }
    }
    if (reply.error !== undefined) pending.reject(new HelperError(reply.error, false));
    else pending.resolve(reply.results ?? []);
  }

  private fail(child: HelperProcess, message: string, progressUnknown: boolean): void {
    if (this.child !== child) return;
    this.child = undefined;
    const held = [...this.pending.values()];
    this.pending.clear();
    for (const pending of held) pending.reject(new HelperError(message, progressUnknown));
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.closing = true;
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }
}
