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
 * Both sides import this file; it holds types and a few constants only, so
 * the plugin pays nothing for it at run time. The server validates requests
 * against it with zod in ipamd/api/validation.ts; errors travel as IpamError
 * (errors.ts).
 */

/** Longest accepted request line in bytes, the newline included. */
export const MAX_LINE_BYTES = 64 * 1024;

export const OPS = ['add', 'del', 'check', 'status', 'gc'] as const;
export type Op = (typeof OPS)[number];

/** The codes ipamd answers with (`error.code`); errors.ts adds the client's own. */
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

/** The pod of an attachment, from CNI_ARGS: the plugin sends all three or none. */
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
  /**
   * Runs `wait` without this request's container lock, so that other requests
   * for the container run meanwhile, and takes the lock back before
   * returning. `overtaken`: a DEL of the same attachment ran during the wait,
   * so an ADD must allocate nothing. Absent where the request holds no lock.
   */
  unlocked?<T>(wait: () => Promise<T>): Promise<{ value: T } | { overtaken: true }>;
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
