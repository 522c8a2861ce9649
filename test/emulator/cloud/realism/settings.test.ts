import { describe, expect, it } from 'vitest';
import { callLatencyMs, realismSchema } from '../../../../emulator/cloud/realism/settings.ts';

describe('call latency', () => {
  const settings = realismSchema.parse({ latencyMs: { Slow: 100 }, defaultLatencyMs: 10 });

  it('is the action\'s own latency, else the default, when there is no jitter', () => {
    expect(settings.latencyJitter).toBe(0);
    expect(callLatencyMs(settings, 'Slow', () => 0.9)).toBe(100);
    expect(callLatencyMs(settings, 'Other', () => 0.9)).toBe(10);
  });

  it('moves by up to the jitter fraction either way, and leaves a zero latency at zero', () => {
    const jittery = { ...settings, latencyMs: { Slow: 100, Instant: 0 }, latencyJitter: 0.5 };
    expect(callLatencyMs(jittery, 'Slow', () => 0)).toBe(50);
    expect(callLatencyMs(jittery, 'Slow', () => 0.5)).toBe(100);
    expect(callLatencyMs(jittery, 'Slow', () => 0.999)).toBe(150);
    expect(callLatencyMs(jittery, 'Instant', () => 0)).toBe(0);
  });

  it('takes jitter only between 0 and 1', () => {
    expect(() => realismSchema.parse({ latencyJitter: 1.5 })).toThrow();
    expect(() => realismSchema.parse({ latencyJitter: -0.1 })).toThrow();
  });
});
