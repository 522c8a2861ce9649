/**
 * Reading ipamd's answers, shared by the Node client and the plugin's Bun
 * path. Imports nothing at run time: the plugin loads it on every pod ADD.
 */

import type { ErrorCode, ExhaustionLimit, Op, ResultOf } from './protocol.ts';

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

/** What a failed connect means: a full listen queue is `busy`, no listener `unreachable`. */
export function connectErrorCode(code: string | undefined): IpamdCallErrorCode {
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

/** The result of the first answer line, or the failure it reports (one request per connection, id 1). */
export function settleAnswer<O extends Op>(line: string, socketPath: string): { result: ResultOf<O> } | { failure: IpamdCallError } {
  let response: WireAnswer;
  try {
    response = JSON.parse(line) as WireAnswer;
  } catch {
    return { failure: new IpamdCallError('protocol', `ipamd sent an answer that is not JSON (${socketPath})`) };
  }
  if (response?.ok === true && response.id === 1 && typeof response.result === 'object' && response.result !== null) {
    return { result: response.result as ResultOf<O> };
  }
  if (response?.ok === false && typeof response.error?.code === 'string') {
    const { code, message, limit } = response.error;
    return {
      failure: new IpamdCallError(code as ErrorCode, typeof message === 'string' ? message : code, typeof limit === 'string' ? (limit as ExhaustionLimit) : undefined),
    };
  }
  return { failure: new IpamdCallError('protocol', `ipamd sent a malformed answer (${socketPath})`) };
}
