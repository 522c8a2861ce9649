import { z } from 'zod';
import { CloudError } from '../errors.ts';

/** The part of Azure IMDS's instance document the adapter reads. */
const instanceSchema = z
  .object({
    compute: z
      .object({
        name: z.string().min(1),
        vmId: z.string(),
        vmSize: z.string().min(1),
        location: z.string().min(1),
        zone: z.string().default(''),
        subscriptionId: z.string().min(1),
        resourceGroupName: z.string().min(1),
        resourceId: z.string().optional(),
      })
      .loose(),
    network: z
      .object({
        interface: z.array(
          z
            .object({
              macAddress: z.string().regex(/^[0-9A-Fa-f]{12}$/),
              ipv4: z
                .object({
                  ipAddress: z.array(z.object({ privateIpAddress: z.string() }).loose()),
                  subnet: z.array(z.object({ address: z.string(), prefix: z.string() }).loose()),
                })
                .loose(),
            })
            .loose(),
        ),
      })
      .loose(),
  })
  .loose();

export type AzureInstanceDocument = z.infer<typeof instanceSchema>;

export interface AzureImdsClientOptions {
  /** Base URL; Azure's is http://169.254.169.254. */
  endpoint: string;
  apiVersion?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** IMDS writes MACs as 000D3AF806EC; Linux and the rest of ipamd as 00:0d:3a:f8:06:ec. */
export const linuxMac = (mac: string): string =>
  mac
    .replace(/[^0-9A-Fa-f]/g, '')
    .toLowerCase()
    .replace(/(..)(?!$)/g, '$1:');

/** GET /metadata/instance with `Metadata: true`, validated. */
export class AzureImdsClient {
  private readonly endpoint: string;
  private readonly apiVersion: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: AzureImdsClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.apiVersion = options.apiVersion ?? '2021-02-01';
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  async instance(): Promise<AzureInstanceDocument> {
    const url = `${this.endpoint}/metadata/instance?api-version=${this.apiVersion}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, { headers: { Metadata: 'true' }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw this.failure(`GET ${url} failed: ${(err as Error).message}`, err);
    }
    const text = await response.text();
    if (!response.ok) throw this.failure(`GET ${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw this.failure(`GET ${url} answered something that is not JSON`, err);
    }
    const parsed = instanceSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw this.failure(`GET ${url} answered an unexpected document: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`);
    }
    return parsed.data;
  }

  private failure(message: string, cause?: unknown): CloudError {
    return new CloudError({ kind: 'transient', code: 'MetadataUnavailable', message: `instance metadata: ${message}`, operation: 'IMDS', cause });
  }
}
