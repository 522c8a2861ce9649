import { ModelError, type ModelErrorCode } from '../../model/errors.ts';
import type { ErrorDocument, FaceResponse } from '../face.ts';
import { QueryError } from './query.ts';
import { escapeXml } from './xml.ts';

/** The model's cloud-neutral failures in EC2's words (docs/fidelity/ec2.md gives each code's source). */
export const ec2ModelCodes: Readonly<Record<ModelErrorCode, string>> = {
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
  AddressInUse: 'InvalidIPAddress.InUse',
  AddressReserved: 'InvalidParameterValue',
  AddressOutsideSubnet: 'InvalidParameterValue',
  AddressNotAssigned: 'InvalidParameterValue',
  // Attaching an interface that is attached already; deleting an attached one is InterfaceAttached.
  InterfaceInUse: 'InvalidNetworkInterface.InUse',
  InterfaceAttached: 'InvalidParameterValue',
  PrimaryInterfaceDetach: 'OperationNotPermitted',
  InvalidState: 'IncorrectState',
  PrefixUnsupported: 'InvalidParameterValue',
  // The security-group codes, each in EC2's error list (docs/fidelity/ec2.md).
  SecurityGroupInUse: 'DependencyViolation',
  DuplicateSecurityGroup: 'InvalidGroup.Duplicate',
  DuplicateRule: 'InvalidPermission.Duplicate',
  RuleNotFound: 'InvalidPermission.NotFound',
  RuleLimitExceeded: 'RulesPerSecurityGroupLimitExceeded',
  GroupLimitExceeded: 'SecurityGroupsPerInterfaceLimitExceeded',
  InvalidParameter: 'InvalidParameterValue',
};

/** The HTTP status EC2 answers an error code with. */
function errorStatus(code: string): number {
  if (code === 'RequestLimitExceeded' || code === 'ServiceUnavailable' || code === 'Unavailable') return 503;
  if (code === 'InternalError' || code === 'InternalFailure') return 500;
  if (code === 'UnauthorizedOperation' || code === 'AuthFailure') return 403;
  return 400;
}

/** EC2's error document: `<Response><Errors><Error>` with the request's id. */
export function ec2Error(requestId: string, code: string, message: string, status = errorStatus(code)): FaceResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  };
}

/** The pipeline's failures for one EC2 request. */
export function ec2Errors(requestId: string): ErrorDocument {
  return {
    throttled: () => ec2Error(requestId, 'RequestLimitExceeded', 'Request limit exceeded.'),
    fault: (fault) => ec2Error(requestId, fault.code, fault.message, fault.status ?? errorStatus(fault.code)),
    failed: (err) => {
      if (err instanceof ModelError) return ec2Error(requestId, ec2ModelCodes[err.code], err.message);
      if (err instanceof QueryError) return ec2Error(requestId, err.code, err.message);
      return ec2Error(requestId, 'InternalError', 'An internal error has occurred');
    },
  };
}
