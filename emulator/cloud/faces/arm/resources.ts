import { parseCidr } from '../../model/addresses.ts';
import type { InstanceTypeInfo } from '../../../../providers/catalogs/catalog.ts';
import type { AddressRules } from '../../model/address-rules.ts';
import type { CloudModel, NetworkInterface, Subnet, Vpc } from '../../model/cloud.ts';
import { armIds, armMac, stableGuid } from './ids.ts';
import type { ArmState } from './state.ts';

/** The JSON ARM shows for each model object (api-version 2025-05-01 shapes). */

type Json = Record<string, unknown>;

/** A subnet; `groupName` gives the ARM name of its NSG (see ArmSecurityState). */
export function subnetJson(subnet: Subnet, groupName: (modelId: string) => string): Json {
  return {
    name: subnet.id,
    id: armIds.subnet(subnet.vpcId, subnet.id),
    etag: `W/"${stableGuid(`etag:${subnet.id}:${subnet.networkSecurityGroupId ?? ''}`)}"`,
    type: 'Microsoft.Network/virtualNetworks/subnets',
    properties: {
      provisioningState: 'Succeeded',
      addressPrefix: subnet.cidr,
      privateEndpointNetworkPolicies: 'Disabled',
      privateLinkServiceNetworkPolicies: 'Enabled',
      delegations: [],
      ...(subnet.networkSecurityGroupId ? { networkSecurityGroup: { id: armIds.nsg(groupName(subnet.networkSecurityGroupId)) } } : {}),
    },
  };
}

export function vnetJson(vpc: Vpc, subnets: Subnet[], groupName: (modelId: string) => string): Json {
  return {
    name: vpc.id,
    id: armIds.vnet(vpc.id),
    etag: `W/"${stableGuid(`etag:${vpc.id}:${subnets.length}`)}"`,
    type: 'Microsoft.Network/virtualNetworks',
    location: vpc.region,
    tags: { ...vpc.tags },
    properties: {
      provisioningState: 'Succeeded',
      resourceGuid: stableGuid(vpc.id),
      addressSpace: { addressPrefixes: [...vpc.cidrs] },
      subnets: subnets.map((subnet) => subnetJson(subnet, groupName)),
      virtualNetworkPeerings: [],
      enableDdosProtection: false,
    },
  };
}

/** VirtualNetworks_ListUsage: per subnet, addresses in use out of those usable (the size less the addresses the cloud reserves). */
export function usageJson(subnet: Subnet & { freeAddresses: number }, rules: AddressRules): Json {
  const limit = parseCidr(subnet.cidr).size - rules.reservedLow - rules.reservedHigh;
  return {
    currentValue: limit - subnet.freeAddresses,
    id: armIds.subnet(subnet.vpcId, subnet.id),
    limit,
    name: { localizedValue: 'Subnet size and usage', value: 'Subnet size and usage' },
    unit: 'Count',
  };
}

export function nicJson(model: CloudModel, state: ArmState, nic: NetworkInterface, location: string): Json {
  const name = state.nicName(nic.id);
  const provisioningState = state.provisioningState(nic.id);
  const subnet = model.getSubnet(nic.subnetId);
  const groups = (ip: string): string[] => nic.applicationGroups[ip] ?? [];
  const config = (ip: string, primary: boolean): Json => {
    const configName = state.configName(nic, ip);
    return {
      name: configName,
      id: armIds.ipConfiguration(name, configName),
      etag: state.etag(nic),
      type: 'Microsoft.Network/networkInterfaces/ipConfigurations',
      properties: {
        provisioningState,
        privateIPAddress: ip,
        privateIPAllocationMethod: state.allocation(nic.id, ip),
        subnet: { id: armIds.subnet(subnet.vpcId, subnet.id) },
        primary,
        privateIPAddressVersion: 'IPv4',
        ...(groups(ip).length > 0 ? { applicationSecurityGroups: groups(ip).map((id) => ({ id: armIds.asg(state.security.nameOf(id)) })) } : {}),
      },
    };
  };
  const attached = nic.attachment;
  return {
    name,
    id: armIds.nic(name),
    etag: state.etag(nic),
    type: 'Microsoft.Network/networkInterfaces',
    location,
    tags: { ...nic.tags },
    properties: {
      provisioningState,
      resourceGuid: stableGuid(nic.id),
      ipConfigurations: [config(nic.primaryIp, true), ...nic.secondaryIps.map((ip) => config(ip, false))],
      dnsSettings: { dnsServers: [], appliedDnsServers: [] },
      macAddress: armMac(nic.mac),
      enableAcceleratedNetworking: false,
      enableIPForwarding: false,
      ...(nic.securityGroupIds[0] ? { networkSecurityGroup: { id: armIds.nsg(state.security.nameOf(nic.securityGroupIds[0])) } } : {}),
      // ARM shows `primary` and `virtualMachine` only on a NIC a VM uses.
      ...(attached ? { primary: attached.deviceIndex === 0, virtualMachine: { id: armIds.vm(attached.instanceId) } } : {}),
      nicType: 'Standard',
      hostedWorkloads: [],
      tapConfigurations: [],
      vnetEncryptionSupported: false,
    },
  };
}

/** A Microsoft.Compute resource SKU of a VM size, with the capability the adapter reads. */
export function skuJson(type: InstanceTypeInfo, locations: string[]): Json {
  const size = type.name.replace(/^Standard_/, '');
  return {
    resourceType: 'virtualMachines',
    name: type.name,
    tier: 'Standard',
    size,
    family: `standard${size.replace(/\d+/, '').replace('_', '')}Family`,
    locations,
    locationInfo: locations.map((location) => ({ location, zones: ['1', '2', '3'], zoneDetails: [] })),
    capabilities: [
      { name: 'MaxNetworkInterfaces', value: String(type.maxInterfaces) },
      { name: 'AcceleratedNetworkingEnabled', value: 'True' },
    ],
    restrictions: [],
  };
}
