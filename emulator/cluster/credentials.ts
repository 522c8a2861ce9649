import type { TokenCredential } from '@azure/identity';
import type { AlibabaCredential } from '../../providers/alibaba/provider.ts';
import { credentials } from '../../providers/alibaba/sdk.ts';

/**
 * Credentials for the clouds' SDKs when they talk to the emulator from the
 * host: the emulator checks that a request is signed or carries a bearer
 * token, not by whom. (Inside the box, nodes use the metadata services'
 * managed identity and RAM role instead.)
 */
export const emulatorAzureCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'emulator-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

export function emulatorAlibabaCredential(): AlibabaCredential {
  return new credentials.default(new credentials.Config({ type: 'access_key', accessKeyId: 'test', accessKeySecret: 'test' }));
}
