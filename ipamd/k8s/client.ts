/**
 * The Kubernetes API as ipamd uses it, behind one small interface: list and
 * watch three collections, read and write the node's NodeNetwork, create and
 * patch Events. The requests go through @kubernetes/client-node's typed
 * clients (auth, TLS, service-account token rotation), each with a timeout.
 *
 * Watches are streamed here rather than with client-node's `Watch`: in 1.4
 * that class cannot be cancelled before the response headers arrive and has
 * no timeout (its timeout signal is overwritten), so an API server that
 * accepts connections but never answers would wedge it. This one is aborted
 * by its own idle timer, whatever phase it is in.
 */
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type RequestContext } from '@kubernetes/client-node';
import type { KubernetesConnection } from '../config/groups.ts';
import { apiGroup, apiVersion, nodeNetworkPlural, nodeNetworkConfigPlural } from './resources.ts';

export type KubeConnection = Exclude<KubernetesConnection, { mode: 'off' }>;

/** A failed API call: `status` is the HTTP status, 0 when no answer came (refused, reset, timed out). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ListResult {
  items: unknown[];
  resourceVersion: string;
}

export interface WatchOptions {
  resourceVersion: string;
  /** The server ends the watch after this long (it is then resumed from the last resourceVersion). */
  timeoutSeconds: number;
  /** No byte for this long (headers, event or bookmark) means the connection is dead: it is aborted. */
  idleTimeoutMs: number;
}

export interface WatchHandlers {
  /** The server accepted the watch (HTTP 200). */
  onOpen(): void;
  /** One event: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (whose object is a Status). */
  onEvent(type: string, object: unknown): void;
  /** Called once: the stream ended (no error) or failed. */
  onDone(error: Error | undefined): void;
}

export interface WatchHandle {
  abort(): void;
}

/** One collection with a fixed selector, as a reflector consumes it. */
export interface Collection {
  /** e.g. `pods spec.nodeName=n1`, for logs. */
  readonly description: string;
  list(resourceVersion: string): Promise<ListResult>;
  watch(options: WatchOptions, handlers: WatchHandlers): WatchHandle;
}

export type KubeObject = Record<string, unknown>;

export interface KubeApi {
  nodes(fieldSelector: string): Collection;
  pods(fieldSelector: string): Collection;
  nodeNetworkConfigs(): Collection;
  /** undefined when it does not exist. */
  getNodeNetwork(name: string): Promise<KubeObject | undefined>;
  createNodeNetwork(body: KubeObject): Promise<KubeObject>;
  /** PUT: fails with 409 when metadata.resourceVersion is stale. */
  replaceNodeNetwork(name: string, body: KubeObject): Promise<KubeObject>;
  createEvent(namespace: string, body: KubeObject): Promise<void>;
  /** JSON merge patch. */
  patchEvent(namespace: string, name: string, patch: KubeObject): Promise<void>;
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * A KubeConfig whose typed requests time out: client-node applies the
 * authentication of every request through this hook, the one place a
 * request's abort signal can be set for all of them.
 */
class TimedKubeConfig extends KubeConfig {
  constructor(private readonly requestTimeoutMs: number) {
    super();
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setSignal(AbortSignal.timeout(this.requestTimeoutMs));
  }
}

/**
 * The client configuration: a kubeconfig file, or the pod's service account
 * (its token re-read as it rotates). `requestTimeoutMs` bounds every list,
 * get, create, update and patch.
 */
export function loadKubeConfig(connection: KubeConnection, requestTimeoutMs: number): KubeConfig {
  const kc = new TimedKubeConfig(requestTimeoutMs);
  if (connection.mode === 'kubeconfig') {
    try {
      kc.loadFromFile(connection.path);
    } catch (err) {
      throw new Error(`KUBECONFIG=${connection.path}: cannot load the kubeconfig: ${(err as Error).message}`);
    }
    if (!kc.getCurrentCluster()) throw new Error(`KUBECONFIG=${connection.path}: the kubeconfig has no current context with a cluster`);
    return kc;
  }
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server: connection.server, caFile: `${serviceAccountDir}/ca.crt`, skipTLSVerify: false }],
    users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: `${serviceAccountDir}/token` } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account' }],
    currentContext: 'in-cluster',
  });
  return kc;
}

function describeStatus(body: unknown, fallback: string): { reason: string; message: string } {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { reason: '', message: body.slice(0, 300) || fallback };
    }
  }
  const status = (parsed ?? {}) as { reason?: unknown; message?: unknown };
  return { reason: typeof status.reason === 'string' ? status.reason : '', message: typeof status.message === 'string' ? status.message : fallback };
}

function toKubeError(err: unknown, what: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (err instanceof ApiException) {
    const code = err.code as number;
    const { reason, message } = describeStatus(err.body, `HTTP ${code}`);
    return new KubeApiError(code, reason, `${what}: ${message}`);
  }
  return new KubeApiError(0, 'NoAnswer', `${what}: ${(err as Error).message}`);
}

/** Typed objects come back as client-node model classes; the rest of ipamd wants plain JSON. */
function plain<T>(value: T): KubeObject {
  return JSON.parse(JSON.stringify(value)) as KubeObject;
}

