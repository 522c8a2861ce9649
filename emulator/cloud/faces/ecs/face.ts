import { randomUUID } from 'node:crypto';
import { header, type Face, type FaceContext, type FaceOutcome, type FaceRequest } from '../face.ts';
import { ecsActions } from './actions.ts';
import { ecsError, ecsErrors } from './errors.ts';
import { RpcParams } from './params.ts';

const ecsVersion = '2014-05-26';

/**
 * The ECS RPC face (API version 2014-05-26): ACS3 requests carry the action
 * in `x-acs-action` and the parameters in the query; legacy (signature v2)
 * requests carry `Action` in the query. Parameters may also come as a form
 * body. Answers are JSON, PascalCase, with the list wrappers ECS uses. The
 * actions live in ./actions.ts (ENIs, vSwitches, types, tags) and
 * ./security-groups.ts (security groups and their rules).
 */
export class EcsFace implements Face {
  /** A call at / that names its action in x-acs-action or the query (EC2 Query names it only in its form body). */
  matches(request: FaceRequest): boolean {
    return request.url.pathname === '/' && (header(request.headers, 'x-acs-action') !== undefined || request.url.searchParams.has('Action'));
  }

  async handle(request: FaceRequest, context: FaceContext): Promise<FaceOutcome> {
    const body = await request.body();
    const requestId = randomUUID().toUpperCase();
    const host = header(request.headers, 'host') ?? 'ecs.aliyuncs.com';
    const refuse = (code: string, message: string, status: number): FaceOutcome => ({ answer: ecsError(requestId, host, code, message, status) });
    if (request.method !== 'GET' && request.method !== 'POST') return refuse('UnsupportedHTTPMethod', `The HTTP method ${request.method} is not supported; use GET or POST.`, 400);
    const entries: Array<[string, string]> = [...request.url.searchParams];
    const contentType = header(request.headers, 'content-type') ?? '';
    if (body !== '' && contentType.startsWith('application/x-www-form-urlencoded')) entries.push(...new URLSearchParams(body));
    const params = new RpcParams(entries);
    // ACS3 names the action in a header, the v2 signature in the query: the header wins.
    const action = header(request.headers, 'x-acs-action') ?? params.optional('Action') ?? '';
    if (action === '') return refuse('MissingParameter', 'The input parameter "Action" that is mandatory for processing this request is not supplied.', 400);
    const version = header(request.headers, 'x-acs-version') ?? params.optional('Version');
    if (version !== undefined && version !== ecsVersion) return refuse('InvalidVersion', `Specified parameter Version is not valid: ECS answers ${ecsVersion}, not ${JSON.stringify(version)}.`, 400);
    const entry = Object.hasOwn(ecsActions, action) ? ecsActions[action] : undefined;
    if (!entry) return refuse('InvalidAction.NotFound', `Specified api is not found, please check your url and method: ${action}.`, 404);
    return {
      call: {
        action,
        // A bucket of one minute's quota, refilled at quota/60 per second.
        throttle: { key: `ecs:${action}`, bucket: { capacity: entry.perMinute, refillPerSecond: entry.perMinute / 60 } },
        errors: ecsErrors(requestId, host),
        run: async () => ({
          status: 200,
          headers: { 'content-type': 'application/json;charset=utf-8', 'x-acs-request-id': requestId },
          body: JSON.stringify({ RequestId: requestId, ...(await entry.run(context.model, params)) }),
        }),
      },
    };
  }
}
