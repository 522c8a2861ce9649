/**
 * One request to ipamd, as wire/client.ts's callIpamd makes it (the wire
 * protocol of wire/protocol.ts: one JSON line out, one back, id 1, one
 * connection per request), with the same outcomes and error codes.
 *
 * Under Node it *is* callIpamd. Under bun (the compiled plugin) the same
 * exchange runs over Bun.connect, because bun's node:net costs 20-30 ms of
 * start-up per call (see bun.ts); the exec tests run every command through
 * this path against the real API server, and a few of them through the Node
 * path too, and expect the same answers.
 */
import { connectErrorCode, settleAnswer } from '../wire/answer.ts';
import { IpamError } from '../wire/errors.ts';
import type { Op, ParamsOf, ResultOf } from '../wire/protocol.ts';
import { bun, type BunRuntime, type BunSocket } from './bun.ts';

export async function callIpamd<O extends Op>(socketPath: string, op: O, params: ParamsOf<O>, timeoutMs: number): Promise<ResultOf<O>> {
  if (bun) return callWithBun(bun, socketPath, op, params, timeoutMs);
  const client = await import('../wire/client.ts');
  return client.callIpamd(socketPath, op, params, { timeoutMs });
}

function callWithBun<O extends Op>(b: BunRuntime, socketPath: string, op: O, params: ParamsOf<O>, timeoutMs: number): Promise<ResultOf<O>> {
  return new Promise<ResultOf<O>>((resolve, reject) => {
    let pending: Uint8Array = new TextEncoder().encode(`${JSON.stringify({ id: 1, op, params })}\n`);
    let received = new Uint8Array(0);
    let socket: BunSocket | undefined;
    let done = false;
    const finish = (failure: IpamError | undefined, result?: ResultOf<O>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.terminate();
      if (failure) reject(failure);
      else resolve(result as ResultOf<O>);
    };
    const timer = setTimeout(() => finish(new IpamError('timeout', `ipamd did not answer ${op} within ${timeoutMs} ms (${socketPath})`)), timeoutMs);
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
          const settled = settleAnswer<O>(new TextDecoder().decode(received.subarray(0, nl)), socketPath);
          if ('failure' in settled) finish(settled.failure);
          else finish(undefined, settled.result);
        },
        error(_s, err) {
          const code = (err as NodeJS.ErrnoException).code;
          finish(new IpamError(connectErrorCode(code), `cannot talk to ipamd at ${socketPath}: ${code ?? err.message}`));
        },
        close() {
          finish(new IpamError('protocol', `ipamd closed the connection without answering ${op} (${socketPath})`));
        },
      },
    }).then(
      (s) => {
        socket = s;
        if (done) s.terminate();
      },
      (err: NodeJS.ErrnoException) => {
        finish(new IpamError(connectErrorCode(err?.code), `cannot talk to ipamd at ${socketPath}: ${err?.code ?? err?.message}`));
      },
    );
  });
}
