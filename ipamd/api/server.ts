/**
 * The plugin-facing API of ipamd: newline-delimited JSON over a unix socket.
 * See wire/protocol.ts for the wire format, validation.ts for what is accepted.
 *
 * - The socket file is born with mode 0600 (bound under a temporary name,
 *   chmod-ed, then renamed into place); its directory is created 0700.
 * - A stale socket is replaced; a live one (something accepts on it) makes
 *   start-up fail.
 * - add/del/check for one containerId run one at a time, FIFO; different
 *   containers run in parallel; gc runs alone; status never waits.
 * - Bad input gets `invalid-request` naming the problem; nothing a client
 *   sends or fails to send can crash or wedge the server.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { KeyedLock, LockAbortedError } from './keyed-lock.ts';
import { IpamError, isServerErrorCode } from '../../wire/errors.ts';
import { MAX_LINE_BYTES, type AllocationKey, type IpamService, type Request, type RequestContext, type Response, type WireError } from '../../wire/protocol.ts';
import { parseRequest } from './validation.ts';

/** Why a connection's work is cancelled when its socket closes (one object: nothing reads its stack). */
const connectionClosed = new Error('connection closed');

/** The subset of pino's logger the server uses. */
export interface ApiLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ApiServerOptions {
  socketPath: string;
  service: IpamService;
  logger?: ApiLogger;
  /** Longest a request may take, waiting for its lock included; then `busy`. Default 25 s. */
  requestTimeoutMs?: number;
  /** How long close() waits for running requests. Default 5 s. */
  closeTimeoutMs?: number;
  /** A connection with nothing in flight and no byte received for this long is closed. Default 30 s. */
  idleTimeoutMs?: number;
  /** Requests allowed to wait behind a running one for the same container; more get `busy`. Default 16. */
  maxQueuedPerContainer?: number;
  /** Requests in flight on one connection; more get `busy`. Default 64. */
  maxInFlightPerConnection?: number;
}

export interface ApiServer {
  close(): Promise<void>;
}

const GENERIC_INTERNAL = 'internal error in ipamd; see the ipamd log';

interface ConnState {
  socket: net.Socket;
  inFlight: number;
  /** Aborted when the client goes away. */
  gone: AbortController;
  /** Nothing more is read; the connection ends once its answers are out. */
  finishing: boolean;
  /** Reading stopped until the client reads what we wrote. */
  blocked: boolean;
  /** Handle the complete lines received so far. */
  pump: () => void;
}

interface Pending {
  abort: AbortController;
  /** Resolves when the request's work (service call included) is over. */
  done: Promise<void>;
  /** The service is running for it (it holds its lock). */
  started: boolean;
}

