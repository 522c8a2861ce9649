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
  /** Deleting a security group that an interface, a subnet or another group's rule still names. */
  | 'SecurityGroupInUse'
  /** A second EC2 group of the same name in one VPC. */
  | 'DuplicateSecurityGroup'
  /** A rule the group has already (or named twice in one call). */
  | 'DuplicateRule'
  | 'RuleNotFound'
  /** More rules than the group's quota. */
  | 'RuleLimitExceeded'
  /** More groups than an interface (or an ipConfiguration) may be in. */
  | 'GroupLimitExceeded'
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
