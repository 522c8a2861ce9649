import type { OpLine } from './ops.ts';

/**
 * Between ipamd and its netlink helper: one JSON object per line on the
 * helper's stdin and stdout, answered in order.
 */

/** Lines to run in one namespace (absent: the helper's own, which is ipamd's). */
export interface Segment {
  netns?: string;
  lines: OpLine[];
}

export interface HelperRequest {
  id: number;
  /** Run in order; a segment with a failure that its line does not tolerate ends the request. */
  segments: Segment[];
}

/** What became of one segment. */
export interface SegmentResult {
  /** 1-based line -> message, for the lines that failed (as ip prints them). */
  failures?: Array<[number, string]>;
  /** Nothing of the segment ran: its namespace could not be entered. */
  error?: string;
}

export interface HelperReply {
  id: number;
  /** One per segment that ran, the failing one last. */
  results?: SegmentResult[];
  /** The request was malformed: nothing ran. */
  error?: string;
}

/** The argument that makes the plugin executable serve as ipamd's netlink helper. */
export const helperArgument = 'netlink-helper';
