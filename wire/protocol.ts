/**
 * The wire protocol between the CNI plugin and ipamd.
 *
 * Transport: a unix stream socket; each message is one line of JSON ending in
 * "\n" (UTF-8, at most MAX_LINE_BYTES including the newline). A client sends
 *   {"id":1,"op":"add","params":{...}}
 * and gets back, on the same connection,
 *   {"id":1,"ok":true,"result":{...}}   or
 *   {"id":1,"ok":false,"error":{"code":"exhausted","message":"...","limit":"max-eni"}}
 * The plugin sends one request per connection; several requests may be
 * pipelined on one connection, and their responses then come back in
 * completion order, matched by `id`. A response to a line that could not be
 * parsed far enough to find its id carries "id": null.
 *
 * The types in this file are shared with the client (type-only imports: they
 * cost nothing at run time). The zod schemas are for the server only.
 */
import { z } from 'zod';
import { ifNameProblem } from './ifname.ts';

export { ifNameProblem };

/** Longest accepted request line in bytes, the newline included. */
export const MAX_LINE_BYTES = 64 * 1024;

export const OPS = ['add', 'del', 'check', 'status', 'gc'] as const;
export type Op = (typeof OPS)[number];

export const ERROR_CODES = ['invalid-request', 'not-ready', 'exhausted', 'not-found', 'check-failed', 'busy', 'internal'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

// ---------------------------------------------------------------------------
// Requests and results

/** The idempotency key of an allocation, as in the CNI spec's attachment identity. */
export interface AllocationKey {
  network: string;
  containerId: string;
  ifName: string;
}

/** Why the pool cannot grow: the limit a refused ADD names. */
export type ExhaustionLimit = 'max-eni' | 'interfaces-per-instance' | 'addresses-per-interface' | 'subnet-addresses' | 'no-hot-attach';

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface AddParams {
  key: AllocationKey;
  /** The pod's network namespace (CNI_NETNS): an absolute path. */
  netns: string;
  pod?: PodRef;
}

export interface AddResult {
  /** The pod's address with its prefix length, e.g. "10.0.16.5/32". */
  address: string;
  /** The bare address, e.g. "10.0.16.5". */
  ip: string;
  /** The cloud interface (ENI/NIC) that owns the address. */
  interfaceId: string;
  /** Its device index on the node (0 = the primary interface). */
  deviceIndex: number;
  /** MAC address of that interface. */
  mac: string;
  /** CIDR of that interface's subnet, e.g. "10.0.16.0/20". */
  subnetCidr: string;
  /** The subnet's gateway, when known. */
  gateway?: string;
  /** The host end of the pod's veth (listed without sandbox in the CNI result). */
  hostInterface: { name: string; mac: string };
  /** The pod's interface inside its network namespace. */
  podInterface: { name: string; mac: string };
  /** MTU of the pod's interface. */
  mtu: number;
  /** The link-local next hop the pod routes everything through (169.254.1.1). */
  podGateway: string;
}

export interface DelParams {
  key: AllocationKey;
  /** CNI_NETNS, possibly empty: DEL must work when the namespace is gone. */
  netns?: string;
}

/** DEL answers an empty object, also when nothing was allocated. */
export type DelResult = Record<string, never>;

export interface CheckParams {
  key: AllocationKey;
  netns?: string;
  /** What the runtime holds from ADD (prevResult): compared with the live state. */
  expected?: { address: string; hostInterface?: string };
}

export interface CheckResult {
  address: string;
  interfaceId: string;
}

export type StatusParams = Record<string, never>;

export interface StatusResult {
  /** True when an ADD can be served now. */
  ready: boolean;
  /** Why not, when not ready. */
  reason?: string;
  /** Addresses handed out to pods. */
  assigned?: number;
  /** Addresses ready to hand out without a cloud call. */
  available?: number;
}

export interface Attachment {
  containerId: string;
  ifName: string;
}

export interface GcParams {
  network: string;
  /** Every attachment that must be kept; all others on `network` are released. */
  validAttachments: Attachment[];
}

export interface GcResult {
  released: number;
}

/** Params and result of every op. */
export interface OpMap {
  add: { params: AddParams; result: AddResult };
  del: { params: DelParams; result: DelResult };
  check: { params: CheckParams; result: CheckResult };
  status: { params: StatusParams; result: StatusResult };
  gc: { params: GcParams; result: GcResult };
}
export type ParamsOf<O extends Op> = OpMap[O]['params'];
export type ResultOf<O extends Op> = OpMap[O]['result'];

// ---------------------------------------------------------------------------
// Envelopes

export interface Request<O extends Op = Op> {
  id: number;
  op: O;
  params: ParamsOf<O>;
}

export interface WireError {
  code: ErrorCode;
  message: string;
  /** For `exhausted`: which limit was hit. */
  limit?: ExhaustionLimit;
}

export type Response =
  | { id: number | null; ok: true; result: unknown }
  | { id: number | null; ok: false; error: WireError };

// ---------------------------------------------------------------------------
// The service the server fronts

/** Per-request context handed to the service. */
export interface RequestContext {
  /**
   * Aborted when the request timed out, its client went away, or the server
   * is shutting down. Advisory: the answer is dropped either way, but a
   * service may stop early when that is safe.
   */
  signal: AbortSignal;
}

/**
 * What ipamd implements behind the socket. Methods may throw IpamError to
 * answer with a specific code; anything else becomes `internal`.
 * The server guarantees that add/del/check for one containerId never overlap,
 * that gc overlaps with nothing but status, and that params are validated.
 */
export interface IpamService {
  add(params: AddParams, ctx: RequestContext): Promise<AddResult>;
  /** Idempotent: succeeds when nothing is allocated for the key. */
  del(params: DelParams, ctx: RequestContext): Promise<void>;
  /** Throws IpamError('not-found') when nothing is allocated for the key. */
  check(params: CheckParams, ctx: RequestContext): Promise<CheckResult>;
  status(ctx: RequestContext): Promise<StatusResult>;
  gc(params: GcParams, ctx: RequestContext): Promise<GcResult>;
}

/**
 * An error the service means to show to the plugin, with a stable code.
 * For `exhausted`, pass `limit`; the server appends "(limit: <limit>)" to a
 * message that does not already name it.
 */
export class IpamError extends Error {
  override readonly name = 'IpamError';
  readonly code: ErrorCode;
  readonly limit: ExhaustionLimit | undefined;

  constructor(code: ErrorCode, message: string, limit?: ExhaustionLimit) {
    super(message);
    this.code = code;
    this.limit = limit;
  }
}

// ---------------------------------------------------------------------------
// Validation (server side)

/** CNI spec: alphanumeric start, then [A-Za-z0-9_.-]. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

const containerIdSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(256, { error: 'must be at most 256 characters' })
  .regex(CONTAINER_ID, { error: 'must start with a letter or digit and contain only [A-Za-z0-9_.-]' });

const ifNameSchema = z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
  const problem = ifNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const networkSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(128, { error: 'must be at most 128 characters' })
  .regex(PRINTABLE_ASCII, { error: 'must contain only printable ASCII characters' });

const netnsSchema = z
  .string({ error: 'must be a string' })
  .max(4096, { error: 'must be at most 4096 characters' })
  .refine((s) => s === '' || s.startsWith('/'), { error: 'must be an absolute path or empty' })
  .refine((s) => !CONTROL.test(s), { error: 'must not contain control characters' });

const requiredNetnsSchema = netnsSchema.refine((s) => s !== '', { error: 'must be an absolute path' });

function boundedToken(max: number) {
  return z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` })
    .regex(VISIBLE_ASCII, { error: 'must contain only visible ASCII characters' });
}

const keySchema = z.strictObject(
  { network: networkSchema, containerId: containerIdSchema, ifName: ifNameSchema },
  { error: 'must be an object {network, containerId, ifName}' },
);

const podSchema = z.strictObject(
  { namespace: boundedToken(63), name: boundedToken(253), uid: boundedToken(128) },
  { error: 'must be an object {namespace, name, uid}' },
);

const attachmentSchema = z.strictObject(
  { containerId: containerIdSchema, ifName: ifNameSchema },
  { error: 'must be an object {containerId, ifName}' },
);

const paramsError = { error: 'must be an object' };

/** One schema per op, for `params`. */
export const paramsSchemas = {
  add: z.strictObject({ key: keySchema, netns: requiredNetnsSchema, pod: podSchema.optional() }, paramsError),
  del: z.strictObject({ key: keySchema, netns: netnsSchema.optional() }, paramsError),
  check: z.strictObject(
    {
      key: keySchema,
      netns: netnsSchema.optional(),
      expected: z
        .strictObject(
          {
            address: z.string({ error: 'must be a string' }).max(64, { error: 'must be at most 64 characters' }),
            hostInterface: ifNameSchema.optional(),
          },
          { error: 'must be an object {address, hostInterface?}' },
        )
        .optional(),
    },
    paramsError,
  ),
  status: z.strictObject({}, paramsError),
  gc: z.strictObject(
    {
      network: networkSchema,
      validAttachments: z.array(attachmentSchema, { error: 'must be an array' }).max(100_000, { error: 'too many entries' }),
    },
    paramsError,
  ),
} satisfies { [O in Op]: z.ZodType<ParamsOf<O>> };

export type ParseOutcome =
  | { ok: true; request: Request }
  | { ok: false; id: number | null; message: string };

function isOp(value: unknown): value is Op {
  return typeof value === 'string' && (OPS as readonly string[]).includes(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 5).map((issue) => {
    const where = ['params', ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') return `${where}: unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    return `${where}: ${issue.message}`;
  });
  if (issues.length > shown.length) shown.push(`and ${issues.length - shown.length} more`);
  return shown.join('; ');
}

/**
 * Validate one decoded JSON value as a request. The message of a failure
 * names the problem; `id` is the request's id when it could be read.
 */
export function parseRequest(value: unknown): ParseOutcome {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, id: null, message: `request must be a JSON object, got ${describeType(value)}` };
  }
  const raw = value as Record<string, unknown>;
  const id = raw.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    return { ok: false, id: null, message: '"id" must be a non-negative integer' };
  }
  const unknownFields = Object.keys(raw).filter((k) => k !== 'id' && k !== 'op' && k !== 'params');
  if (unknownFields.length > 0) {
    return { ok: false, id, message: `unknown request field(s) ${unknownFields.map((k) => JSON.stringify(k)).join(', ')}` };
  }
  const op = raw.op;
  if (!isOp(op)) {
    const got = typeof op === 'string' ? JSON.stringify(op.slice(0, 32)) : describeType(op);
    return { ok: false, id, message: `unknown op ${got}; expected one of ${OPS.join(', ')}` };
  }
  const params = raw.params === undefined && op === 'status' ? {} : raw.params;
  const parsed = paramsSchemas[op].safeParse(params);
  if (!parsed.success) return { ok: false, id, message: `invalid ${op} request: ${formatIssues(parsed.error.issues)}` };
  return { ok: true, request: { id, op, params: parsed.data } as Request };
}
