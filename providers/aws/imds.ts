import { TokenMetadataClient } from '../shared/token-metadata.ts';

export interface ImdsClientOptions {
  /** Base URL; EC2's is http://169.254.169.254. */
  endpoint: string;
  tokenTtlSeconds?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A small IMDSv2 client: a session token, then GETs that carry it. */
export class ImdsClient extends TokenMetadataClient {
  constructor(options: ImdsClientOptions) {
    super({ ...options, tokenHeader: 'x-aws-ec2-metadata-token', ttlHeader: 'x-aws-ec2-metadata-token-ttl-seconds', operation: 'IMDS' });
  }
}
