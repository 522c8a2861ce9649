import { readFileSync } from 'node:fs';

/** The clouds this project serves: the provider contract and the emulated cloud name them alike. */
export type CloudName = 'aws' | 'azure' | 'alibaba';

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

const awsLimitsFile = new URL('./data/aws-instance-network-limits.tsv', import.meta.url);

/**
 * The rows of a tab-separated catalog as records by column name, every named
 * column required (a missing one is an error naming the catalog).
 */
function tsvRows<const C extends string>(text: string, catalogName: string, columnNames: readonly C[]): Array<Record<C, string> & { raw: string }> {
  const [header, ...rows] = text.trim().split('\n');
  const columns = (header ?? '').split('\t');
  const indexes = columnNames.map((name) => {
    const index = columns.indexOf(name);
    if (index < 0) throw new Error(`${catalogName} lacks column ${name}`);
    return index;
  });
  return rows.map((raw) => {
    const cells = raw.split('\t');
    const record = Object.fromEntries(columnNames.map((name, i) => [name, cells[indexes[i] ?? 0] ?? ''])) as Record<C, string>;
    return { ...record, raw };
  });
}

/** Parses the tab-separated limits table (header: instance_type max_enis ipv4_per_eni hypervisor bare_metal). */
export function parseInstanceCatalog(text: string): InstanceCatalog {
  const catalog = new Map<string, InstanceTypeInfo>();
  for (const row of tsvRows(text, 'instance catalog', ['instance_type', 'max_enis', 'ipv4_per_eni', 'hypervisor', 'bare_metal'])) {
    const bareMetal = row.bare_metal === 'true';
    catalog.set(row.instance_type, {
      name: row.instance_type,
      maxInterfaces: Number(row.max_enis),
      ipv4PerInterface: Number(row.ipv4_per_eni),
      hypervisor: row.hypervisor,
      bareMetal,
      supportsPrefixes: row.hypervisor === 'nitro' || bareMetal,
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

const alibabaTypesFile = new URL('./data/alibaba-instance-types.tsv', import.meta.url);

/**
 * Parses the Alibaba table (header: instance_type vcpus memory_gib eni_quantity
 * eni_private_ip_quantity ipv4_prefix). EniPrivateIpAddressQuantity counts the
 * primary address, as the model's ipv4PerInterface does.
 */
export function parseAlibabaInstanceCatalog(text: string): ReadonlyMap<string, AlibabaInstanceTypeInfo> {
  const catalog = new Map<string, AlibabaInstanceTypeInfo>();
  for (const row of tsvRows(text, 'Alibaba instance catalog', ['instance_type', 'vcpus', 'memory_gib', 'eni_quantity', 'eni_private_ip_quantity', 'ipv4_prefix'])) {
    const name = row.instance_type;
    const numbers = [row.vcpus, row.memory_gib, row.eni_quantity, row.eni_private_ip_quantity].map(Number);
    if (!/^ecs\.[a-z0-9-]+\.[a-z0-9]+$/.test(name) || numbers.some((n) => !Number.isFinite(n) || n <= 0)) {
      throw new Error(`Alibaba instance catalog has a malformed row: ${JSON.stringify(row.raw)}`);
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
      supportsPrefixes: row.ipv4_prefix === 'true',
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

const azureSizesFile = new URL('./data/azure-vm-sizes.tsv', import.meta.url);

/**
 * Parses the Azure table (header: vm_size max_nics ip_configurations_per_nic).
 * Every IP configuration holds one address, the primary's included; Azure
 * delegates no prefixes.
 */
export function parseAzureVmSizes(text: string): InstanceCatalog {
  const catalog = new Map<string, InstanceTypeInfo>();
  for (const row of tsvRows(text, 'Azure VM size catalog', ['vm_size', 'max_nics', 'ip_configurations_per_nic'])) {
    const name = row.vm_size;
    const maxInterfaces = Number(row.max_nics);
    const ipv4PerInterface = Number(row.ip_configurations_per_nic);
    if (!/^Standard_[A-Za-z0-9_]+$/.test(name) || !Number.isInteger(maxInterfaces) || maxInterfaces < 1 || !Number.isInteger(ipv4PerInterface) || ipv4PerInterface < 1) {
      throw new Error(`Azure VM size catalog has a malformed row: ${JSON.stringify(row.raw)}`);
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
