/**
 * A small Kubernetes API server for tests, speaking real HTTP to the real
 * @kubernetes/client-node: list and watch with resourceVersions, watch
 * bookmarks, 410 Gone for a compacted resourceVersion, 409 on a stale
 * update, field and label selectors (only the fields the real API server
 * supports per resource), get/create/update/merge-patch/delete, Status
 * errors in the API server's shape. It records every request as RBAC sees
 * it (verb, API group, resource, subresource).
 *
 * Tests change the cluster server-side (`put`, `remove`, ...), which feeds
 * the watches as the real one does; `stop`/`start` and `hang` play an API
 * server that goes away or stops answering.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export interface RecordedRequest {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** The raw query, e.g. for fieldSelector. */
  query: Record<string, string>;
  authorization: string;
}

export type KubeObject = { apiVersion?: string; kind?: string; metadata: Record<string, unknown> & { name?: string; namespace?: string }; [key: string]: unknown };

interface ResourceDef {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Field selectors the real API server supports for it (metadata.name and metadata.namespace always). */
  fields: string[];
}

const definitions: ResourceDef[] = [
  { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, fields: ['spec.unschedulable'] },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'] },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, fields: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'reason', 'source', 'type'] },
  { group: 'vpc-cni.io', version: 'v1alpha1', plural: 'nodenetworkconfigs', kind: 'NodeNetworkConfig', namespaced: false, fields: [] },
  { group: 'vpc-cni.io', version: 'v1alpha1', plural: 'nodenetworks', kind: 'NodeNetwork', namespaced: false, fields: [] },
];

export type Plural = 'nodes' | 'pods' | 'events' | 'nodenetworkconfigs' | 'nodenetworks';

interface HistoryEntry {
  rv: number;
  plural: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  previous?: KubeObject;
}

