/**
 * Mutual exclusion per key, FIFO within a key, plus an exclusive mode that
 * waits for every key to be idle and holds all of them off meanwhile.
 *
 * A key that is neither held nor awaited leaves no trace: `size` is 0 when
 * the lock is idle. A waiter whose signal aborts leaves the queue at once.
 */

export type Release = () => void;

interface Waiter {
  /** undefined = exclusive */
  key: string | undefined;
  grant: (release: Release) => void;
}

export class LockAbortedError extends Error {
  override readonly name = 'LockAbortedError';
}

export class KeyedLock {
  /** Keys currently held. */
  readonly #held = new Set<string>();
  /** Per key: waiters in arrival order. An entry exists only while non-empty. */
  readonly #waiting = new Map<string, Waiter[]>();
  /** Exclusive holder active. */
  #exclusive = false;
  /**
   * Everything that arrived while an exclusive request was waiting or held,
   * in order: once exclusive mode is asked for, later arrivals queue behind it.
   */
  readonly #behindExclusive: Waiter[] = [];

  /** Keys held or awaited, plus 1 while exclusive mode is held or awaited (0 when idle). */
  get size(): number {
    const exclusivePending = this.#exclusive || this.#behindExclusive.length > 0 ? 1 : 0;
    return new Set([...this.#held, ...this.#waiting.keys()]).size + exclusivePending;
  }

  /** Requests waiting (not holding) for `key`. */
  waitingFor(key: string): number {
    let n = this.#waiting.get(key)?.length ?? 0;
    for (const w of this.#behindExclusive) if (w.key === key) n++;
    return n;
  }

  /** Run `fn` holding `key`. */
  async run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(key, signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * Run `fn` holding `key`. `fn` may give the key up for a while through
   * `unheld(wait)`, which takes it back (behind whoever queued meanwhile)
   * before returning: a long wait then blocks nobody.
   */
  async runPausable<T>(key: string, fn: (unheld: <W>(wait: () => Promise<W>) => Promise<W>) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let release: Release | undefined = await this.acquire(key, signal);
    const unheld = async <W>(wait: () => Promise<W>): Promise<W> => {
      release?.();
      release = undefined;
      try {
        return await wait();
      } finally {
        release = await this.acquire(key, signal);
      }
    };
    try {
      return await fn(unheld);
    } finally {
      release?.();
    }
  }

  /** Run `fn` while no key is held. */
  async runExclusive<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquireExclusive(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  acquire(key: string, signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(new LockAbortedError('aborted before the lock was acquired'));
    if (!this.#exclusive && this.#behindExclusive.length === 0 && !this.#held.has(key)) {
      return Promise.resolve(this.#take(key));
    }
    return this.#wait({ key, grant: () => {} }, signal, (w) =>
      this.#exclusive || this.#behindExclusive.length > 0 ? this.#behindExclusive.push(w) : this.#enqueue(w),
    );
  }

  acquireExclusive(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(new LockAbortedError('aborted before the lock was acquired'));
    if (!this.#exclusive && this.#behindExclusive.length === 0 && this.#held.size === 0) {
      this.#exclusive = true;
      return Promise.resolve(this.#releaseExclusive());
    }
    return this.#wait({ key: undefined, grant: () => {} }, signal, (w) => this.#behindExclusive.push(w));
  }

  #wait(waiter: Waiter, signal: AbortSignal | undefined, enqueue: (w: Waiter) => void): Promise<Release> {
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        this.#remove(waiter);
        reject(new LockAbortedError('aborted while waiting for the lock'));
      };
      waiter.grant = (release) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(release);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      enqueue(waiter);
    });
  }

  #enqueue(w: Waiter): void {
    const key = w.key as string;
    const q = this.#waiting.get(key);
    if (q) q.push(w);
    else this.#waiting.set(key, [w]);
  }

  #remove(w: Waiter): void {
    const i = this.#behindExclusive.indexOf(w);
    if (i >= 0) {
      this.#behindExclusive.splice(i, 1);
      // A withdrawn exclusive waiter may have been what held others back.
      this.#drain();
      return;
    }
    if (w.key === undefined) return;
    const q = this.#waiting.get(w.key);
    if (!q) return;
    const j = q.indexOf(w);
    if (j >= 0) q.splice(j, 1);
    if (q.length === 0) this.#waiting.delete(w.key);
  }

  #take(key: string): Release {
    this.#held.add(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.delete(key);
      const q = this.#waiting.get(key);
      const next = q?.shift();
      if (q && q.length === 0) this.#waiting.delete(key);
      if (next) next.grant(this.#take(key));
      else this.#drain();
    };
  }

  #releaseExclusive(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#exclusive = false;
      this.#drain();
    };
  }

  /** Move waiters from behind the exclusive barrier, in order, as far as possible. */
  #drain(): void {
    while (!this.#exclusive && this.#behindExclusive.length > 0) {
      const w = this.#behindExclusive[0] as Waiter;
      if (w.key === undefined) {
        if (this.#held.size > 0 || this.#waiting.size > 0) return;
        this.#behindExclusive.shift();
        this.#exclusive = true;
        w.grant(this.#releaseExclusive());
        return;
      }
      this.#behindExclusive.shift();
      if (this.#held.has(w.key)) this.#enqueue(w);
      else w.grant(this.#take(w.key));
    }
  }
}
