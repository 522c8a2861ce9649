import type { IncomingHttpHeaders } from 'node:http';
import type { Clock, CloudModel } from '../model/cloud.ts';
import type { Fault } from '../realism/faults.ts';
import type { BucketSpec } from '../realism/throttle.ts';

/**
 * What every face of the emulated cloud is: it owns some requests (by host,
 * path or headers) and answers them. The server finds the face and runs the
 * shared pipeline (latency, throttling, faults, the action, the cloud's error
 * document: see ../pipeline.ts); a face only reads requests and words answers.
 */

/** An HTTP request as the faces see it. */
export interface FaceRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** The body, read once on first call; rejects with BodyTooLarge past the emulator's limit. */
  body(): Promise<string>;
}

export interface FaceResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What the server lends a face for one request. */
export interface FaceContext {
  model: CloudModel;
  clock: Clock;
  /** Tokens left in a throttle bucket, for the clouds that report them in headers. */
  remainingTokens(key: string, bucket: BucketSpec): number;
}

/**
 * A failure of the pipeline in one cloud's words. Built per request, since
 * error documents carry the request's id.
 */
export interface ErrorDocument {
  /** The throttle bucket was empty. */
  throttled(retryAfterMs: number): FaceResponse;
  /** A fault injected through /_emulator/faults. */
  fault(fault: Fault): FaceResponse;
  /** Whatever the action threw (model errors, the face's own parameter errors, bugs). */
  failed(err: unknown): FaceResponse;
}

/** One API call a face has read and accepted: what the pipeline meters, and how to run it. */
export interface FaceCall {
  /** The action latency and faults are keyed by: EC2's and ECS's Action, ARM's operation id. */
  action: string;
  /** The token bucket the call draws from. */
  throttle: { key: string; bucket: BucketSpec };
  errors: ErrorDocument;
  /** Runs the action against the model and renders the cloud's success answer. */
  run(): Promise<FaceResponse>;
}

/**
 * What a face makes of a request: a call for the pipeline, or an answer
 * right away (a request the cloud refuses before it counts as a call, or a
 * metadata service, which is neither metered nor throttled).
 */
export type FaceOutcome = { call: FaceCall } | { answer: FaceResponse };

export interface Face {
  /** Whether this face owns the request; the server asks the faces in order and the first one that does answers. */
  matches(request: FaceRequest): boolean;
  handle(request: FaceRequest, context: FaceContext): Promise<FaceOutcome> | FaceOutcome;
}

/** A request body larger than the emulator reads. */
export class BodyTooLarge extends Error {
  constructor() {
    super('request body too large');
    this.name = 'BodyTooLarge';
  }
}

/** The first value of a header (Node gives repeated ones as an array). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