interface OpenWatch {
  def: ResourceDef;
  namespace: string;
  matches: (o: KubeObject) => boolean;
  res: ServerResponse;
  bookmarks: boolean;
  /** Ends the stream normally (its timeout, a graceful shutdown). */
  close: () => void;
  /** Stops feeding it; its connection is about to be cut. */
  cut: () => void;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const clone = <T>(v: T): T => structuredClone(v);
const keyOf = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

function getPath(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export interface FakeApiServerOptions {
  /** Bookmarks on watches that ask for them, this often. */
  bookmarkIntervalMs?: number;
  /** Watches last at most this long, whatever timeoutSeconds asks. */
  maxWatchMs?: number;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly store = new Map<string, Map<string, KubeObject>>();
  private readonly history: HistoryEntry[] = [];
  private rv = 100;
  /** Watches from a resourceVersion older than this get 410 Gone. */
  private compactedRv = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<OpenWatch>();
  private hanging = false;
  private readonly held: Array<() => void> = [];
  private failures: { remaining: number; code: number; match: (r: RecordedRequest) => boolean } | undefined;
  port = 0;

  constructor(private readonly options: FakeApiServerOptions = {}) {
    for (const def of definitions) this.store.set(def.plural, new Map());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get openWatches(): number {
    return this.watches.size;
  }

  /** Requests received while hanging, not answered yet. */
  get heldRequests(): number {
    return this.held.length;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Listens (again, on the same port after a stop). */
  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Goes away, as a crash would: the listener closes and every connection (watches included) is cut mid-stream. The cluster's state stays. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const watch of this.watches) watch.cut();
    this.watches.clear();
    this.held.length = 0;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** While on, requests get no answer and watches go silent; off answers what was held. */
  hang(on: boolean): void {
    this.hanging = on;
    if (!on) for (const release of this.held.splice(0)) release();
  }

  /** The next `count` requests that match answer `code`. */
  failNext(count: number, code: number, match: (r: RecordedRequest) => boolean = () => true): void {
    this.failures = { remaining: count, code, match };
  }

  /** Forgets history up to now: a watch from an older resourceVersion than the current one gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
  }

  /** Tells every open watch its resourceVersion expired (ERROR 410), as after a compaction, and ends them. */
  expireWatches(): void {
    for (const watch of [...this.watches]) {
      this.writeEvent(watch.res, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 } });
      watch.close();
    }
  }

  /** Ends every open watch normally (as its timeout would). */
  endWatches(): void {
    for (const watch of [...this.watches]) watch.close();
  }

  async writeKubeconfig(dir: string): Promise<string> {
    const path = join(dir, 'kubeconfig.yaml');
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: fake',
        '  cluster:',
        `    server: ${this.url}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: ipamd',
        '  user:',
        '    token: fake-token',
        'contexts:',
        '- name: fake',
        '  context:',
        '    cluster: fake',
        '    user: ipamd',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return path;
  }

  // ---- the cluster, server side -------------------------------------------

  get(plural: Plural, name: string, namespace?: string): KubeObject | undefined {
    const o = this.store.get(plural)?.get(keyOf(namespace, name));
    return o ? clone(o) : undefined;
  }

  list(plural: Plural): KubeObject[] {
    return [...(this.store.get(plural)?.values() ?? [])].map(clone);
  }

  /** Creates or replaces (no resourceVersion check), as a controller or kubectl would; a uid given at creation is kept. */
  put(plural: Plural, object: KubeObject): KubeObject {
    const def = this.def(plural);
    const name = object.metadata.name ?? '';
    const existing = this.store.get(plural)?.get(keyOf(object.metadata.namespace, name));
    return existing ? this.replace(def, existing, object) : this.create(def, object, true);
  }

  remove(plural: Plural, name: string, namespace?: string): boolean {
    const def = this.def(plural);
    const map = this.store.get(plural);
    const key = keyOf(namespace, name);
    const existing = map?.get(key);
    if (!existing || !map) return false;
    map.delete(key);
    const deleted = clone(existing);
    deleted.metadata.resourceVersion = String(++this.rv);
    this.emit(def, 'DELETED', deleted, existing);
    return true;
  }

  // ---- HTTP ---------------------------------------------------------------

  private def(plural: string): ResourceDef {
    const def = definitions.find((d) => d.plural === plural);
    if (!def) throw new Error(`unknown resource ${plural}`);
    return def;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const run = (): void => {
        try {
          this.route(req, res, body);
        } catch (err) {
          const e = err instanceof HttpError ? err : new HttpError(500, 'InternalError', (err as Error).message);
          this.status(res, e.code, e.reason, e.message);
        }
      };
      if (this.hanging) this.held.push(run);
      else run();
    });
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }

  private json(res: ServerResponse, code: number, value: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  }

  private route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    let group: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1] === 'v1') {
      group = '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1] ?? '';
      rest = parts.slice(3);
    } else throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    let namespace = '';
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1] ?? '';
      rest = rest.slice(2);
    }
    const [plural = '', name = '', subresource = ''] = rest;
    const def = definitions.find((d) => d.plural === plural && d.group === group);
    const query = Object.fromEntries(url.searchParams.entries());
    const watch = query.watch === 'true' || query.watch === '1';
    const verb =
      req.method === 'GET'
        ? name
          ? 'get'
          : watch
            ? 'watch'
            : 'list'
        : req.method === 'POST'
          ? 'create'
          : req.method === 'PUT'
            ? 'update'
            : req.method === 'PATCH'
              ? 'patch'
              : req.method === 'DELETE'
                ? name
                  ? 'delete'
                  : 'deletecollection'
                : (req.method ?? '').toLowerCase();
    const recorded: RecordedRequest = { verb, apiGroup: group, resource: plural, subresource, namespace, name, query, authorization: req.headers.authorization ?? '' };
    this.requests.push(recorded);
    if (this.failures && this.failures.remaining > 0 && this.failures.match(recorded)) {
      this.failures.remaining--;
      throw new HttpError(this.failures.code, this.failures.code === 500 ? 'InternalError' : 'ServiceUnavailable', 'injected failure');
    }
    if (!def) throw new HttpError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (subresource) throw new HttpError(404, 'NotFound', `${plural} has no subresource ${subresource}`);
    if (def.namespaced && !namespace && verb !== 'list' && verb !== 'watch') throw new HttpError(404, 'NotFound', `${plural} is namespaced`);
    switch (verb) {
      case 'list':
        return this.serveList(res, def, namespace, query);
      case 'watch':
        return this.serveWatch(req, res, def, namespace, query);
      case 'get': {
        const o = this.store.get(def.plural)?.get(keyOf(namespace || undefined, name));
        if (!o) throw new HttpError(404, 'NotFound', `${def.plural} "${name}" not found`);
        return this.json(res, 200, o);
      }
      case 'create': {
        const object = this.parseBody(body);
        if (def.namespaced) object.metadata.namespace = namespace;
        if (!object.metadata.name) throw new HttpError(422, 'Invalid', `${def.kind} "": metadata.name: Required value`);
        if (this.store.get(def.plural)?.has(keyOf(object.metadata.namespace, object.metadata.name))) {
          throw new HttpError(409, 'AlreadyExists', `${def.plural} "${object.metadata.name}" already exists`);
        }
        return this.json(res, 201, this.create(def, object));
      }
      case 'update': {
        const object = this.parseBody(body);
        const existing = this.store.get(def.plural)?.get(keyOf(namespace || undefined, name));
        if (!existing) throw new HttpError(404, 'NotFound', `${def.plural} "${name}" not found`);
        if (object.metadata.name !== name) throw new HttpError(400, 'BadRequest', `the name of the object (${String(object.metadata.name)}) does not match the name on the URL (${name})`);
        const sent = object.metadata.resourceVersion;
        if (def.group !== '' && (typeof sent !== 'string' || sent === '')) throw new HttpError(422, 'Invalid', `${def.kind} "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`);
        if (typeof sent === 'string' && sent !== '' && sent !== existing.metadata.resourceVersion) {
          throw new HttpError(409, 'Conflict', `Operation cannot be fulfilled on ${def.plural}.${def.group || 'core'} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
        return this.json(res, 200, this.replace(def, existing, object));
      }
      case 'patch': {
        const type = (req.headers['content-type'] ?? '').split(';')[0];
        if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json') {
          throw new HttpError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got ${type})`);
        }
        const existing = this.store.get(def.plural)?.get(keyOf(namespace || undefined, name));
        if (!existing) throw new HttpError(404, 'NotFound', `${def.plural} "${name}" not found`);
        const patched = mergePatch(existing, JSON.parse(body)) as KubeObject;
        patched.metadata = { ...patched.metadata, name, uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp };
        return this.json(res, 200, this.replace(def, existing, patched));
      }
      case 'delete': {
        if (!this.remove(def.plural as Plural, name, namespace || undefined)) throw new HttpError(404, 'NotFound', `${def.plural} "${name}" not found`);
        return this.json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
      }
      default:
        throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not supported`);
    }
  }

  private parseBody(body: string): KubeObject {
    let object: unknown;
    try {
      object = JSON.parse(body);
    } catch {
      throw new HttpError(400, 'BadRequest', 'the body is not JSON');
    }
    if (typeof object !== 'object' || object === null || typeof (object as KubeObject).metadata !== 'object') throw new HttpError(400, 'BadRequest', 'the body has no metadata');
    return object as KubeObject;
  }

  private create(def: ResourceDef, object: KubeObject, keepUid = false): KubeObject {
    const stored = clone(object);
    stored.apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
    stored.kind = def.kind;
    const uid = keepUid && typeof object.metadata.uid === 'string' ? object.metadata.uid : randomUUID();
    stored.metadata = { ...stored.metadata, uid, creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), resourceVersion: String(++this.rv), generation: 1 };
    this.store.get(def.plural)?.set(keyOf(stored.metadata.namespace, stored.metadata.name ?? ''), stored);
    this.emit(def, 'ADDED', stored);
    return clone(stored);
  }

  private replace(def: ResourceDef, existing: KubeObject, object: KubeObject): KubeObject {
    const stored = clone(object);
    stored.apiVersion = existing.apiVersion;
    stored.kind = existing.kind;
    const specChanged = JSON.stringify(object.spec) !== JSON.stringify(existing.spec);
    stored.metadata = {
      ...stored.metadata,
      name: existing.metadata.name,
      ...(existing.metadata.namespace ? { namespace: existing.metadata.namespace } : {}),
      uid: existing.metadata.uid,
      creationTimestamp: existing.metadata.creationTimestamp,
      resourceVersion: String(++this.rv),
      generation: Number(existing.metadata.generation ?? 1) + (specChanged ? 1 : 0),
    };
    this.store.get(def.plural)?.set(keyOf(stored.metadata.namespace, stored.metadata.name ?? ''), stored);
    this.emit(def, 'MODIFIED', stored, existing);
    return clone(stored);
  }

  private selectorFor(def: ResourceDef, query: Record<string, string>): (o: KubeObject) => boolean {
    const checks: Array<(o: KubeObject) => boolean> = [];
    for (const term of (query.fieldSelector ?? '').split(',').filter((t) => t !== '')) {
      const m = /^([A-Za-z.]+)(==|=|!=)(.*)$/.exec(term);
      if (!m) throw new HttpError(400, 'BadRequest', `invalid field selector: ${term}`);
      const [, field = '', op, value] = m;
      if (!['metadata.name', 'metadata.namespace', ...def.fields].includes(field)) throw new HttpError(400, 'BadRequest', `field label not supported: ${field}`);
      checks.push((o) => (op === '!=' ? String(getPath(o, field) ?? '') !== value : String(getPath(o, field) ?? '') === value));
    }
    for (const term of (query.labelSelector ?? '').split(',').filter((t) => t !== '')) {
      const m = /^(!?)([A-Za-z0-9./_-]+)(?:(==|=|!=)(.*))?$/.exec(term);
      if (!m) throw new HttpError(400, 'BadRequest', `unable to parse requirement: ${term}`);
      const [, not, key = '', op, value] = m;
      const labels = (o: KubeObject) => (o.metadata.labels ?? {}) as Record<string, string>;
      if (!op) checks.push((o) => (key in labels(o)) !== (not === '!'));
      else checks.push((o) => (op === '!=' ? labels(o)[key] !== value : labels(o)[key] === value));
    }
    return (o) => checks.every((check) => check(o));
  }

  private inScope(namespace: string, o: KubeObject): boolean {
    return !namespace || o.metadata.namespace === namespace;
  }

  private serveList(res: ServerResponse, def: ResourceDef, namespace: string, query: Record<string, string>): void {
    const matches = this.selectorFor(def, query);
    const items = [...(this.store.get(def.plural)?.values() ?? [])].filter((o) => this.inScope(namespace, o) && matches(o));
    this.json(res, 200, { apiVersion: def.group ? `${def.group}/${def.version}` : def.version, kind: `${def.kind}List`, metadata: { resourceVersion: String(this.rv) }, items });
  }

  private writeEvent(res: ServerResponse, event: { type: string; object: unknown }): void {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(event)}\n`);
  }

