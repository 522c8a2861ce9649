import { randomUUID } from 'node:crypto';
import type { CloudModel } from '../../model/cloud.ts';
import { ModelError, type ModelErrorCode } from '../../model/errors.ts';
import type { FaultInjector } from '../../realism/faults.ts';
import type { BucketSpec, Throttler } from '../../realism/throttle.ts';
import { ec2Actions } from './actions.ts';
import { QueryError, QueryParams } from './query.ts';
import { ec2ErrorResponse, ec2Response } from './xml.ts';

export interface FaceResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface FaceContext {
  model: CloudModel;
  throttler: Throttler;
  faults: FaultInjector;
  latencyMs(action: string): number;
}

const modelCodes: Record<ModelErrorCode, string> = {
  VpcNotFound: 'InvalidVpcID.NotFound',
  SubnetNotFound: 'InvalidSubnetID.NotFound',
  SecurityGroupNotFound: 'InvalidGroup.NotFound',
  InstanceNotFound: 'InvalidInstanceID.NotFound',
  InstanceTypeNotFound: 'InvalidInstanceType',
  InterfaceNotFound: 'InvalidNetworkInterfaceID.NotFound',
  AttachmentNotFound: 'InvalidAttachmentID.NotFound',
  AttachmentLimitExceeded: 'AttachmentLimitExceeded',
  DeviceIndexInUse: 'InvalidParameterValue',
  AddressLimitExceeded: 'PrivateIpAddressLimitExceeded',
  SubnetFull: 'InsufficientFreeAddressesInSubnet',
  NoFreePrefix: 'InsufficientCidrBlocks',
  AddressInUse: 'InvalidParameterValue',
  AddressNotAssigned: 'InvalidParameterValue',
  InterfaceInUse: 'InvalidNetworkInterface.InUse',
  InvalidState: 'IncorrectState',
  PrefixUnsupported: 'InvalidParameterValue',
  InvalidParameter: 'InvalidParameterValue',
};

/** EC2's documented token buckets (capacity, refill per second), per action. */
function bucketFor(action: string, params: QueryParams): BucketSpec {
  if (action.startsWith('Describe')) {
    // A Describe with nothing but Action and Version lists everything: EC2 gives those a smaller bucket.
    const unfiltered = params.names().every((name) => name === 'Action' || name === 'Version');
    return unfiltered ? { capacity: 50, refillPerSecond: 10 } : { capacity: 100, refillPerSecond: 20 };
  }
  switch (action) {
    case 'CreateNetworkInterface':
    case 'DeleteNetworkInterface':
    case 'AssignPrivateIpAddresses':
    case 'UnassignPrivateIpAddresses':
    case 'ModifyNetworkInterfaceAttribute':
      return { capacity: 100, refillPerSecond: 5 };
    case 'CreateTags':
      return { capacity: 100, refillPerSecond: 10 };
    default:
      return { capacity: 50, refillPerSecond: 5 };
  }
}

function errorStatus(code: string): number {
  if (code === 'RequestLimitExceeded' || code === 'ServiceUnavailable' || code === 'Unavailable') return 503;
  if (code === 'InternalError' || code === 'InternalFailure') return 500;
  if (code === 'UnauthorizedOperation' || code === 'AuthFailure') return 403;
  return 400;
}

function xmlError(code: string, message: string, requestId: string, status = errorStatus(code)): FaceResponse {
  return { status, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: ec2ErrorResponse(code, message, requestId) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The EC2 Query protocol face: POST / with a form-encoded body. */
export async function handleEc2(context: FaceContext, body: string): Promise<FaceResponse> {
  const requestId = randomUUID();
  let params: QueryParams;
  try {
    params = new QueryParams(body);
  } catch {
    return xmlError('InvalidParameterValue', 'The request body could not be decoded', requestId);
  }
  const action = params.action;
  if (action === '') return xmlError('MissingAction', 'The request must contain the parameter Action', requestId, 400);
  const handler = Object.hasOwn(ec2Actions, action) ? ec2Actions[action] : undefined;
  if (!handler) return xmlError('InvalidAction', `The action ${action} is not valid for this web service.`, requestId);
  const version = params.optional('Version');
  if (version !== undefined && version !== '2016-11-15') {
    return xmlError('InvalidParameterValue', `Version ${version} is not supported; use 2016-11-15`, requestId);
  }
  const delay = context.latencyMs(action);
  if (delay > 0) await sleep(delay);
  try {
    const bucket = bucketFor(action, params);
    // Unfiltered Describe calls have a bucket apart from the filtered ones: the key names the bucket's size.
    const throttled = context.throttler.check(`ec2:${action}:${bucket.capacity}/${bucket.refillPerSecond}`, bucket);
    if (throttled) return xmlError('RequestLimitExceeded', 'Request limit exceeded.', requestId);
    const fault = context.faults.take(action);
    if (fault) return xmlError(fault.code, fault.message, requestId, fault.status ?? errorStatus(fault.code));
    const result = await handler(context.model, params);
    return { status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: ec2Response(action, requestId, result) };
  } catch (err) {
    if (err instanceof ModelError) return xmlError(modelCodes[err.code], err.message, requestId);
    if (err instanceof QueryError) return xmlError(err.code, err.message, requestId);
    return xmlError('InternalError', 'An internal error has occurred', requestId);
  }
}
