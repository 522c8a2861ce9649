/**
 * Where the service gets pod addresses: the warm pool as the request path
 * sees it. One question (an address for this key, now or once the pool has
 * grown) with a handful of answers; the service turns them into the plugin's
 * errors. The pool manager's state and its plan runs stay behind this seam.
 */
import { NoFreeAddressError, type AddressStore, type Allocation } from '../datastore/store.ts';
import type { Logger } from '../common/logger.ts';
import type { AllocationKey, ExhaustionLimit } from '../common/types.ts';
import type { RequestContext } from '../../wire/protocol.ts';
import type { PoolManager } from './manager.ts';

/** The pod an address is for, as the store records it. */
type PodRef = NonNullable<Allocation['pod']>;

export type AddressAnswer =
  | { kind: 'allocated'; allocation: Allocation; existing: boolean }
  /** The pool has not been filled once yet (and the key holds nothing). */
  | { kind: 'not-ready' }
  /** The pool cannot grow: a limit of the instance, the subnet or the settings. */
  | { kind: 'exhausted'; limit: ExhaustionLimit; message: string }
  /** Nothing free after waiting for growth; the pool is still growing. */
  | { kind: 'still-growing'; detail: string }
  /** The request was abandoned (answered `busy`, its client gone, or shutting down): nothing was allocated. */
  | { kind: 'abandoned'; reason: string };

export interface AddressWanted {
  netns: string;
  pod?: PodRef;
  /** The request's signal: once it aborts, the wait ends and nothing is allocated. */
  signal?: AbortSignal;
  /** Longest wait for the pool to grow when nothing is free. */
  waitMs: number;
  /** Waits without the request's container lock (the server's); without it the wait holds the lock. */
  unlocked?: RequestContext['unlocked'];
}

export interface AddressSource {
  /** Whether adds are served: the pool was filled once, or is known to be exhausted. */
  readonly ready: boolean;
  take(key: AllocationKey, wanted: AddressWanted): Promise<AddressAnswer>;
  /** An address was taken or given back: re-plan the pool soon. */
  changed(): void;
}

/** How long a top-up waits to gather the requests around it. */
const topUpDelayMs = 20;

/** What the source needs of the pool manager: its readiness, its exhaustion, and a plan run. */
export type GrowingPool = Pick<PoolManager, 'status' | 'reconcile'>;

/**
 * The pool manager's store as an address source. A wait for growth holds no
 * lock: it gives up the request's container lock (`unlocked`), waits for the
 * plan run that covers it (coalesced with one under way), bounded by the wait
 * and the request's signal, and allocates nothing when a DEL of the same
 * attachment ran meanwhile.
 */
export class PoolAddressSource implements AddressSource {
  private topUpScheduled = false;

  constructor(private readonly deps: { store: AddressStore; pool: GrowingPool; logger: Logger }) {}

  get ready(): boolean {
    return this.deps.pool.status.ready;
  }

  async take(key: AllocationKey, wanted: AddressWanted): Promise<AddressAnswer> {
    const { store } = this.deps;
    const extra = { netns: wanted.netns, ...(wanted.pod ? { pod: wanted.pod } : {}) };
    if (!this.ready && !store.find(key)) return { kind: 'not-ready' };
    const first = await this.allocate(key, extra, wanted.signal);
    if (first.kind !== 'none-free') return first;
    const exhausted = this.exhausted();
    if (exhausted) return exhausted;
    // Not exhausted: the pool is growing. Wait for one plan run, then try once more.
    const grow = (): Promise<'grown' | 'waited' | 'aborted'> => this.waitForGrowth(wanted.waitMs, wanted.signal);
    const waited = wanted.unlocked ? await wanted.unlocked(grow) : { value: await grow() };
    if ('overtaken' in waited) return { kind: 'abandoned', reason: 'a DEL of the same attachment ran while it waited for the pool' };
    if (waited.value === 'aborted') return abandoned(wanted.signal);
    const second = await this.allocate(key, extra, wanted.signal);
    if (second.kind !== 'none-free') return second;
    return this.exhausted() ?? { kind: 'still-growing', detail: second.reason };
  }

  /**
   * Re-plans the pool after the answer has left: deferred by a few
   * milliseconds and coalesced, so a burst of adds and deletes costs one plan
   * and no request waits behind the policy. The warm pool has the slack.
   */
  changed(): void {
    if (this.topUpScheduled) return;
    this.topUpScheduled = true;
    setTimeout(() => {
      this.topUpScheduled = false;
      this.deps.pool.reconcile().catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'pool top-up failed'));
    }, topUpDelayMs).unref();
  }

  /** An abandoned request allocates nothing: the signal is looked at right before the store is. */
  private async allocate(
    key: AllocationKey,
    extra: { netns: string; pod?: PodRef },
    signal: AbortSignal | undefined,
  ): Promise<AddressAnswer | { kind: 'none-free'; reason: string }> {
    if (signal?.aborted) return abandoned(signal);
    try {
      return { kind: 'allocated', ...(await this.deps.store.allocate(key, extra)) };
    } catch (err) {
      if (!(err instanceof NoFreeAddressError)) throw err;
      return { kind: 'none-free', reason: err.message };
    }
  }

  private exhausted(): AddressAnswer | undefined {
    const exhausted = this.deps.pool.status.exhausted;
    return exhausted ? { kind: 'exhausted', limit: exhausted.limit, message: exhausted.message } : undefined;
  }

  /** Resolves when a plan run is over or `waitMs` has passed, or with 'aborted' when the signal fires first. */
  private waitForGrowth(waitMs: number, signal: AbortSignal | undefined): Promise<'grown' | 'waited' | 'aborted'> {
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        settle();
        resolve('aborted');
      };
      const timer = setTimeout(() => {
        settle();
        resolve('waited');
      }, waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.deps.pool.reconcile().then(
        () => {
          settle();
          resolve('grown');
        },
        (err: unknown) => {
          settle();
          reject(err);
        },
      );
    });
  }
}

function abandoned(signal: AbortSignal | undefined): AddressAnswer {
  const reason: unknown = signal?.reason;
  return { kind: 'abandoned', reason: reason instanceof Error ? reason.message : 'aborted' };
}
