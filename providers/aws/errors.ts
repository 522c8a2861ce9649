import { CloudError, isTransientFailure, type CloudErrorKind, type CloudLimit } from '../errors.ts';

const byCode: Record<string, { kind: CloudErrorKind; limit?: CloudLimit }> = {
  RequestLimitExceeded: { kind: 'throttled' },
  Throttling: { kind: 'throttled' },
  ThrottlingException: { kind: 'throttled' },
  AttachmentLimitExceeded: { kind: 'limit-exceeded', limit: 'interfaces-per-instance' },
  PrivateIpAddressLimitExceeded: { kind: 'limit-exceeded', limit: 'addresses-per-interface' },
  NetworkInterfaceLimitExceeded: { kind: 'limit-exceeded', limit: 'account-quota' },
  InsufficientFreeAddressesInSubnet: { kind: 'subnet-full', limit: 'subnet-addresses' },
  InsufficientCidrBlocks: { kind: 'subnet-full', limit: 'subnet-prefixes' },
  UnauthorizedOperation: { kind: 'unauthorized' },
  AuthFailure: { kind: 'unauthorized' },
  Blocked: { kind: 'unauthorized' },
  OptInRequired: { kind: 'unauthorized' },
  InternalError: { kind: 'transient' },
  InternalFailure: { kind: 'transient' },
  ServiceUnavailable: { kind: 'transient' },
  Unavailable: { kind: 'transient' },
  TimeoutError: { kind: 'transient' },
};

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Turns whatever the EC2 client threw into a CloudError with EC2's own code. */
export function toCloudError(err: unknown, operation: string): CloudError {
  if (err instanceof CloudError) return err;
  const shape = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape;
  const code = shape.Code ?? (shape.name && shape.name !== 'Error' ? shape.name : undefined) ?? shape.code ?? 'UnknownError';
  const status = shape.$metadata?.httpStatusCode;
  const message = `${operation}: ${shape.message ?? String(err)}`;
  const mapped =
    byCode[code] ??
    (code.endsWith('.NotFound') ? { kind: 'not-found' as const } : undefined) ??
    // No HTTP status at all means the request never got an answer: worth retrying.
    (isTransientFailure(code, status) ? { kind: 'transient' as const } : undefined) ??
    { kind: 'invalid-request' as const };
  return new CloudError({
    kind: mapped.kind,
    code,
    message,
    operation,
    ...(mapped.limit ? { limit: mapped.limit } : {}),
    ...(status === undefined ? {} : { httpStatus: status }),
    cause: err,
  });
}
