import { IpBatchError, ipBatch, namespaceArgs } from '../../lib/iproute.ts';
import { HelperError, type NetlinkHelperClient } from '../../lib/netlink/client.ts';
import { ipBatchLine, ipTokens, isTolerated, type OpLine } from '../../lib/netlink/ops.ts';
import type { Segment } from '../../lib/netlink/protocol.ts';

export type { Segment };

/**
 * Who carries out a pod's link, address, route and rule steps: the netlink
 * helper (no exec per pod; the default where the plugin executable sits
 * beside ipamd) or `ip -batch` (one exec per segment). Both fail the same
 * way, with the same line numbers and messages, so the pod network above
 * them does not know which one it has.
 */
export interface LinkOps {
  readonly kind: 'netlink' | 'ip';
  /**
   * Runs the segments in order, each in its namespace. Rejects with
   * LinkOpsError at the first segment with a line that failed and does not
   * tolerate its failure; the segments after it do not run.
   */
  run(segments: Segment[]): Promise<void>;
  close(): Promise<void>;
}

export class LinkOpsError extends Error {
  constructor(
    message: string,
    /** Which segment failed (0-based). */
    readonly segment: number,
    readonly lines: OpLine[],
    /** 1-based line -> message, for the lines of that segment that failed. */
    readonly failures: Map<number, string>,
    /** The executor died during the request: any line of this segment or a later one may or may not have run. */
    readonly progressUnknown = false,
  ) {
    super(message);
    this.name = 'LinkOpsError';
  }

  /** The first line that failed; 0 when none ran (the namespace could not be entered) or progress is unknown. */
  get firstFailedLine(): number {
    return this.failures.size > 0 ? Math.min(...this.failures.keys()) : 0;
  }
}

function fatalFailure(lines: OpLine[], failures: Map<number, string>): string | undefined {
  const fatal = [...failures].find(([line, message]) => !isTolerated(lines[line - 1], message));
  if (!fatal) return undefined;
  const [line, message] = fatal;
  const op = lines[line - 1]?.op;
  return `line ${line} (${op ? ipTokens(op).join(' ') : '?'}): ${message}`;
}

export class IpLinkOps implements LinkOps {
  readonly kind = 'ip';

  async run(segments: Segment[]): Promise<void> {
    for (const [index, { netns, lines }] of segments.entries()) {
      try {
        await ipBatch(lines.map(ipBatchLine), netns === undefined ? {} : { namespace: namespaceArgs(netns) });
      } catch (err) {
        if (err instanceof IpBatchError) throw new LinkOpsError(err.message, index, lines, err.failures);
        throw err;
      }
    }
  }

  async close(): Promise<void> {}
}

export class NetlinkLinkOps implements LinkOps {
  readonly kind = 'netlink';

  constructor(private readonly helper: NetlinkHelperClient) {}

  async run(segments: Segment[]): Promise<void> {
    const work = segments.filter((segment) => segment.lines.length > 0);
    if (work.length === 0) return;
    let results;
    try {
      results = await this.helper.run(work);
    } catch (err) {
      if (err instanceof HelperError) throw new LinkOpsError(`netlink: ${err.message}`, segments.indexOf(work[0]!), work[0]!.lines, new Map(), err.progressUnknown);
      throw err;
    }
    for (const [position, result] of results.entries()) {
      const segment = work[position]!;
      const index = segments.indexOf(segment);
      const where = segment.netns ? ` in ${segment.netns}` : '';
      if (result.error !== undefined) throw new LinkOpsError(`netlink${where}: ${result.error}`, index, segment.lines, new Map());
      const failures = new Map(result.failures ?? []);
      const fatal = fatalFailure(segment.lines, failures);
      if (fatal) throw new LinkOpsError(`netlink${where}: ${fatal}`, index, segment.lines, failures);
    }
    if (results.length < work.length) throw new LinkOpsError('netlink: the helper stopped before the last segment', segments.indexOf(work[results.length]!), [], new Map(), true);
  }

  close(): Promise<void> {
    return this.helper.close();
  }
}
