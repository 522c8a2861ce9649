import PQueue from 'p-queue';
import type { CallWrapper } from '../../providers/contract.ts';
import { isCloudError } from '../../providers/errors.ts';

export interface CallGateOptions {
  /** Calls per second, on average, for the whole node. */
  rate: number;
  /** Calls that may go at once after a quiet spell. */
  burst: number;
  /** Retries of a throttled call (and of a read that failed transiently). */
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Every attempt, for metrics and logs. */
  onAttempt?: (operation: string, outcome: string, elapsedMs: number) => void;
}

const isRead = (operation: string): boolean => /^(Describe|Get|List|IMDS)/.test(operation);

/**
 * The node's one gate to the cloud: every call of every provider passes a
 * shared rate limiter (p-queue), sized under the account's buckets so one
 * node never starves its neighbours, and throttled calls come back through
 * it after an exponential, fully jittered backoff (or the cloud's
 * Retry-After when longer).
 */
export function createCallGate(options: CallGateOptions): CallWrapper {
  const burst = Math.max(1, Math.floor(options.burst));
  const queue = new PQueue({ intervalCap: burst, interval: Math.max(1, Math.round((burst / options.rate) * 1000)) });
  const maxRetries = options.maxRetries ?? 5;
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 10_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;

  return async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      try {
        const result = await queue.add(call);
        options.onAttempt?.(operation, 'success', performance.now() - started);
        return result as T;
      } catch (err) {
        const kind = isCloudError(err) ? err.kind : 'error';
        options.onAttempt?.(operation, kind, performance.now() - started);
        const retryable = isCloudError(err) && (err.kind === 'throttled' || (err.kind === 'transient' && isRead(operation)));
        if (!retryable || attempt >= maxRetries) throw err;
        const backoff = random() * Math.min(cap, base * 2 ** attempt);
        await sleep(Math.max(backoff, err.retryAfterMs ?? 0));
      }
    }
  };
}
