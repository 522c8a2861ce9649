import { CloudError } from '../errors.ts';

export interface ImdsClientOptions {
  /** Base URL; EC2's is http://169.254.169.254. */
  endpoint: string;
  tokenTtlSeconds?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A small IMDSv2 client: a session token, then GETs that carry it. */
export class ImdsClient {
  private token: { value: string; expiresAt: number } | undefined;
  private readonly endpoint: string;
  private readonly ttl: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ImdsClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.ttl = options.tokenTtlSeconds ?? 21600;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** A metadata leaf under /latest/meta-data/; undefined when it does not exist (404). */
  async get(path: string): Promise<string | undefined> {
    let response = await this.request(path, await this.sessionToken());
    if (response.status === 401) {
      this.token = undefined;
      response = await this.request(path, await this.sessionToken());
    }
    if (response.status === 404) return undefined;
    if (!response.ok) throw this.failure(`GET ${path}`, `HTTP ${response.status}`);
    return (await response.text()).trim();
  }

  async require(path: string): Promise<string> {
    const value = await this.get(path);
    if (value === undefined) throw new CloudError({ kind: 'not-found', code: 'MetadataNotFound', message: `instance metadata has no ${path}`, operation: 'IMDS' });
    return value;
  }

  /** Newline-separated list; empty when absent. */
  async list(path: string): Promise<string[]> {
    const value = await this.get(path);
    return value ? value.split('\n').map((line) => line.trim()).filter(Boolean) : [];
  }

  private async sessionToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 60_000) return this.token.value;
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.endpoint}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(this.ttl) },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.failure('PUT /latest/api/token', (err as Error).message, err);
    }
    if (!response.ok) throw this.failure('PUT /latest/api/token', `HTTP ${response.status}`);
    this.token = { value: await response.text(), expiresAt: Date.now() + this.ttl * 1000 };
    return this.token.value;
  }

  private async request(path: string, token: string): Promise<Response> {
    try {
      return await this.fetchImpl(`${this.endpoint}/latest/meta-data/${path}`, {
        headers: { 'x-aws-ec2-metadata-token': token },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw this.failure(`GET ${path}`, (err as Error).message, err);
    }
  }

  private failure(what: string, detail: string, cause?: unknown): CloudError {
    return new CloudError({ kind: 'transient', code: 'MetadataUnavailable', message: `instance metadata ${what} at ${this.endpoint} failed: ${detail}`, operation: 'IMDS', cause });
  }
}
