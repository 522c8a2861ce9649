import { describe, expect, it } from 'vitest';
import { awsInstanceCatalog, azureVmSizeCatalog, parseAzureVmSizes } from '../../../providers/catalogs/catalog.ts';

describe('parseAzureVmSizes', () => {
  it('reads the columns by name, in any order; Azure delegates no prefixes', () => {
    const catalog = parseAzureVmSizes(['ip_configurations_per_nic\tvm_size\tnote\tmax_nics', '256\tStandard_D4s_v3\tx\t2', '256\tStandard_B2s\ty\t3', ''].join('\n'));
    expect([...catalog.keys()]).toEqual(['Standard_D4s_v3', 'Standard_B2s']);
    expect(catalog.get('Standard_D4s_v3')).toEqual({ name: 'Standard_D4s_v3', maxInterfaces: 2, ipv4PerInterface: 256, hypervisor: '', bareMetal: false, supportsPrefixes: false });
  });

  it('names a missing column and a malformed row', () => {
    expect(() => parseAzureVmSizes('vm_size\tmax_nics\nStandard_D4s_v3\t2')).toThrow(/ip_configurations_per_nic/);
    expect(() => parseAzureVmSizes('vm_size\tmax_nics\tip_configurations_per_nic\nStandard_D4s_v3\ttwo\t256')).toThrow(/malformed row/);
    expect(() => parseAzureVmSizes('vm_size\tmax_nics\tip_configurations_per_nic\nm5.large\t3\t10')).toThrow(/malformed row/);
  });
});

describe('azureVmSizeCatalog', () => {
  const catalog = azureVmSizeCatalog();

  it('holds the common sizes with the documented NIC limits', () => {
    expect(catalog.size).toBe(66);
    expect(catalog.get('Standard_D4s_v3')?.maxInterfaces).toBe(2);
    expect(catalog.get('Standard_D8s_v3')?.maxInterfaces).toBe(4);
    expect(catalog.get('Standard_D16s_v5')?.maxInterfaces).toBe(8);
    expect(catalog.get('Standard_B2s')?.maxInterfaces).toBe(3);
    expect(catalog.get('Standard_F16s_v2')?.maxInterfaces).toBe(4);
    for (const type of catalog.values()) {
      expect(type.ipv4PerInterface, type.name).toBe(256);
      expect(type.supportsPrefixes).toBe(false);
    }
  });

  it('shares no name with the AWS catalog', () => {
    const aws = awsInstanceCatalog();
    expect([...catalog.keys()].filter((name) => aws.has(name))).toEqual([]);
  });
});
