/**
 * Versions of records over time, so that reads can lag writes the way a
 * cloud's Describe calls do. `null` marks a deleted record.
 */
export class RecordHistory<T> {
  private readonly versions = new Map<string, Array<{ at: number; value: T | null }>>();

  record(id: string, at: number, value: T | null): void {
    const list = this.versions.get(id);
    if (list) list.push({ at, value });
    else this.versions.set(id, [{ at, value }]);
  }

  /** Every record as it stood at `at`: the newest version not after it. */
  asOf(at: number): T[] {
    const out: T[] = [];
    for (const list of this.versions.values()) {
      let found: T | null = null;
      for (const version of list) {
        if (version.at <= at) found = version.value;
        else break;
      }
      if (found !== null) out.push(found);
    }
    return out;
  }

  /** Drops versions nobody can see any more: all but the newest one before `horizon`. */
  prune(horizon: number): void {
    for (const [id, list] of this.versions) {
      let keepFrom = 0;
      for (let i = 0; i < list.length; i++) if ((list[i]?.at ?? Infinity) <= horizon) keepFrom = i;
      if (keepFrom > 0) list.splice(0, keepFrom);
      const only = list[0];
      if (list.length === 1 && only && only.value === null && only.at <= horizon) this.versions.delete(id);
    }
  }
}