export function createKubeApi(kc: KubeConfig): KubeApi {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);

  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw toKubeError(err, what);
    }
  };

  const collection = (description: string, path: string, fieldSelector: string | undefined, list: (resourceVersion: string) => Promise<{ items: unknown[]; metadata?: { resourceVersion?: string } }>): Collection => ({
    description,
    list: (resourceVersion) =>
      call(`list ${description}`, async () => {
        const result = await list(resourceVersion);
        return { items: result.items.map(plain), resourceVersion: result.metadata?.resourceVersion ?? '' };
      }),
    watch: (watchOptions, handlers) => openWatch(kc, path, { ...(fieldSelector ? { fieldSelector } : {}) }, watchOptions, handlers),
  });

  return {
    nodes: (fieldSelector) =>
      collection(`nodes ${fieldSelector}`, '/api/v1/nodes', fieldSelector, (resourceVersion) => core.listNode({ fieldSelector, resourceVersion })),
    pods: (fieldSelector) =>
      collection(`pods ${fieldSelector}`, '/api/v1/pods', fieldSelector, (resourceVersion) => core.listPodForAllNamespaces({ fieldSelector, resourceVersion })),
    nodeNetworkConfigs: () =>
      collection(nodeNetworkConfigPlural, `/apis/${apiGroup}/${apiVersion}/${nodeNetworkConfigPlural}`, undefined, async (resourceVersion) => {
        const list = (await custom.listClusterCustomObject({ group: apiGroup, version: apiVersion, plural: nodeNetworkConfigPlural, resourceVersion })) as {
          items?: unknown[];
          metadata?: { resourceVersion?: string };
        };
        return { items: list.items ?? [], ...(list.metadata ? { metadata: list.metadata } : {}) };
      }),
    getNodeNetwork: async (name) => {
      try {
        return plain(await custom.getClusterCustomObject({ group: apiGroup, version: apiVersion, plural: nodeNetworkPlural, name }));
      } catch (err) {
        const error = toKubeError(err, `get ${nodeNetworkPlural}/${name}`);
        if (error.status === 404) return undefined;
        throw error;
      }
    },
    createNodeNetwork: (body) =>
      call(`create ${nodeNetworkPlural}`, async () => plain(await custom.createClusterCustomObject({ group: apiGroup, version: apiVersion, plural: nodeNetworkPlural, body }))),
    replaceNodeNetwork: (name, body) =>
      call(`update ${nodeNetworkPlural}/${name}`, async () =>
        plain(await custom.replaceClusterCustomObject({ group: apiGroup, version: apiVersion, plural: nodeNetworkPlural, name, body })),
      ),
    createEvent: (namespace, body) =>
      call('create event', async () => {
        await core.createNamespacedEvent({ namespace, body: body as never });
      }),
    patchEvent: (namespace, name, patch) =>
      call(`patch event ${name}`, async () => {
        await core.patchNamespacedEvent({ namespace, name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      }),
  };
}

/**
 * One watch request, streamed: `?watch=true&allowWatchBookmarks=true`, one
 * JSON event per line. Auth and TLS come from the kubeconfig, as for the
 * typed calls.
 */
function openWatch(kc: KubeConfig, path: string, query: Record<string, string>, options: WatchOptions, handlers: WatchHandlers): WatchHandle {
  const controller = new AbortController();
  let finished = false;
  let idle: NodeJS.Timeout | undefined;
  const finish = (error: Error | undefined): void => {
    if (finished) return;
    finished = true;
    clearTimeout(idle);
    controller.abort();
    handlers.onDone(error);
  };
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => finish(new KubeApiError(0, 'Idle', `watch ${path}: nothing received for ${options.idleTimeoutMs} ms`)), options.idleTimeoutMs);
    idle.unref();
  };
  touch();
  void (async () => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const requestOptions: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(requestOptions);
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [key, value] of Object.entries({
      ...query,
      watch: 'true',
      allowWatchBookmarks: 'true',
      resourceVersion: options.resourceVersion,
      timeoutSeconds: String(options.timeoutSeconds),
    })) {
      url.searchParams.set(key, value);
    }
    if (finished) return;
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      ...requestOptions,
      method: 'GET',
      headers: { ...requestOptions.headers, Accept: 'application/json' },
      signal: controller.signal,
    });
    request.on('error', (err) => finish(finished ? undefined : new KubeApiError(0, 'NoAnswer', `watch ${path}: ${err.message}`)));
    request.on('response', (response) => {
      touch();
      if (response.statusCode !== 200) {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < 10_000) body += chunk;
        });
        response.on('end', () => {
          const { reason, message } = describeStatus(body, `HTTP ${response.statusCode}`);
          finish(new KubeApiError(response.statusCode ?? 0, reason, `watch ${path}: ${message}`));
        });
        response.on('error', (err) => finish(new KubeApiError(0, 'NoAnswer', `watch ${path}: ${err.message}`)));
        return;
      }
      handlers.onOpen();
      const lines = createInterface({ input: response, crlfDelay: Infinity });
      // readline re-emits its input's errors (a cut connection): handled with the response's below.
      lines.on('error', () => undefined);
      lines.on('line', (line) => {
        touch();
        if (finished || line.trim() === '') return;
        let event: { type?: unknown; object?: unknown };
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          finish(new KubeApiError(0, 'BadEvent', `watch ${path}: an event is not JSON: ${line.slice(0, 200)}`));
          return;
        }
        if (typeof event.type === 'string') handlers.onEvent(event.type, event.object);
      });
      response.on('error', (err) => finish(new KubeApiError(0, 'NoAnswer', `watch ${path}: ${err.message}`)));
      // A reset connection also ends here: the reflector resumes from its resourceVersion either way.
      response.on('close', () => finish(response.complete ? undefined : new KubeApiError(0, 'NoAnswer', `watch ${path}: the connection was cut`)));
    });
    request.end();
  })().catch((err: Error) => finish(new KubeApiError(0, 'NoAnswer', `watch ${path}: ${err.message}`)));
  return { abort: () => finish(undefined) };
}
