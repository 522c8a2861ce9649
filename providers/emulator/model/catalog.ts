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
