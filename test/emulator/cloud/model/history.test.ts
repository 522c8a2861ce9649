import { describe, expect, it } from 'vitest';
import { RecordHistory } from '../../../../emulator/cloud/model/history.ts';

describe('RecordHistory', () => {
  it('answers each record as it stood at a time', () => {
    const history = new RecordHistory<string>();
    history.record('a', 10, 'a1');
    history.record('a', 20, 'a2');
    history.record('b', 15, 'b1');
    expect(history.asOf(9)).toEqual([]);
    expect(history.asOf(10)).toEqual(['a1']);
    expect(history.asOf(15).sort()).toEqual(['a1', 'b1']);
    expect(history.asOf(19).sort()).toEqual(['a1', 'b1']);
    expect(history.asOf(20).sort()).toEqual(['a2', 'b1']);
  });

  it('hides a deleted record from its tombstone on, and shows it again if recreated', () => {
    const history = new RecordHistory<string>();
    history.record('a', 10, 'a1');
    history.record('a', 20, null);
    history.record('a', 30, 'a3');
    expect(history.asOf(19)).toEqual(['a1']);
    expect(history.asOf(20)).toEqual([]);
    expect(history.asOf(29)).toEqual([]);
    expect(history.asOf(30)).toEqual(['a3']);
  });

  it('takes the last of several versions at the same time', () => {
    const history = new RecordHistory<string>();
    history.record('a', 10, 'first');
    history.record('a', 10, 'second');
    expect(history.asOf(10)).toEqual(['second']);
    history.prune(10);
    expect(history.asOf(10)).toEqual(['second']);
  });

  it('prunes only what can no longer be seen at or after the horizon', () => {
    const history = new RecordHistory<string>();
    history.record('a', 10, 'a1');
    history.record('a', 20, 'a2');
    history.record('a', 30, 'a3');
    history.record('b', 10, 'b1');
    history.record('b', 25, null);
    history.record('c', 40, 'c1');
    history.prune(25);
    for (const at of [25, 29, 30, 39, 40, 100]) {
      const expected = { 25: ['a2'], 29: ['a2'], 30: ['a3'], 39: ['a3'], 40: ['a3', 'c1'], 100: ['a3', 'c1'] }[at];
      expect(history.asOf(at).sort(), `asOf(${at})`).toEqual(expected);
    }
    // b's tombstone at 25 is all that is left of it: prune drops it entirely.
    expect((history as unknown as { versions: Map<string, unknown> }).versions.has('b')).toBe(false);
    // A tombstone after the horizon is kept: before it, the record is still visible.
    history.record('c', 50, null);
    history.prune(45);
    expect(history.asOf(45)).toEqual(['a3', 'c1']);
    expect(history.asOf(50)).toEqual(['a3']);
    history.prune(50);
    expect(history.asOf(60)).toEqual(['a3']);
  });

  it('trims on write what is older than the horizon, keeping what is visible at it', () => {
    const history = new RecordHistory<string>();
    history.record('a', 10, 'a1', 0);
    history.record('a', 20, 'a2', 15);
    history.record('a', 30, 'a3', 25);
    const versions = (): unknown[] => (history as unknown as { versions: Map<string, unknown[]> }).versions.get('a') ?? [];
    expect(versions()).toHaveLength(2);
    expect(history.asOf(25)).toEqual(['a2']);
    expect(history.asOf(30)).toEqual(['a3']);
    // Without a horizon nothing is trimmed.
    history.record('a', 40, 'a4');
    expect(versions()).toHaveLength(3);
    expect(history.asOf(29)).toEqual(['a2']);
  });
});
