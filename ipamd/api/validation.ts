/**
 * Server-side validation of requests (the wire format is wire/protocol.ts):
 * zod schemas per op, and the messages an `invalid-request` answer carries.
 * The plugin never loads this: it checks what it sends with wire/identifiers.ts.
 */
import { z } from 'zod';
import { CONTAINER_ID_PATTERN, ifNameProblem, MAX_CONTAINER_ID } from '../../wire/identifiers.ts';
import { OPS, type Op, type ParamsOf, type Request } from '../../wire/protocol.ts';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

const containerIdSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(MAX_CONTAINER_ID, { error: `must be at most ${MAX_CONTAINER_ID} characters` })
  .regex(CONTAINER_ID_PATTERN, { error: 'must start with a letter or digit and contain only [A-Za-z0-9_.-]' });

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
