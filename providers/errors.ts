/**
 * The few kinds of cloud failure ipamd must tell apart. Every adapter maps its
 * cloud's codes onto these and keeps the original code for logs and metrics.
 */
export type CloudErrorKind =
  | 'throttled'
  | 'limit-exceeded'
  | 'subnet-full'
  | 'not-found'
  | 'unauthorized'
  | 'invalid-request'
  | 'transient';

/** Which limit was hit, so exhaustion errors can name it. */
export type CloudLimit =
  | 'interfaces-per-instance'
  | 'addresses-per-interface'
  | 'subnet-addresses'
  | 'subnet-prefixes'
  | 'account-quota';

export interface CloudErrorDetails {
  kind: CloudErrorKind;
  /** The cloud's own error code, e.g. `RequestLimitExceeded`. */
  code: string;
  message: string;
  /** The operation the adapter was performing, e.g. `AssignPrivateIpAddresses`. */
  operation?: string;
  limit?: CloudLimit;
  /** Set when the cloud said how long to wait (Retry-After). */
  retryAfterMs?: number;
  httpStatus?: number;
  cause?: unknown;
}

export class CloudError extends Error {
  readonly kind: CloudErrorKind;
  readonly code: string;
  readonly operation: string | undefined;
  readonly limit: CloudLimit | undefined;
  readonly retryAfterMs: number | undefined;
  readonly httpStatus: number | undefined;

  constructor(details: CloudErrorDetails) {
    super(details.message, { cause: details.cause });
    this.name = 'CloudError';
    this.kind = details.kind;
    this.code = details.code;
    this.operation = details.operation;
    this.limit = details.limit;
    this.retryAfterMs = details.retryAfterMs;
    this.httpStatus = details.httpStatus;
  }

  /** Worth retrying later with the same request. */
  get retryable(): boolean {
    return this.kind === 'throttled' || this.kind === 'transient';
  }
}

export function isCloudError(err: unknown, kind?: CloudErrorKind): err is CloudError {
  return err instanceof CloudError && (kind === undefined || err.kind === kind);
}

/** The call's answer, or undefined when it failed because what it asked about is not there. */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (isCloudError(err, 'not-found')) return undefined;
    throw err;
  }
}
