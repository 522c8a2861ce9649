import type { FaceResponse } from './ec2/face.ts';
import type { ImdsTokens } from './aws-imds.ts';

/**
 * What the EC2 and ECS metadata services have in common: a tree of text
 * leaves under /latest/meta-data/, directories listed one name per line
 * (sub-directories with a trailing "/"), and plain-text answers. A leaf may be
 * computed when read (credentials that must be fresh).
 */
export type MetadataTree = { [name: string]: string | MetadataTree | (() => string) };

export interface MetadataRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export const text = (status: number, body: string): FaceResponse => ({ status, headers: { 'content-type': 'text/plain' }, body });
export const notFound = (): FaceResponse => text(404, 'Not Found');

export const header = (request: MetadataRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function lookup(tree: MetadataTree, segments: string[]): string | MetadataTree | undefined {
  let node: string | MetadataTree | (() => string) | undefined = tree;
  for (const segment of segments) {
    if (node === undefined || typeof node !== 'object') return undefined;
    node = Object.hasOwn(node, segment) ? node[segment] : undefined;
  }
  return typeof node === 'function' ? node() : node;
}

function listing(tree: MetadataTree): string {
  return Object.entries(tree)
    .map(([name, child]) => (typeof child === 'object' ? `${name}/` : name))
    .join('\n');
}

/** Answers a GET under /latest/meta-data from the tree (the caller has checked method and token). */
export function serveMetadataTree(path: string, tree: () => MetadataTree): FaceResponse {
  if (path === '/latest/meta-data' || path === '/latest/meta-data/') return text(200, listing(tree()));
  if (!path.startsWith('/latest/meta-data/')) return notFound();
  const segments = path.slice('/latest/meta-data/'.length).split('/');
  if (segments[segments.length - 1] === '') segments.pop();
  let decoded: string[];
  try {
    decoded = segments.map(decodeURIComponent);
  } catch {
    return notFound();
  }
  const node = lookup(tree(), decoded);
  if (node === undefined) return notFound();
  return text(200, typeof node === 'string' ? node : listing(node));
}

/**
 * `PUT /latest/api/token`: a session token for the instance, valid for the
 * seconds the TTL header asks (1 to 21600), as IMDSv2 and ECS's hardened mode do.
 */
export function issueMetadataToken(request: MetadataRequest, tokens: ImdsTokens, instanceId: string, ttlHeader: string): FaceResponse {
  if (request.method !== 'PUT') return text(405, 'Method Not Allowed');
  const rawTtl = header(request, ttlHeader) ?? '';
  // Decimal digits only: Number() would also take '1e3', '0x10' and ' '.
  const ttl = /^\d{1,6}$/.test(rawTtl) ? Number(rawTtl) : NaN;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return text(400, 'Bad Request');
  return { status: 200, headers: { 'content-type': 'text/plain', [ttlHeader]: String(ttl) }, body: tokens.issue(instanceId, ttl) };
}
