import { describe, expect, it } from 'vitest';
import { toCloudError } from '../../../providers/alibaba/errors.ts';
import { CloudError } from '../../../providers/errors.ts';
import { itMapsCodeTable } from '../code-table.ts';

/** What @alicloud/openapi-core throws for an error answer: ClientError, ServerError or ThrottlingError. */
function sdkError(name: string, code: string, statusCode: number, message = 'something went wrong', extra: Record<string, unknown> = {}): Error {
  const err = new Error(`${code}: code: ${statusCode}, ${message} request id: 4F6C3C5E-0000-4000-8000-000000000000`) as Error & Record<string, unknown>;
  err.name = name;
  Object.assign(err, { code, statusCode, data: { RequestId: '4F6C3C5E-0000-4000-8000-000000000000', Code: code, Message: message }, requestId: '4F6C3C5E-0000-4000-8000-000000000000', ...extra });
  return err;
}

describe('Alibaba error mapping', () => {
  itMapsCodeTable(
    `
      Throttling                          400  throttled
      Throttling.User                     400  throttled
      Throttling.Api                      400  throttled
      Throttling.Resource                 400  throttled
      EniPerInstanceLimitExceeded         403  limit-exceeded  interfaces-per-instance
      InvalidOperation.Ipv4CountExceeded  403  limit-exceeded  addresses-per-interface
      MaxEniCountExceeded                 403  limit-exceeded  account-quota
      InvalidVSwitchId.IpNotEnough        403  subnet-full  subnet-addresses
      QuotaExceeded.PrivateIpAddress      400  subnet-full  subnet-addresses
      InvalidVSwitchId.IpInvalid          403  invalid-request
      InvalidPrivateIpAddress.Duplicated  400  invalid-request
      InvalidOperation.DetachPrimaryEniNotAllowed  400  invalid-request
      InvalidEniId.NotFound               404  not-found
      InvalidVSwitchId.NotFound           404  not-found
      InvalidInstanceId.NotFound          404  not-found
      InvalidAccessKeyId.NotFound         404  unauthorized
      Forbidden.RAM                       403  unauthorized
      Forbidden.SubUser                   403  unauthorized
      SignatureDoesNotMatch               400  unauthorized
      InvalidSecurityToken.Expired        400  unauthorized
      InternalError                       500  transient
      ServiceUnavailable                  503  transient
      Operation.Conflict                  403  transient
      SomethingNew                        502  transient
      InvalidOperation.InvalidEniState    400  invalid-request
      InvalidParameter                    400  invalid-request
      MissingParameter                    400  invalid-request
      UnsupportedParameter                400  invalid-request
    `,
    'AssignPrivateIpAddresses',
    (code, status, operation) =>
      toCloudError(sdkError(code.startsWith('Throttling') ? 'ThrottlingError' : status >= 500 ? 'ServerError' : 'ClientError', code, status), operation),
  );

  it("keeps ECS's own message, without the SDK's decoration", () => {
    const mapped = toCloudError(sdkError('ClientError', 'InvalidEniId.NotFound', 404, 'The specified EniId does not exist.'), 'DeleteNetworkInterface');
    expect(mapped.message).toBe('DeleteNetworkInterface: The specified EniId does not exist.');
    expect(mapped.cause).toBeInstanceOf(Error);
  });

  it('tells a vSwitch without a free /28 from one without addresses by what was asked', () => {
    const err = sdkError('ClientError', 'InvalidVSwitchId.IpNotEnough', 403);
    expect(toCloudError(err, 'AssignPrivateIpAddresses', { addresses: 'ips' })).toMatchObject({ kind: 'subnet-full', limit: 'subnet-addresses' });
    expect(toCloudError(err, 'AssignPrivateIpAddresses', { addresses: 'prefixes' })).toMatchObject({ kind: 'subnet-full', limit: 'subnet-prefixes' });
  });

  it('carries the wait a throttled answer named', () => {
    expect(toCloudError(sdkError('ThrottlingError', 'Throttling.User', 400, 'Request was denied due to user flow control.', { retryAfter: 1500 }), 'DescribeVSwitches')).toMatchObject({ kind: 'throttled', retryAfterMs: 1500 });
    expect(toCloudError(sdkError('ThrottlingError', 'Throttling', 400), 'DescribeVSwitches').retryAfterMs).toBeUndefined();
  });

  it('treats failures without an answer as transient', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(toCloudError(refused, 'DescribeNetworkInterfaces')).toMatchObject({ kind: 'transient', code: 'ECONNREFUSED', httpStatus: undefined });
    // A proxy's HTML page instead of JSON: the SDK fails to parse it, with no status.
    expect(toCloudError(new SyntaxError('Unexpected token < in JSON'), 'DescribeNetworkInterfaces')).toMatchObject({ kind: 'transient', code: 'UnknownError' });
    expect(toCloudError('a string', 'DescribeNetworkInterfaces')).toMatchObject({ kind: 'transient', message: 'DescribeNetworkInterfaces: a string' });
  });

  it("uses the answer's Code when the SDK left its own code empty, and passes CloudErrors through", () => {
    const err = sdkError('ClientError', 'undefined', 400, 'x', { data: { Code: 'InvalidParameter', Message: 'bad' } });
    expect(toCloudError(err, 'CreateNetworkInterface')).toMatchObject({ kind: 'invalid-request', code: 'InvalidParameter', message: 'CreateNetworkInterface: bad' });
    const original = new CloudError({ kind: 'not-found', code: 'MetadataNotFound', message: 'x' });
    expect(toCloudError(original, 'CreateNetworkInterface')).toBe(original);
  });
});