/** Remove a stale socket at `socketPath`; throw if a live server answers there or the path is not a socket. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  let stat;
  try {
    stat = await fs.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!stat.isSocket()) {
    throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.createConnection(socketPath);
    const timer = setTimeout(() => {
      probe.destroy();
      // Connected sockets answer connect() at once; a hang means something is listening but wedged.
      resolve(true);
    }, 1000);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (live) throw new Error(`another server is listening on ${socketPath}; refusing to start`);
  await fs.rm(socketPath, { force: true });
}

function listen(server: net.Server, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(where, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { socketPath, service } = options;
  const logger: ApiLogger = options.logger ?? pino({ name: 'ipamd-api' });
  const requestTimeoutMs = options.requestTimeoutMs ?? 25_000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const maxQueuedPerContainer = options.maxQueuedPerContainer ?? 16;
  const maxInFlightPerConnection = options.maxInFlightPerConnection ?? 64;

  const dir = path.dirname(socketPath);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await clearStaleSocket(socketPath);

  const lock = new KeyedLock();
  /** ADDs waiting without their container's lock, by attachment: a DEL of it marks them overtaken. */
  const parkedAdds = new Map<string, Set<{ overtaken: boolean }>>();
  const connections = new Set<ConnState>();
  const pending = new Set<Pending>();
  let closing = false;

  function send(conn: ConnState, response: Response): void {
    const { socket } = conn;
    if (socket.destroyed || !socket.writable) return;
    socket.write(JSON.stringify(response) + '\n');
    // A client that sends without reading must not make us buffer without bound:
    // stop reading (and handling lines already read) until it catches up.
    if (socket.writableNeedDrain && !conn.blocked) {
      conn.blocked = true;
      socket.pause();
      socket.once('drain', () => {
        conn.blocked = false;
        if (conn.finishing) return;
        socket.resume();
        conn.pump();
      });
    }
  }

  function sendError(conn: ConnState, id: number | null, error: WireError): void {
    send(conn, { id, ok: false, error });
  }

  /** The answer for an error thrown by the service (or by us). */
  function toWireError(err: unknown, request: Request): WireError {
    if (err instanceof IpamError && isServerErrorCode(err.code)) {
      const wire: WireError = { code: err.code, message: err.message };
      if (err.limit !== undefined) {
        wire.limit = err.limit;
        if (!wire.message.includes(err.limit)) wire.message = `${wire.message} (limit: ${err.limit})`;
      }
      logger.warn({ op: request.op, id: request.id, code: wire.code, limit: wire.limit, reason: wire.message }, 'ipamd api request refused');
      return wire;
    }
    logger.error({ op: request.op, id: request.id, err }, 'ipamd api request failed');
    return { code: 'internal', message: GENERIC_INTERNAL };
  }

  const attachmentOf = (key: AllocationKey): string => `${key.network}\u0000${key.containerId}\u0000${key.ifName}`;

  /** Lets an ADD wait (for the pool to grow) without holding its container's lock; see RequestContext.unlocked. */
  function parkingFor(request: Request, unheld: <W>(wait: () => Promise<W>) => Promise<W>): RequestContext['unlocked'] {
    if (request.op !== 'add') return undefined;
    const attachment = attachmentOf((request as Request<'add'>).params.key);
    return async (wait) => {
      const parked = { overtaken: false };
      const set = parkedAdds.get(attachment) ?? new Set();
      parkedAdds.set(attachment, set.add(parked));
      try {
        const value = await unheld(wait);
        return parked.overtaken ? { overtaken: true } : { value };
      } finally {
        set.delete(parked);
        if (set.size === 0) parkedAdds.delete(attachment);
      }
    };
  }

  function containerOf(request: Request): string | undefined {
    switch (request.op) {
      case 'add':
      case 'del':
      case 'check':
        return (request as Request<'add' | 'del' | 'check'>).params.key.containerId;
      default:
        return undefined;
    }
  }

  async function invoke(request: Request, ctx: RequestContext): Promise<unknown> {
    switch (request.op) {
      case 'add':
        return service.add((request as Request<'add'>).params, ctx);
      case 'del': {
        const params = (request as Request<'del'>).params;
        for (const parked of parkedAdds.get(attachmentOf(params.key)) ?? []) parked.overtaken = true;
        await service.del(params, ctx);
        return {};
      }
      case 'check':
        return service.check((request as Request<'check'>).params, ctx);
      case 'status':
        return service.status(ctx);
      case 'gc':
        return service.gc((request as Request<'gc'>).params, ctx);
    }
  }

  function handleRequest(conn: ConnState, request: Request): void {
    if (closing) {
      sendError(conn, request.id, { code: 'not-ready', message: 'ipamd is shutting down' });
      return;
    }
    if (conn.inFlight >= maxInFlightPerConnection) {
      sendError(conn, request.id, { code: 'busy', message: `more than ${maxInFlightPerConnection} requests in flight on one connection` });
      return;
    }
    const containerId = containerOf(request);
    if (containerId !== undefined && lock.waitingFor(containerId) >= maxQueuedPerContainer) {
      sendError(conn, request.id, {
        code: 'busy',
        message: `${maxQueuedPerContainer} requests already queued for container ${containerId}`,
      });
      return;
    }

    const abort = new AbortController();
    const entry: Pending = { abort, started: false, done: Promise.resolve() };
    const onGone = (): void => abort.abort(new Error('client disconnected'));
    conn.gone.signal.addEventListener('abort', onGone, { once: true });
    const started = Date.now();
    let answered = false;
    const answer = (response: Response): void => {
      if (answered) return;
      answered = true;
      send(conn, response);
    };

    const timer = setTimeout(() => {
      const what = entry.started ? 'running' : 'waiting to run';
      answer({
        id: request.id,
        ok: false,
        error: {
          code: 'busy',
          message: `${request.op}${containerId ? ` for container ${containerId}` : ''} timed out after ${requestTimeoutMs} ms ${what}`,
        },
      });
      logger.warn({ op: request.op, id: request.id, containerId, started: entry.started }, 'ipamd api request timed out');
      abort.abort(new Error('request timed out'));
    }, requestTimeoutMs);

    const work = async (unheld?: <W>(wait: () => Promise<W>) => Promise<W>): Promise<unknown> => {
      entry.started = true;
      const unlocked = unheld ? parkingFor(request, unheld) : undefined;
      return invoke(request, { signal: abort.signal, ...(unlocked ? { unlocked } : {}) });
    };

    conn.inFlight++;
    pending.add(entry);
    entry.done = (async () => {
      try {
        let result: unknown;
        if (request.op === 'status') result = await work();
        else if (request.op === 'gc') result = await lock.runExclusive(() => work(), abort.signal);
        else result = await lock.runPausable(containerId as string, work, abort.signal);
        answer({ id: request.id, ok: true, result });
      } catch (err) {
        if (err instanceof LockAbortedError) {
          // Never ran: timed out (already answered), client gone (nobody to answer) or shutting down.
          const error: WireError = closing
            ? { code: 'not-ready', message: 'ipamd is shutting down' }
            : { code: 'busy', message: `${request.op} was cancelled before it ran` };
          answer({ id: request.id, ok: false, error });
        } else if (!answered) {
          answer({ id: request.id, ok: false, error: toWireError(err, request) });
        } else if (!(err instanceof IpamError)) {
          logger.error({ op: request.op, id: request.id, err }, 'ipamd api request failed after its answer was sent');
        }
      } finally {
        clearTimeout(timer);
        conn.gone.signal.removeEventListener('abort', onGone);
        conn.inFlight--;
        pending.delete(entry);
        logger.debug({ op: request.op, id: request.id, containerId, ms: Date.now() - started }, 'ipamd api request');
        maybeEnd(conn);
      }
    })();
  }

  /** Once everything is answered, end a connection the client half-closed, that overflowed, or while closing. */
  function maybeEnd(conn: ConnState): void {
    const { socket } = conn;
    if (conn.inFlight === 0 && !conn.blocked && (socket.readableEnded || conn.finishing || closing) && !socket.destroyed) {
      socket.destroySoon();
    }
  }

  function handleLine(conn: ConnState, line: Buffer): void {
    let text: string;
    try {
      text = utf8.decode(line);
    } catch {
      sendError(conn, null, { code: 'invalid-request', message: 'request is not valid UTF-8' });
      return;
    }
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const detail = err instanceof Error ? err.message.slice(0, 120) : 'parse error';
      sendError(conn, null, { code: 'invalid-request', message: `request is not valid JSON: ${detail}` });
      return;
    }
    const parsed = parseRequest(value);
    if (!parsed.ok) {
      sendError(conn, parsed.id, { code: 'invalid-request', message: parsed.message });
      return;
    }
    handleRequest(conn, parsed.request);
  }

  const utf8 = new TextDecoder('utf-8', { fatal: true });

  function onConnection(socket: net.Socket): void {
    const conn: ConnState = { socket, inFlight: 0, gone: new AbortController(), finishing: false, blocked: false, pump: () => {} };
    connections.add(conn);
    if (closing) {
      socket.destroy();
      return;
    }
    /** Bytes received and not yet handled: at most one partial line, or more while blocked. */
    let inbox: Buffer = Buffer.alloc(0);
    let ended = false;
    let lastActivity = Date.now();

    const overflow = (): void => {
      conn.finishing = true;
      inbox = Buffer.alloc(0);
      sendError(conn, null, {
        code: 'invalid-request',
        message: `request line longer than ${MAX_LINE_BYTES} bytes; closing the connection`,
      });
      // Nothing more is read; answers to earlier requests on this connection still go out.
      socket.pause();
      maybeEnd(conn);
    };

    conn.pump = (): void => {
      while (!conn.finishing && !conn.blocked) {
        const nl = inbox.indexOf(0x0a);
        if (nl < 0) break;
        if (nl + 1 > MAX_LINE_BYTES) return overflow();
        const line = inbox.subarray(0, nl);
        inbox = inbox.subarray(nl + 1);
        handleLine(conn, line);
      }
      if (conn.finishing || conn.blocked) return;
      if (inbox.length >= MAX_LINE_BYTES) return overflow();
      if (ended && inbox.length > 0) {
        inbox = Buffer.alloc(0);
        sendError(conn, null, { code: 'invalid-request', message: 'connection ended in the middle of a request line (no newline)' });
      }
      if (ended) maybeEnd(conn);
    };

    // setTimeout's callback is a one-shot 'timeout' listener: re-arming must pass it again.
    const onIdle = (): void => {
      // Timers run before pending reads are handled: look again once they are.
      setImmediate(() => {
        if (socket.destroyed) return;
        const idleFor = Date.now() - lastActivity;
        if (conn.inFlight > 0 || idleFor < idleTimeoutMs) {
          socket.setTimeout(Math.max(1, idleTimeoutMs - (conn.inFlight > 0 ? 0 : idleFor)), onIdle); // re-arm
          return;
        }
        if (inbox.length > 0 && !conn.finishing) {
          sendError(conn, null, { code: 'invalid-request', message: `incomplete request line (no newline) after ${idleTimeoutMs} ms idle` });
        }
        conn.finishing = true;
        // Answers the client never read cannot flush: drop them.
        if (socket.writableLength > 0) socket.destroy();
        else socket.destroySoon();
      });
    };
    socket.setTimeout(idleTimeoutMs, onIdle);

    socket.on('data', (data: Buffer) => {
      lastActivity = Date.now();
      if (conn.finishing) return;
      inbox = inbox.length === 0 ? data : Buffer.concat([inbox, data]);
      conn.pump();
    });
    socket.on('end', () => {
      ended = true;
      conn.pump();
    });
    socket.on('error', (err) => {
      logger.debug({ err: (err as NodeJS.ErrnoException).code ?? err.message }, 'ipamd api connection error');
    });
    socket.on('close', () => {
      connections.delete(conn);
      // A given reason: abort() without one builds a DOMException with a stack trace, on every plugin connection.
      conn.gone.abort(connectionClosed);
    });
  }

  // Bind under a temporary name, make it 0600, then move it into place, so
  // the socket is never reachable with looser permissions.
  const tmpPath = path.join(dir, `.${path.basename(socketPath)}.${randomBytes(4).toString('hex')}.tmp`);
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
  server.on('error', (err) => logger.error({ err }, 'ipamd api server error'));
  try {
    await listen(server, tmpPath);
    await fs.chmod(tmpPath, 0o600);
    await fs.rename(tmpPath, socketPath);
  } catch (err) {
    server.close();
    await fs.rm(tmpPath, { force: true });
    throw err;
  }
  const { ino } = await fs.stat(socketPath);
  logger.info({ socketPath }, 'ipamd api listening');

  let closed: Promise<void> | undefined;
  async function doClose(): Promise<void> {
    closing = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    // Requests still waiting for their lock will not run now.
    for (const p of pending) if (!p.started) p.abort.abort(new Error('shutting down'));
    for (const conn of connections) if (conn.inFlight === 0) conn.socket.destroy();
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all([...pending].map((p) => p.done)).then(() => false),
      new Promise<boolean>((resolve) => {
        deadline = setTimeout(() => resolve(true), closeTimeoutMs);
      }),
    ]);
    clearTimeout(deadline);
    if (timedOut) {
      logger.warn({ running: pending.size }, 'ipamd api closing with requests still running');
      for (const p of pending) p.abort.abort(new Error('shutting down'));
      for (const conn of connections) conn.socket.destroy();
    } else {
      // Every answer is written; let them flush, briefly.
      for (const conn of connections) conn.socket.destroySoon();
    }
    const flushed = setTimeout(() => {
      for (const conn of connections) conn.socket.destroy();
    }, 500);
    await stopped;
    clearTimeout(flushed);
    // Remove the socket only if it is still ours.
    try {
      if ((await fs.stat(socketPath)).ino === ino) await fs.rm(socketPath, { force: true });
    } catch {
      // already gone
    }
    logger.info({ socketPath }, 'ipamd api closed');
  }

  return {
    close(): Promise<void> {
      closed ??= doClose();
      return closed;
    },
  };
}
