import { CloudError, isTransientFailure, type CloudErrorKind, type CloudLimit } from '../errors.ts';

const byCode: Record<string, { kind: CloudErrorKind; limit?: CloudLimit }> = {
  EniPerInstanceLimitExceeded: { kind: 'limit-exceeded', limit: 'interfaces-per-instance' },
  'QuotaExceeded.PrivateIpAddress': { kind: 'limit-exceeded', limit: 'addresses-per-interface' },
  MaxEniPrivateIpsCountExceeded: { kind: 'limit-exceeded', limit: 'addresses-per-interface' },
  'InvalidOperation.Ipv4CountExceeded': { kind: 'limit-exceeded', limit: 'addresses-per-interface' },
  MaxEniCountExceeded: { kind: 'limit-exceeded', limit: 'account-quota' },
  'QuotaExceed.Eni': { kind: 'limit-exceeded', limit: 'account-quota' },
  'InvalidVSwitchId.IpNotEnough': { kind: 'subnet-full', limit: 'subnet-addresses' },
  // Credentials and permissions; checked before the generic *.NotFound rule.
  'InvalidAccessKeyId.NotFound': { kind: 'unauthorized' },
  'InvalidAccessKeyId.Inactive': { kind: 'unauthorized' },
  'Abs.InvalidAccount.NotFound': { kind: 'unauthorized' },
  SignatureDoesNotMatch: { kind: 'unauthorized' },
  IncompleteSignature: { kind: 'unauthorized' },
  'InvalidSecurityToken.Expired': { kind: 'unauthorized' },
  'InvalidSecurityToken.Malformed': { kind: 'unauthorized' },
  'InvalidSecurityToken.MismatchWithAccessKey': { kind: 'unauthorized' },
  NoPermission: { kind: 'unauthorized' },
  InvalidCredentials: { kind: 'unauthorized' },
  // Worth retrying as they are.
  InternalError: { kind: 'transient' },
  UnknownError: { kind: 'transient' },
  ServiceUnavailable: { kind: 'transient' },
  'Operation.Conflict': { kind: 'transient' },
  IdempotentProcessing: { kind: 'transient' },
  LastTokenProcessing: { kind: 'transient' },
};

/** What the Alibaba SDK throws: ClientError, ServerError, ThrottlingError (@alicloud/openapi-core) or a Node network error. */
interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  retryAfter?: number;
  data?: { Code?: string; Message?: string };
}

export interface ErrorContext {
  /** What the failed call asked for: a vSwitch short of /28 blocks answers the same code as one short of addresses. */
  addresses?: 'ips' | 'prefixes';
}

/** Strips the SDK's "code: 400, ... request id: ..." decoration down to ECS's own message. */
function cleanMessage(shape: SdkErrorShape): string {
  const own = shape.data?.Message;
  if (typeof own === 'string' && own !== '') return own;
  return (shape.message ?? '').replace(/^[\w.]+: code: \d+, /, '');
}

/** Turns whatever the ECS client threw into a CloudError that keeps ECS's own code. */
export function toCloudError(err: unknown, operation: string, context: ErrorContext = {}): CloudError {
  if (err instanceof CloudError) return err;
  const shape = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape;
  const code = (typeof shape.code === 'string' && shape.code !== '' && shape.code !== 'undefined' ? shape.code : undefined) ?? shape.data?.Code ?? 'UnknownError';
  const status = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
  const message = `${operation}: ${err instanceof Error || shape.message !== undefined ? cleanMessage(shape) : String(err)}`;
  let mapped: { kind: CloudErrorKind; limit?: CloudLimit } =
    // ECS throttles with Throttling, Throttling.User, Throttling.Api...; the SDK does not retry them: the caller's gate does.
    (code.startsWith('Throttling') ? { kind: 'throttled' as const } : undefined) ??
    byCode[code] ??
    (code.endsWith('.NotFound') ? { kind: 'not-found' as const } : undefined) ??
    (code.startsWith('Forbidden') ? { kind: 'unauthorized' as const } : undefined) ??
    // No HTTP status means no answer arrived (connection refused, timeout): worth retrying.
    (isTransientFailure(code, status) ? { kind: 'transient' as const } : undefined) ?? { kind: 'invalid-request' as const };
  if (mapped.kind === 'subnet-full' && context.addresses === 'prefixes') mapped = { kind: 'subnet-full', limit: 'subnet-prefixes' };
  return new CloudError({
    kind: mapped.kind,
    code,
    message,
    operation,
    ...(mapped.limit ? { limit: mapped.limit } : {}),
    ...(typeof shape.retryAfter === 'number' && shape.retryAfter > 0 ? { retryAfterMs: shape.retryAfter } : {}),
    ...(status === undefined ? {} : { httpStatus: status }),
    cause: err,
  });
}
