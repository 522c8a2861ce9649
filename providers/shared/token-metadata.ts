import { CloudError } from '../errors.ts';

/**
 * An instance metadata service of the token-session kind (EC2's IMDSv2,
 * ECS's hardened mode): `PUT /latest/api/token` with a TTL header gives a
 * session token, and reads under `/latest/meta-data/` carry it in another
 * header. The two clouds differ only in those header names.
 */
export interface TokenMetadataOptions {
  /** Base URL, e.g. http://169.254.169.254. */
  endpoint: string;
  /** The header a read carries its token in. */
  tokenHeader: string;
  /** The header of the token request that sets the token's lifetime. */
  ttlHeader: string;
  /** The operation the CloudErrors of this client name ('IMDS', 'Metadata'). */
  operation: string;
  /**
   * Send a token from the first read on (default). When false, reads go
   * without one and switch to tokens once the service refuses them (403:
   * tokens enforced on the instance).
   */
  tokensFirst?: boolean;
  tokenTtlSeconds?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A token is renewed this long before it expires, so no read carries one that dies on the way. */
const renewBeforeExpiryMs = 60_000;

export class TokenMetadataClient {
  private token: { value: string; expiresAt: number } | undefined;
  /** The token request in flight: concurrent reads share it. */
  private pendingToken: Promise<string> | undefined;
  private useTokens: boolean;
  private readonly endpoint: string;
  private readonly ttl: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: TokenMetadataOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.useTokens = options.tokensFirst ?? true;
    this.ttl = options.tokenTtlSeconds ?? 21600;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** A metadata item under /latest/meta-data/; undefined when it does not exist (404). */
  async get(path: string): Promise<string | undefined> {
    const sentToken = this.useTokens;
    let response = await this.request(path);
    if (response.status === 401 || (response.status === 403 && !sentToken)) {
      // An expired token, or a service that now insists on tokens: get a fresh one and ask again.
      this.useTokens = true;
      this.token = undefined;
      response = await this.request(path);
    }
    if (response.status === 404) return undefined;
    if (!response.ok) throw this.unavailable(`GET ${path}`, `HTTP ${response.status}`);
    return (await response.text()).trim();
  }

  async require(path: string): Promise<string> {
    const value = await this.get(path);
    if (value === undefined) throw new CloudError({ kind: 'not-found', code: 'MetadataNotFound', message: `instance metadata has no ${path}`, operation: this.options.operation });
    return value;
  }

  /** Several required items at once, by name: `{ id: 'instance-id' }` gives `{ id: '<the id>' }`. */
  async requireAll<K extends string>(paths: Record<K, string>): Promise<Record<K, string>> {
    const entries = await Promise.all(Object.entries<string>(paths).map(async ([name, path]) => [name, await this.require(path)] as const));
    return Object.fromEntries(entries) as Record<K, string>;
  }

  /** A newline-separated listing; empty when absent. */
  async list(path: string): Promise<string[]> {
    const value = await this.get(path);
    return value ? value.split('\n').map((line) => line.trim()).filter(Boolean) : [];
  }

  /** The error of a read or token request that got no usable answer: worth trying again. */
  protected unavailable(what: string, detail: string, cause?: unknown): CloudError {
    return new CloudError({ kind: 'transient', code: 'MetadataUnavailable', message: `instance metadata ${what} at ${this.endpoint} failed: ${detail}`, operation: this.options.operation, cause });
  }

  private async request(path: string): Promise<Response> {
    const headers: Record<string, string> = this.useTokens ? { [this.options.tokenHeader]: await this.sessionToken() } : {};
    try {
      return await this.fetchImpl(`${this.endpoint}/latest/meta-data/${path}`, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw this.unavailable(`GET ${path}`, (err as Error).message, err);
    }
  }

  private sessionToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + renewBeforeExpiryMs) return Promise.resolve(this.token.value);
    this.pendingToken ??= this.fetchToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async fetchToken(): Promise<string> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.endpoint}/latest/api/token`, {
        method: 'PUT',
        headers: { [this.options.ttlHeader]: String(this.ttl) },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.unavailable('PUT /latest/api/token', (err as Error).message, err);
    }
    if (!response.ok) throw this.unavailable('PUT /latest/api/token', `HTTP ${response.status}`);
    this.token = { value: (await response.text()).trim(), expiresAt: Date.now() + this.ttl * 1000 };
    return this.token.value;
  }
}
