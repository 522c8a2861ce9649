/**
 * The pending-release record: what the plugin's DEL leaves when ipamd cannot
 * take the release (unreachable, not ready, busy, timed out), and ipamd
 * finishes later (on start and periodically). The plugin writes it
 * (cni/pending-release.ts), ipamd reads it (ipamd/pending-releases.ts).
 *
 *   directory  `pendingDir` of the plugin's config (default
 *              /var/run/vpc-cni/pending-del), created with mode 0700
 *   name       `<attachmentDigest>.json`, the sha1 hex of
 *              "network/containerId/ifName": one file per attachment, so a
 *              repeated DEL rewrites the same file; only names ending in
 *              .json are records
 *   content    one JSON object and a newline, mode 0600:
 *                {"network":"vpc-cni","containerId":"<CNI_CONTAINERID>","ifName":"eth0","at":"<ISO 8601 time of the DEL>"}
 *              network, containerId and ifName are required strings; `at`
 *              is for people and not checked
 *   meaning    "this attachment was deleted by the runtime": ipamd finishes
 *              it as a DEL of that key (tears the pod network down, releases
 *              the address; both idempotent), then removes the file. A file
 *              that is not a record is left for a person to look at.
 *   writing    atomically: a temporary `.<digest>.<pid>.tmp` (never ending in
 *              .json, so a reader never sees half a record) is written and
 *              fsync-ed, renamed into place, and the directory fsync-ed, so
 *              the record survives a crash or power loss as soon as DEL has
 *              exited 0.
 */
import { attachmentDigest } from './names.ts';
import type { AllocationKey } from './protocol.ts';

export const PENDING_DIR_MODE = 0o700;
export const PENDING_FILE_MODE = 0o600;
const RECORD_SUFFIX = '.json';

export interface PendingRelease extends AllocationKey {
  /** When the DEL happened (ISO 8601), as written; undefined when the file has none. */
  at?: string;
}

export function pendingFileName(key: AllocationKey): string {
  return `${attachmentDigest(key)}${RECORD_SUFFIX}`;
}

/** Where a writer puts the record before renaming it into place. */
export function pendingTemporaryName(key: AllocationKey, pid: number): string {
  return `.${attachmentDigest(key)}.${pid}.tmp`;
}

/** Whether a directory entry is a record (temporaries and anything else are not). */
export function isPendingFileName(name: string): boolean {
  return name.endsWith(RECORD_SUFFIX);
}

/** The file's whole content for a DEL of `key` at `at`. */
export function formatPendingRelease(key: AllocationKey, at: Date): string {
  return `${JSON.stringify({ network: key.network, containerId: key.containerId, ifName: key.ifName, at: at.toISOString() })}\n`;
}

export type PendingReleaseParse =
  | { ok: true; release: PendingRelease }
  /** `not-json`: the text does not parse (message: the parser's); `incomplete`: a required field is missing or not a string. */
  | { ok: false; problem: 'not-json' | 'incomplete'; message: string };

/** Reads a record's text; the file format above, checked by hand (the plugin side stays free of zod). */
export function parsePendingRelease(text: string): PendingReleaseParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: 'not-json', message: (err as Error).message };
  }
  const fields = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const { network, containerId, ifName, at } = fields;
  if (typeof network !== 'string' || typeof containerId !== 'string' || typeof ifName !== 'string') {
    return { ok: false, problem: 'incomplete', message: 'network, containerId and ifName must be strings' };
  }
  return { ok: true, release: { network, containerId, ifName, ...(typeof at === 'string' ? { at } : {}) } };
}
