/** The torture's closing figures: restart-time percentiles and the one figure line. */

export const PHASES = ['growth', 'shrink', 'compaction', 'pending-del', 'startup', 'storm'] as const;
/** Where a kill landed: a mutating cloud call in flight (growth: create/attach/assign; shrink: unassign/detach/delete), a datastore compaction, releases recorded while the daemon was down, start-up, or none of these (a plain storm of adds and deletes). */
export type Phase = (typeof PHASES)[number];

export interface Figures {
  kills: number;
  killsByPhase: Record<Phase, number>;
  addsAcknowledged: number;
  doubles: number;
  losses: number;
  leaks: number;
  failedRestarts: number;
  /** Restart-to-ready of every restart that was let get ready, in ms. */
  restartMs: number[];
  faults: boolean;
  seed: number;
  elapsedMs: number;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}

/** Whether the run passes: nothing doubled, lost or leaked, and every restart got ready in time. */
export function passed(figures: Pick<Figures, 'doubles' | 'losses' | 'leaks' | 'failedRestarts'>): boolean {
  return figures.doubles === 0 && figures.losses === 0 && figures.leaks === 0 && figures.failedRestarts === 0;
}

export function figureLine(figures: Figures): string {
  const phases = PHASES.map((phase) => `${phase} ${figures.killsByPhase[phase]}`).join(', ');
  const ms = figures.restartMs;
  return (
    `torture: kills ${figures.kills} (${phases}), adds acknowledged ${figures.addsAcknowledged}, ` +
    `doubles ${figures.doubles}, losses ${figures.losses}, leaks ${figures.leaks}, failed restarts ${figures.failedRestarts}; ` +
    `restart-to-ready ms p50 ${percentile(ms, 50)} p95 ${percentile(ms, 95)} max ${percentile(ms, 100)} (${ms.length} restarts); ` +
    `faults ${figures.faults ? 'on' : 'off'}, seed ${figures.seed}, ${Math.round(figures.elapsedMs / 1000)} s`
  );
}
