import { CloudError } from '../errors.ts';

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

const tokenHeader = 'x-aliyun-ecs-metadata-token';
const ttlHeader = 'x-aliyun-ecs-metadata-token-ttl-seconds';

/** A small client of the ECS instance metadata service, normal and hardened mode. */
export class AlibabaMetadataClient {
  private token: { value: string; expiresAt: number } | undefined;
  /** The token request in flight: concurrent reads share it. */
  private pendingToken: Promise<string> | undefined;
  private useTokens: boolean;
  private readonly endpoint: string;
  private readonly ttl: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: AlibabaMetadataClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.useTokens = options.hardened ?? true;
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
    if (!response.ok) throw this.failure(`GET ${path}`, `HTTP ${response.status}`);
    return (await response.text()).trim();
  }

  async require(path: string): Promise<string> {
    const value = await this.get(path);
    if (value === undefined) throw new CloudError({ kind: 'not-found', code: 'MetadataNotFound', message: `instance metadata has no ${path}`, operation: 'Metadata' });
    return value;
  }

  /** A newline-separated listing; empty when absent. */
  async list(path: string): Promise<string[]> {
    const value = await this.get(path);
    return value ? value.split('\n').map((line) => line.trim()).filter(Boolean) : [];
  }

  /** An item holding a JSON array of strings as text (private-ipv4s, ipv4-prefixes); empty when absent. */
  async jsonList(path: string): Promise<string[]> {
    const value = await this.get(path);
    if (value === undefined || value === '') return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw this.failure(`GET ${path}`, `not a JSON array: ${value.slice(0, 100)}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw this.failure(`GET ${path}`, `not a JSON array of strings: ${value.slice(0, 100)}`);
    return parsed;
  }

  private async request(path: string): Promise<Response> {
    const headers: Record<string, string> = this.useTokens ? { [tokenHeader]: await this.sessionToken() } : {};
    try {
      return await this.fetchImpl(`${this.endpoint}/latest/meta-data/${path}`, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw this.failure(`GET ${path}`, (err as Error).message, err);
    }
  }

  private sessionToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 60_000) return Promise.resolve(this.token.value);
    this.pendingToken ??= this.fetchToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async fetchToken(): Promise<string> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.endpoint}/latest/api/token`, { method: 'PUT', headers: { [ttlHeader]: String(this.ttl) }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw this.failure('PUT /latest/api/token', (err as Error).message, err);
    }
    if (!response.ok) throw this.failure('PUT /latest/api/token', `HTTP ${response.status}`);
    this.token = { value: (await response.text()).trim(), expiresAt: Date.now() + this.ttl * 1000 };
    return this.token.value;
  }

  private failure(what: string, detail: string, cause?: unknown): CloudError {
    return new CloudError({ kind: 'transient', code: 'MetadataUnavailable', message: `instance metadata ${what} at ${this.endpoint} failed: ${detail}`, operation: 'Metadata', cause });
  }
}
