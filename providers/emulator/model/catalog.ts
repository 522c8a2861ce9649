import { readFileSync } from 'node:fs';

export interface InstanceTypeInfo {
  name: string;
  maxInterfaces: number;
  /** IPv4 addresses per interface, primary included. */
  ipv4PerInterface: number;
  hypervisor: string;
  bareMetal: boolean;
  /** Prefix delegation is a Nitro feature. */
  supportsPrefixes: boolean;
}

export type InstanceCatalog = ReadonlyMap<string, InstanceTypeInfo>;

const awsLimitsFile = new URL('../data/aws-instance-network-limits.tsv', import.meta.url);

/** Parses the tab-separated limits table (header: instance_type max_enis ipv4_per_eni hypervisor bare_metal). */
export function parseInstanceCatalog(text: string): InstanceCatalog {
  const catalog = new Map<string, InstanceTypeInfo>();
  const [header, ...rows] = text.trim().split('\n');
  const columns = (header ?? '').split('\t');
  const col = (name: string): number => {
    const index = columns.indexOf(name);
    if (index < 0) throw new Error(`instance catalog lacks column ${name}`);
    return index;
  };
  const [nameCol, enisCol, ipsCol, hvCol, metalCol] = [
    col('instance_type'),
    col('max_enis'),
    col('ipv4_per_eni'),
    col('hypervisor'),
    col('bare_metal'),
  ];
  for (const row of rows) {
    const cells = row.split('\t');
    const name = cells[nameCol] ?? '';
    const hypervisor = cells[hvCol] ?? '';
    const bareMetal = cells[metalCol] === 'true';
    catalog.set(name, {
      name,
      maxInterfaces: Number(cells[enisCol]),
      ipv4PerInterface: Number(cells[ipsCol]),
      hypervisor,
      bareMetal,
      supportsPrefixes: hypervisor === 'nitro' || bareMetal,
    });
  }
  return catalog;
}

let awsCatalog: InstanceCatalog | undefined;

export function awsInstanceCatalog(): InstanceCatalog {
  awsCatalog ??= parseInstanceCatalog(readFileSync(awsLimitsFile, 'utf8'));
  return awsCatalog;
}

/** An Alibaba ECS instance type: the model's limits plus what DescribeInstanceTypes shows besides. */
export interface AlibabaInstanceTypeInfo extends InstanceTypeInfo {
  family: string;
  vcpus: number;
  memoryGiB: number;
}

const alibabaTypesFile = new URL('../data/alibaba-instance-types.tsv', import.meta.url);

/**
 * Parses the Alibaba table (header: instance_type vcpus memory_gib eni_quantity
 * eni_private_ip_quantity ipv4_prefix). EniPrivateIpAddressQuantity counts the
 * primary address, as the model's ipv4PerInterface does.
 */
export function parseAlibabaInstanceCatalog(text: string): ReadonlyMap<string, AlibabaInstanceTypeInfo> {
  const catalog = new Map<string, AlibabaInstanceTypeInfo>();
  const [header, ...rows] = text.trim().split('\n');
  const columns = (header ?? '').split('\t');
  const col = (name: string): number => {
    const index = columns.indexOf(name);
    if (index < 0) throw new Error(`Alibaba instance catalog lacks column ${name}`);
    return index;
  };
  const [nameCol, cpuCol, memCol, enisCol, ipsCol, prefixCol] = ['instance_type', 'vcpus', 'memory_gib', 'eni_quantity', 'eni_private_ip_quantity', 'ipv4_prefix'].map(col);
  for (const row of rows) {
    const cells = row.split('\t');
    const name = cells[nameCol ?? 0] ?? '';
    const numbers = [cpuCol, memCol, enisCol, ipsCol].map((index) => Number(cells[index ?? 0]));
    if (!/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/.test(name) || numbers.some((n) => !Number.isFinite(n) || n <= 0)) {
      throw new Error(`Alibaba instance catalog has a malformed row: ${JSON.stringify(row)}`);
    }
    const [vcpus = 0, memoryGiB = 0, maxInterfaces = 0, ipv4PerInterface = 0] = numbers;
    catalog.set(name, {
      name,
      family: name.split('.').slice(0, 2).join('.'),
      vcpus,
      memoryGiB,
      maxInterfaces,
      ipv4PerInterface,
      hypervisor: '',
      bareMetal: false,
      supportsPrefixes: cells[prefixCol ?? 0] === 'true',
    });
  }
  return catalog;
}

let alibabaCatalog: ReadonlyMap<string, AlibabaInstanceTypeInfo> | undefined;

export function alibabaInstanceCatalog(): ReadonlyMap<string, AlibabaInstanceTypeInfo> {
  alibabaCatalog ??= parseAlibabaInstanceCatalog(readFileSync(alibabaTypesFile, 'utf8'));
  return alibabaCatalog;
}

/** One catalog over several clouds' types (their names do not collide), so one model serves every face. */
export function mergeCatalogs(...catalogs: InstanceCatalog[]): InstanceCatalog {
  const merged = new Map<string, InstanceTypeInfo>();
  for (const catalog of catalogs) for (const [name, info] of catalog) merged.set(name, info);
  return merged;
}

const azureSizesFile = new URL('../data/azure-vm-sizes.tsv', import.meta.url);

/**
 * Parses the Azure table (header: vm_size max_nics ip_configurations_per_nic).
 * Every IP configuration holds one address, the primary's included; Azure
 * delegates no prefixes.
 */
export function parseAzureVmSizes(text: string): InstanceCatalog {
  const catalog = new Map<string, InstanceTypeInfo>();
  const [header, ...rows] = text.trim().split('\n');
  const columns = (header ?? '').split('\t');
  const col = (name: string): number => {
    const index = columns.indexOf(name);
    if (index < 0) throw new Error(`Azure VM size catalog lacks column ${name}`);
    return index;
  };
  const [nameCol, nicsCol, configsCol] = [col('vm_size'), col('max_nics'), col('ip_configurations_per_nic')];
  for (const row of rows) {
    const cells = row.split('\t');
    const name = cells[nameCol] ?? '';
    const maxInterfaces = Number(cells[nicsCol]);
    const ipv4PerInterface = Number(cells[configsCol]);
    if (!/^Standard_[A-Za-z0-9_]+$/.test(name) || !Number.isInteger(maxInterfaces) || maxInterfaces < 1 || !Number.isInteger(ipv4PerInterface) || ipv4PerInterface < 1) {
      throw new Error(`Azure VM size catalog has a malformed row: ${JSON.stringify(row)}`);
    }
    catalog.set(name, { name, maxInterfaces, ipv4PerInterface, hypervisor: '', bareMetal: false, supportsPrefixes: false });
  }
  return catalog;
}

let azureCatalog: InstanceCatalog | undefined;

export function azureVmSizeCatalog(): InstanceCatalog {
  azureCatalog ??= parseAzureVmSizes(readFileSync(azureSizesFile, 'utf8'));
  return azureCatalog;
}
