import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ModelError, type ModelErrorCode } from '../../model/errors.ts';
import type { BucketSpec } from '../../realism/throttle.ts';
import type { FaceContext, FaceResponse } from '../ec2/face.ts';
import { ecsActions, type JsonObject } from './actions.ts';
import { RpcError, RpcParams } from './params.ts';

export const ecsVersion = '2014-05-26';

export interface EcsRequest {
  method: string;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  body: string;
}

/** The model's failures in ECS's words: code and HTTP status as ECS's API reference lists them. */
const modelCodes: Record<ModelErrorCode, { code: string; status: number }> = {
  VpcNotFound: { code: 'InvalidVpcId.NotFound', status: 404 },
  SubnetNotFound: { code: 'InvalidVSwitchId.NotFound', status: 404 },
  SecurityGroupNotFound: { code: 'InvalidSecurityGroupId.NotFound', status: 404 },
  InstanceNotFound: { code: 'InvalidInstanceId.NotFound', status: 404 },
  InstanceTypeNotFound: { code: 'InvalidInstanceType.NotFound', status: 404 },
  InterfaceNotFound: { code: 'InvalidEniId.NotFound', status: 404 },
  AttachmentNotFound: { code: 'InvalidOperation.InvalidEniState', status: 400 },
  AttachmentLimitExceeded: { code: 'EniPerInstanceLimitExceeded', status: 403 },
  DeviceIndexInUse: { code: 'Operation.Conflict', status: 403 },
  AddressLimitExceeded: { code: 'QuotaExceeded.PrivateIpAddress', status: 403 },
  SubnetFull: { code: 'InvalidVSwitchId.IpNotEnough', status: 403 },
  // ECS has no code of its own for a vSwitch without a free /28: it is short of addresses all the same.
  NoFreePrefix: { code: 'InvalidVSwitchId.IpNotEnough', status: 403 },
  AddressInUse: { code: 'InvalidPrivateIpAddress.Duplicated', status: 400 },
  AddressNotAssigned: { code: 'InvalidIp.IpUnassigned', status: 403 },
  InterfaceInUse: { code: 'InvalidOperation.InvalidEniState', status: 400 },
  InvalidState: { code: 'IncorrectInstanceStatus', status: 403 },
  PrefixUnsupported: { code: 'UnsupportedParameter', status: 400 },
  InvalidParameter: { code: 'InvalidParameter', status: 400 },
};

/**
 * ECS throttles each API per account and region with a per-minute quota
 * (Quota Center, "API Rate Limits"; the figures are per account and not
 * published as a table). These are the per-minute figures Terway, Alibaba's
 * own CNI, sizes its client-side limiter to (pkg/aliyun/client/ratelimit.go):
 * a bucket of one minute's quota, refilled at quota/60 per second.
 */
const perMinute: Record<string, number> = {
  AttachNetworkInterface: 500,
  CreateNetworkInterface: 500,
  DeleteNetworkInterface: 500,
  DescribeNetworkInterfaces: 800,
  DescribeNetworkInterfaceAttribute: 2000,
  DetachNetworkInterface: 400,
  AssignPrivateIpAddresses: 400,
  UnassignPrivateIpAddresses: 400,
  DescribeInstanceTypes: 400,
  DescribeVSwitches: 300,
};

export function ecsBucket(action: string): BucketSpec {
  const quota = perMinute[action] ?? 500;
  return { capacity: quota, refillPerSecond: quota / 60 };
}

