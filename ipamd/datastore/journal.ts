import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { mkdir, readFile } from 'node:fs/promises';
import { syncDirectory, writeFileAtomically } from '../common/atomic-file.ts';
import { join } from 'node:path';

/**
 * A durable log: each record is a JSON line appended and fdatasync'ed before
 * `append` resolves, with group commit (appends that arrive while a sync is
 * in flight share the next one). `compact` folds the log into a snapshot
 * written atomically (temporary file, fsync, rename) and starts a new log.
 *
 * Appending one line costs far less than rewriting a whole checkpoint, which
 * keeps a durable add well inside its latency budget.
 */

interface Entry<Op> {
  seq: number;
  op: Op;
}

export interface Recovered<Snapshot, Op> {
  snapshot: Snapshot | undefined;
  /** Records written after the snapshot, in order. */
  ops: Op[];
  /** Lines that could not be read (a torn last write). */
  skipped: number;
}

/**
 * Where records go: appended to the page cache synchronously (a write of a
 * few lines takes microseconds), then flushed to stable storage with one
 * trip through libuv's thread pool. The flush is off the event loop on
 * purpose: an fdatasync takes from a quarter of a millisecond to several
 * under I/O load, and while it runs ipamd keeps serving (reading requests,
 * hearing the netlink helper); the appends that arrive meanwhile share the
 * next flush.
 */
export interface JournalSink {
  append(fd: number, text: string): void;
  sync(fd: number): void | Promise<void>;
}

const fdatasyncAsync = promisify(fdatasync);

export const fileSink: JournalSink = {
  append: (fd, text) => {
    writeSync(fd, text);
  },
  sync: (fd) => fdatasyncAsync(fd),
};

export class DurableLog<Snapshot, Op> {
  private fd: number | undefined;
  private seq = 0;
  private snapshotSeq = 0;
  private queue: Array<{ seq: number; line: string; resolve: () => void; reject: (err: Error) => void }> = [];
  private flushScheduled = false;
  /** Lines on disk since the last snapshot, kept to carry the newer ones over a compaction. */
  private written: Array<{ seq: number; line: string }> = [];
  /** Every file operation runs on this chain, one at a time. */
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly sink: JournalSink,
  ) {}

  get logPath(): string {
    return join(this.dir, 'journal.log');
  }

  get snapshotPath(): string {
    return join(this.dir, 'snapshot.json');
  }

  /** Records since the last snapshot: the caller compacts past a threshold. */
  get pending(): number {
    return this.written.length + this.queue.length;
  }

  static async open<Snapshot, Op>(dir: string, sink: JournalSink = fileSink): Promise<{ log: DurableLog<Snapshot, Op>; recovered: Recovered<Snapshot, Op> }> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const log = new DurableLog<Snapshot, Op>(dir, sink);
    const { unterminated, ...recovered } = await log.recover();
    log.fd = openSync(log.logPath, 'a', 0o600);
    if (unterminated) {
      // End the torn last line so that the next record does not get glued onto it.
      sink.append(log.fd, '\n');
      await sink.sync(log.fd);
    }
    return { log, recovered };
  }

  private async recover(): Promise<Recovered<Snapshot, Op> & { unterminated: boolean }> {
    let snapshot: Snapshot | undefined;
    const snapshotText = await readIfExists(this.snapshotPath);
    if (snapshotText !== undefined) {
      const parsed = JSON.parse(snapshotText) as { seq: number; snapshot: Snapshot };
      snapshot = parsed.snapshot;
      this.snapshotSeq = parsed.seq;
      this.seq = parsed.seq;
    }
    const ops: Op[] = [];
    let skipped = 0;
    const logText = (await readIfExists(this.logPath)) ?? '';
    for (const line of logText.split('\n')) {
      if (line === '') continue;
      let entry: Entry<Op>;
      try {
        entry = JSON.parse(line) as Entry<Op>;
      } catch {
        skipped++;
        continue;
      }
      // A crash between writing a snapshot and replacing the log leaves records the snapshot holds.
      if (entry.seq <= this.snapshotSeq) continue;
      ops.push(entry.op);
      this.seq = Math.max(this.seq, entry.seq);
      this.written.push({ seq: entry.seq, line: `${line}\n` });
    }
    return { snapshot, ops, skipped, unterminated: logText !== '' && !logText.endsWith('\n') };
  }

  /** Resolves once the record is on disk. */
  append(op: Op): Promise<void> {
    const seq = ++this.seq;
    const line = `${JSON.stringify({ seq, op })}\n`;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ seq, line, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        this.enqueue(() => this.flush());
      }
    });
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      const fd = this.fd;
      if (fd === undefined) throw new Error('journal is closed');
      this.sink.append(fd, batch.map((entry) => entry.line).join(''));
      await this.sink.sync(fd);
      for (const entry of batch) this.written.push({ seq: entry.seq, line: entry.line });
      for (const entry of batch) entry.resolve();
    } catch (err) {
      for (const entry of batch) entry.reject(err as Error);
    }
  }

  /**
   * Writes the snapshot (the caller's state as of now, every record appended
   * so far included) atomically, then replaces the log with the records that
   * came later.
   */
  compact(snapshot: Snapshot): Promise<void> {
    const seq = this.seq;
    const text = JSON.stringify({ seq, snapshot });
    return this.enqueue(async () => {
      await writeFileAtomically(this.snapshotPath, text, 0o600);
      // The snapshot's rename must be durable before the log that drops its records replaces the old one.
      await syncDirectory(this.dir);
      this.snapshotSeq = seq;
      // Records the snapshot holds but that were still queued are durable now.
      const covered = this.queue.filter((entry) => entry.seq <= seq);
      this.queue = this.queue.filter((entry) => entry.seq > seq);
      for (const entry of covered) entry.resolve();
      this.written = this.written.filter((entry) => entry.seq > seq);
      this.closeFd();
      await writeFileAtomically(this.logPath, this.written.map((entry) => entry.line).join(''), 0o600);
      this.fd = openSync(this.logPath, 'a', 0o600);
      await syncDirectory(this.dir);
    });
  }

  async close(): Promise<void> {
    await this.enqueue(async () => this.closeFd());
  }

  private closeFd(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
