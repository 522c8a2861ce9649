import { createInterface } from 'node:readline';
import { executeOps } from './execute.ts';
import { closeFd, LibcNetlink, NamespaceStuckError, socketIn } from './libc-system.ts';
import { isTolerated } from './ops.ts';
import type { HelperReply, HelperRequest, Segment, SegmentResult } from './protocol.ts';

/**
 * The netlink helper's loop (inside the bun-compiled executable, started by
 * ipamd with `helperArgument`): requests on stdin, replies on stdout, one at
 * a time. It ends when ipamd closes its stdin (ipamd stopped or died), so it
 * never outlives the daemon.
 */

/** Exit status when this thread is stranded in a pod's namespace: ipamd starts a fresh helper. */
const STRANDED = 70;

function isRequest(value: unknown): value is HelperRequest {
  if (typeof value !== 'object' || value === null) return false;
  const request = value as Partial<HelperRequest>;
  return (
    Number.isInteger(request.id) &&
    Array.isArray(request.segments) &&
    request.segments.every((segment: Partial<Segment>) => Array.isArray(segment.lines) && (segment.netns === undefined || typeof segment.netns === 'string'))
  );
}

function handle(request: HelperRequest, own: LibcNetlink): HelperReply {
  const results: SegmentResult[] = [];
  for (const segment of request.segments) {
    const result = runSegment(segment, own);
    results.push(result);
    const failed = result.error !== undefined || (result.failures ?? []).some(([line, message]) => !isTolerated(segment.lines[line - 1], message));
    if (failed) break;
  }
  return { id: request.id, results };
}

function runSegment(segment: Segment, own: LibcNetlink): SegmentResult {
  if (segment.netns === undefined) return { failures: [...executeOps(segment.lines, own)] };
  let fd: number;
  try {
    fd = socketIn(segment.netns);
  } catch (err) {
    if (err instanceof NamespaceStuckError) {
      process.stderr.write(`netlink helper: ${err.message}\n`);
      process.exit(STRANDED);
    }
    return { error: `cannot enter network namespace ${segment.netns}: ${(err as Error).message}` };
  }
  try {
    return { failures: [...executeOps(segment.lines, new LibcNetlink(fd))] };
  } finally {
    closeFd(fd);
  }
}

export async function serveNetlinkHelper(): Promise<void> {
  const own = new LibcNetlink(socketIn());
  process.stdout.on('error', () => process.exit(0)); // ipamd is gone
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!text.trim()) continue;
    let reply: HelperReply;
    try {
      const request: unknown = JSON.parse(text);
      reply = isRequest(request) ? handle(request, own) : { id: -1, error: 'malformed request' };
    } catch (err) {
      reply = { id: -1, error: `malformed request: ${(err as Error).message}` };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
  process.exit(0);
}
