/**
 * The plugin's client to ipamd. Loaded on every pod ADD/DEL: only node:net
 * and the import-free answer reader and error at run time (the other imports
 * are types and vanish).
 */
import { createConnection } from 'node:net';
import { connectErrorCode, settleAnswer } from './answer.ts';
import { IpamError } from './errors.ts';
import type { Op, ParamsOf, ResultOf } from './protocol.ts';

export interface CallOptions {
  /** Whole call, connect included. Default 30 s (the server gives up on a request after 25 s). */
  timeoutMs?: number;
}

/** Send one request to ipamd on its own connection and return the result, or throw IpamError. */
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
    const finish = (err: IpamError | undefined, result?: ResultOf<O>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(result as ResultOf<O>);
    };
    const timer = setTimeout(
      () => finish(new IpamError('timeout', `ipamd did not answer ${op} within ${timeoutMs} ms (${socketPath})`)),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      const nl = received.indexOf('\n');
      if (nl < 0) return;
      const settled = settleAnswer<O>(received.slice(0, nl), socketPath);
      if ('failure' in settled) finish(settled.failure);
      else finish(undefined, settled.result);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      finish(new IpamError(connectErrorCode(err.code), `cannot talk to ipamd at ${socketPath}: ${err.code ?? err.message}`));
    });
    socket.on('close', () => finish(new IpamError('protocol', `ipamd closed the connection without answering ${op} (${socketPath})`)));
    // No half-close after the request: a peer without allowHalfOpen would hang up before answering.
    socket.write(JSON.stringify({ id: 1, op, params }) + '\n');
  });
}
