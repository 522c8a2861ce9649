import { describe, expect, it } from 'vitest';
import { AlibabaMetadataClient } from '../../../providers/alibaba/metadata.ts';
import { ImdsClient } from '../../../providers/aws/imds.ts';
import { TokenMetadataClient, type TokenMetadataOptions } from '../../../providers/shared/token-metadata.ts';

interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

/**
 * A metadata service in a function: tokens `t1`, `t2`, ... ; `expire()`
 * makes the service refuse the tokens issued so far (401), `enforce` makes
 * it refuse reads without a token (403).
 */
function fakeService(items: Record<string, string>, options: { tokenHeader: string; ttlHeader: string; enforce?: boolean }) {
  const seen: SeenRequest[] = [];
  let issued = 0;
  let validFrom = 1;
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    seen.push({ method: init?.method ?? 'GET', path: url.pathname, headers });
    if (url.pathname === '/latest/api/token') {
      if (init?.method !== 'PUT' || !headers[options.ttlHeader]) return new Response('', { status: 400 });
      issued++;
      return new Response(`t${issued}\n`, { status: 200 });
    }
    const token = headers[options.tokenHeader];
    if (token === undefined && options.enforce) return new Response('', { status: 403 });
    if (token !== undefined && Number(token.slice(1)) < validFrom) return new Response('', { status: 401 });
    const item = items[url.pathname.replace('/latest/meta-data/', '')];
    return item === undefined ? new Response('', { status: 404 }) : new Response(`${item}\n`, { status: 200 });
  };
  return {
    fetch: fetchImpl,
    seen,
    expire: () => {
      validFrom = issued + 1;
    },
    tokenRequests: () => seen.filter((request) => request.path === '/latest/api/token').length,
  };
}

const headers = { tokenHeader: 'x-test-token', ttlHeader: 'x-test-token-ttl-seconds' };
const client = (fetchImpl: typeof fetch, more: Partial<TokenMetadataOptions> = {}): TokenMetadataClient =>
  new TokenMetadataClient({ endpoint: 'http://metadata.test/', ...headers, operation: 'IMDS', fetch: fetchImpl, ...more });

describe('TokenMetadataClient', () => {
  it('asks for a session token with its TTL, then reads with it', async () => {
    const service = fakeService({ 'instance-id': 'i-1' }, headers);
    const metadata = client(service.fetch, { tokenTtlSeconds: 300 });
    expect(await metadata.require('instance-id')).toBe('i-1');
    expect(service.seen).toEqual([
      { method: 'PUT', path: '/latest/api/token', headers: { 'x-test-token-ttl-seconds': '300' } },
      { method: 'GET', path: '/latest/meta-data/instance-id', headers: { 'x-test-token': 't1' } },
    ]);
  });

  it('fetches a fresh token and asks again when the service answers 401', async () => {
    const service = fakeService({ 'instance-id': 'i-1', mac: '0a:00:00:00:00:01' }, headers);
    const metadata = client(service.fetch);
    expect(await metadata.get('instance-id')).toBe('i-1');
    service.expire();
    expect(await metadata.get('mac')).toBe('0a:00:00:00:00:01');
    expect(service.seen.map((request) => `${request.method} ${request.path} ${request.headers['x-test-token'] ?? ''}`.trim())).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/instance-id t1',
      'GET /latest/meta-data/mac t1',
      'PUT /latest/api/token',
      'GET /latest/meta-data/mac t2',
    ]);
  });

  it('shares one token request among reads that start together', async () => {
    const service = fakeService({ a: '1', b: '2', c: '3' }, headers);
    const metadata = client(service.fetch);
    expect(await Promise.all([metadata.get('a'), metadata.get('b'), metadata.get('c')])).toEqual(['1', '2', '3']);
    expect(service.tokenRequests()).toBe(1);
  });

  it('reads without a token until the service insists (403), when told not to send one first', async () => {
    const service = fakeService({ 'instance-id': 'i-1' }, { ...headers, enforce: true });
    const metadata = client(service.fetch, { tokensFirst: false });
    expect(await metadata.get('instance-id')).toBe('i-1');
    expect(service.seen.map((request) => `${request.method} ${request.path}`)).toEqual(['GET /latest/meta-data/instance-id', 'PUT /latest/api/token', 'GET /latest/meta-data/instance-id']);
    // Switched for good: the next read carries the token at once.
    await metadata.get('instance-id');
    expect(service.seen.at(-1)?.headers['x-test-token']).toBe('t1');
  });

  it('does not retry a 403 that came with a token', async () => {
    const refusing: typeof fetch = async (input) => new Response(String(input).endsWith('/api/token') ? 't1' : '', { status: String(input).endsWith('/api/token') ? 200 : 403 });
    await expect(client(refusing).get('instance-id')).rejects.toMatchObject({
      kind: 'transient',
      code: 'MetadataUnavailable',
      operation: 'IMDS',
      message: 'instance metadata GET instance-id at http://metadata.test failed: HTTP 403',
    });
  });

  it('answers undefined, an empty list or a not-found error for a missing item', async () => {
    const service = fakeService({ 'network/interfaces/macs/': 'a/\nb/\n' }, headers);
    const metadata = client(service.fetch, { operation: 'Metadata' });
    expect(await metadata.get('nope')).toBeUndefined();
    expect(await metadata.list('nope')).toEqual([]);
    expect(await metadata.list('network/interfaces/macs/')).toEqual(['a/', 'b/']);
    await expect(metadata.require('nope')).rejects.toMatchObject({ kind: 'not-found', code: 'MetadataNotFound', operation: 'Metadata', message: 'instance metadata has no nope' });
  });

  it('names the token request or the read that failed, and why', async () => {
    const tokenRefused: typeof fetch = async () => new Response('', { status: 405 });
    await expect(client(tokenRefused).get('instance-id')).rejects.toMatchObject({ code: 'MetadataUnavailable', message: 'instance metadata PUT /latest/api/token at http://metadata.test failed: HTTP 405' });
    const unreachable: typeof fetch = async () => {
      throw new TypeError('fetch failed');
    };
    const err = await client(unreachable).get('instance-id').catch((caught: unknown) => caught);
    expect(err).toMatchObject({ kind: 'transient', code: 'MetadataUnavailable', message: 'instance metadata PUT /latest/api/token at http://metadata.test failed: fetch failed' });
    expect((err as Error).cause).toBeInstanceOf(TypeError);
    const noReads = fakeService({}, headers);
    const failingRead: typeof fetch = async (input, init) => (String(input).endsWith('/api/token') ? noReads.fetch(input, init) : Promise.reject(new TypeError('socket hang up')));
    await expect(client(failingRead).get('mac')).rejects.toMatchObject({ message: 'instance metadata GET mac at http://metadata.test failed: socket hang up' });
  });
});

