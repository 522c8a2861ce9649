/**
 * Reading ipamd's answers, shared by the Node client and the plugin's Bun
 * path. Imports nothing but errors.ts at run time: the plugin loads it on
 * every pod ADD.
 */
import { IpamError, type IpamErrorCode } from './errors.ts';
import type { ErrorCode, ExhaustionLimit, Op, ResultOf } from './protocol.ts';

/** What a failed connect means: a full listen queue is `busy`, no listener `unreachable`. */
export function connectErrorCode(code: string | undefined): IpamErrorCode {
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
export function settleAnswer<O extends Op>(line: string, socketPath: string): { result: ResultOf<O> } | { failure: IpamError } {
  let response: WireAnswer;
  try {
    response = JSON.parse(line) as WireAnswer;
  } catch {
    return { failure: new IpamError('protocol', `ipamd sent an answer that is not JSON (${socketPath})`) };
  }
  if (response?.ok === true && response.id === 1 && typeof response.result === 'object' && response.result !== null) {
    return { result: response.result as ResultOf<O> };
  }
  if (response?.ok === false && typeof response.error?.code === 'string') {
    const { code, message, limit } = response.error;
    return {
      failure: new IpamError(code as ErrorCode, typeof message === 'string' ? message : code, typeof limit === 'string' ? (limit as ExhaustionLimit) : undefined),
    };
  }
  return { failure: new IpamError('protocol', `ipamd sent a malformed answer (${socketPath})`) };
}
