import { z } from 'zod';
import type { FaceRequest, FaceResponse } from './faces/face.ts';
import { jsonAnswer } from './http.ts';
import type { CloudModel } from './model/cloud.ts';
import type { FaultInjector } from './realism/faults.ts';
import { faultSchema, realismSchema, type RealismInput, type RealismSettings } from './realism/settings.ts';

/** What the introspection endpoint reads and changes. */
export interface ControlTarget {
  readonly model: CloudModel;
  readonly faults: FaultInjector;
  readonly realism: RealismSettings;
  configure(partial: RealismInput): RealismSettings;
}

/**
 * The emulator's own endpoints under /_emulator/: the model's state, the
 * realism knobs, and fault injection. Not a cloud's API: no latency, no
 * throttling, answers in plain JSON.
 */
export async function answerControl(target: ControlTarget, request: FaceRequest): Promise<FaceResponse> {
  const { method } = request;
  const path = request.url.pathname;
  const parseJson = async (): Promise<unknown> => {
    try {
      return JSON.parse((await request.body()) || '{}');
    } catch {
      throw new z.ZodError([{ code: 'custom', path: [], message: 'body is not valid JSON', input: undefined }]);
    }
  };
  try {
    if (path === '/_emulator/state' && method === 'GET') {
      return jsonAnswer(200, { ...target.model.snapshot(), realism: target.realism, pendingFaults: target.faults.pending() });
    }
    if (path === '/_emulator/settings' && method === 'GET') return jsonAnswer(200, target.realism);
    if (path === '/_emulator/settings' && (method === 'PUT' || method === 'POST')) {
      const body = await parseJson();
      const parsed = realismSchema.partial().parse(body);
      // partial() still fills in defaults: keep only the knobs the caller named.
      const given = Object.fromEntries(Object.entries(parsed).filter(([key]) => Object.hasOwn(body as object, key)));
      return jsonAnswer(200, target.configure(given as RealismInput));
    }
    if (path === '/_emulator/faults' && method === 'POST') {
      const fault = faultSchema.parse(await parseJson());
      target.faults.failNext(fault.action, fault.count, { code: fault.code, message: fault.message, ...(fault.status ? { status: fault.status } : {}) });
      return jsonAnswer(200, target.faults.pending());
    }
    if (path === '/_emulator/faults' && method === 'DELETE') {
      target.faults.clear();
      return jsonAnswer(200, {});
    }
  } catch (err) {
    if (err instanceof z.ZodError) return jsonAnswer(400, { error: 'invalid request', issues: err.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`) });
    throw err;
  }
  return jsonAnswer(404, { error: `no such endpoint: ${method} ${path}` });
}