describe('the clouds’ metadata clients', () => {
  it('AWS IMDSv2: its header names and operation', async () => {
    const service = fakeService({ 'instance-id': 'i-1' }, { tokenHeader: 'x-aws-ec2-metadata-token', ttlHeader: 'x-aws-ec2-metadata-token-ttl-seconds' });
    const imds = new ImdsClient({ endpoint: 'http://169.254.169.254', fetch: service.fetch });
    expect(await imds.require('instance-id')).toBe('i-1');
    expect(service.seen[0]?.headers).toEqual({ 'x-aws-ec2-metadata-token-ttl-seconds': '21600' });
    expect(service.seen[1]?.headers).toEqual({ 'x-aws-ec2-metadata-token': 't1' });
    await expect(imds.require('nope')).rejects.toMatchObject({ operation: 'IMDS' });
  });

  it('ECS metadata: its header names, operation, and plain mode', async () => {
    const service = fakeService({ 'instance-id': 'i-1', 'ips': '["10.0.0.5","10.0.0.6"]', 'bad': '{"a":1}' }, { tokenHeader: 'x-aliyun-ecs-metadata-token', ttlHeader: 'x-aliyun-ecs-metadata-token-ttl-seconds' });
    const hardened = new AlibabaMetadataClient({ endpoint: 'http://100.100.100.200', fetch: service.fetch });
    expect(await hardened.require('instance-id')).toBe('i-1');
    expect(service.seen[0]?.headers).toEqual({ 'x-aliyun-ecs-metadata-token-ttl-seconds': '21600' });
    expect(service.seen[1]?.headers).toEqual({ 'x-aliyun-ecs-metadata-token': 't1' });
    expect(await hardened.jsonList('ips')).toEqual(['10.0.0.5', '10.0.0.6']);
    expect(await hardened.jsonList('nope')).toEqual([]);
    await expect(hardened.jsonList('bad')).rejects.toMatchObject({ code: 'MetadataUnavailable', operation: 'Metadata', message: 'instance metadata GET bad at http://100.100.100.200 failed: not a JSON array of strings: {"a":1}' });
    const plain = new AlibabaMetadataClient({ endpoint: 'http://100.100.100.200', hardened: false, fetch: service.fetch });
    const before = service.seen.length;
    expect(await plain.get('instance-id')).toBe('i-1');
    expect(service.seen.slice(before)).toEqual([{ method: 'GET', path: '/latest/meta-data/instance-id', headers: {} }]);
  });
});
