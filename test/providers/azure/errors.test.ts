import { describe, expect, it } from 'vitest';
import { parseRetryAfter, toCloudError } from '../../../providers/azure/errors.ts';
import { CloudError } from '../../../providers/errors.ts';
import { itMapsCodeTable } from '../code-table.ts';

/** What the Azure SDK throws: a RestError with code, statusCode and the response headers. */
function restError(code: string | undefined, statusCode: number | undefined, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`${code ?? 'no code'}: something went wrong`), {
    name: 'RestError',
    ...(code === undefined ? {} : { code }),
    ...(statusCode === undefined ? {} : { statusCode }),
    response: { headers: { get: (name: string) => headers[name.toLowerCase()] } },
  });
}

describe('toCloudError (Azure)', () => {
  itMapsCodeTable(
    `
      SubscriptionRequestsThrottled                                          429  throttled
      SubnetIsFull                                                           400  subnet-full  subnet-addresses
      IpConfigurationCountLimitReached                                       400  limit-exceeded  addresses-per-interface
      AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported  400  limit-exceeded  interfaces-per-instance
      QuotaExceeded                                                          400  limit-exceeded  account-quota
      ResourceNotFound                                                       404  not-found
      NotFound                                                               404  not-found
      InvalidResourceReference                                               400  not-found
      AuthorizationFailed                                                    403  unauthorized
      InvalidAuthenticationToken                                             401  unauthorized
      PreconditionFailed                                                     412  transient
      AnotherOperationInProgress                                             409  transient
      InternalServerError                                                    500  transient
      PrivateIPAddressIsAllocated                                            400  invalid-request
      PrivateIPAddressInReservedRange                                        400  invalid-request
      PrivateIPAddressNotInSubnet                                            400  invalid-request
      NicInUse                                                               400  invalid-request
      InvalidRequestFormat                                                   400  invalid-request
    `,
    'PutNetworkInterface',
    (code, status, operation) => toCloudError(restError(code, status), operation),
  );

  it('falls back on the HTTP status for codes it does not know', () => {
    expect(toCloudError(restError('SomethingNew', 429), 'op')).toMatchObject({ kind: 'throttled', code: 'SomethingNew' });
    expect(toCloudError(restError('SomethingNew', 403), 'op')).toMatchObject({ kind: 'unauthorized' });
    expect(toCloudError(restError('SomethingNew', 404), 'op')).toMatchObject({ kind: 'not-found' });
    expect(toCloudError(restError('SomethingNew', 503), 'op')).toMatchObject({ kind: 'transient' });
    expect(toCloudError(restError('SomethingNew', 400), 'op')).toMatchObject({ kind: 'invalid-request' });
    expect(toCloudError(restError(undefined, 418), 'op')).toMatchObject({ kind: 'invalid-request', code: 'Http418' });
  });

  it('reads the code of a failed long-running operation from the message the SDK builds', () => {
    const failed = new Error('The long-running operation has failed. SubnetIsFull. Subnet snet has no free addresses for 3 IP configurations.');
    expect(toCloudError(failed, 'PutNetworkInterface')).toMatchObject({
      kind: 'subnet-full',
      code: 'SubnetIsFull',
      limit: 'subnet-addresses',
      message: 'PutNetworkInterface: Subnet snet has no free addresses for 3 IP configurations.',
    });
    // A failed operation with a code nobody knows is worth another try.
    expect(toCloudError(new Error('The long-running operation has failed. Canceled. The operation was canceled.'), 'op')).toMatchObject({ kind: 'transient', code: 'Canceled' });
  });

  it('keeps the Retry-After ARM sent', () => {
    expect(toCloudError(restError('SubscriptionRequestsThrottled', 429, { 'retry-after': '17' }), 'op').retryAfterMs).toBe(17_000);
    expect(toCloudError(restError('SubscriptionRequestsThrottled', 429), 'op').retryAfterMs).toBeUndefined();
  });

  it('treats unanswered requests and credential failures by what they are', () => {
    expect(toCloudError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'op')).toMatchObject({ kind: 'transient', code: 'ECONNREFUSED' });
    expect(toCloudError(Object.assign(new Error('no request'), { name: 'RestError', code: 'REQUEST_SEND_ERROR' }), 'op')).toMatchObject({ kind: 'transient' });
    expect(toCloudError(Object.assign(new Error('no managed identity'), { name: 'CredentialUnavailableError' }), 'op')).toMatchObject({ kind: 'unauthorized', code: 'CredentialUnavailableError' });
    expect(toCloudError(Object.assign(new Error('AADSTS7000215'), { name: 'AuthenticationError', statusCode: 400 }), 'op')).toMatchObject({ kind: 'unauthorized' });
    expect(toCloudError('a string', 'op')).toMatchObject({ kind: 'transient', code: 'UnknownError' });
  });

  it('passes CloudErrors through untouched', () => {
    const original = new CloudError({ kind: 'not-found', code: 'X', message: 'x' });
    expect(toCloudError(original, 'op')).toBe(original);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 5 ', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
