import { describe, expect, it } from 'vitest';
import { figureLine, passed, percentile, type Figures } from './figures.ts';
import { seededRandom } from './random.ts';

describe('restart percentiles', () => {
  it('take the nearest rank of the sorted values, and 0 of none', () => {
    const values = [900, 100, 300, 200, 500, 400, 700, 600, 800, 1000];
    expect(percentile(values, 50)).toBe(500);
    expect(percentile(values, 95)).toBe(1000);
    expect(percentile(values, 100)).toBe(1000);
    expect(percentile([42], 50)).toBe(42);
    expect(percentile([], 95)).toBe(0);
  });
});

describe('the figure line', () => {
  const figures: Figures = {
    kills: 1000,
    killsByPhase: { growth: 300, shrink: 250, compaction: 100, 'pending-del': 150, startup: 50, storm: 150 },
    addsAcknowledged: 12345,
    doubles: 0,
    losses: 0,
    leaks: 0,
    failedRestarts: 0,
    restartMs: [100, 200, 300],
    faults: true,
    seed: 7,
    elapsedMs: 61_400,
  };

  it('names every count, the per-phase kills and the restart distribution on one line', () => {
    expect(figureLine(figures)).toBe(
      'torture: kills 1000 (growth 300, shrink 250, compaction 100, pending-del 150, startup 50, storm 150), adds acknowledged 12345, ' +
        'doubles 0, losses 0, leaks 0, failed restarts 0; restart-to-ready ms p50 200 p95 300 max 300 (3 restarts); faults on, seed 7, 61 s',
    );
  });

  it('passes only with nothing doubled, lost, leaked or failed', () => {
    expect(passed(figures)).toBe(true);
    for (const field of ['doubles', 'losses', 'leaks', 'failedRestarts'] as const) expect(passed({ ...figures, [field]: 1 }), field).toBe(false);
  });
});

describe('the seeded random source', () => {
  it('repeats its sequence for a seed, differs between seeds, and stays in [0, 1)', () => {
    const a = Array.from({ length: 5 }, seededRandom(7));
    expect(Array.from({ length: 5 }, seededRandom(7))).toEqual(a);
    expect(Array.from({ length: 5 }, seededRandom(8))).not.toEqual(a);
    const draws = Array.from({ length: 1000 }, seededRandom(1));
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
