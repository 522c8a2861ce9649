/**
 * A local cache of one collection, kept current by list + watch, in the
 * manner of client-go's reflector:
 *
 * - list, then watch from the list's resourceVersion with bookmarks (which
 *   move the resourceVersion on while nothing changes);
 * - a watch the server ends is resumed from the last resourceVersion;
 * - 410 Gone (the resourceVersion was compacted away) means list again;
 * - any other failure: exponential, jittered backoff, then resume.
 *
 * `fresh` says whether the cache can be trusted to show what is not there:
 * listed, and the watch not broken since. Decisions that act on absence
 * (releasing a lost pod's address) must check it.
 *
 * client-node's ListWatch was not used: it never asks for bookmarks, stops
 * for good on the first error that is not a 410 (no retry, no backoff), and
 * has no notion of a cache that is out of date.
 */
import type { Logger } from '../common/logger.ts';
import { KubeApiError, type Collection, type WatchHandle } from './client.ts';

export interface ReflectorTiming {
  /** First and longest delay between attempts after failures. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Asked of the server; each watch lasts between this and twice this (spread so nodes do not reconnect in step). */
  watchTimeoutSeconds: number;
  /** A watch silent for this long is dead (half-open connection, hung server). */
  watchIdleTimeoutMs: number;
}

export const defaultReflectorTiming: ReflectorTiming = { backoffInitialMs: 500, backoffMaxMs: 30_000, watchTimeoutSeconds: 300, watchIdleTimeoutMs: 660_000 };

export interface ReflectorOptions<T> {
  source: Collection;
  project(raw: unknown): T | undefined;
  key(item: T): string;
  logger: Logger;
  timing?: Partial<ReflectorTiming>;
  /** After every change of the cache (a list or an event) and of freshness. */
  onChange?: () => void;
}

type WatchOutcome = { kind: 'ended' } | { kind: 'expired' } | { kind: 'failed'; error: Error };

const isGone = (status: unknown): boolean => typeof status === 'object' && status !== null && (status as { code?: unknown }).code === 410;

