import { TokenMetadataClient } from '../shared/token-metadata.ts';

export interface AlibabaMetadataClientOptions {
  /** Base URL; ECS's is http://100.100.100.200. */
  endpoint: string;
  /**
   * Hardened mode: fetch a token first and send it with every read. When off,
   * reads go without a token and switch to tokens once the service refuses
   * them (403: hardened mode enforced on the instance).
   */
  hardened?: boolean;
  tokenTtlSeconds?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A small client of the ECS instance metadata service, normal and hardened mode. */
export class AlibabaMetadataClient extends TokenMetadataClient {
  constructor({ hardened, ...options }: AlibabaMetadataClientOptions) {
    super({ ...options, tokensFirst: hardened ?? true, tokenHeader: 'x-aliyun-ecs-metadata-token', ttlHeader: 'x-aliyun-ecs-metadata-token-ttl-seconds', operation: 'Metadata' });
  }

  /** An item holding a JSON array of strings as text (private-ipv4s, ipv4-prefixes); empty when absent. */
  async jsonList(path: string): Promise<string[]> {
    const value = await this.get(path);
    if (value === undefined || value === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw this.unavailable(`GET ${path}`, `not a JSON array: ${value.slice(0, 100)}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw this.unavailable(`GET ${path}`, `not a JSON array of strings: ${value.slice(0, 100)}`);
    return parsed;
  }
}
