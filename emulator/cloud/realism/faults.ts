export interface Fault {
  /** The cloud's own error code to answer with. */
  code: string;
  message: string;
  /** HTTP status; each face has a sensible default for the code. */
  status?: number;
}

/**
 * Fails the next N calls of an action with a given code, and (for torture
 * runs) each call of an action with a given probability.
 */
export class FaultInjector {
  private readonly queued = new Map<string, Array<Fault & { remaining: number }>>();
  private readonly random = new Map<string, { probability: number; fault: Fault }>();

  /** `draw` is the random source of the probabilistic faults (seeded for a reproducible run). */
  constructor(private readonly draw: () => number = Math.random) {}

  failNext(action: string, count: number, fault: Fault): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`fault count must be a positive integer, got ${count}`);
    const list = this.queued.get(action) ?? [];
    list.push({ ...fault, remaining: count });
    this.queued.set(action, list);
  }

  /** Fails each later call of the action with this probability (0 turns it off), after any queued faults. */
  failRandomly(action: string, probability: number, fault: Fault): void {
    if (!(probability >= 0 && probability <= 1)) throw new Error(`fault probability must be between 0 and 1, got ${probability}`);
    if (probability === 0) this.random.delete(action);
    else this.random.set(action, { probability, fault: { ...fault } });
  }

  /** The fault this call must answer with, if any; consumes a queued one first. */
  take(action: string): Fault | undefined {
    const list = this.queued.get(action);
    const head = list?.[0];
    if (!list || !head) return this.drawRandom(action);
    head.remaining -= 1;
    if (head.remaining <= 0) list.shift();
    if (list.length === 0) this.queued.delete(action);
    return { code: head.code, message: head.message, ...(head.status === undefined ? {} : { status: head.status }) };
  }

  private drawRandom(action: string): Fault | undefined {
    const rule = this.random.get(action);
    if (!rule || this.draw() >= rule.probability) return undefined;
    return { ...rule.fault };
  }

  /** Queued faults per action (the probabilistic ones are not counted). */
  pending(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [action, list] of this.queued) out[action] = list.reduce((sum, fault) => sum + fault.remaining, 0);
    return out;
  }

  clear(): void {
    this.queued.clear();
    this.random.clear();
  }
}
