/**
 * Kubernetes Events from ipamd (core/v1, as kubelet writes them), with
 * kubelet's aggregation: the first occurrence creates an Event; repeats of
 * the same (object, type, reason) within the window patch that Event's
 * count, last timestamp and message (the latest one: cloud messages differ
 * per request), at most once per patch interval. So a pod whose add fails
 * every second costs one create and a patch every few seconds, not an
 * Event per failure.
 *
 * `record` never blocks and never throws: Events are best effort, written in
 * the background, and lost (logged) when the API server is unreachable.
 */
import type { Logger } from '../common/logger.ts';
import type { KubeApi, KubeApiError } from './client.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  /** Namespaced objects only (pods). */
  namespace?: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  api: Pick<KubeApi, 'createEvent' | 'patchEvent'>;
  logger: Logger;
  /** Reporting component and the node it runs on (source.component / source.host). */
  component: string;
  host: string;
  /** Repeats after this long start a new Event (kubelet: 10 min). */
  windowMs?: number;
  /** Repeats are written at most this often per Event. */
  patchIntervalMs?: number;
  /** Most distinct Events tracked at once; the oldest are forgotten. */
  maxTracked?: number;
  now?: () => number;
}

interface Tracked {
  namespace: string;
  target: EventTarget;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  /** The count the API server has (the last successful write). */
  written: number;
  first: number;
  last: number;
  /** Name of the Event once created. */
  name?: string;
  lastWriteAt: number;
  writing: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** Events of cluster-scoped objects (nodes, NodeNetworkConfigs) go to "default", as kubelet's node events do. */
const clusterScopedEventNamespace = 'default';
const maxMessageLength = 1024;

export class EventRecorder {
  private readonly tracked = new Map<string, Tracked>();
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly patchIntervalMs: number;
  private readonly maxTracked: number;
  private closed = false;

  constructor(private readonly options: EventRecorderOptions) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? 600_000;
    this.patchIntervalMs = options.patchIntervalMs ?? 10_000;
    this.maxTracked = options.maxTracked ?? 1000;
  }

  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    if (this.closed) return;
    const now = this.now();
    const text = message.length > maxMessageLength ? `${message.slice(0, maxMessageLength - 3)}...` : message;
    const key = [target.kind, target.namespace ?? '', target.name, target.uid ?? '', type, reason].join('\u0000');
    let entry = this.tracked.get(key);
    if (entry && now - entry.last > this.windowMs) {
      clearTimeout(entry.timer);
      this.tracked.delete(key);
      entry = undefined;
    }
    if (!entry) {
      this.forgetOldest();
      entry = { namespace: target.namespace ?? clusterScopedEventNamespace, target, type, reason, message: text, count: 1, written: 0, first: now, last: now, lastWriteAt: -Infinity, writing: undefined, timer: undefined };
      this.tracked.set(key, entry);
    } else {
      entry.count++;
      entry.last = now;
      entry.message = text;
    }
    this.schedule(entry);
  }

  /** Waits (at most timeoutMs) for the writes in flight and due, then stops recording. */
  async close(timeoutMs: number): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const entry of this.tracked.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      if (entry.count > entry.written && !entry.writing) this.write(entry);
      if (entry.writing) pending.push(entry.writing);
    }
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  private forgetOldest(): void {
    while (this.tracked.size >= this.maxTracked) {
      const [oldestKey, oldest] = [...this.tracked.entries()].reduce((a, b) => (b[1].last < a[1].last ? b : a));
      clearTimeout(oldest.timer);
      this.tracked.delete(oldestKey);
    }
  }

  private schedule(entry: Tracked): void {
    if (entry.writing || entry.timer || this.closed) return;
    const wait = entry.lastWriteAt + this.patchIntervalMs - this.now();
    if (wait <= 0) {
      this.write(entry);
      return;
    }
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.count > entry.written) this.write(entry);
    }, wait);
    entry.timer.unref();
  }

  private write(entry: Tracked): void {
    const count = entry.count;
    entry.lastWriteAt = this.now();
    entry.writing = (entry.name ? this.patch(entry, count) : this.create(entry, count))
      .then(() => {
        entry.written = count;
      })
      .catch((err: KubeApiError) => {
        this.options.logger.debug({ reason: entry.reason, object: `${entry.target.kind}/${entry.target.name}`, err: err.message }, 'writing an event failed');
      })
      .finally(() => {
        entry.writing = undefined;
        // Repeats that came while writing go out at the next allowed time.
        if (entry.count > entry.written && !this.closed) this.schedule(entry);
      });
  }

  private async create(entry: Tracked, count: number): Promise<void> {
    // Event names are DNS subdomains (at most 253 characters): room for the suffix, as kubelet's "<object>.<hex time>".
    const name = `${entry.target.name.slice(0, 230).replace(/[-.]+$/, '')}.${(BigInt(entry.first) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16)}`;
    const iso = (ms: number): string => new Date(ms).toISOString();
    await this.options.api.createEvent(entry.namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: entry.namespace },
      involvedObject: {
        apiVersion: entry.target.apiVersion,
        kind: entry.target.kind,
        name: entry.target.name,
        ...(entry.target.namespace ? { namespace: entry.target.namespace } : {}),
        ...(entry.target.uid ? { uid: entry.target.uid } : {}),
      },
      type: entry.type,
      reason: entry.reason,
      message: entry.message,
      count,
      firstTimestamp: iso(entry.first),
      lastTimestamp: iso(entry.last),
      source: { component: this.options.component, host: this.options.host },
      reportingComponent: this.options.component,
      reportingInstance: this.options.host,
    });
    entry.name = name;
  }

  private async patch(entry: Tracked, count: number): Promise<void> {
    try {
      await this.options.api.patchEvent(entry.namespace, entry.name ?? '', { count, lastTimestamp: new Date(entry.last).toISOString(), message: entry.message });
    } catch (err) {
      // The Event expired (events have a TTL) or was deleted: start a new one.
      if ((err as KubeApiError).status !== 404) throw err;
      delete entry.name;
      await this.create(entry, count);
    }
  }
}
