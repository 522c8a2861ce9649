import { describe, expect, it } from 'vitest';
import { toCloudError } from '../../../providers/aws/errors.ts';
import { CloudError } from '../../../providers/errors.ts';
import { itMapsCodeTable } from '../code-table.ts';

/** The shape the EC2 SDK throws: name and Code carry the EC2 code. */
function sdkError(code: string, status: number | undefined, message = 'boom'): Error {
  return Object.assign(new Error(message), { name: code, Code: code, $metadata: status === undefined ? {} : { httpStatusCode: status } });
}

describe('toCloudError', () => {
  itMapsCodeTable(
    `
      RequestLimitExceeded               503  throttled
      Throttling                         400  throttled
      AttachmentLimitExceeded            400  limit-exceeded  interfaces-per-instance
      PrivateIpAddressLimitExceeded      400  limit-exceeded  addresses-per-interface
      NetworkInterfaceLimitExceeded      400  limit-exceeded  account-quota
      InsufficientFreeAddressesInSubnet  400  subnet-full  subnet-addresses
      InsufficientCidrBlocks             400  subnet-full  subnet-prefixes
      UnauthorizedOperation              403  unauthorized
      AuthFailure                        401  unauthorized
      InternalError                      500  transient
      Unavailable                        503  transient
      InvalidParameterValue              400  invalid-request
      InvalidNetworkInterface.InUse      400  invalid-request
      InvalidIPAddress.InUse             400  invalid-request
      OperationNotPermitted              400  invalid-request
      InvalidInstanceType                400  invalid-request
      InvalidParameterCombination        400  invalid-request
    `,
    'AssignPrivateIpAddresses',
    (code, status, operation) => toCloudError(sdkError(code, status, 'details'), operation),
  );

  it("keeps EC2's message behind the operation", () => {
    expect(toCloudError(sdkError('InvalidParameterValue', 400, 'details'), 'AssignPrivateIpAddresses').message).toBe('AssignPrivateIpAddresses: details');
  });

  it('maps any *.NotFound code to not-found', () => {
    for (const code of ['InvalidNetworkInterfaceID.NotFound', 'InvalidSubnetID.NotFound', 'InvalidAttachmentID.NotFound', 'Something.NotFound']) {
      expect(toCloudError(sdkError(code, 400), 'op')).toMatchObject({ kind: 'not-found', code });
    }
    expect(toCloudError(sdkError('NotFoundish', 400), 'op').kind).toBe('invalid-request');
  });

  it('treats unknown codes with a 5xx status as transient, with a 4xx as invalid', () => {
    expect(toCloudError(sdkError('SomethingOdd', 502), 'op')).toMatchObject({ kind: 'transient', httpStatus: 502 });
    expect(toCloudError(sdkError('SomethingOdd', 500), 'op').kind).toBe('transient');
    expect(toCloudError(sdkError('SomethingOdd', 409), 'op').kind).toBe('invalid-request');
  });

  it('treats connection errors and answers without a status as transient', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_SOCKET']) {
      const err = toCloudError(Object.assign(new Error(`connect ${code}`), { code }), 'DescribeSubnets');
      expect(err).toMatchObject({ kind: 'transient', code, httpStatus: undefined });
      expect(err.retryable).toBe(true);
    }
    expect(toCloudError(new Error('socket hang up'), 'op')).toMatchObject({ kind: 'transient', code: 'UnknownError' });
    expect(toCloudError('a string', 'op')).toMatchObject({ kind: 'transient', code: 'UnknownError', message: 'op: a string' });
    expect(toCloudError(null, 'op').kind).toBe('transient');
  });

  it('prefers Code over name over code, and keeps the cause', () => {
    const original = Object.assign(new Error('x'), { name: 'ServiceException', Code: 'InsufficientCidrBlocks', code: 'ECONNRESET', $metadata: { httpStatusCode: 400 } });
    const err = toCloudError(original, 'op');
    expect(err).toMatchObject({ code: 'InsufficientCidrBlocks', kind: 'subnet-full' });
    expect(err.cause).toBe(original);
    expect(toCloudError(Object.assign(new Error('x'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } }), 'op').kind).toBe('throttled');
  });

  it('passes a CloudError through unchanged', () => {
    const original = new CloudError({ kind: 'subnet-full', code: 'X', message: 'm' });
    expect(toCloudError(original, 'op')).toBe(original);
  });
});
