import { CloudError, isTransientFailure, type CloudErrorKind, type CloudLimit } from '../errors.ts';

/**
 * ARM's error codes onto CloudError kinds. The SDK throws a RestError with
 * `code` and `statusCode` for a failed request, and a plain Error whose message
 * carries the code ("The long-running operation has failed. SubnetIsFull. ...")
 * when a long-running operation ends in Failed.
 */
const byCode: Record<string, { kind: CloudErrorKind; limit?: CloudLimit }> = {
  SubscriptionRequestsThrottled: { kind: 'throttled' },
  ResourceRequestsThrottled: { kind: 'throttled' },
  TooManyRequests: { kind: 'throttled' },
  SubnetIsFull: { kind: 'subnet-full', limit: 'subnet-addresses' },
  // The emulator's code for a 257th IP configuration (Azure documents the limit, not the code).
  IpConfigurationCountLimitReached: { kind: 'limit-exceeded', limit: 'addresses-per-interface' },
  AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported: { kind: 'limit-exceeded', limit: 'interfaces-per-instance' },
  NetworkInterfaceCountExceeded: { kind: 'limit-exceeded', limit: 'interfaces-per-instance' },
  QuotaExceeded: { kind: 'limit-exceeded', limit: 'account-quota' },
  NotFound: { kind: 'not-found' },
  ResourceNotFound: { kind: 'not-found' },
  ResourceGroupNotFound: { kind: 'not-found' },
  SubscriptionNotFound: { kind: 'not-found' },
  InvalidResourceReference: { kind: 'not-found' },
  AuthorizationFailed: { kind: 'unauthorized' },
  LinkedAuthorizationFailed: { kind: 'unauthorized' },
  AuthenticationFailed: { kind: 'unauthorized' },
  InvalidAuthenticationToken: { kind: 'unauthorized' },
  InvalidAuthenticationTokenTenant: { kind: 'unauthorized' },
  ExpiredAuthenticationToken: { kind: 'unauthorized' },
  CredentialUnavailableError: { kind: 'unauthorized' },
  AuthenticationRequiredError: { kind: 'unauthorized' },
  AuthenticationError: { kind: 'unauthorized' },
  // A write raced another: read again and retry.
  PreconditionFailed: { kind: 'transient' },
  AnotherOperationInProgress: { kind: 'transient' },
  RetryableError: { kind: 'transient' },
  InternalServerError: { kind: 'transient' },
  ServiceUnavailable: { kind: 'transient' },
  GatewayTimeout: { kind: 'transient' },
  REQUEST_SEND_ERROR: { kind: 'transient' },
};

interface RestErrorShape {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  response?: { headers?: { get(name: string): string | undefined } };
}

const lroFailure = /^The long-running operation has failed\. ([A-Za-z][\w.]*)\. ([\s\S]*)$/;

/** Milliseconds from a Retry-After value: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Turns whatever the Azure SDK (or @azure/identity) threw into a CloudError with ARM's own code. */
export function toCloudError(err: unknown, operation: string): CloudError {
  if (err instanceof CloudError) return err;
  const shape = (typeof err === 'object' && err !== null ? err : {}) as RestErrorShape;
  const failedOperation = typeof shape.message === 'string' ? lroFailure.exec(shape.message) : null;
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
  const code =
    failedOperation?.[1] ??
    (typeof shape.code === 'string' && shape.code !== '' ? shape.code : undefined) ??
    (shape.name && shape.name !== 'Error' && shape.name !== 'RestError' ? shape.name : undefined) ??
    (status !== undefined ? `Http${status}` : 'UnknownError');
  const detail = failedOperation?.[2] ?? shape.message ?? String(err);
  const mapped =
    byCode[code] ??
    (status === 429 ? { kind: 'throttled' as const } : undefined) ??
    (status === 401 || status === 403 ? { kind: 'unauthorized' as const } : undefined) ??
    (status === 404 ? { kind: 'not-found' as const } : undefined) ??
    // A failed operation without a known code, or no HTTP answer at all, is worth retrying.
    (failedOperation || isTransientFailure(code, status) ? { kind: 'transient' as const } : undefined) ?? {
      kind: 'invalid-request' as const,
    };
  const retryAfterMs = parseRetryAfter(shape.response?.headers?.get('retry-after'));
  return new CloudError({
    kind: mapped.kind,
    code,
    message: `${operation}: ${detail}`,
    operation,
    ...(mapped.limit ? { limit: mapped.limit } : {}),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(status === undefined ? {} : { httpStatus: status }),
    cause: err,
  });
}
