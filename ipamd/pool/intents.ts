import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { syncDirectory, writeFileAtomically } from '../common/atomic-file.ts';

/** A cloud mutation ipamd has started and not yet seen settle. */
export type Intent =
  | { kind: 'release'; interfaceId: string; ips: string[]; prefixes: string[] }
  | { kind: 'delete-interface'; interfaceId: string }
  /** `token` is also a tag of the new interface, so a successor can find it. */
  | { kind: 'create-interface'; token: string; subnetId: string; deviceIndex: number }
  | { kind: 'assign'; interfaceId: string };

export interface RecordedIntent {
  id: string;
  /** When it was written (ms since the epoch). */
  at: number;
  intent: Intent;
  /** Set once the mutation settled: kept until the views of the cloud have caught up with it. */
  settledAt?: number;
  /** When its latest call left, if not at `at` (a release re-issued by a successor). */
  sentAt?: number;
  /** The cloud answered its latest call (with an error), or it never left: no call of it can land any more. */
  answered?: boolean;
}

const suffix = '.intent.json';

/**
 * The durable record of cloud mutations in flight: one small file per
 * mutation, written (fsync'ed, renamed, directory synced) before the call
 * leaves and removed after it settled. A successor started after a crash
 * reads what its predecessor left and finishes it before trusting the views
 * of the cloud that may not show those calls yet.
 *
 * Settled releases and deletes stay on record, marked with the time they
 * settled, for the consistency grace: until then the metadata service may
 * still show what they removed, and a successor must not take it for free.
 */
export class IntentLog {
  private readonly open = new Map<string, RecordedIntent>();
  private closed = false;
  private counter = 0;

  private constructor(private readonly dir: string | undefined) {}

  /** An intent log without a directory (unit tests of the pool): nothing survives the process. */
  static inMemory(): IntentLog {
    return new IntentLog(undefined);
  }

  /** Opens the directory and reads what a predecessor left (unreadable files, a crash mid-write, are dropped). */
  static async open(dir: string): Promise<IntentLog> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const log = new IntentLog(dir);
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (!name.endsWith(suffix)) {
        // A temporary file of a write the crash cut short: its intent was never recorded, so its call never left.
        if (name.endsWith('.tmp')) await rm(path, { force: true });
        continue;
      }
      try {
        const recorded = JSON.parse(await readFile(path, 'utf8')) as RecordedIntent;
        log.open.set(recorded.id, recorded);
      } catch {
        await rm(path, { force: true });
      }
    }
    return log;
  }

  /** Every intent on record, settled ones included. */
  list(): RecordedIntent[] {
    return [...this.open.values()].sort((a, b) => a.at - b.at);
  }

  /** Unsettled intents, oldest first. */
  outstanding(): RecordedIntent[] {
    return this.list().filter((entry) => entry.settledAt === undefined);
  }

  /**
   * Records an intent before its call. It counts (in `outstanding`) from the
   * moment this is called, so no view built meanwhile misses it; the promise
   * resolves once it is on stable storage.
   */
  async begin(intent: Intent, now: number): Promise<RecordedIntent> {
    if (this.closed) throw new Error('the intent log is closed: ipamd is stopping');
    const recorded: RecordedIntent = { id: `${now}-${++this.counter}-${randomBytes(4).toString('hex')}`, at: now, intent };
    this.open.set(recorded.id, recorded);
    await this.write(recorded);
    return recorded;
  }

  /** The mutation settled: a release or delete stays on record (settled) until `expire` drops it; the others go now. */
  async settle(id: string, now: number): Promise<void> {
    const recorded = this.open.get(id);
    if (!recorded || this.closed) return;
    if (recorded.intent.kind === 'release' || recorded.intent.kind === 'delete-interface') {
      const settled = { ...recorded, settledAt: now };
      this.open.set(id, settled);
      await this.write(settled);
      return;
    }
    await this.remove(id);
  }

  /** Rewrites an outstanding intent (a release of which part is known to be done). */
  async update(id: string, intent: Intent): Promise<void> {
    const recorded = this.open.get(id);
    if (!recorded || this.closed) return;
    const next = { ...recorded, intent };
    this.open.set(id, next);
    await this.write(next);
  }

  /** No call of this intent can land any more: the cloud answered it, or it never left. */
  async markAnswered(id: string): Promise<void> {
    await this.rewrite(id, (recorded) => ({ ...recorded, answered: true }));
  }

  /** Another call for this intent leaves now (written before it leaves, like the intent itself). */
  async markResent(id: string, now: number): Promise<void> {
    await this.rewrite(id, (recorded) => ({ ...recorded, sentAt: now, answered: false }));
  }

  private async rewrite(id: string, change: (recorded: RecordedIntent) => RecordedIntent): Promise<void> {
    const recorded = this.open.get(id);
    if (!recorded || this.closed) return;
    const next = change(recorded);
    this.open.set(id, next);
    await this.write(next);
  }

  /** Drops settled intents older than the grace. */
  async expire(now: number, graceMs: number): Promise<void> {
    for (const entry of this.list()) if (entry.settledAt !== undefined && entry.settledAt <= now - graceMs) await this.remove(entry.id);
  }

  /** Drops an intent whatever its state. */
  async remove(id: string): Promise<void> {
    if (this.closed || !this.open.delete(id) || !this.dir) return;
    await rm(join(this.dir, `${id}${suffix}`), { force: true });
    await syncDirectory(this.dir);
  }

  /**
   * Stops recording: a call that settles after this leaves its intent on disk
   * for the successor, as a killed process would.
   */
  close(): void {
    this.closed = true;
  }

  private async write(recorded: RecordedIntent): Promise<void> {
    if (!this.dir) return;
    const path = join(this.dir, `${recorded.id}${suffix}`);
    await writeFileAtomically(path, `${JSON.stringify(recorded)}\n`, 0o600, `${path}.tmp`);
    await syncDirectory(this.dir);
  }
}
