import type { Clock } from '../model/cloud.ts';

export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

/** A token bucket, the way clouds throttle API calls per account and action. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly spec: BucketSpec,
    private readonly clock: Clock,
  ) {
    this.tokens = spec.capacity;
    this.last = clock.now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whole tokens left now (ARM reports them in x-ms-ratelimit-remaining-* headers). */
  available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  /** Milliseconds until a token is available. */
  waitMs(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) / this.spec.refillPerSecond) * 1000);
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.spec.capacity, this.tokens + ((now - this.last) / 1000) * this.spec.refillPerSecond);
    this.last = now;
  }
}

/**
 * Account-level throttling: one bucket per throttle key (each cloud decides
 * what a key is: per action on EC2, reads/writes on ARM), created on first use.
 */
export class Throttler {
  enabled: boolean;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly clock: Clock,
    enabled = false,
  ) {
    this.enabled = enabled;
  }

  /** Null when the call may go ahead; otherwise how long to wait. */
  check(key: string, spec: BucketSpec): { retryAfterMs: number } | null {
    if (!this.enabled) return null;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(spec, this.clock);
      this.buckets.set(key, bucket);
    }
    return bucket.take() ? null : { retryAfterMs: bucket.waitMs() };
  }

  /** Tokens left in a bucket; a bucket not used yet is full. */
  remaining(key: string, spec: BucketSpec): number {
    return this.buckets.get(key)?.available() ?? spec.capacity;
  }

  reset(): void {
    this.buckets.clear();
  }
}
