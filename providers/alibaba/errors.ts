import type { CloudError } from '../errors.ts';
import { classify, codeTable, mapSdkError, notFoundBySuffix, type ThrownShape } from '../shared/sdk-errors.ts';

/** ECS's error codes by what they mean. */
const byCode = codeTable({
  'interfaces-per-instance': ['EniPerInstanceLimitExceeded'],
  'addresses-per-interface': ['InvalidOperation.Ipv4CountExceeded'],
  'account-quota': ['MaxEniCountExceeded'],
  // QuotaExceeded.PrivateIpAddress: "Don't have enough private IPs in this switch" (not a per-ENI limit).
  'subnet-addresses': ['InvalidVSwitchId.IpNotEnough', 'QuotaExceeded.PrivateIpAddress'],
  // Credentials and permissions; checked before the generic *.NotFound rule.
  unauthorized: [
    'InvalidAccessKeyId.NotFound',
    'InvalidAccessKeyId.Inactive',
    'Abs.InvalidAccount.NotFound',
    'SignatureDoesNotMatch',
    'IncompleteSignature',
    'InvalidSecurityToken.Expired',
    'InvalidSecurityToken.Malformed',
    'InvalidSecurityToken.MismatchWithAccessKey',
    'NoPermission',
    'InvalidCredentials',
  ],
  // Worth retrying as they are.
  transient: ['InternalError', 'UnknownError', 'ServiceUnavailable', 'Operation.Conflict', 'IdempotentProcessing', 'LastTokenProcessing'],
});

/** What the Alibaba SDK throws: ClientError, ServerError, ThrottlingError (@alicloud/openapi-core) or a Node network error. */
interface EcsErrorShape extends ThrownShape {
  statusCode?: number;
  retryAfter?: number;
  data?: { Code?: string; Message?: string };
}

export interface ErrorContext {
  /** What the failed call asked for: a vSwitch short of /28 blocks answers the same code as one short of addresses. */
  addresses?: 'ips' | 'prefixes';
}

/** Strips the SDK's "code: 400, ... request id: ..." decoration down to ECS's own message. */
function cleanMessage(shape: EcsErrorShape): string {
  const own = shape.data?.Message;
  if (typeof own === 'string' && own !== '') return own;
  return (shape.message ?? '').replace(/^[\w.]+: code: \d+, /, '');
}

/** Turns whatever the ECS client threw into a CloudError that keeps ECS's own code. */
export function toCloudError(err: unknown, operation: string, context: ErrorContext = {}): CloudError {
  return mapSdkError<EcsErrorShape>(err, operation, (shape) => {
    const code = (typeof shape.code === 'string' && shape.code !== '' && shape.code !== 'undefined' ? shape.code : undefined) ?? shape.data?.Code ?? 'UnknownError';
    const httpStatus = typeof shape.statusCode === 'number' ? shape.statusCode : undefined;
    let mapped = classify(code, httpStatus, [
      // ECS throttles with Throttling, Throttling.User, Throttling.Api...; the SDK does not retry them: the caller's gate does.
      code.startsWith('Throttling') && { kind: 'throttled' },
      byCode[code],
      notFoundBySuffix(code),
      code.startsWith('Forbidden') && { kind: 'unauthorized' },
      // Otherwise the shared rule: no HTTP status means no answer arrived (connection refused, timeout), worth retrying.
    ]);
    if (mapped.kind === 'subnet-full' && context.addresses === 'prefixes') mapped = { kind: 'subnet-full', limit: 'subnet-prefixes' };
    return {
      code,
      httpStatus,
      detail: err instanceof Error || shape.message !== undefined ? cleanMessage(shape) : String(err),
      class: mapped,
      retryAfterMs: typeof shape.retryAfter === 'number' && shape.retryAfter > 0 ? shape.retryAfter : undefined,
    };
  });
}
