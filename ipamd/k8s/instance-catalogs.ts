/**
 * The instance catalogs the max-pods command reads, for every cloud, in
 * both worlds: from the data files next to the sources (tsx, tests), and
 * embedded in dist/ipamd.mjs, where no data file sits next to the bundle.
 * The build defines `import.meta.vpcCniEmbeddedData` and loads `.tsv` files
 * as text, so the bundle carries the tables inside it; the file branch is
 * dropped from the bundle.
 */
import { readFileSync } from 'node:fs';
import type { CloudName } from '../../providers/contract.ts';
import {
  parseAlibabaInstanceCatalog,
  parseAzureVmSizes,
  parseInstanceCatalog,
  type InstanceTypeInfo,
} from '../../providers/catalogs/catalog.ts';

declare global {
  interface ImportMeta {
    /** Set to true by the bundle build (esbuild --define). */
    vpcCniEmbeddedData?: boolean;
  }
}

/** One instance type's network limits, with its vCPUs where the catalog has them. */
export interface CatalogEntry extends InstanceTypeInfo {
  vcpus?: number;
}

async function catalogText(cloud: CloudName): Promise<string> {
  if (import.meta.vpcCniEmbeddedData === true) {
    switch (cloud) {
      case 'aws':
        return (await import('../../providers/catalogs/data/aws-instance-network-limits.tsv')).default;
      case 'azure':
        return (await import('../../providers/catalogs/data/azure-vm-sizes.tsv')).default;
      case 'alibaba':
        return (await import('../../providers/catalogs/data/alibaba-instance-types.tsv')).default;
    }
  }
  const file = { aws: 'aws-instance-network-limits.tsv', azure: 'azure-vm-sizes.tsv', alibaba: 'alibaba-instance-types.tsv' }[cloud];
  return readFileSync(new URL(`../../providers/catalogs/data/${file}`, import.meta.url), 'utf8');
}

/** The catalog of one cloud's instance types (AWS instance types, Azure VM sizes, Alibaba ECS instance types). */
export async function instanceCatalog(cloud: CloudName): Promise<ReadonlyMap<string, CatalogEntry>> {
  const text = await catalogText(cloud);
  switch (cloud) {
    case 'aws':
      return parseInstanceCatalog(text);
    case 'azure':
      return parseAzureVmSizes(text);
    case 'alibaba':
      return parseAlibabaInstanceCatalog(text);
  }
}
