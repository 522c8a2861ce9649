/** What the torture's runner and its daemon child agree on (the child's argv and event channel). */

/** argv[2] of the child, as JSON: the pool timings no variable sets, and how often the datastore compacts. */
export interface ChildTuning {
  shrinkIntervalMs: number;
  minInterfaceAgeMs: number;
  checkIntervalMs: number;
  /** Journal records between datastore compactions (the daemon's default is 10,000). */
  compactEvery: number;
}

/** The child writes its events here, one JSON line each. */
export const EVENT_FD = 3;

export interface ChildEvent {
  event: 'ready' | 'compact-start' | 'compact-end';
  /** With `ready`: where the daemon's pool view is served. */
  introspectionUrl?: string;
}
