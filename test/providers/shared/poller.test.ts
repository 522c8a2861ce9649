import { describe, expect, it } from 'vitest';
import { Poller, type PollClock } from '../../../providers/shared/poller.ts';

/** A clock that only moves when the poller sleeps, and remembers each sleep. */
function fakeClock(): PollClock & { sleeps: number[]; advance(ms: number): void } {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

/** A read that answers the given states in turn, then the last one forever. */
function answers<S>(...states: S[]): { read: () => Promise<S>; reads: () => number } {
  let count = 0;
  return {
    read: async () => states[Math.min(count++, states.length - 1)] as S,
    reads: () => count,
  };
}

describe('Poller', () => {
  it('waits before each read, doubling the wait up to the cap', async () => {
    const clock = fakeClock();
    const poller = new Poller({ intervalMs: 100, timeoutMs: 60_000, clock });
    const { read, reads } = answers('detaching', 'detaching', 'detaching', 'detaching', 'detaching', 'detaching', 'available');
    const outcome = await poller.until(read, (status) => status === 'available');
    expect(outcome).toEqual({ met: true, state: 'available' });
    expect(clock.sleeps).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
    expect(reads()).toBe(7);
  });

  it('reads at once with readFirst, and sleeps only between reads', async () => {
    const clock = fakeClock();
    const poller = new Poller({ intervalMs: 200, timeoutMs: 60_000, clock });
    const immediate = await poller.until(answers('in-use').read, (status) => status === 'in-use', { readFirst: true });
    expect(immediate).toEqual({ met: true, state: 'in-use' });
    expect(clock.sleeps).toEqual([]);
    const later = await poller.until(answers('attaching', 'in-use').read, (status) => status === 'in-use', { readFirst: true });
    expect(later).toEqual({ met: true, state: 'in-use' });
    expect(clock.sleeps).toEqual([200]);
  });

  it('honours a cap other than 2 s, and a first interval above it once', async () => {
    const clock = fakeClock();
    const poller = new Poller({ intervalMs: 50, maxIntervalMs: 150, timeoutMs: 60_000, clock });
    await poller.until(answers(1, 2, 3, 4, 5).read, (n) => n === 5);
    expect(clock.sleeps).toEqual([50, 100, 150, 150, 150]);
    const big = fakeClock();
    await new Poller({ intervalMs: 5000, timeoutMs: 60_000, clock: big }).until(answers(1, 2, 3).read, (n) => n === 3);
    expect(big.sleeps).toEqual([5000, 2000, 2000]);
  });

  it('gives up at the deadline with the last state it saw', async () => {
    const clock = fakeClock();
    const poller = new Poller({ intervalMs: 100, timeoutMs: 1000, clock });
    const { read, reads } = answers('detaching');
    const outcome = await poller.until(read, (status) => status === 'available');
    expect(outcome).toEqual({ met: false, state: 'detaching' });
    expect(poller.expired).toBe(true);
    // 100 + 200 + 400 + 800: the fourth wait passes the deadline, and its read is the last.
    expect(clock.sleeps).toEqual([100, 200, 400, 800]);
    expect(reads()).toBe(4);
  });

  it('says nothing was seen when the deadline passed before the first read', async () => {
    const clock = fakeClock();
    const poller = new Poller({ intervalMs: 100, timeoutMs: 1000, clock });
    clock.advance(1000);
    const { read, reads } = answers('detaching');
    expect(await poller.until(read, () => true)).toEqual({ met: false, state: undefined });
    expect(reads()).toBe(0);
  });

  it('keeps one deadline and one backoff across rounds of the same operation', async () => {
    const clock = fakeClock();
    const poller = new Poller({ intervalMs: 100, timeoutMs: 1000, clock });
    await poller.until(answers('detaching', 'available').read, (status) => status === 'available');
    expect(clock.sleeps).toEqual([100, 200]);
    const second = await poller.until(answers('detaching').read, (status) => status === 'available');
    // The second round starts at 400 ms, and the budget left after the first round's 300 ms is 700 ms.
    expect(clock.sleeps).toEqual([100, 200, 400, 800]);
    expect(second.met).toBe(false);
  });

  it('ends with the error of a read that throws', async () => {
    const clock = fakeClock();
    const poller = new Poller({ intervalMs: 100, timeoutMs: 1000, clock });
    await expect(
      poller.until(
        async () => {
          throw new Error('attached elsewhere');
        },
        () => true,
      ),
    ).rejects.toThrow('attached elsewhere');
  });

  it('waits on real time when given no clock', async () => {
    const started = Date.now();
    const poller = new Poller({ intervalMs: 5, timeoutMs: 1000 });
    const outcome = await poller.until(answers(false, true).read, (done) => done);
    expect(outcome.met).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4);
  });
});
