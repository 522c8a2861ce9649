import { describe, expect, it } from 'vitest';
import { FaultInjector } from '../../../../emulator/cloud/realism/faults.ts';

describe('FaultInjector', () => {
  it('fails exactly the next N calls of the action', () => {
    const faults = new FaultInjector();
    faults.failNext('AttachNetworkInterface', 2, { code: 'AttachmentLimitExceeded', message: 'full' });
    expect(faults.take('DescribeSubnets')).toBeUndefined();
    expect(faults.take('AttachNetworkInterface')).toEqual({ code: 'AttachmentLimitExceeded', message: 'full' });
    expect(faults.pending()).toEqual({ AttachNetworkInterface: 1 });
    expect(faults.take('AttachNetworkInterface')).toEqual({ code: 'AttachmentLimitExceeded', message: 'full' });
    expect(faults.take('AttachNetworkInterface')).toBeUndefined();
    expect(faults.pending()).toEqual({});
  });

  it('queues faults of one action in order and keeps their status', () => {
    const faults = new FaultInjector();
    faults.failNext('A', 1, { code: 'First', message: 'm1', status: 503 });
    faults.failNext('A', 2, { code: 'Second', message: 'm2' });
    faults.failNext('B', 1, { code: 'Other', message: 'm3' });
    expect(faults.pending()).toEqual({ A: 3, B: 1 });
    expect(faults.take('A')).toEqual({ code: 'First', message: 'm1', status: 503 });
    const second = faults.take('A');
    expect(second).toEqual({ code: 'Second', message: 'm2' });
    expect(second && 'status' in second).toBe(false);
    expect(faults.take('A')?.code).toBe('Second');
    expect(faults.take('A')).toBeUndefined();
    expect(faults.take('B')?.code).toBe('Other');
  });

  it('hands out copies, so callers cannot change what is queued', () => {
    const faults = new FaultInjector();
    faults.failNext('A', 2, { code: 'X', message: 'm' });
    const first = faults.take('A');
    if (first) first.code = 'Changed';
    expect(faults.take('A')?.code).toBe('X');
  });

  it('rejects counts that are not positive integers', () => {
    const faults = new FaultInjector();
    for (const count of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => faults.failNext('A', count, { code: 'X', message: 'm' }), String(count)).toThrow(/positive integer/);
    }
    expect(faults.pending()).toEqual({});
  });

  it('clears everything', () => {
    const faults = new FaultInjector();
    faults.failNext('A', 5, { code: 'X', message: 'm' });
    faults.failNext('B', 5, { code: 'X', message: 'm' });
    faults.clear();
    expect(faults.pending()).toEqual({});
    expect(faults.take('A')).toBeUndefined();
  });

  it('fails a call of an action with the given probability, after the queued faults', () => {
    const draws = [0.1, 0.5, 0.29];
    const faults = new FaultInjector(() => draws.shift() ?? 1);
    faults.failRandomly('A', 0.3, { code: 'Flaky', message: 'sometimes' });
    faults.failNext('A', 1, { code: 'Queued', message: 'first' });
    expect(faults.take('A')?.code).toBe('Queued');
    expect(faults.take('A')).toEqual({ code: 'Flaky', message: 'sometimes' });
    expect(faults.take('A')).toBeUndefined();
    expect(faults.take('A')?.code).toBe('Flaky');
    expect(faults.take('B')).toBeUndefined();
    expect(faults.pending()).toEqual({});
  });

  it('turns a probabilistic fault off with probability 0 or clear(), and rejects probabilities outside [0, 1]', () => {
    const faults = new FaultInjector(() => 0);
    faults.failRandomly('A', 1, { code: 'X', message: 'm' });
    faults.failRandomly('A', 0, { code: 'X', message: 'm' });
    expect(faults.take('A')).toBeUndefined();
    faults.failRandomly('B', 1, { code: 'X', message: 'm' });
    faults.clear();
    expect(faults.take('B')).toBeUndefined();
    for (const probability of [-0.1, 1.5, Number.NaN]) {
      expect(() => faults.failRandomly('A', probability, { code: 'X', message: 'm' }), String(probability)).toThrow(/between 0 and 1/);
    }
  });
});
