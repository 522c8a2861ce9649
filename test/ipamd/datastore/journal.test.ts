import { appendFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableLog, fileSink, type JournalSink } from '../../../ipamd/datastore/journal.ts';
import { tick, useOpened, useTempDirs } from './helpers.ts';

/** The test state: the list of every number appended, in order. */
type State = number[];
type Log = DurableLog<State, number>;

const open = (dir: string) => DurableLog.open<State, number>(dir);

/** What a recovery says the state is: the snapshot followed by the later records. */
async function recoveredState(dir: string): Promise<{ state: State; skipped: number }> {
  const { log, recovered } = await open(dir);
  await log.close();
  return { state: [...(recovered.snapshot ?? []), ...recovered.ops], skipped: recovered.skipped };
}

const logLines = async (dir: string): Promise<string[]> => (await readFile(join(dir, 'journal.log'), 'utf8')).split('\n').filter((line) => line !== '');

describe('DurableLog', () => {
  const tempDir = useTempDirs();
  const opened = useOpened<Log>();
  const openTracked = async (dir: string, sink?: JournalSink) => {
    const result = await DurableLog.open<State, number>(dir, sink);
    opened.push(result.log);
    return result;
  };
  /** The real file sink, with every sync counted and observed. */
  const countingSink = (onSync: () => void = () => undefined): JournalSink & { syncs: number } => {
    const sink = {
      syncs: 0,
      append: (fd: number, text: string) => fileSink.append(fd, text),
      sync: (fd: number) => {
        sink.syncs++;
        onSync();
        return fileSink.sync(fd);
      },
    };
    return sink;
  };

  it('starts empty in a new directory', async () => {
    const dir = join(await tempDir(), 'state');
    const { recovered } = await openTracked(dir);
    expect(recovered).toEqual({ snapshot: undefined, ops: [], skipped: 0 });
  });

  it('resolves an append only after its datasync, and the record is recoverable by another reader', async () => {
    const dir = await tempDir();
    let resolved = false;
    let resolvedBeforeSync: boolean | undefined;
    const sink = countingSink(() => {
      resolvedBeforeSync = resolved;
    });
    const { log } = await openTracked(dir, sink);
    const appended = log.append(42).then(() => {
      resolved = true;
    });
    expect(resolved).toBe(false);
    await appended;
    expect(sink.syncs).toBe(1);
    expect(resolvedBeforeSync).toBe(false);
    expect(resolved).toBe(true);

    // A second log on the same directory (another process after a crash) sees the record.
    const { log: reader, recovered } = await open(dir);
    await reader.close();
    expect(recovered.ops).toEqual([42]);
  });

  it('rejects the appends of a batch whose sync failed, and keeps going', async () => {
    const dir = await tempDir();
    let fail = true;
    const sink = countingSink(() => {
      if (fail) {
        fail = false;
        throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      }
    });
    const { log } = await openTracked(dir, sink);
    await expect(Promise.all([log.append(1), log.append(2)])).rejects.toThrow(/EIO/);
    await log.append(3);
    expect(sink.syncs).toBe(2);
  });

  it('keeps every acknowledged record across reopen, in order', async () => {
    const dir = await tempDir();
    const { log } = await open(dir);
    for (let i = 0; i < 20; i++) await log.append(i);
    await log.close();
    const { log: again, recovered } = await open(dir);
    expect(recovered.ops).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await again.append(20);
    await again.close();
    expect((await recoveredState(dir)).state).toEqual(Array.from({ length: 21 }, (_, i) => i));
  });

  it('group-commits concurrent appends: far fewer datasyncs than appends', async () => {
    const dir = await tempDir();
    const sink = countingSink();
    const { log } = await openTracked(dir, sink);

    const count = 300;
    await Promise.all(Array.from({ length: count }, (_, i) => log.append(i)));
    expect(sink.syncs).toBeGreaterThanOrEqual(1);
    expect(sink.syncs).toBeLessThanOrEqual(3);

    // Appends made in the same turn of the event loop share one sync.
    sink.syncs = 0;
    const waves: Promise<void>[] = [];
    for (let wave = 0; wave < 10; wave++) {
      for (let i = 0; i < 30; i++) waves.push(log.append(count + wave * 30 + i));
      await tick(1);
    }
    await Promise.all(waves);
    expect(sink.syncs).toBeGreaterThanOrEqual(1);
    expect(sink.syncs).toBeLessThan(300 / 5);
    await log.close();
    expect((await recoveredState(dir)).state).toEqual(Array.from({ length: 600 }, (_, i) => i));
  });

  it('rejects appends after close', async () => {
    const dir = await tempDir();
    const { log } = await open(dir);
    await log.close();
    await expect(log.append(1)).rejects.toThrow(/closed/);
  });

  it('skips a torn last line and keeps the earlier records', async () => {
    const dir = await tempDir();
    const { log } = await open(dir);
    for (let i = 0; i < 5; i++) await log.append(i);
    await log.close();
    await appendFile(join(dir, 'journal.log'), '{"seq":6,"op":');

    const { log: again, recovered } = await open(dir);
    expect(recovered.ops).toEqual([0, 1, 2, 3, 4]);
    expect(recovered.skipped).toBe(1);

    // Records appended after the torn line must not be glued onto it.
    await again.append(5);
    await again.append(6);
    await again.close();
    const after = await recoveredState(dir);
    expect(after.state).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('keeps a complete last record that lost only its newline, and what follows it', async () => {
    const dir = await tempDir();
    const { log } = await open(dir);
    await log.append(0);
    await log.close();
    await appendFile(join(dir, 'journal.log'), JSON.stringify({ seq: 2, op: 1 }));
    const { log: again, recovered } = await open(dir);
    expect(recovered).toMatchObject({ ops: [0, 1], skipped: 0 });
    await again.append(2);
    await again.close();
    expect(await recoveredState(dir)).toEqual({ state: [0, 1, 2], skipped: 0 });
  });

  it('compacts into a snapshot and a shorter log, and recovers the same state', async () => {
    const dir = await tempDir();
    const { log } = await open(dir);
    const state: State = [];
    for (let i = 0; i < 50; i++) {
      state.push(i);
      await log.append(i);
    }
    expect(log.pending).toBe(50);
    const before = (await stat(join(dir, 'journal.log'))).size;
    await log.compact([...state]);
    expect(log.pending).toBe(0);
    expect((await stat(join(dir, 'journal.log'))).size).toBeLessThan(before);
    expect(await logLines(dir)).toEqual([]);
    const snapshot = JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')) as { seq: number; snapshot: State };
    expect(snapshot).toEqual({ seq: 50, snapshot: state });

    for (let i = 50; i < 55; i++) {
      state.push(i);
      await log.append(i);
    }
    expect(await logLines(dir)).toHaveLength(5);
    await log.close();
    const { log: again, recovered } = await open(dir);
    expect(recovered.snapshot).toEqual(state.slice(0, 50));
    expect(recovered.ops).toEqual(state.slice(50));
    // Sequence numbers continue after the snapshot's.
    await again.append(55);
    await again.close();
    expect((await recoveredState(dir)).state).toEqual([...state, 55]);
    expect(await readdir(dir)).not.toContain('journal.log.tmp');
  });

  it('neither loses nor duplicates records appended while compactions run', async () => {
    const dir = await tempDir();
    const { log } = await open(dir);
    const state: State = [];
    const acknowledged = new Set<number>();
    const work: Promise<void>[] = [];
    let next = 0;
    const appendOne = (): void => {
      const value = next++;
      state.push(value);
      work.push(log.append(value).then(() => void acknowledged.add(value)));
    };
    for (let round = 0; round < 60; round++) {
      const burst = 1 + ((round * 7) % 13);
      for (let i = 0; i < burst; i++) appendOne();
      // The snapshot is the state as of now: every record appended so far.
      if (round % 3 !== 2) work.push(log.compact([...state]));
      for (let i = 0; i < (round % 4); i++) appendOne();
      if (round % 5 === 0) work.push(log.compact([...state]));
      if (round % 2 === 0) await tick(0);
      else await Promise.resolve();
    }
    await Promise.all(work);
    expect(acknowledged.size).toBe(next);

    const { state: recovered, skipped } = await recoveredState(dir);
    expect(skipped).toBe(0);
    expect(recovered).toEqual(state);

    // And once more after further appends on top of the last compaction.
    const { log: again } = await open(dir);
    await again.append(next);
    await again.close();
    expect((await recoveredState(dir)).state).toEqual([...state, next]);
  });

  it('recovers without duplicates after a crash between the snapshot rename and the log replacement', async () => {
    const dir = await tempDir();
    const { log } = await open(dir);
    for (let i = 0; i < 8; i++) await log.append(i);
    await log.close();
    // The snapshot of the first 5 records made it, the log still holds all 8.
    await writeFile(join(dir, 'snapshot.json'), JSON.stringify({ seq: 5, snapshot: [0, 1, 2, 3, 4] }), { mode: 0o600 });

    const { log: again, recovered } = await open(dir);
    expect(recovered.snapshot).toEqual([0, 1, 2, 3, 4]);
    expect(recovered.ops).toEqual([5, 6, 7]);
    expect(again.pending).toBe(3);
    await again.append(8);
    // A compaction from here keeps the records after the snapshot exactly once.
    await again.append(9);
    await again.close();
    expect((await recoveredState(dir)).state).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const { log: third } = await open(dir);
    await third.compact([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await third.append(10);
    await third.close();
    expect((await recoveredState(dir)).state).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('ignores every log record when the snapshot covers all of them', async () => {
    const dir = await tempDir();
    const { log } = await open(dir);
    for (let i = 0; i < 4; i++) await log.append(i);
    await log.close();
    await writeFile(join(dir, 'snapshot.json'), JSON.stringify({ seq: 4, snapshot: [0, 1, 2, 3] }));
    const { log: again, recovered } = await open(dir);
    expect(recovered).toEqual({ snapshot: [0, 1, 2, 3], ops: [], skipped: 0 });
    await again.append(4);
    await again.close();
    const lines = await logLines(dir);
    // The new record got a sequence number above the snapshot's, so it survives the next recovery.
    expect(JSON.parse(lines[lines.length - 1] as string)).toEqual({ seq: 5, op: 4 });
    expect((await recoveredState(dir)).state).toEqual([0, 1, 2, 3, 4]);
  });

  it('creates its directory 0700 and its files 0600, compaction included', async () => {
    const dir = join(await tempDir(), 'state', 'nested');
    const { log } = await openTracked(dir);
    await log.append(1);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'journal.log'))).mode & 0o777).toBe(0o600);
    await log.compact([1]);
    await log.append(2);
    expect((await stat(join(dir, 'snapshot.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'journal.log'))).mode & 0o777).toBe(0o600);
  });
});
