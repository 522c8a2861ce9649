/**
 * The plugin's client to ipamd. Loaded on every pod ADD/DEL: only node:net
 * at run time (the other imports are types and vanish).
 */
import { createConnection } from 'node:net';
import type { ExhaustionLimit } from '../types.ts';
import type { ErrorCode, Op, ParamsOf, ResultOf } from './protocol.ts';

/** The server's codes, plus: `unreachable` (no socket, refused), `timeout`, `protocol` (no or garbled answer). */
export type IpamdCallErrorCode = ErrorCode | 'unreachable' | 'timeout' | 'protocol';

export class IpamdCallError extends Error {
  override readonly name = 'IpamdCallError';
  readonly code: IpamdCallErrorCode;
  readonly limit: ExhaustionLimit | undefined;

  constructor(code: IpamdCallErrorCode, message: string, limit?: ExhaustionLimit) {
    super(message);
    this.code = code;
    this.limit = limit;
  }
}

export interface CallOptions {
  /** Whole call, connect included. Default 30 s (the server gives up on a request after 25 s). */
  timeoutMs?: number;
}

/** Send one request to ipamd on its own connection and return the result, or throw IpamdCallError. */
export function callIpamd<O extends Op>(
  socketPath: string,
  op: O,
  params: ParamsOf<O>,
  options: CallOptions = {},
): Promise<ResultOf<O>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise<ResultOf<O>>((resolve, reject) => {
    let received = '';
    let done = false;
    const socket = createConnection(socketPath);
    const finish = (err: IpamdCallError | undefined, result?: ResultOf<O>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(result as ResultOf<O>);
    };
    const timer = setTimeout(
      () => finish(new IpamdCallError('timeout', `ipamd did not answer ${op} within ${timeoutMs} ms (${socketPath})`)),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const nl = received.indexOf('\n');
      if (nl < 0) return;
      let response: {
        id?: unknown;
        ok?: unknown;
        result?: unknown;
        error?: { code?: unknown; message?: unknown; limit?: unknown };
      };
      try {
        response = JSON.parse(received.slice(0, nl));
      } catch {
        finish(new IpamdCallError('protocol', `ipamd sent an answer that is not JSON (${socketPath})`));
        return;
      }
      if (response?.ok === true && response.id === 1 && typeof response.result === 'object' && response.result !== null) {
        finish(undefined, response.result as ResultOf<O>);
      } else if (response?.ok === false && typeof response.error?.code === 'string') {
        const { code, message, limit } = response.error;
        finish(
          new IpamdCallError(
            code as ErrorCode,
            typeof message === 'string' ? message : code,
            typeof limit === 'string' ? (limit as ExhaustionLimit) : undefined,
          ),
        );
      } else {
        finish(new IpamdCallError('protocol', `ipamd sent a malformed answer (${socketPath})`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code: IpamdCallErrorCode =
        err.code === 'EAGAIN' ? 'busy' : err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'EACCES' || err.code === 'ENOTSOCK' ? 'unreachable' : 'protocol';
      finish(new IpamdCallError(code, `cannot talk to ipamd at ${socketPath}: ${err.code ?? err.message}`));
    });
    socket.on('close', () => finish(new IpamdCallError('protocol', `ipamd closed the connection without answering ${op} (${socketPath})`)));
    // No half-close after the request: a peer without allowHalfOpen would hang up before answering.
    socket.write(JSON.stringify({ id: 1, op, params }) + '\n');
  });
}
