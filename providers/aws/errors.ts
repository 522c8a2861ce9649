import type { CloudError } from '../errors.ts';
import { classify, codeTable, mapSdkError, notFoundBySuffix, type ThrownShape } from '../shared/sdk-errors.ts';

/** EC2's error codes by what they mean. */
const byCode = codeTable({
  throttled: ['RequestLimitExceeded', 'Throttling', 'ThrottlingException'],
  'interfaces-per-instance': ['AttachmentLimitExceeded'],
  'addresses-per-interface': ['PrivateIpAddressLimitExceeded'],
  'account-quota': ['NetworkInterfaceLimitExceeded'],
  'subnet-addresses': ['InsufficientFreeAddressesInSubnet'],
  'subnet-prefixes': ['InsufficientCidrBlocks'],
  unauthorized: ['UnauthorizedOperation', 'AuthFailure', 'Blocked', 'OptInRequired'],
  transient: ['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'TimeoutError'],
});

/** What the EC2 client throws: a service exception (code in `Code` or `name`) or a Node network error (`code`). */
interface Ec2ErrorShape extends ThrownShape {
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Turns whatever the EC2 client threw into a CloudError with EC2's own code. */
export function toCloudError(err: unknown, operation: string): CloudError {
  return mapSdkError<Ec2ErrorShape>(err, operation, (shape) => {
    const code = shape.Code ?? (shape.name && shape.name !== 'Error' ? shape.name : undefined) ?? shape.code ?? 'UnknownError';
    const httpStatus = shape.$metadata?.httpStatusCode;
    // No HTTP status at all means the request never got an answer: the shared rule retries it.
    return { code, httpStatus, detail: shape.message ?? String(err), class: classify(code, httpStatus, [byCode[code], notFoundBySuffix(code)]) };
  });
}
