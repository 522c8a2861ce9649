import { createHash } from 'node:crypto';

/**
 * Azure resource ids for the emulated cloud. Everything lives in one
 * subscription and one resource group; model objects keep their own ids as
 * Azure names (a VNet is named after its model VPC, a VM after its model
 * instance), so only NICs created through ARM under a name of the caller's
 * choosing need a mapping (see ArmNames).
 */

export const armSubscriptionId = '6d3f2c1a-0b5e-4c8d-9a7f-2e1b0c9d8e7f';
export const armResourceGroup = 'vpc-cni-emulator';

const group = `/subscriptions/${armSubscriptionId}/resourceGroups/${armResourceGroup}`;

/** Resource ids of the emulated objects, as ARM and IMDS show them. */
export const armIds = {
  resourceGroup: group,
  vnet: (vpcId: string): string => `${group}/providers/Microsoft.Network/virtualNetworks/${vpcId}`,
  subnet: (vpcId: string, subnetId: string): string => `${group}/providers/Microsoft.Network/virtualNetworks/${vpcId}/subnets/${subnetId}`,
  nic: (name: string): string => `${group}/providers/Microsoft.Network/networkInterfaces/${name}`,
  ipConfiguration: (nicName: string, name: string): string => `${group}/providers/Microsoft.Network/networkInterfaces/${nicName}/ipConfigurations/${name}`,
  nsg: (name: string): string => `${group}/providers/Microsoft.Network/networkSecurityGroups/${name}`,
  asg: (name: string): string => `${group}/providers/Microsoft.Network/applicationSecurityGroups/${name}`,
  vm: (instanceId: string): string => `${group}/providers/Microsoft.Compute/virtualMachines/${instanceId}`,
};

/** A parsed resource id: the segments after the resource group, by type. */
export interface ParsedId {
  subscription: string;
  resourceGroup: string;
  /** e.g. ['Microsoft.Network', 'virtualNetworks', 'vnet', 'subnets', 'snet']. */
  rest: string[];
}

/** Parses `/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/...`; undefined when it is not one. */
export function parseResourceId(id: string): ParsedId | undefined {
  const parts = id.split('/');
  if (parts[0] !== '' || parts.length < 7 || parts.some((part, index) => index > 0 && part === '')) return undefined;
  if (parts[1]?.toLowerCase() !== 'subscriptions' || parts[3]?.toLowerCase() !== 'resourcegroups' || parts[5]?.toLowerCase() !== 'providers') return undefined;
  return { subscription: parts[2] ?? '', resourceGroup: parts[4] ?? '', rest: parts.slice(6) };
}

const same = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** The named resource of a given type path in our subscription and group, e.g. ['Microsoft.Network', 'networkSecurityGroups']. */
export function nameFromId(id: string, types: string[]): string | undefined {
  const parsed = parseResourceId(id);
  if (!parsed || !same(parsed.subscription, armSubscriptionId) || !same(parsed.resourceGroup, armResourceGroup)) return undefined;
  const [namespace, ...typeNames] = types;
  if (!same(parsed.rest[0], namespace ?? '')) return undefined;
  // rest = [namespace, type1, name1, type2, name2, ...]
  if (parsed.rest.length !== 1 + typeNames.length * 2) return undefined;
  const names: string[] = [];
  for (const [index, type] of typeNames.entries()) {
    if (!same(parsed.rest[1 + index * 2], type)) return undefined;
    names.push(parsed.rest[2 + index * 2] ?? '');
  }
  return names.join('/');
}

/** `{vnet}/{subnet}` of a subnet id in our group. */
export function subnetFromId(id: string): { vpcId: string; subnetId: string } | undefined {
  const names = nameFromId(id, ['Microsoft.Network', 'virtualNetworks', 'subnets']);
  if (!names) return undefined;
  const [vpcId = '', subnetId = ''] = names.split('/');
  return { vpcId, subnetId };
}

/** A GUID derived from a string, stable across runs (vmId, resourceGuid, client ids). */
export function stableGuid(seed: string): string {
  const hex = createHash('sha1').update(seed).digest('hex').slice(0, 32).split('');
  hex[12] = '5';
  hex[16] = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** The model keeps MACs as aa:bb:..; ARM writes AA-BB-.., IMDS AABB... */
export const armMac = (mac: string): string => mac.toUpperCase().replaceAll(':', '-');
export const imdsMac = (mac: string): string => mac.toUpperCase().replaceAll(':', '');
