import { randomBytes } from 'node:crypto';
import type { Clock } from '../../model/cloud.ts';
import { header, type FaceResponse } from '../face.ts';
import { text } from './answers.ts';
import type { MetadataRequest } from './service.ts';

/** Metadata session tokens (IMDSv2, ECS hardened mode): PUT /latest/api/token, then GETs carry the token. */
export class MetadataTokens {
  private readonly tokens = new Map<string, { instanceId: string; expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  issue(instanceId: string, ttlSeconds: number): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, { instanceId, expiresAt: this.clock.now() + ttlSeconds * 1000 });
    return token;
  }

  valid(token: string | undefined, instanceId: string): boolean {
    if (!token) return false;
    const entry = this.tokens.get(token);
    if (!entry) return false;
    if (entry.expiresAt <= this.clock.now()) {
      this.tokens.delete(token);
      return false;
    }
    return entry.instanceId === instanceId;
  }

  /**
   * `PUT /latest/api/token`: a session token for the instance, valid for the
   * seconds the TTL header asks (1 to 21600), as IMDSv2 and ECS's hardened mode do.
   */
  answerTokenRequest(request: MetadataRequest, instanceId: string, ttlHeader: string): FaceResponse {
    if (request.method !== 'PUT') return text(405, 'Method Not Allowed');
    const rawTtl = header(request.headers, ttlHeader) ?? '';
    // Decimal digits only: Number() would also take '1e3', '0x10' and ' '.
    const ttl = /^\d{1,6}$/.test(rawTtl) ? Number(rawTtl) : NaN;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return text(400, 'Bad Request');
    return { status: 200, headers: { 'content-type': 'text/plain', [ttlHeader]: String(ttl) }, body: this.issue(instanceId, ttl) };
  }
}
