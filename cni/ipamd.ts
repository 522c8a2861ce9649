/**
 * One request to ipamd, as ipamd/api/client.ts's callIpamd makes it (the wire
 * protocol of ipamd/api/protocol.ts: one JSON line out, one back, id 1, one
 * connection per request), with the same outcomes and error codes.
 *
 * Under Node it *is* callIpamd. Under bun (the compiled plugin) the same
 * exchange runs over Bun.connect, because bun's node:net costs 20-30 ms of
 * start-up per call (see bun.ts); the exec tests run every command through
 * this path against the real API server, and a few of them through the Node
 * path too, and expect the same answers.
 */
import type { IpamdCallErrorCode } from '../ipamd/api/client.ts';
import type { Op, ParamsOf, ResultOf } from '../ipamd/api/protocol.ts';
import type { ExhaustionLimit } from '../ipamd/types.ts';
import { bun, type BunRuntime, type BunSocket } from './bun.ts';

/** A failed call: the codes of the server, plus `unreachable`, `timeout`, `protocol` (as IpamdCallError). */
export class IpamdFailure extends Error {
  override readonly name = 'IpamdFailure';
  readonly code: IpamdCallErrorCode;
  readonly limit: ExhaustionLimit | undefined;

  constructor(code: IpamdCallErrorCode, message: string, limit?: ExhaustionLimit) {
    super(message);
    this.code = code;
    this.limit = limit;
  }
}

export async function callIpamd<O extends Op>(socketPath: string, op: O, params: ParamsOf<O>, timeoutMs: number): Promise<ResultOf<O>> {
  if (bun) return callWithBun(bun, socketPath, op, params, timeoutMs);
  const client = await import('../ipamd/api/client.ts');
  try {
    return await client.callIpamd(socketPath, op, params, { timeoutMs });
  } catch (err) {
    if (err instanceof client.IpamdCallError) throw new IpamdFailure(err.code, err.message, err.limit);
    throw err;
  }
}

function connectErrorCode(code: string | undefined): IpamdCallErrorCode {
  if (code === 'EAGAIN') return 'busy';
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ENOTSOCK') return 'unreachable';
  return 'protocol';
}

interface WireAnswer {
  id?: unknown;
  ok?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown; limit?: unknown };
}

/** The answer line as callIpamd reads it. */
function settleAnswer<O extends Op>(line: string, socketPath: string): { result?: ResultOf<O>; failure?: IpamdFailure } {
  let response: WireAnswer;
  try {
    response = JSON.parse(line) as WireAnswer;
  } catch {
    return { failure: new IpamdFailure('protocol', `ipamd sent an answer that is not JSON (${socketPath})`) };
  }
  if (response?.ok === true && response.id === 1 && typeof response.result === 'object' && response.result !== null) {
    return { result: response.result as ResultOf<O> };
  }
  if (response?.ok === false && typeof response.error?.code === 'string') {
    const { code, message, limit } = response.error;
    return {
      failure: new IpamdFailure(
        code as IpamdCallErrorCode,
        typeof message === 'string' ? message : code,
        typeof limit === 'string' ? (limit as ExhaustionLimit) : undefined,
      ),
    };
  }
  return { failure: new IpamdFailure('protocol', `ipamd sent a malformed answer (${socketPath})`) };
}

function callWithBun<O extends Op>(b: BunRuntime, socketPath: string, op: O, params: ParamsOf<O>, timeoutMs: number): Promise<ResultOf<O>> {
  return new Promise<ResultOf<O>>((resolve, reject) => {
    let pending: Uint8Array = new TextEncoder().encode(`${JSON.stringify({ id: 1, op, params })}\n`);
    let received = new Uint8Array(0);
    let socket: BunSocket | undefined;
    let done = false;
    const finish = (failure: IpamdFailure | undefined, result?: ResultOf<O>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.terminate();
      if (failure) reject(failure);
      else resolve(result as ResultOf<O>);
    };
    const timer = setTimeout(() => finish(new IpamdFailure('timeout', `ipamd did not answer ${op} within ${timeoutMs} ms (${socketPath})`)), timeoutMs);
    const flush = (s: BunSocket): void => {
      if (pending.length === 0) return;
      const n = s.write(pending);
      pending = pending.subarray(Math.max(0, n));
    };
    b.connect({
      unix: socketPath,
      socket: {
        open(s) {
          socket = s;
          if (done) s.terminate();
          else flush(s);
        },
        drain: flush,
        data(_s, chunk) {
          const joined = new Uint8Array(received.length + chunk.length);
          joined.set(received);
          joined.set(chunk, received.length);
          received = joined;
          const nl = received.indexOf(0x0a);
          if (nl < 0) return;
          const { result, failure } = settleAnswer<O>(new TextDecoder().decode(received.subarray(0, nl)), socketPath);
          finish(failure, result);
        },
        error(_s, err) {
          const code = (err as NodeJS.ErrnoException).code;
          finish(new IpamdFailure(connectErrorCode(code), `cannot talk to ipamd at ${socketPath}: ${code ?? err.message}`));
        },
        close() {
          finish(new IpamdFailure('protocol', `ipamd closed the connection without answering ${op} (${socketPath})`));
        },
      },
    }).then(
      (s) => {
        socket = s;
        if (done) s.terminate();
      },
      (err: NodeJS.ErrnoException) => {
        finish(new IpamdFailure(connectErrorCode(err?.code), `cannot talk to ipamd at ${socketPath}: ${err?.code ?? err?.message}`));
      },
    );
  });
}
