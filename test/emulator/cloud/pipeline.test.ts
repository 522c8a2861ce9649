import { describe, expect, it } from 'vitest';
import type { Face, FaceCall, FaceContext, FaceOutcome, FaceRequest, FaceResponse } from '../../../emulator/cloud/faces/face.ts';
import { CloudModel } from '../../../emulator/cloud/model/cloud.ts';
import { answerThrough, type CallRealism } from '../../../emulator/cloud/pipeline.ts';
import { FaultInjector } from '../../../emulator/cloud/realism/faults.ts';
import { Throttler } from '../../../emulator/cloud/realism/throttle.ts';

const clock = { now: () => 0 };
const context: FaceContext = { model: new CloudModel({ catalog: new Map(), clock }), clock, remainingTokens: () => 0 };
const request: FaceRequest = { method: 'POST', url: new URL('http://emulator/'), headers: {}, body: async () => '' };
const answer = (status: number, body: string): FaceResponse => ({ status, headers: {}, body });

/** A face whose one action runs `run`, and whose error document names what failed. */
function fakeFace(run: () => Promise<FaceResponse>, outcome?: FaceOutcome): Face {
  const call: FaceCall = {
    action: 'Poke',
    throttle: { key: 'fake:Poke', bucket: { capacity: 1, refillPerSecond: 1 } },
    errors: {
      throttled: (retryAfterMs) => answer(429, `throttled ${retryAfterMs}`),
      fault: (fault) => answer(fault.status ?? 500, `fault ${fault.code}`),
      failed: (err) => answer(500, `failed ${(err as Error).message}`),
    },
    run,
  };
  return { matches: () => true, handle: () => outcome ?? { call } };
}

function realism(latencyMs = 0): CallRealism {
  return { latencyMs: () => latencyMs, throttler: new Throttler(clock, true), faults: new FaultInjector() };
}

describe('the shared face pipeline', () => {
  it('runs an accepted call and answers with what it renders', async () => {
    expect(await answerThrough(fakeFace(async () => answer(200, 'ok')), request, context, realism())).toEqual(answer(200, 'ok'));
  });

  it("answers a face's refusal as it stands, without metering it", async () => {
    const knobs = realism();
    knobs.faults.failNext('Poke', 1, { code: 'Boom', message: 'boom' });
    const face = fakeFace(async () => answer(200, 'ok'), { answer: answer(400, 'refused') });
    expect(await answerThrough(face, request, context, knobs)).toEqual(answer(400, 'refused'));
    expect(knobs.faults.pending()).toEqual({ Poke: 1 });
  });

  it("throttles through the call's bucket and words it in the face's error document", async () => {
    const knobs = realism();
    const face = fakeFace(async () => answer(200, 'ok'));
    expect((await answerThrough(face, request, context, knobs)).status).toBe(200);
    expect(await answerThrough(face, request, context, knobs)).toEqual(answer(429, 'throttled 1000'));
  });

  it('answers an injected fault instead of running the action, once per queued fault', async () => {
    const knobs = realism();
    knobs.throttler.enabled = false;
    knobs.faults.failNext('Poke', 1, { code: 'Boom', message: 'boom', status: 503 });
    let runs = 0;
    const face = fakeFace(async () => answer(200, `run ${++runs}`));
    expect(await answerThrough(face, request, context, knobs)).toEqual(answer(503, 'fault Boom'));
    expect(await answerThrough(face, request, context, knobs)).toEqual(answer(200, 'run 1'));
  });

  it("renders what the action throws through the face's error document", async () => {
    const face = fakeFace(async () => {
      throw new Error('no such thing');
    });
    expect(await answerThrough(face, request, context, realism())).toEqual(answer(500, 'failed no such thing'));
  });

  it("waits the action's latency before answering", async () => {
    const started = Date.now();
    await answerThrough(fakeFace(async () => answer(200, 'ok')), request, context, realism(40));
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('tells its observer when an accepted call arrives and how it was answered, and nothing of a refused one', async () => {
    const events: unknown[] = [];
    const knobs = { ...realism(), observe: (event: unknown) => events.push(event) };
    knobs.throttler.enabled = false;
    knobs.faults.failNext('Poke', 1, { code: 'Boom', message: 'boom', status: 503 });
    const face = fakeFace(async () => answer(200, 'ok'));
    await answerThrough(face, request, context, knobs);
    await answerThrough(face, request, context, knobs);
    await answerThrough(fakeFace(async () => answer(200, 'ok'), { answer: answer(400, 'refused') }), request, context, knobs);
    expect(events).toEqual([
      { action: 'Poke', stage: 'received' },
      { action: 'Poke', stage: 'answered', status: 503 },
      { action: 'Poke', stage: 'received' },
      { action: 'Poke', stage: 'answered', status: 200 },
    ]);
  });
});
