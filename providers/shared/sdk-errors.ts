import { CloudError, type CloudErrorKind, type CloudLimit } from '../errors.ts';

/** What one of a cloud's error codes means to ipamd. */
export interface ErrorClass {
  kind: CloudErrorKind;
  limit?: CloudLimit;
}

/** A cloud's own error codes and what they mean. */
export type CodeTable = Readonly<Record<string, ErrorClass>>;

/** A limit says the kind too: a full subnet, or a limit of the instance or account. */
const kindOfLimit: Record<CloudLimit, 'limit-exceeded' | 'subnet-full'> = {
  'interfaces-per-instance': 'limit-exceeded',
  'addresses-per-interface': 'limit-exceeded',
  'account-quota': 'limit-exceeded',
  'subnet-addresses': 'subnet-full',
  'subnet-prefixes': 'subnet-full',
};

/** What a code means: a kind, or for the kinds that name one, the limit that was hit. */
export type CodeMeaning = Exclude<CloudErrorKind, 'limit-exceeded' | 'subnet-full'> | CloudLimit;

/** Each adapter's data, written as the codes of each meaning, turned into a lookup by code. */
export function codeTable(codes: Partial<Record<CodeMeaning, readonly string[]>>): CodeTable {
  const table: Record<string, ErrorClass> = {};
  for (const [meaning, list] of Object.entries(codes) as Array<[CodeMeaning, readonly string[]]>) {
    const errorClass: ErrorClass = meaning in kindOfLimit ? { kind: kindOfLimit[meaning as CloudLimit], limit: meaning as CloudLimit } : { kind: meaning as CloudErrorKind };
    for (const code of list) table[code] = errorClass;
  }
  return table;
}

/** The fields every SDK's error may carry; each adapter's shape adds its SDK's own. */
export interface ThrownShape {
  name?: string;
  message?: string;
  code?: string;
}

/** What an adapter reads off its SDK's error. */
export interface SdkFailure {
  /** The cloud's own code, kept for logs and metrics. */
  code: string;
  httpStatus: number | undefined;
  /** The cloud's message, after `<operation>: ` in the CloudError's. */
  detail: string;
  class: ErrorClass;
  retryAfterMs?: number | undefined;
}

/**
 * The skeleton of every adapter's error mapping: a CloudError passes
 * through as it is; anything else is read by the adapter (`read` sees the
 * thrown value as its SDK's error shape, every field optional) and becomes a
 * CloudError that keeps the cloud's code and the original as its cause.
 */
export function mapSdkError<Shape extends object>(err: unknown, operation: string, read: (shape: Shape) => SdkFailure): CloudError {
  if (err instanceof CloudError) return err;
  const failure = read((typeof err === 'object' && err !== null ? err : {}) as Shape);
  return new CloudError({
    kind: failure.class.kind,
    code: failure.code,
    message: `${operation}: ${failure.detail}`,
    operation,
    ...(failure.class.limit ? { limit: failure.class.limit } : {}),
    ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
    ...(failure.httpStatus === undefined ? {} : { httpStatus: failure.httpStatus }),
    cause: err,
  });
}

/** Codes Node and the SDKs give a request that got no answer (refused, reset, timed out). */
const noAnswerCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'ReadTimeout', 'ConnectTimeout']);

/**
 * The rule every adapter shares for what its cloud's codes do not name: no
 * answer at all (a network error, or no HTTP status) or a server error is
 * worth retrying.
 */
export function isTransientFailure(code: string, httpStatus: number | undefined): boolean {
  return noAnswerCodes.has(code) || httpStatus === undefined || httpStatus >= 500;
}

/**
 * The first class the cloud's own rules give (in the order given; a rule that
 * does not apply is undefined or false), else the shared rule: no answer or a
 * server error is transient, anything else a request the cloud refused.
 */
export function classify(code: string, httpStatus: number | undefined, rules: ReadonlyArray<ErrorClass | undefined | false>): ErrorClass {
  for (const rule of rules) if (rule) return rule;
  return isTransientFailure(code, httpStatus) ? { kind: 'transient' } : { kind: 'invalid-request' };
}

/** AWS's and ECS's `<Thing>.NotFound` codes. */
export const notFoundBySuffix = (code: string): ErrorClass | undefined => (code.endsWith('.NotFound') ? { kind: 'not-found' } : undefined);
