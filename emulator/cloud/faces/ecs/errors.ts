import { ModelError, type ModelErrorCode } from '../../model/errors.ts';
import type { ErrorDocument, FaceResponse } from '../face.ts';
import { RpcError } from './params.ts';

/** The model's failures in ECS's words: code and HTTP status as ECS's API reference lists them (docs/fidelity/ecs.md). */
export const ecsModelCodes: Readonly<Record<ModelErrorCode, { code: string; status: number }>> = {
  VpcNotFound: { code: 'InvalidVpcId.NotFound', status: 404 },
  SubnetNotFound: { code: 'InvalidVSwitchId.NotFound', status: 404 },
  SecurityGroupNotFound: { code: 'InvalidSecurityGroupId.NotFound', status: 404 },
  InstanceNotFound: { code: 'InvalidInstanceId.NotFound', status: 404 },
  InstanceTypeNotFound: { code: 'InvalidInstanceType.NotFound', status: 404 },
  InterfaceNotFound: { code: 'InvalidEniId.NotFound', status: 404 },
  AttachmentNotFound: { code: 'InvalidOperation.InvalidEniState', status: 400 },
  AttachmentLimitExceeded: { code: 'EniPerInstanceLimitExceeded', status: 403 },
  DeviceIndexInUse: { code: 'Operation.Conflict', status: 403 },
  // The per-ENI limit. (QuotaExceeded.PrivateIpAddress is ECS's code for a vSwitch without free addresses.)
  AddressLimitExceeded: { code: 'InvalidOperation.Ipv4CountExceeded', status: 403 },
  SubnetFull: { code: 'InvalidVSwitchId.IpNotEnough', status: 403 },
  // ECS has no code of its own for a vSwitch without a free /28: it is short of addresses all the same.
  NoFreePrefix: { code: 'InvalidVSwitchId.IpNotEnough', status: 403 },
  AddressInUse: { code: 'InvalidPrivateIpAddress.Duplicated', status: 400 },
  AddressReserved: { code: 'InvalidVSwitchId.IpInvalid', status: 403 },
  AddressOutsideSubnet: { code: 'InvalidVSwitchId.IpInvalid', status: 403 },
  AddressNotAssigned: { code: 'InvalidIp.IpUnassigned', status: 403 },
  InterfaceInUse: { code: 'InvalidOperation.InvalidEniState', status: 400 },
  InterfaceAttached: { code: 'InvalidOperation.InvalidEniState', status: 400 },
  PrimaryInterfaceDetach: { code: 'InvalidOperation.DetachPrimaryEniNotAllowed', status: 400 },
  InvalidState: { code: 'IncorrectInstanceStatus', status: 403 },
  PrefixUnsupported: { code: 'UnsupportedParameter', status: 400 },
  // DeleteSecurityGroup: an ENI in the group, or a rule of another group naming it.
  SecurityGroupInUse: { code: 'DependencyViolation', status: 403 },
  // ECS group names need not be unique: the model refuses duplicates of EC2 groups only, so ECS never sees this.
  DuplicateSecurityGroup: { code: 'InvalidParameter', status: 400 },
  // AuthorizeSecurityGroup adds nothing for a rule that exists (and says OK); ModifySecurityGroupRule's code for a clash.
  DuplicateRule: { code: 'InvalidOperation.RuleDuplicate', status: 400 },
  RuleNotFound: { code: 'InvalidSecurityGroupRuleId.NotFound', status: 404 },
  RuleLimitExceeded: { code: 'AuthorizationLimitExceed', status: 403 },
  GroupLimitExceeded: { code: 'InstanceSecurityGroupLimitExceeded', status: 403 },
  InvalidParameter: { code: 'InvalidParameter', status: 400 },
};

/** HTTP status of an ECS error code, for injected faults that do not name one. */
function errorStatus(code: string): number {
  if (code.startsWith('Throttling')) return 400;
  if (code === 'InvalidAction.NotFound' || code.endsWith('.NotFound')) return 404;
  if (code === 'InternalError' || code === 'UnknownError') return 500;
  if (code === 'ServiceUnavailable') return 503;
  if (/^(Forbidden|QuotaExceeded|InvalidAccessKeyId|SignatureDoesNotMatch|IncorrectInstanceStatus)/.test(code)) return 403;
  if (['EniPerInstanceLimitExceeded', 'InvalidVSwitchId.IpNotEnough', 'InvalidVSwitchId.IpInvalid', 'Operation.Conflict', 'InvalidOperation.Ipv4CountExceeded'].includes(code)) return 403;
  if (['DependencyViolation', 'AuthorizationLimitExceed', 'InstanceSecurityGroupLimitExceeded', 'InstanceLastSecurityGroup', 'InstanceNotInSecurityGroup'].includes(code)) return 403;
  return 400;
}

/** ECS's JSON error document `{RequestId, HostId, Code, Message, Recommend}`. */
export function ecsError(requestId: string, host: string, code: string, message: string, status = errorStatus(code)): FaceResponse {
  const body = {
    RequestId: requestId,
    HostId: host,
    Code: code,
    Message: message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}&product=Ecs`,
  };
  return { status, headers: { 'content-type': 'application/json;charset=utf-8', 'x-acs-request-id': requestId }, body: JSON.stringify(body) };
}

/** The pipeline's failures for one ECS request. */
export function ecsErrors(requestId: string, host: string): ErrorDocument {
  const fail = (code: string, message: string, status?: number): FaceResponse => ecsError(requestId, host, code, message, status);
  return {
    throttled: (retryAfterMs) => {
      const answer = fail('Throttling.User', 'Request was denied due to user flow control.', 400);
      // The SDK reads the wait (ms) from this header into ThrottlingError.retryAfter.
      return { ...answer, headers: { ...answer.headers, 'x-acs-retry-after': String(retryAfterMs) } };
    },
    fault: (fault) => fail(fault.code, fault.message, fault.status),
    failed: (err) => {
      if (err instanceof RpcError) return fail(err.code, err.message, err.status);
      if (err instanceof ModelError) {
        const mapped = ecsModelCodes[err.code];
        return fail(mapped.code, err.message, mapped.status);
      }
      return fail('InternalError', 'The request processing has failed due to some unknown error.', 500);
    },
  };
}
