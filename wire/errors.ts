/**
 * The one error of the wire contract, on both ends of the socket. Imports
 * nothing at run time: the plugin loads it on every pod ADD.
 */
import type { ErrorCode, ExhaustionLimit } from './protocol.ts';

/** Codes only a client can tell: no socket or refused (`unreachable`), no answer in time (`timeout`), no or garbled answer (`protocol`). */
export const CLIENT_ERROR_CODES = ['unreachable', 'timeout', 'protocol'] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];
export type IpamErrorCode = ErrorCode | ClientErrorCode;

/**
 * An ipamd error with a stable code. The service throws it to answer with
 * that code (for `exhausted`, with `limit`: the server appends
 * "(limit: <limit>)" to a message that does not already name it); the client
 * rejects with it, carrying the server's answer or a code of its own.
 */
export class IpamError extends Error {
  override readonly name = 'IpamError';

  constructor(
    readonly code: IpamErrorCode,
    message: string,
    readonly limit?: ExhaustionLimit,
  ) {
    super(message);
  }
}

/** Whether ipamd may answer with this code (the client's own codes never go on the wire). */
export function isServerErrorCode(code: IpamErrorCode): code is ErrorCode {
  return !(CLIENT_ERROR_CODES as readonly string[]).includes(code);
}
