import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ExhaustionLimit } from './types.ts';

export interface PoolCounts {
  totalAddresses(): number;
  freeCount(): number;
  coolingCount(): number;
  allocations(): unknown[];
}

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const exhaustionLimits: ExhaustionLimit[] = ['max-eni', 'interfaces-per-instance', 'addresses-per-interface', 'subnet-addresses', 'no-hot-attach'];

/** Prometheus metrics of one ipamd, in the spirit of AWS VPC CNI's `awscni_*`. */
export class Metrics {
  readonly registry = new Registry();
  private readonly interfaces = new Gauge({ name: 'vpccni_eni_allocated', help: 'Interfaces attached to the node and in use by ipamd', registers: [this.registry] });
  private readonly addresses = new Gauge({ name: 'vpccni_addresses', help: 'Pod addresses held by the node, by state', labelNames: ['state'] as const, registers: [this.registry] });
  private readonly exhausted = new Gauge({ name: 'vpccni_pool_exhausted', help: '1 when the pool is short and cannot grow, by the limit that stops it', labelNames: ['limit'] as const, registers: [this.registry] });
  private readonly requests = new Counter({ name: 'vpccni_requests_total', help: 'Plugin requests served, by operation and result', labelNames: ['op', 'result'] as const, registers: [this.registry] });
  private readonly requestSeconds = new Histogram({ name: 'vpccni_request_duration_seconds', help: 'Plugin request latency at the socket, by operation', labelNames: ['op'] as const, buckets: latencyBuckets, registers: [this.registry] });
  private readonly cloudCalls = new Counter({ name: 'vpccni_cloud_api_calls_total', help: 'Cloud API call attempts, by action and outcome', labelNames: ['action', 'outcome'] as const, registers: [this.registry] });
  private readonly cloudSeconds = new Histogram({ name: 'vpccni_cloud_api_duration_seconds', help: 'Cloud API call latency, by action', labelNames: ['action'] as const, buckets: latencyBuckets, registers: [this.registry] });
  private readonly throttles = new Counter({ name: 'vpccni_cloud_api_throttled_total', help: 'Cloud API calls the cloud throttled, by action', labelNames: ['action'] as const, registers: [this.registry] });
  private readonly reconciles = new Counter({ name: 'vpccni_reconcile_runs_total', help: 'Reconcile runs with the cloud, by result', labelNames: ['result'] as const, registers: [this.registry] });
  private readonly leaked = new Counter({ name: 'vpccni_leaked_interfaces_deleted_total', help: 'Leaked interfaces of this cluster deleted', registers: [this.registry] });
  private readonly linkExecutor = new Gauge({ name: 'vpccni_pod_link_executor', help: "1 for what changes the pods' links: the netlink helper or ip execs", labelNames: ['kind'] as const, registers: [this.registry] });
  private readonly helperExits = new Counter({ name: 'vpccni_netlink_helper_exits_total', help: 'Netlink helper processes that ended, by reason (asked: a spare retired when idle, or ipamd stopping; unexpected: it died, and the next request starts another)', labelNames: ['reason'] as const, registers: [this.registry] });

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'vpccni_' });
  }

  setPool(pool: PoolCounts, interfaces: number): void {
    const assigned = pool.allocations().length;
    const cooling = pool.coolingCount();
    this.interfaces.set(interfaces);
    this.addresses.set({ state: 'total' }, pool.totalAddresses());
    this.addresses.set({ state: 'assigned' }, assigned);
    this.addresses.set({ state: 'cooldown' }, cooling);
    this.addresses.set({ state: 'warm' }, pool.freeCount());
  }

  setExhausted(limit: ExhaustionLimit | string | undefined): void {
    for (const candidate of exhaustionLimits) this.exhausted.set({ limit: candidate }, candidate === limit ? 1 : 0);
  }

  request(op: string, result: string, seconds: number): void {
    this.requests.inc({ op, result });
    this.requestSeconds.observe({ op }, seconds);
  }

  cloudCall(action: string, outcome: string, seconds: number): void {
    this.cloudCalls.inc({ action, outcome });
    this.cloudSeconds.observe({ action }, seconds);
    if (outcome === 'throttled') this.throttles.inc({ action });
  }

  reconcile(result: 'success' | 'error'): void {
    this.reconciles.inc({ result });
  }

  leakedDeleted(count: number): void {
    this.leaked.inc(count);
  }

  podLinkExecutor(kind: 'netlink' | 'ip'): void {
    for (const candidate of ['netlink', 'ip'] as const) this.linkExecutor.set({ kind: candidate }, candidate === kind ? 1 : 0);
  }

  netlinkHelperExited(reason: 'asked' | 'unexpected'): void {
    this.helperExits.inc({ reason });
  }

  /** Calls per action and outcome so far (for the status output and tests). */
  async cloudCallCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const value of (await this.cloudCalls.get()).values) out[`${value.labels.action}:${value.labels.outcome}`] = value.value;
    return out;
  }
}

/** Counts and times every plugin request, by operation and result (`ok` or the error code). */
export function instrumentService<S extends object>(service: S, metrics: Metrics, ops: readonly string[]): S {
  return new Proxy(service, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof property !== 'string' || !ops.includes(property) || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          const result = (await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)) as unknown;
          metrics.request(property, 'ok', (performance.now() - started) / 1000);
          return result;
        } catch (err) {
          const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'internal';
          metrics.request(property, code, (performance.now() - started) / 1000);
          throw err;
        }
      };
    },
  });
}
