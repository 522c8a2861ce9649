import type { Face, FaceCall, FaceContext, FaceRequest, FaceResponse } from './faces/face.ts';
import type { FaultInjector } from './realism/faults.ts';
import type { Throttler } from './realism/throttle.ts';

/** The realism every API call goes through, whichever cloud's face it came in by. */
export interface CallRealism {
  latencyMs(action: string): number;
  throttler: Throttler;
  faults: FaultInjector;
  /** Hears each accepted call when it arrives and when it is answered (the torture times its kills by it). */
  observe?(event: CallEvent): void;
}

/** An accepted API call: `received` before its latency, `answered` once it ran, was throttled or failed. */
export type CallEvent = { action: string; stage: 'received' } | { action: string; stage: 'answered'; status: number };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one pipeline behind every face: the face reads the request; a call it
 * accepts waits its latency, draws from its throttle bucket, takes an
 * injected fault if one is queued, then runs; every failure on the way is
 * answered in the face's own error document.
 */
export async function answerThrough(face: Face, request: FaceRequest, context: FaceContext, realism: CallRealism): Promise<FaceResponse> {
  const outcome = await face.handle(request, context);
  if ('answer' in outcome) return outcome.answer;
  const { call } = outcome;
  realism.observe?.({ action: call.action, stage: 'received' });
  const response = await metered(call, realism);
  realism.observe?.({ action: call.action, stage: 'answered', status: response.status });
  return response;
}

async function metered(call: FaceCall, realism: CallRealism): Promise<FaceResponse> {
  const delay = realism.latencyMs(call.action);
  if (delay > 0) await sleep(delay);
  try {
    const throttled = realism.throttler.check(call.throttle.key, call.throttle.bucket);
    if (throttled) return call.errors.throttled(throttled.retryAfterMs);
    const fault = realism.faults.take(call.action);
    if (fault) return call.errors.fault(fault);
    return await call.run();
  } catch (err) {
    return call.errors.failed(err);
  }
}