  private serveWatch(req: IncomingMessage, res: ServerResponse, def: ResourceDef, namespace: string, query: Record<string, string>): void {
    const matches = this.selectorFor(def, query);
    const from = query.resourceVersion ?? '';
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // As the real one: the headers go out at once, not with the first event.
    res.flushHeaders();
    if (from !== '' && from !== '0' && Number(from) < this.compactedRv) {
      this.writeEvent(res, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${this.compactedRv})`, reason: 'Expired', code: 410 } });
      res.end();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    let bookmarks: NodeJS.Timeout | undefined;
    const watch: OpenWatch = {
      def,
      namespace,
      matches,
      res,
      bookmarks: query.allowWatchBookmarks === 'true',
      close: () => {
        watch.cut();
        if (!res.writableEnded) res.end();
      },
      cut: () => {
        clearTimeout(timer);
        clearInterval(bookmarks);
        this.watches.delete(watch);
      },
    };
    if (from === '' || from === '0') {
      for (const o of this.store.get(def.plural)?.values() ?? []) if (this.inScope(namespace, o) && matches(o)) this.writeEvent(res, { type: 'ADDED', object: o });
    } else {
      for (const entry of this.history) if (entry.plural === def.plural && entry.rv > Number(from)) this.deliver(watch, entry);
    }
    this.watches.add(watch);
    const seconds = Number(query.timeoutSeconds ?? '0');
    const lifetime = Math.min(seconds > 0 ? seconds * 1000 : Infinity, this.options.maxWatchMs ?? Infinity);
    if (Number.isFinite(lifetime)) timer = setTimeout(() => watch.close(), lifetime);
    if (watch.bookmarks) {
      bookmarks = setInterval(() => {
        if (this.hanging) return;
        this.writeEvent(res, { type: 'BOOKMARK', object: { apiVersion: def.group ? `${def.group}/${def.version}` : def.version, kind: def.kind, metadata: { resourceVersion: String(this.rv) } } });
      }, this.options.bookmarkIntervalMs ?? 1000);
    }
    res.on('close', () => watch.close());
  }

  private emit(def: ResourceDef, type: HistoryEntry['type'], object: KubeObject, previous?: KubeObject): void {
    const entry: HistoryEntry = { rv: this.rv, plural: def.plural, type, object: clone(object), ...(previous ? { previous: clone(previous) } : {}) };
    this.history.push(entry);
    if (this.history.length > 10_000) this.history.splice(0, 1000);
    for (const watch of this.watches) if (watch.def.plural === def.plural) this.deliver(watch, entry);
  }

  /** What a watch with a selector sees: an object entering its selection is ADDED, one leaving it DELETED. */
  private deliver(watch: OpenWatch, entry: HistoryEntry): void {
    if (this.hanging) {
      // A hung server sends nothing; what happened meanwhile goes out, in order, when it answers again.
      this.held.push(() => this.deliver(watch, entry));
      return;
    }
    const now = this.inScope(watch.namespace, entry.object) && watch.matches(entry.object);
    const before = entry.previous !== undefined && this.inScope(watch.namespace, entry.previous) && watch.matches(entry.previous);
    let type: string | undefined;
    if (entry.type === 'DELETED') type = before || now ? 'DELETED' : undefined;
    else if (entry.type === 'ADDED') type = now ? 'ADDED' : undefined;
    else type = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
    if (type) this.writeEvent(watch.res, { type, object: entry.object });
  }
}

/** Every (API group, resource, verb) the server saw, as "group/resource:verb" ("" = core). */
export function usedPermissions(requests: readonly RecordedRequest[]): Set<string> {
  return new Set(requests.map((r) => `${r.apiGroup}/${r.resource}${r.subresource ? `/${r.subresource}` : ''}:${r.verb}`));
}
