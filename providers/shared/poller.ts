/** Time as the poller sees it; tests pass a fake one. */
export interface PollClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface PollerOptions {
  /** The first wait between reads; each wait doubles the next, up to `maxIntervalMs`. */
  intervalMs: number;
  /** The longest wait between reads (2 s unless said). */
  maxIntervalMs?: number;
  /** How long from now the poller keeps reading. */
  timeoutMs: number;
  clock?: PollClock;
}

/** Either the read that met the predicate, or (timed out) the last state seen, undefined when nothing was read. */
export type PollOutcome<Seen, Met extends Seen = Seen> = { met: true; state: Met } | { met: false; state: Seen | undefined };

const realClock: PollClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Polls a cheap read until a predicate holds, with a doubling wait and one
 * deadline. The deadline and the current wait belong to the poller, not to
 * one `until`, so an operation that polls in several rounds (detach, then
 * delete, then wait again) keeps one budget and keeps backing off.
 */
export class Poller {
  private interval: number;
  private readonly maxInterval: number;
  private readonly deadline: number;
  private readonly clock: PollClock;

  constructor(options: PollerOptions) {
    this.clock = options.clock ?? realClock;
    this.interval = options.intervalMs;
    this.maxInterval = options.maxIntervalMs ?? 2000;
    this.deadline = this.clock.now() + options.timeoutMs;
  }

  /** The deadline has passed. */
  get expired(): boolean {
    return this.clock.now() >= this.deadline;
  }

  /**
   * Read until `done` holds or the deadline passes. By default it waits
   * before each read (the caller has just asked for the change); with
   * `readFirst` the first read is immediate. A read that throws ends the
   * poll with its error.
   */
  until<Seen, Met extends Seen>(read: () => Promise<Seen>, done: (state: Seen) => state is Met, options?: { readFirst?: boolean }): Promise<PollOutcome<Seen, Met>>;
  until<Seen>(read: () => Promise<Seen>, done: (state: Seen) => boolean, options?: { readFirst?: boolean }): Promise<PollOutcome<Seen>>;
  async until<Seen>(read: () => Promise<Seen>, done: (state: Seen) => boolean, options: { readFirst?: boolean } = {}): Promise<PollOutcome<Seen>> {
    let state: Seen | undefined;
    if (options.readFirst) {
      state = await read();
      if (done(state)) return { met: true, state };
    }
    while (!this.expired) {
      await this.clock.sleep(this.interval);
      this.interval = Math.min(this.interval * 2, this.maxInterval);
      state = await read();
      if (done(state)) return { met: true, state };
    }
    return { met: false, state };
  }
}
