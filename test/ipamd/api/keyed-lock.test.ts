import { describe, expect, it } from 'vitest';
import { KeyedLock, LockAbortedError } from '../../../ipamd/api/keyed-lock.ts';

/** A task that records its start and end in `log` and finishes when told. */
function gated(log: string[], name: string): { fn: () => Promise<string>; finish: () => void; started: () => boolean } {
  let finish!: () => void;
  let started = false;
  const gate = new Promise<void>((r) => (finish = r));
  return {
    fn: async () => {
      started = true;
      log.push(`start ${name}`);
      await gate;
      log.push(`end ${name}`);
      return name;
    },
    finish: () => finish(),
    started: () => started,
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('KeyedLock', () => {
  it('lets a holder give its key up while it waits, and take it back behind whoever came meanwhile', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const waiting = gated(log, 'wait');
    const other = gated(log, 'other');
    const paused = lock.runPausable('a', async (unheld) => {
      log.push('first holds a');
      await unheld(waiting.fn);
      log.push('first holds a again');
    });
    await tick();
    const second = lock.run('a', other.fn);
    await tick();
    // The key is free while the first waits: the second runs at once.
    expect(log).toEqual(['first holds a', 'start wait', 'start other']);
    waiting.finish();
    await tick();
    // The first takes the key back only after the second is done with it.
    expect(log).toEqual(['first holds a', 'start wait', 'start other', 'end wait']);
    other.finish();
    await Promise.all([paused, second]);
    expect(log).toEqual(['first holds a', 'start wait', 'start other', 'end wait', 'end other', 'first holds a again']);
    expect(lock.waitingFor('a')).toBe(0);
  });

  it('runs one key at a time, FIFO, and different keys in parallel', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a1 = gated(log, 'a1');
    const a2 = gated(log, 'a2');
    const a3 = gated(log, 'a3');
    const b1 = gated(log, 'b1');
    const runs = [lock.run('a', a1.fn), lock.run('a', a2.fn), lock.run('a', a3.fn), lock.run('b', b1.fn)];
    await tick();
    expect(log).toEqual(['start a1', 'start b1']);
    expect(lock.waitingFor('a')).toBe(2);
    a1.finish();
    await tick();
    expect(log).toEqual(['start a1', 'start b1', 'end a1', 'start a2']);
    b1.finish();
    a2.finish();
    await tick();
    a3.finish();
    expect(await Promise.all(runs)).toEqual(['a1', 'a2', 'a3', 'b1']);
    expect(log.filter((l) => / a\d$/.test(l))).toEqual(['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
    expect(lock.size).toBe(0);
  });

  it('releases on failure and leaves nothing behind', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(
      lock.run('k', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(await lock.run('k', async () => 'after')).toBe('after');
    expect(lock.size).toBe(0);
  });

  it('many keys, once idle, leave no per-key state', async () => {
    const lock = new KeyedLock();
    await Promise.all(Array.from({ length: 1000 }, (_, i) => lock.run(`k${i % 37}`, async () => tick())));
    expect(lock.size).toBe(0);
  });

  it('a waiter whose signal aborts leaves the queue; the others keep their order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const first = gated(log, '1');
    const second = gated(log, '2');
    const third = gated(log, '3');
    const controller = new AbortController();
    const r1 = lock.run('k', first.fn);
    const r2 = lock.run('k', second.fn, controller.signal);
    const r3 = lock.run('k', third.fn);
    await tick();
    controller.abort();
    await expect(r2).rejects.toBeInstanceOf(LockAbortedError);
    expect(lock.waitingFor('k')).toBe(1);
    first.finish();
    await tick();
    expect(second.started()).toBe(false);
    expect(third.started()).toBe(true);
    third.finish();
    await Promise.all([r1, r3]);
    expect(lock.size).toBe(0);
    // Already aborted: refused at once.
    await expect(lock.run('k', async () => 1, AbortSignal.abort())).rejects.toBeInstanceOf(LockAbortedError);
    expect(lock.size).toBe(0);
  });

  it('exclusive waits for held keys, holds later arrivals back, then lets them run in order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a = gated(log, 'a');
    const ex = gated(log, 'ex');
    const b = gated(log, 'b');
    const a2 = gated(log, 'a2');
    const ra = lock.run('a', a.fn);
    const rex = lock.runExclusive(ex.fn);
    const rb = lock.run('b', b.fn); // b is free, but arrived after the exclusive request
    const ra2 = lock.run('a', a2.fn);
    await tick();
    expect(log).toEqual(['start a']);
    a.finish();
    await tick();
    expect(log).toEqual(['start a', 'end a', 'start ex']);
    ex.finish();
    await tick();
    expect(log.slice(3).sort()).toEqual(['end ex', 'start a2', 'start b'].sort());
    b.finish();
    a2.finish();
    await Promise.all([ra, rex, rb, ra2]);
    expect(lock.size).toBe(0);
  });

  it('an aborted exclusive waiter lets the requests behind it through', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const a = gated(log, 'a');
    const b = gated(log, 'b');
    const controller = new AbortController();
    const ra = lock.run('a', a.fn);
    const rex = lock.runExclusive(async () => 'ex', controller.signal);
    const rb = lock.run('b', b.fn);
    await tick();
    expect(b.started()).toBe(false);
    controller.abort();
    await expect(rex).rejects.toBeInstanceOf(LockAbortedError);
    await tick();
    expect(b.started()).toBe(true);
    a.finish();
    b.finish();
    await Promise.all([ra, rb]);
    expect(lock.size).toBe(0);
  });
});
