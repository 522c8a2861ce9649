import { describe, expect, it } from 'vitest';
import { Throttler, TokenBucket } from '../../../../emulator/cloud/realism/throttle.ts';

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

describe('TokenBucket', () => {
  it('starts full and refuses once its capacity is spent', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 1 }, clock);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it('refills at its rate and tells how long to wait', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 4 }, clock);
    bucket.take();
    bucket.take();
    expect(bucket.waitMs()).toBe(250);
    clock.advance(100);
    expect(bucket.take()).toBe(false);
    expect(bucket.waitMs()).toBe(150);
    clock.advance(150);
    expect(bucket.waitMs()).toBe(0);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });

  it('never holds more than its capacity', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 5 }, clock);
    clock.advance(3_600_000);
    let taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(5);
  });

  it("matches EC2's documented mutating bucket: 50, then 5 per second", () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ capacity: 50, refillPerSecond: 5 }, clock);
    let taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(50);
    clock.advance(1000);
    taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(5);
    expect(bucket.waitMs()).toBe(200);
  });
});

describe('Throttler', () => {
  const spec = { capacity: 2, refillPerSecond: 1 };

  it('lets everything through while disabled', () => {
    const throttler = new Throttler(fakeClock());
    for (let i = 0; i < 100; i++) expect(throttler.check('k', spec)).toBeNull();
  });

  it('keeps one bucket per key and says how long to wait', () => {
    const clock = fakeClock();
    const throttler = new Throttler(clock, true);
    expect(throttler.check('a', spec)).toBeNull();
    expect(throttler.check('a', spec)).toBeNull();
    expect(throttler.check('a', spec)).toEqual({ retryAfterMs: 1000 });
    expect(throttler.check('b', spec)).toBeNull();
    clock.advance(400);
    expect(throttler.check('a', spec)).toEqual({ retryAfterMs: 600 });
    clock.advance(600);
    expect(throttler.check('a', spec)).toBeNull();
  });

  it('sizes a bucket on first use and refills everything on reset', () => {
    const clock = fakeClock();
    const throttler = new Throttler(clock, true);
    expect(throttler.check('a', { capacity: 1, refillPerSecond: 1 })).toBeNull();
    expect(throttler.check('a', { capacity: 100, refillPerSecond: 100 })).not.toBeNull();
    throttler.reset();
    expect(throttler.check('a', { capacity: 1, refillPerSecond: 1 })).toBeNull();
    expect(throttler.check('a', { capacity: 1, refillPerSecond: 1 })).not.toBeNull();
    throttler.enabled = false;
    expect(throttler.check('a', { capacity: 1, refillPerSecond: 1 })).toBeNull();
  });
});
