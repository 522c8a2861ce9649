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
  | 'AddressReserved'
  | 'AddressOutsideSubnet'
  | 'AddressNotAssigned'
  /** Attaching an interface that is attached already. */
  | 'InterfaceInUse'
  /** Deleting an interface that is still attached. */
  | 'InterfaceAttached'
  /** Detaching the interface at device index 0. */
  | 'PrimaryInterfaceDetach'
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
