import type { CloudModel, NetworkInterface, SecurityGroup } from '../../model/cloud.ts';
import { RpcError, invalid, missing, type RpcParams } from './params.ts';
import { ecsStatus, eni, eniState, region, type Handler } from './shared.ts';

/**
 * An ENI's security groups as ECS rules them: JoinSecurityGroup,
 * LeaveSecurityGroup, and the checks CreateNetworkInterface and
 * ModifyNetworkInterfaceAttribute share.
 */

/**
 * Groups one ENI may be in: JoinSecurityGroup's page ("An instance or an
 * elastic network interface can belong to a maximum of five security
 * groups") and ModifyNetworkInterfaceAttribute's (SecurityGroupId.N, N from
 * 1 to 5). The model's quota (security-limits.ts) is 10, the most a ticket
 * can raise it to; the face answers the default.
 */
export const groupsPerEni = 5;

const groupQuota = (id: string, count: number): RpcError =>
  new RpcError('InstanceSecurityGroupLimitExceeded', `Exceeding the allowed amount of security groups that an instance can be in: ${id} would be in ${count}, at most ${groupsPerEni}.`, 403);

/** The groups an ENI is to be in: each exists in its VPC, within the quota, all basic or all advanced. */
export function interfaceGroups(model: CloudModel, id: string, vpcId: string, groupIds: string[]): void {
  if (new Set(groupIds).size !== groupIds.length) throw invalid('SecurityGroupId', 'A security group is named twice.');
  if (groupIds.length > groupsPerEni) throw groupQuota(id, groupIds.length);
  const groups: SecurityGroup[] = groupIds.map((groupId) => model.getSecurityGroup(groupId));
  const foreign = groups.find((group) => group.vpcId !== vpcId);
  if (foreign) throw new RpcError('InvalidOperation.VpcMismatch', `Security group ${foreign.id} is not in VPC ${vpcId} of ${id}.`, 403);
  if (new Set(groups.map((group) => group.kind)).size > 1) throw new RpcError('EnterpriseGroupLimited.MutliGroupType', 'The specified instance can not join multi SecurityGroup types.', 403);
}

/** The ENI a Join or Leave names: NetworkInterfaceId, or InstanceId for the instance's primary ENI; Available or InUse. */
function memberEni(model: CloudModel, params: RpcParams, regionId: string): NetworkInterface {
  const eniId = params.optional('NetworkInterfaceId');
  const instanceId = params.optional('InstanceId');
  if (eniId && instanceId) throw invalid('InstanceId', 'InstanceId and NetworkInterfaceId cannot be given together.');
  let id = eniId;
  if (!id) {
    if (!instanceId) throw missing('NetworkInterfaceId');
    try {
      const instance = model.getInstance(instanceId);
      if (instance.region !== regionId) throw new Error('another region');
      id = instance.primaryInterfaceId;
    } catch {
      throw new RpcError('InvalidInstanceId.NotFound', `The specified InstanceId does not exist: ${instanceId}.`, 404);
    }
  }
  const nic = eni(model, id, regionId);
  const status = ecsStatus(nic);
  if (status !== 'Available' && status !== 'InUse') throw eniState(nic.id, status);
  return nic;
}

const joinSecurityGroup: Handler = (model, params) => {
  const regionId = region(params);
  const groupId = params.required('SecurityGroupId');
  const nic = memberEni(model, params, regionId);
  model.getSecurityGroup(groupId);
  if (nic.securityGroupIds.includes(groupId)) throw new RpcError('InvalidInstanceId.AlreadyExists', `The specified instance already exists in the specified security group: ${nic.id} is in ${groupId}.`, 403);
  const groupIds = [...nic.securityGroupIds, groupId];
  interfaceGroups(model, nic.id, nic.vpcId, groupIds);
  model.setSecurityGroups(nic.id, groupIds);
  return {};
};

const leaveSecurityGroup: Handler = (model, params) => {
  const regionId = region(params);
  const groupId = params.required('SecurityGroupId');
  const nic = memberEni(model, params, regionId);
  model.getSecurityGroup(groupId);
  if (!nic.securityGroupIds.includes(groupId)) throw new RpcError('InstanceNotInSecurityGroup', `The instance not in the group: ${nic.id} is not in ${groupId}.`, 403);
  if (nic.securityGroupIds.length === 1) throw new RpcError('InstanceLastSecurityGroup', `The specified security group is the last security group for ${nic.id}.`, 403);
  model.setSecurityGroups(
    nic.id,
    nic.securityGroupIds.filter((id) => id !== groupId),
  );
  return {};
};

export const eniGroupHandlers = { joinSecurityGroup, leaveSecurityGroup };
