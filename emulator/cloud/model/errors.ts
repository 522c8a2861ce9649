/**
 * Cloud-neutral failures of the model. Each face translates them into its
 * cloud's own code, HTTP status and error body.
 */
export type ModelErrorCode =
  | 'VpcNotFound'
  | 'SubnetNotFound'
  | 'SecurityGroupNotFound'
  | 'InstanceNotFound'
  | 'InstanceTypeNotFound'
  | 'InterfaceNotFound'
  | 'AttachmentNotFound'
  | 'AttachmentLimitExceeded'
  | 'DeviceIndexInUse'
  | 'AddressLimitExceeded'
  | 'SubnetFull'
  | 'NoFreePrefix'
  | 'AddressInUse'
  | 'AddressNotAssigned'
  | 'InterfaceInUse'
  | 'InvalidState'
  | 'PrefixUnsupported'
  | 'InvalidParameter';

export class ModelError extends Error {
  constructor(
    readonly code: ModelErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}
