export interface Fault {
  /** The cloud's own error code to answer with. */
  code: string;
  message: string;
  /** HTTP status; each face has a sensible default for the code. */
  status?: number;
}

/** Fails the next N calls of an action with a given code. */
export class FaultInjector {
  private readonly queued = new Map<string, Array<Fault & { remaining: number }>>();

  failNext(action: string, count: number, fault: Fault): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`fault count must be a positive integer, got ${count}`);
    const list = this.queued.get(action) ?? [];
    list.push({ ...fault, remaining: count });
    this.queued.set(action, list);
  }

  /** The fault this call must answer with, if any; consumes one. */
  take(action: string): Fault | undefined {
    const list = this.queued.get(action);
    const head = list?.[0];
    if (!list || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) list.shift();
    if (list.length === 0) this.queued.delete(action);
    return { code: head.code, message: head.message, ...(head.status === undefined ? {} : { status: head.status }) };
  }

  pending(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [action, list] of this.queued) out[action] = list.reduce((sum, fault) => sum + fault.remaining, 0);
    return out;
  }

  clear(): void {
    this.queued.clear();
  }
}