export class Reflector<T> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private listed = false;
  private broken = true;
  private stopped = true;
  private failures = 0;
  private lastExpiredAt = -Infinity;
  private current: WatchHandle | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly timing: ReflectorTiming;
  private readonly syncWaiters = new Set<() => void>();
  /** Lists done and watches opened, for tests and logs. */
  readonly stats = { lists: 0, watches: 0, relistsAfterGone: 0, failures: 0 };

  constructor(private readonly options: ReflectorOptions<T>) {
    this.timing = { ...defaultReflectorTiming, ...options.timing };
  }

  /** Listed, and no watch failure since: absence from the cache means absence from the cluster (give or take the watch's lag). */
  get fresh(): boolean {
    return this.listed && !this.broken;
  }

  /** Has listed at least once (the cache may be out of date). */
  get hasListed(): boolean {
    return this.listed;
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  items(): T[] {
    return [...this.cache.values()];
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.wake?.();
    // A list in flight to a hung API server ends with its request timeout; shutting down does not wait for it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
    for (const resolve of [...this.syncWaiters]) resolve();
  }

  /** Resolves true once fresh, false after the timeout (or when stopped). */
  waitUntilFresh(timeoutMs: number): Promise<boolean> {
    if (this.fresh) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.syncWaiters.delete(done);
        resolve(this.fresh);
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.syncWaiters.add(done);
    });
  }

  private changed(): void {
    if (this.fresh) for (const resolve of [...this.syncWaiters]) resolve();
    this.options.onChange?.();
  }

  private setBroken(broken: boolean): void {
    if (this.broken === broken) return;
    this.broken = broken;
    this.changed();
  }

  private async run(): Promise<void> {
    const { logger, source } = this.options;
    while (!this.stopped) {
      if (!this.resourceVersion) {
        try {
          await this.list();
        } catch (err) {
          this.fail(err as Error, 'list');
          await this.backoff();
          continue;
        }
      }
      if (this.stopped) break;
      const started = Date.now();
      let events = 0;
      const outcome = await this.watchOnce(() => events++);
      if (this.stopped) break;
      switch (outcome.kind) {
        case 'expired': {
          // Compacted away: the only way back is a fresh list (not served from a cache: "" asks for the latest).
          this.stats.relistsAfterGone++;
          logger.info({ source: source.description }, 'watch resourceVersion too old (410 Gone): listing again');
          this.resourceVersion = '';
          this.setBroken(true);
          // Gone again right after a list: something is wrong with the server; do not spin.
          const again = Date.now() - this.lastExpiredAt < 1000;
          this.lastExpiredAt = Date.now();
          if (again) {
            this.failures++;
            await this.backoff();
          }
          break;
        }
        case 'failed':
          this.fail(outcome.error, 'watch');
          await this.backoff();
          break;
        case 'ended':
          // A server that ends every watch at once must not make us spin.
          if (events > 0 || Date.now() - started >= 1000) this.failures = 0;
          else await this.backoff();
          break;
      }
    }
  }

  private async list(): Promise<void> {
    // The first list may come from the API server's watch cache ("0"); after a 410 it must be current ("").
    const result = await this.options.source.list(this.stats.lists === 0 ? '0' : '');
    this.stats.lists++;
    this.cache.clear();
    for (const raw of result.items) {
      const item = this.options.project(raw);
      if (item !== undefined) this.cache.set(this.options.key(item), item);
    }
    this.resourceVersion = result.resourceVersion;
    this.listed = true;
    this.broken = false;
    this.failures = 0;
    this.changed();
  }

  private fail(error: Error, what: string): void {
    this.failures++;
    this.stats.failures++;
    const status = error instanceof KubeApiError ? error.status : 0;
    this.options.logger[this.failures === 1 ? 'warn' : 'debug']({ source: this.options.source.description, status, err: error.message, failures: this.failures }, `${what} failed; retrying with backoff`);
    this.setBroken(true);
  }

  private backoff(): Promise<void> {
    const { backoffInitialMs, backoffMaxMs } = this.timing;
    const ceiling = Math.min(backoffMaxMs, backoffInitialMs * 2 ** Math.max(0, this.failures - 1));
    // Jitter keeps a fleet of nodes from coming back at the same instant after an API server outage.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, delay);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  private watchOnce(onEvent: () => void): Promise<WatchOutcome> {
    const { source, project, key } = this.options;
    return new Promise((resolve) => {
      let outcome: WatchOutcome | undefined;
      const timeoutSeconds = this.timing.watchTimeoutSeconds + Math.floor(Math.random() * (this.timing.watchTimeoutSeconds + 1));
      this.stats.watches++;
      this.current = source.watch(
        { resourceVersion: this.resourceVersion, timeoutSeconds, idleTimeoutMs: this.timing.watchIdleTimeoutMs },
        {
          onOpen: () => this.setBroken(false),
          onEvent: (type, object) => {
            if (outcome) return;
            onEvent();
            if (type === 'ERROR') {
              if (isGone(object)) outcome = { kind: 'expired' };
              else {
                const status = (object ?? {}) as { code?: unknown; message?: unknown };
                outcome = { kind: 'failed', error: new KubeApiError(typeof status.code === 'number' ? status.code : 0, 'WatchError', `watch ${source.description}: ${String(status.message ?? 'error event')}`) };
              }
              this.current?.abort();
              return;
            }
            const rv = (object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
            if (type !== 'BOOKMARK') {
              const item = project(object);
              if (item !== undefined) {
                if (type === 'DELETED') this.cache.delete(key(item));
                else if (type === 'ADDED' || type === 'MODIFIED') this.cache.set(key(item), item);
              }
            }
            if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
            if (type !== 'BOOKMARK') this.changed();
          },
          onDone: (error) => {
            this.current = undefined;
            if (!outcome) {
              if (error instanceof KubeApiError && error.status === 410) outcome = { kind: 'expired' };
              else outcome = error ? { kind: 'failed', error } : { kind: 'ended' };
            }
            resolve(outcome);
          },
        },
      );
    });
  }
}
