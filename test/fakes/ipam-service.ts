/**
 * The one fake IpamService of the tests (and the benchmark's no-op
 * reference): an in-memory IPAM that hands out 10.0.16.5, .6, ... one
 * address per allocation key (ADD is idempotent), releases on DEL and GC,
 * and records every call. No vitest here: the benchmark loads it too.
 */
import { IpamError } from '../../wire/errors.ts';
import { ipToNumber, numberToIp } from '../../lib/ipv4.ts';
import type {
  AddParams,
  AddResult,
  AllocationKey,
  CheckParams,
  CheckResult,
  DelParams,
  GcParams,
  GcResult,
  IpamService,
  Op,
  RequestContext,
  StatusResult,
} from '../../wire/protocol.ts';
import { fakeAddResult } from './add-result.ts';

export interface ServiceCall {
  op: Op;
  /** The params as the service received them (status has none: `{}`). */
  params: unknown;
  /** The container the call is about; undefined for status and gc. */
  containerId: string | undefined;
  /** performance.now() when the service was entered and when it returned (0 while running). */
  start: number;
  end: number;
}

/** Lets a test stall a call or make it throw: runs after the delay, before the answer. */
export type ServiceHook = (op: Op, params: unknown, ctx: RequestContext) => Promise<void> | void;

const FIRST_ADDRESS = ipToNumber('10.0.16.5');

export class FakeIpamService implements IpamService {
  /** Every call, in the order they arrived. */
  readonly calls: ServiceCall[] = [];
  /** The abort signal of every call, in the same order. */
  readonly signals: AbortSignal[] = [];
  /** "network/containerId/ifName" -> the address allocated for it. */
  readonly allocations = new Map<string, string>();
  /** Answer this op with this error (an IpamError answers with its code; anything else is internal). */
  readonly failWith = new Map<Op, Error>();
  /** How long add, del, check and gc take; status answers at once, as ipamd's does. */
  delayMs = 0;
  /** When false, status answers not ready. */
  ready = true;
  hook: ServiceHook | undefined;
  /** The most calls that ran at once for any one container, and overall. */
  maxPerContainer = 0;
  maxOverall = 0;
  #allocated = 0;
  #runningPerContainer = new Map<string, number>();
  #running = 0;

  static keyOf(key: AllocationKey): string {
    return `${key.network}/${key.containerId}/${key.ifName}`;
  }

  /** What was asked, in order, as op and params only (for strict comparisons). */
  requests(): Array<{ op: Op; params: unknown }> {
    return this.calls.map(({ op, params }) => ({ op, params }));
  }

  add(params: AddParams, ctx: RequestContext): Promise<AddResult> {
    return this.#call('add', params, params.key.containerId, ctx, () => {
      const k = FakeIpamService.keyOf(params.key);
      let ip = this.allocations.get(k);
      if (!ip) {
        ip = numberToIp(FIRST_ADDRESS + this.#allocated++);
        this.allocations.set(k, ip);
      }
      return fakeAddResult({ key: params.key, ip });
    });
  }

  del(params: DelParams, ctx: RequestContext): Promise<void> {
    return this.#call('del', params, params.key.containerId, ctx, () => {
      this.allocations.delete(FakeIpamService.keyOf(params.key));
    });
  }

  check(params: CheckParams, ctx: RequestContext): Promise<CheckResult> {
    return this.#call('check', params, params.key.containerId, ctx, () => {
      const ip = this.allocations.get(FakeIpamService.keyOf(params.key));
      if (!ip) throw new IpamError('not-found', `no address for container ${params.key.containerId}`);
      return { address: `${ip}/32`, interfaceId: fakeAddResult().interfaceId };
    });
  }

  status(ctx: RequestContext): Promise<StatusResult> {
    return this.#call('status', {}, undefined, ctx, () =>
      this.ready ? { ready: true, assigned: this.allocations.size, available: 10 } : { ready: false, reason: 'pool not warmed yet' },
    );
  }

  gc(params: GcParams, ctx: RequestContext): Promise<GcResult> {
    return this.#call('gc', params, undefined, ctx, () => {
      const keep = new Set(params.validAttachments.map((a) => FakeIpamService.keyOf({ network: params.network, ...a })));
      let released = 0;
      for (const k of [...this.allocations.keys()]) {
        if (k.startsWith(`${params.network}/`) && !keep.has(k)) {
          this.allocations.delete(k);
          released++;
        }
      }
      return { released };
    });
  }

  async #call<T>(op: Op, params: unknown, containerId: string | undefined, ctx: RequestContext, answer: () => T): Promise<T> {
    const call: ServiceCall = { op, params, containerId, start: performance.now(), end: 0 };
    this.calls.push(call);
    this.signals.push(ctx.signal);
    this.#enter(containerId);
    try {
      if (this.delayMs > 0 && op !== 'status') await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      if (this.hook) await this.hook(op, params, ctx);
      const failure = this.failWith.get(op);
      if (failure) throw failure;
      return answer();
    } finally {
      call.end = performance.now();
      this.#leave(containerId);
    }
  }

  #enter(containerId: string | undefined): void {
    this.maxOverall = Math.max(this.maxOverall, ++this.#running);
    if (containerId === undefined) return;
    const running = (this.#runningPerContainer.get(containerId) ?? 0) + 1;
    this.#runningPerContainer.set(containerId, running);
    this.maxPerContainer = Math.max(this.maxPerContainer, running);
  }

  #leave(containerId: string | undefined): void {
    this.#running--;
    if (containerId === undefined) return;
    const left = (this.#runningPerContainer.get(containerId) ?? 1) - 1;
    if (left === 0) this.#runningPerContainer.delete(containerId);
    else this.#runningPerContainer.set(containerId, left);
  }
}
