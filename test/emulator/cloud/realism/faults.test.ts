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
});
