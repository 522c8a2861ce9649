/**
 * CNI errors: what the plugin prints on stdout (where libcni reads it) with a
 * non-zero exit status, and how ipamd's answers map onto CNI codes.
 *
 * Codes 0-99 are the spec's well-known ones (3: ADD into a network namespace
 * that does not exist, nothing allocated); 100+ are ours:
 *   100  no address available (ipamd `exhausted`; the message names the limit)
 *   101  CHECK found the attachment differs from prevResult, or is unknown to ipamd
 *   102  any other error ipamd reported (invalid request, internal)
 *   999  a failure inside the plugin itself (libcni's "internal"; a bug)
 * Exit status is 1 for every error, as the reference plugins do.
 */
import type { IpamError } from '../wire/errors.ts';

export const Code = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  io: 5,
  decoding: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  exhausted: 100,
  checkFailed: 101,
  ipamd: 102,
} as const;

export class CniError extends Error {
  override readonly name = 'CniError';
  readonly code: number;
  readonly details: string | undefined;

  constructor(code: number, msg: string, details?: string) {
    super(msg);
    this.code = code;
    this.details = details;
  }
}

/** The error object of the spec, as one line of JSON. */
export function errorJson(cniVersion: string, err: CniError): string {
  const out: { cniVersion: string; code: number; msg: string; details?: string } = { cniVersion, code: err.code, msg: err.message };
  if (err.details) out.details = err.details;
  return JSON.stringify(out);
}

/** A value shown inside a message: JSON-quoted, and cut when long. */
export function show(value: string, max = 64): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value);
}

/** What a person can do about each exhaustion limit ipamd reports. */
const limitHints: Record<string, string> = {
  'max-eni': 'the node has as many interfaces as MAX_ENI allows: raise MAX_ENI on the ipamd DaemonSet, or schedule fewer pods on this node',
  'interfaces-per-instance': 'the instance type cannot take more interfaces: use a larger instance type or prefix mode, or schedule fewer pods on this node',
  'addresses-per-interface': 'every interface holds as many addresses as the instance type allows: use prefix mode or a larger instance type',
  'subnet-addresses': 'the subnet has no free address left: free addresses in the subnet or give ipamd more subnets',
  'no-hot-attach': 'this instance type cannot attach interfaces while running: stop and start it with more interfaces, or use a larger type',
};

/** Where ipamd is and how to look at it, for messages about it being away. */
function unreachableHint(socketPath: string): string {
  return `is the vpc-cni ipamd pod running on this node, and does it listen on ${socketPath}? See its log`;
}

/**
 * Map a failed ipamd call of ADD, CHECK or GC onto a CNI error.
 * Away or overloaded (`unreachable`, `timeout`, `protocol`: connection dropped
 * mid-call, `not-ready`, `busy`) is 11: the runtime retries later.
 */
export function fromIpamd(err: IpamError, op: string, socketPath: string): CniError {
  switch (err.code) {
    case 'unreachable':
    case 'timeout':
    case 'protocol':
      return new CniError(Code.tryAgainLater, `ipamd is not reachable, try again later: ${err.message}`, unreachableHint(socketPath));
    case 'not-ready':
      return new CniError(Code.tryAgainLater, `ipamd is not ready yet, try again later: ${err.message}`);
    case 'busy':
      return new CniError(Code.tryAgainLater, `ipamd is busy, try again later: ${err.message}`);
    case 'exhausted': {
      const limit = err.limit;
      const msg = limit && !err.message.includes(limit) ? `${err.message} (limit: ${limit})` : err.message;
      const text = /^no address available/i.test(msg) ? msg : `no address available: ${msg}`;
      return new CniError(Code.exhausted, text, limit ? limitHints[limit] : undefined);
    }
    case 'check-failed':
    case 'not-found':
      if (op === 'check') return new CniError(Code.checkFailed, `check failed: ${err.message}`);
      // ADD's not-found: the pod's namespace is not there, and nothing was allocated (the spec's "container unknown or does not exist").
      if (op === 'add' && err.code === 'not-found') return new CniError(Code.unknownContainer, err.message, 'the runtime passed a CNI_NETNS that does not exist (the pod sandbox is gone?)');
      return new CniError(Code.ipamd, `ipamd refused ${op}: ${err.message}`);
    default:
      return new CniError(Code.ipamd, `ipamd refused ${op} (${err.code}): ${err.message}`, 'see the ipamd log on this node');
  }
}