/** HTTP status of an ECS error code, for injected faults that do not name one. */
export function ecsErrorStatus(code: string): number {
  if (code.startsWith('Throttling')) return 400;
  if (code === 'InvalidAction.NotFound' || code.endsWith('.NotFound')) return 404;
  if (code === 'InternalError' || code === 'UnknownError') return 500;
  if (code === 'ServiceUnavailable') return 503;
  if (/^(Forbidden|QuotaExceeded|InvalidAccessKeyId|SignatureDoesNotMatch|IncorrectInstanceStatus)/.test(code)) return 403;
  if (['EniPerInstanceLimitExceeded', 'InvalidVSwitchId.IpNotEnough', 'MaxEniPrivateIpsCountExceeded', 'Operation.Conflict', 'InvalidOperation.Ipv4CountExceeded'].includes(code)) return 403;
  return 400;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function ecsError(requestId: string, host: string, code: string, message: string, status = ecsErrorStatus(code)): FaceResponse {
  const body = {
    RequestId: requestId,
    HostId: host,
    Code: code,
    Message: message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}&product=Ecs`,
  };
  return { status, headers: { 'content-type': 'application/json;charset=utf-8', 'x-acs-request-id': requestId }, body: JSON.stringify(body) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a request at / is an ECS RPC call (as opposed to an EC2 Query call). */
export function isEcsRequest(headers: IncomingHttpHeaders, query: URLSearchParams): boolean {
  return header(headers, 'x-acs-action') !== undefined || query.has('Action');
}

/**
 * The ECS RPC face (API version 2014-05-26): ACS3 requests carry the action
 * in `x-acs-action` and the parameters in the query; legacy (signature v2)
 * requests carry `Action` in the query. Parameters may also come as a form
 * body. Answers are JSON, PascalCase, with the list wrappers ECS uses.
 */
export async function handleEcs(context: FaceContext, request: EcsRequest): Promise<FaceResponse> {
  const requestId = randomUUID().toUpperCase();
  const host = header(request.headers, 'host') ?? 'ecs.aliyuncs.com';
  const fail = (code: string, message: string, status?: number): FaceResponse => ecsError(requestId, host, code, message, status);
  if (request.method !== 'GET' && request.method !== 'POST') return fail('UnsupportedHTTPMethod', `The HTTP method ${request.method} is not supported; use GET or POST.`, 400);
  const entries: Array<[string, string]> = [...request.query];
  const contentType = header(request.headers, 'content-type') ?? '';
  if (request.body !== '' && contentType.startsWith('application/x-www-form-urlencoded')) entries.push(...new URLSearchParams(request.body));
  const params = new RpcParams(entries);
  // ACS3 names the action in a header, the v2 signature in the query: the header wins.
  const action = header(request.headers, 'x-acs-action') ?? params.optional('Action') ?? '';
  if (action === '') return fail('MissingParameter', 'The input parameter "Action" that is mandatory for processing this request is not supplied.', 400);
  const version = header(request.headers, 'x-acs-version') ?? params.optional('Version');
  if (version !== undefined && version !== ecsVersion) return fail('InvalidVersion', `Specified parameter Version is not valid: ECS answers ${ecsVersion}, not ${JSON.stringify(version)}.`, 400);
  const handler = Object.hasOwn(ecsActions, action) ? ecsActions[action] : undefined;
  if (!handler) return fail('InvalidAction.NotFound', `Specified api is not found, please check your url and method: ${action}.`, 404);
  const delay = context.latencyMs(action);
  if (delay > 0) await sleep(delay);
  try {
    const throttled = context.throttler.check(`ecs:${action}`, ecsBucket(action));
    if (throttled) {
      const answer = fail('Throttling.User', 'Request was denied due to user flow control.', 400);
      // The SDK reads the wait (ms) from this header into ThrottlingError.retryAfter.
      return { ...answer, headers: { ...answer.headers, 'x-acs-retry-after': String(throttled.retryAfterMs) } };
    }
    const fault = context.faults.take(action);
    if (fault) return fail(fault.code, fault.message, fault.status);
    const result: JsonObject = await handler(context.model, params);
    return {
      status: 200,
      headers: { 'content-type': 'application/json;charset=utf-8', 'x-acs-request-id': requestId },
      body: JSON.stringify({ RequestId: requestId, ...result }),
    };
  } catch (err) {
    if (err instanceof RpcError) return fail(err.code, err.message, err.status);
    if (err instanceof ModelError) {
      const mapped = modelCodes[err.code];
      return fail(mapped.code, err.message, mapped.status);
    }
    return fail('InternalError', 'The request processing has failed due to some unknown error.', 500);
  }
}
