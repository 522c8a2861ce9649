import type { InstanceLimits } from '../contract.ts';

/**
 * Instance limits by instance type, looked up once: limits do not change
 * while the process runs. Lookups of the same type that start together share
 * one cloud call; a failed lookup is forgotten, so the next one asks again.
 */
export class InstanceLimitsCache {
  private readonly byType = new Map<string, Promise<InstanceLimits>>();

  /**
   * `lookup` asks the cloud for one type's limits. `caseInsensitive`: the
   * cloud names types without regard to case (Azure's Standard_D4s_v5 is
   * standard_d4s_v5).
   */
  constructor(
    private readonly lookup: (instanceType: string) => Promise<InstanceLimits>,
    private readonly options: { caseInsensitive?: boolean } = {},
  ) {}

  get(instanceType: string): Promise<InstanceLimits> {
    const key = this.options.caseInsensitive ? instanceType.toLowerCase() : instanceType;
    const known = this.byType.get(key);
    if (known) return known;
    const looking = this.lookup(instanceType);
    this.byType.set(key, looking);
    looking.catch(() => {
      if (this.byType.get(key) === looking) this.byType.delete(key);
    });
    return looking;
  }
}
