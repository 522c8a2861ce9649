import type { CloudError } from '../errors.ts';
import { classify, codeTable, mapSdkError, type ThrownShape } from '../shared/sdk-errors.ts';

/**
 * ARM's error codes onto CloudError kinds. The SDK throws a RestError with
 * `code` and `statusCode` for a failed request, and a plain Error whose message
 * carries the code ("The long-running operation has failed. SubnetIsFull. ...")
 * when a long-running operation ends in Failed.
 */
const byCode = codeTable({
  throttled: ['SubscriptionRequestsThrottled', 'ResourceRequestsThrottled', 'TooManyRequests'],
  'subnet-addresses': ['SubnetIsFull'],
  // IpConfigurationCountLimitReached: the emulator's code for a 257th IP configuration (Azure documents the limit, not the code).
  'addresses-per-interface': ['IpConfigurationCountLimitReached'],
  'interfaces-per-instance': ['AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported', 'NetworkInterfaceCountExceeded'],
  'account-quota': ['QuotaExceeded'],
  'not-found': ['NotFound', 'ResourceNotFound', 'ResourceGroupNotFound', 'SubscriptionNotFound', 'InvalidResourceReference'],
  unauthorized: [
    'AuthorizationFailed',
    'LinkedAuthorizationFailed',
    'AuthenticationFailed',
    'InvalidAuthenticationToken',
    'InvalidAuthenticationTokenTenant',
    'ExpiredAuthenticationToken',
    'CredentialUnavailableError',
    'AuthenticationRequiredError',
    'AuthenticationError',
  ],
  // PreconditionFailed and AnotherOperationInProgress: a write raced another; read again and retry.
  transient: ['PreconditionFailed', 'AnotherOperationInProgress', 'RetryableError', 'InternalServerError', 'ServiceUnavailable', 'GatewayTimeout', 'REQUEST_SEND_ERROR'],
});

interface RestErrorShape extends ThrownShape {
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
  return mapSdkError<RestErrorShape>(err, operation, (shape) => {
    const failedOperation = typeof shape.message === 'string' ? lroFailure.exec(shape.message) : null;
    const httpStatus = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
    const code =
      failedOperation?.[1] ??
      (typeof shape.code === 'string' && shape.code !== '' ? shape.code : undefined) ??
      (shape.name && shape.name !== 'Error' && shape.name !== 'RestError' ? shape.name : undefined) ??
      (httpStatus !== undefined ? `Http${httpStatus}` : 'UnknownError');
    const mapped = classify(code, httpStatus, [
      byCode[code],
      httpStatus === 429 && { kind: 'throttled' },
      (httpStatus === 401 || httpStatus === 403) && { kind: 'unauthorized' },
      httpStatus === 404 && { kind: 'not-found' },
      // A failed operation without a known code is worth retrying, as (the shared rule) is no HTTP answer at all.
      failedOperation !== null && { kind: 'transient' },
    ]);
    return { code, httpStatus, detail: failedOperation?.[2] ?? shape.message ?? String(err), class: mapped, retryAfterMs: parseRetryAfter(shape.response?.headers?.get('retry-after')) };
  });
}
