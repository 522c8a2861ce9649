import { describe, expect, it } from 'vitest';
import { awsInstanceCatalog, parseInstanceCatalog } from '../../../providers/catalogs/catalog.ts';

describe('parseInstanceCatalog', () => {
  it('reads the columns by name, in any order, and derives prefix support', () => {
    const catalog = parseInstanceCatalog(
      ['bare_metal\textra\tipv4_per_eni\tinstance_type\thypervisor\tmax_enis', 'false\tx\t10\tm5.large\tnitro\t3', 'false\tx\t6\tt2.medium\txen\t3', 'true\tx\t50\tc5.metal\tunknown\t15', ''].join('\n'),
    );
    expect([...catalog.keys()]).toEqual(['m5.large', 't2.medium', 'c5.metal']);
    expect(catalog.get('m5.large')).toEqual({ name: 'm5.large', maxInterfaces: 3, ipv4PerInterface: 10, hypervisor: 'nitro', bareMetal: false, supportsPrefixes: true });
    expect(catalog.get('t2.medium')).toMatchObject({ maxInterfaces: 3, ipv4PerInterface: 6, supportsPrefixes: false });
    expect(catalog.get('c5.metal')).toMatchObject({ bareMetal: true, supportsPrefixes: true });
  });

  it('names a missing column', () => {
    expect(() => parseInstanceCatalog('instance_type\tmax_enis\tipv4_per_eni\thypervisor\nm5.large\t3\t10\tnitro')).toThrow(/bare_metal/);
    expect(() => parseInstanceCatalog('')).toThrow(/instance_type/);
  });
});

describe('awsInstanceCatalog', () => {
  const catalog = awsInstanceCatalog();

  it('holds 1,391 instance types with sane limits', () => {
    expect(catalog.size).toBe(1391);
    for (const type of catalog.values()) {
      expect(Number.isInteger(type.maxInterfaces) && type.maxInterfaces >= 1, type.name).toBe(true);
      expect(Number.isInteger(type.ipv4PerInterface) && type.ipv4PerInterface >= 1, type.name).toBe(true);
      expect(type.name).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+$/);
    }
    expect(awsInstanceCatalog()).toBe(catalog);
  });

  it('knows the common types', () => {
    expect(catalog.get('m5.large')).toMatchObject({ maxInterfaces: 3, ipv4PerInterface: 10, hypervisor: 'nitro', supportsPrefixes: true });
    expect(catalog.get('t3.medium')).toMatchObject({ maxInterfaces: 3, ipv4PerInterface: 6, supportsPrefixes: true });
    expect(catalog.get('t2.medium')).toMatchObject({ maxInterfaces: 3, ipv4PerInterface: 6, hypervisor: 'xen', supportsPrefixes: false });
    expect(catalog.get('t2.micro')).toMatchObject({ maxInterfaces: 2, ipv4PerInterface: 2, supportsPrefixes: false });
    expect(catalog.get('c5.metal')).toMatchObject({ bareMetal: true, supportsPrefixes: true });
    expect(catalog.get('x9.nonexistent')).toBeUndefined();
    expect([...catalog.values()].filter((type) => type.name.startsWith('t2.')).every((type) => !type.supportsPrefixes)).toBe(true);
  });

  it('gives the documented max pods: ENIs x (IPv4 per ENI - 1) + 2', () => {
    const maxPods = (name: string): number => {
      const type = catalog.get(name);
      if (!type) throw new Error(`no ${name}`);
      return type.maxInterfaces * (type.ipv4PerInterface - 1) + 2;
    };
    expect(maxPods('m5.large')).toBe(29);
    expect(maxPods('t3.medium')).toBe(17);
  });
});
