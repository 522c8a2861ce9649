import type { TokenCredential } from '@azure/identity';
import type { NetworkManagementClient } from '@azure/arm-network';

/**
 * Pipeline policies the adapter adds to the SDK clients. Types come from the
 * client itself, so no transitive package is imported directly.
 */
type Pipeline = NetworkManagementClient['pipeline'];
export type PipelinePolicy = Parameters<Pipeline['addPolicy']>[0];

/** The SDK's own bearer policy (core-rest-pipeline's bearerTokenAuthenticationPolicyName). */
export const sdkBearerPolicyName = 'bearerTokenAuthenticationPolicy';

/**
 * A bearer-token policy that also signs plain-http requests. The SDK's own
 * refuses any URL but https, rightly for Azure; the emulator inside the VPC
 * box is reached through a plain HTTP proxy, so the adapter swaps this in
 * only when its ARM endpoint is http:// and insecure http was allowed
 * explicitly. The token is kept until five minutes before it expires.
 */
export function plainHttpBearerPolicy(credential: TokenCredential, scope: string): PipelinePolicy {
  let cached: { token: string; refreshAt: number } | undefined;
  return {
    name: 'vpcCniPlainHttpBearerPolicy',
    async sendRequest(request, next) {
      if (!cached || cached.refreshAt <= Date.now()) {
        const token = await credential.getToken(scope);
        if (!token) throw Object.assign(new Error(`the credential returned no token for ${scope}`), { name: 'CredentialUnavailableError' });
        cached = { token: token.token, refreshAt: token.expiresOnTimestamp - 5 * 60_000 };
      }
      request.headers.set('authorization', `Bearer ${cached.token}`);
      return next(request);
    },
  };
}

/**
 * `requestOptions.customHeaders` go on every request of an operation, the
 * polls and the final GET of a long-running PUT included: keep If-Match on
 * the write it guards.
 */
export const ifMatchOnWritesPolicy: PipelinePolicy = {
  name: 'vpcCniIfMatchOnWritesPolicy',
  sendRequest(request, next) {
    if (request.method === 'GET' || request.method === 'HEAD') request.headers.delete('if-match');
    return next(request);
  },
};
