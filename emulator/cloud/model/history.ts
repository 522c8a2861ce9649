/**
 * Versions of records over time, so that reads can lag writes the way a
 * cloud's Describe calls do. `null` marks a deleted record.
 */
export class RecordHistory<T> {
  private readonly versions = new Map<string, Array<{ at: number; value: T | null }>>();

  /** Adds a version; versions of this record older than `horizon` that nobody can see any more go. */
  record(id: string, at: number, value: T | null, horizon = -Infinity): void {
    const list = this.versions.get(id);
    if (!list) {
      this.versions.set(id, [{ at, value }]);
      return;
    }
    list.push({ at, value });
    trim(list, horizon);
    // A deletion nobody can see past any more needs no record at all.
    if (value === null && list.length === 1 && at <= horizon) this.versions.delete(id);
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
      trim(list, horizon);
      const only = list[0];
      if (list.length === 1 && only && only.value === null && only.at <= horizon) this.versions.delete(id);
    }
  }
}

/** Keeps the newest version at or before the horizon and everything after it. */
function trim<T>(list: Array<{ at: number; value: T | null }>, horizon: number): void {
  let keepFrom = 0;
  for (let i = 0; i < list.length; i++) if ((list[i]?.at ?? Infinity) <= horizon) keepFrom = i;
  if (keepFrom > 0) list.splice(0, keepFrom);
}
