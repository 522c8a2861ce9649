import type { Clock } from '../../model/cloud.ts';
import type { BucketSpec } from '../../realism/throttle.ts';
import { header, type ErrorDocument, type Face, type FaceContext, type FaceOutcome, type FaceRequest, type FaceResponse } from '../face.ts';
import { ArmError, armErrorResponse, statusForCode, toArmError } from './errors.ts';
import { armResourceGroup, armSubscriptionId } from './ids.ts';
import { matchRoute } from './routes.ts';
import { ArmState } from './state.ts';

/**
 * The Azure Resource Manager face: ARM JSON under /subscriptions/..., the
 * Microsoft.Network calls a CNI makes on NICs, subnets and VNets, and
 * Microsoft.Compute resource SKUs. Writes are long-running operations polled
 * through Azure-AsyncOperation URLs this face serves too. The operations are
 * in ./routes.ts.
 */

type BucketKind = 'reads' | 'writes' | 'deletes';

/** ARM's documented subscription buckets (capacity, refill per second). */
const buckets: Record<BucketKind, BucketSpec> = {
  reads: { capacity: 250, refillPerSecond: 25 },
  writes: { capacity: 200, refillPerSecond: 10 },
  deletes: { capacity: 200, refillPerSecond: 10 },
};

export class ArmFace implements Face {
  /** What ARM keeps beside the model: NIC names, etags, long-running operations. */
  private readonly state: ArmState;

  constructor(private readonly clock: Clock) {
    this.state = new ArmState(clock);
  }

  matches(request: FaceRequest): boolean {
    return /^\/subscriptions\//i.test(request.url.pathname);
  }

  handle(request: FaceRequest, context: FaceContext): FaceOutcome {
    try {
      return this.accept(request, context);
    } catch (err) {
      return { answer: armErrorResponse(toArmError(err)) };
    }
  }

  /** Checks what ARM checks before an operation counts (authentication, path, method, api-version); throws ArmError. */
  private accept(request: FaceRequest, context: FaceContext): FaceOutcome {
    const authorization = header(request.headers, 'authorization');
    if (!authorization) throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    if (!/^Bearer \S+$/i.test(authorization)) throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');

    let segments: string[];
    try {
      segments = request.url.pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw new ArmError(400, 'InvalidRequestUri', `The request URI '${request.url.pathname}' is not valid.`);
    }
    if (segments[segments.length - 1] === '') segments.pop();
    const subscription = segments[1] ?? '';
    if (subscription.toLowerCase() !== armSubscriptionId) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscription}' could not be found.`);
    const rest = segments.slice(2);
    if (rest[0]?.toLowerCase() === 'resourcegroups' && rest[1] !== undefined && rest[1].toLowerCase() !== armResourceGroup) {
      throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rest[1]}' could not be found.`);
    }
    const matched = matchRoute(rest);
    if (!matched) {
      throw new ArmError(400, 'InvalidResourceType', `The resource type or path '${request.url.pathname}' is not served by this endpoint.`);
    }
    const { route, params } = matched;
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const entry = route.methods[method];
    if (!entry) throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${request.method}'.`);

    const version = request.url.searchParams.get('api-version');
    if (version === null || version === '') throw new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    if (!route.apiVersions.includes(version)) {
      throw new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${version}' is invalid. The supported versions are '${route.apiVersions.join(',')}'.`);
    }

    const kind: BucketKind = method === 'GET' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes';
    const key = `arm:${armSubscriptionId}:${kind}`;
    // The answer reports the tokens left (as ARM does), unless the operation itself threw.
    const rateHeaders = (): Record<string, string> => ({
      [`x-ms-ratelimit-remaining-subscription-${kind}`]: String(context.remainingTokens(key, buckets[kind])),
    });
    const call = { request, params, model: context.model, state: this.state, clock: this.clock };
    return {
      call: {
        action: entry.action,
        throttle: { key, bucket: buckets[kind] },
        errors: armErrors(kind, rateHeaders),
        run: async () => {
          const response = await entry.run(call);
          return { ...response, headers: { ...response.headers, ...rateHeaders() } };
        },
      },
    };
  }
}

/** The pipeline's failures in ARM's words. */
function armErrors(kind: BucketKind, rateHeaders: () => Record<string, string>): ErrorDocument {
  return {
    throttled: (retryAfterMs): FaceResponse => {
      const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
      return armErrorResponse(
        new ArmError(
          429,
          'SubscriptionRequestsThrottled',
          `Number of '${kind.slice(0, -1)}' requests for subscription '${armSubscriptionId}' exceeded. Please try again after '${seconds}' seconds after the additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.`,
          { 'retry-after': String(seconds) },
        ),
        rateHeaders(),
      );
    },
    fault: (fault) => {
      const status = fault.status ?? statusForCode(fault.code);
      // ARM sends Retry-After with every 429; an injected one waits the shortest time it can name.
      return armErrorResponse(new ArmError(status, fault.code, fault.message, status === 429 ? { 'retry-after': '1' } : {}), rateHeaders());
    },
    failed: (err) => armErrorResponse(toArmError(err)),
  };
}
