import { randomUUID } from 'node:crypto';
import { ModelError } from '../../model/errors.ts';
import type { FaceResponse } from '../face.ts';

/**
 * ARM's error document `{"error":{"code","message"}}` with its HTTP status.
 * Thrown inside the face, turned into a response at its edge.
 */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ArmError';
  }
}

/**
 * The code for a 257th IP configuration. Azure documents the limit (256
 * private addresses per NIC, usage name SecondaryIPConfigurationsPerNetworkInterface)
 * but not the code it answers with; this one is the emulator's choice.
 */
export const ipConfigurationLimitCode = 'IpConfigurationCountLimitReached';
export const maxIpConfigurationsPerNic = 256;

/** The status ARM answers a code with when a fault is injected without one. */
export function statusForCode(code: string): number {
  switch (code) {
    case 'SubscriptionRequestsThrottled':
    case 'TooManyRequests':
      return 429;
    case 'AuthenticationFailed':
    case 'InvalidAuthenticationToken':
    case 'ExpiredAuthenticationToken':
      return 401;
    case 'AuthorizationFailed':
    case 'LinkedAuthorizationFailed':
      return 403;
    case 'NotFound':
    case 'ResourceNotFound':
    case 'ResourceGroupNotFound':
    case 'SubscriptionNotFound':
      return 404;
    case 'Conflict':
    case 'AnotherOperationInProgress':
      return 409;
    case 'PreconditionFailed':
      return 412;
    case 'InternalServerError':
      return 500;
    case 'ServiceUnavailable':
      return 503;
    case 'GatewayTimeout':
      return 504;
    default:
      return 400;
  }
}

/** The model's cloud-neutral failures in ARM's words. */
export function fromModelError(err: ModelError): ArmError {
  switch (err.code) {
    case 'SubnetFull':
    case 'NoFreePrefix':
      return new ArmError(400, 'SubnetIsFull', err.message);
    case 'AddressInUse':
      return new ArmError(400, 'PrivateIPAddressInUse', err.message);
    case 'AddressLimitExceeded':
      return new ArmError(400, ipConfigurationLimitCode, err.message);
    case 'AttachmentLimitExceeded':
      return new ArmError(400, 'NetworkInterfaceCountExceeded', err.message);
    case 'InterfaceNotFound':
    case 'InstanceNotFound':
    case 'VpcNotFound':
      return new ArmError(404, 'ResourceNotFound', err.message);
    case 'SubnetNotFound':
    case 'SecurityGroupNotFound':
      return new ArmError(400, 'InvalidResourceReference', err.message);
    case 'InterfaceInUse':
      return new ArmError(400, 'NicInUse', err.message);
    default:
      return new ArmError(400, 'BadRequest', err.message);
  }
}

export function toArmError(err: unknown): ArmError {
  if (err instanceof ArmError) return err;
  if (err instanceof ModelError) return fromModelError(err);
  return new ArmError(500, 'InternalServerError', 'An internal error occurred while processing the request.');
}

export function armResponse(status: number, body: unknown, headers: Record<string, string> = {}): FaceResponse {
  const requestId = randomUUID();
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-ms-request-id': requestId,
      'x-ms-correlation-request-id': requestId,
      ...headers,
    },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

export function armErrorResponse(err: ArmError, headers: Record<string, string> = {}): FaceResponse {
  return armResponse(err.status, { error: { code: err.code, message: err.message } }, { ...headers, ...err.headers });
}
