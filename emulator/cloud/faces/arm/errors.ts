import { randomUUID } from 'node:crypto';
import { ModelError, type ModelErrorCode } from '../../model/errors.ts';
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

/** ARM's answer to a body that does not parse or breaks the schema. */
export function invalidRequest(message: string): ArmError {
  return new ArmError(400, 'InvalidRequestFormat', `Cannot parse the request. ${message}`);
}

/** ARM's resource names (NICs, NSGs, ASGs, security rules): up to 80 word characters, '.', '-', '_'. */
const resourceNamePattern = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,78}[A-Za-z0-9_])?$/;

export function validResourceName(name: string): void {
  if (!resourceNamePattern.test(name)) {
    throw new ArmError(
      400,
      'InvalidResourceName',
      `Resource name ${name} is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.`,
    );
  }
}

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

/** The model's cloud-neutral failures in ARM's words: status and code (docs/fidelity/arm.md gives each code's source). */
export const armModelCodes: Readonly<Record<ModelErrorCode, { status: number; code: string }>> = {
  SubnetFull: { status: 400, code: 'SubnetIsFull' },
  NoFreePrefix: { status: 400, code: 'SubnetIsFull' },
  AddressInUse: { status: 400, code: 'PrivateIPAddressIsAllocated' },
  AddressReserved: { status: 400, code: 'PrivateIPAddressInReservedRange' },
  AddressOutsideSubnet: { status: 400, code: 'PrivateIPAddressNotInSubnet' },
  AddressLimitExceeded: { status: 400, code: ipConfigurationLimitCode },
  AttachmentLimitExceeded: { status: 400, code: 'NetworkInterfaceCountExceeded' },
  InterfaceNotFound: { status: 404, code: 'ResourceNotFound' },
  InstanceNotFound: { status: 404, code: 'ResourceNotFound' },
  VpcNotFound: { status: 404, code: 'ResourceNotFound' },
  SubnetNotFound: { status: 400, code: 'InvalidResourceReference' },
  SecurityGroupNotFound: { status: 400, code: 'InvalidResourceReference' },
  InterfaceInUse: { status: 400, code: 'NicInUse' },
  InterfaceAttached: { status: 400, code: 'NicInUse' },
  // What ARM has no call for (detaching, device indexes, attachments, types) answers a plain BadRequest.
  PrimaryInterfaceDetach: { status: 400, code: 'BadRequest' },
  InstanceTypeNotFound: { status: 400, code: 'BadRequest' },
  AttachmentNotFound: { status: 400, code: 'BadRequest' },
  DeviceIndexInUse: { status: 400, code: 'BadRequest' },
  AddressNotAssigned: { status: 400, code: 'BadRequest' },
  InvalidState: { status: 400, code: 'BadRequest' },
  PrefixUnsupported: { status: 400, code: 'BadRequest' },
  SecurityGroupInUse: { status: 400, code: 'InUseNetworkSecurityGroupCannotBeDeleted' },
  // ARM names groups per resource type and never refuses a second one of a name (EC2-only); a generic Conflict should it ever surface.
  DuplicateSecurityGroup: { status: 409, code: 'Conflict' },
  // Two rules of one priority and direction: the only duplicate ARM knows.
  DuplicateRule: { status: 400, code: 'SecurityRuleConflict' },
  RuleNotFound: { status: 404, code: 'NotFound' },
  RuleLimitExceeded: { status: 400, code: 'SecurityRuleCountLimitReached' },
  // More application security groups on an ipConfiguration than ARM's limit (20): the limit is documented, its code is not.
  GroupLimitExceeded: { status: 400, code: 'BadRequest' },
  InvalidParameter: { status: 400, code: 'BadRequest' },
};

/** The model's cloud-neutral failures in ARM's words. */
export function fromModelError(err: ModelError): ArmError {
  const mapped = armModelCodes[err.code];
  return new ArmError(mapped.status, mapped.code, err.message);
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
