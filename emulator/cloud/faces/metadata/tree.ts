import type { Clock, CloudModel, Instance } from '../../model/cloud.ts';
import { header, type FaceContext, type FaceResponse } from '../face.ts';
import { notFound, text } from './answers.ts';
import type { MetadataRequest, MetadataService } from './service.ts';
import { MetadataTokens } from './tokens.ts';

/**
 * What the EC2 and ECS metadata services have in common: a tree of text
 * leaves under /latest/meta-data/, directories listed one name per line
 * (sub-directories with a trailing "/"), and plain-text answers. A leaf may be
 * computed when read (credentials that must be fresh).
 */
export type MetadataTree = { [name: string]: string | MetadataTree | (() => string) };

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
function serveMetadataTree(path: string, tree: () => MetadataTree): FaceResponse {
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

/** How a tree service guards its GETs with session tokens. */
export interface TokenPolicy {
  /** The header `PUT /latest/api/token` reads the TTL from (and echoes). */
  ttlHeader: string;
  /** The header GETs carry the token in. */
  tokenHeader: string;
  /**
   * A GET without a token: refused 401 (IMDSv2), refused 403 (ECS hardened
   * mode enforced) or answered (ECS normal mode). A wrong or expired token is
   * refused 401 always.
   */
  missingToken: 'unauthorized' | 'forbidden' | 'allowed';
}

/**
 * The EC2 / ECS metadata service: `PUT /latest/api/token` hands out session
 * tokens, GETs (checked against the token policy) read the instance's tree.
 */
export class TreeMetadataService implements MetadataService {
  private readonly tokens: MetadataTokens;

  /** `policy` is read on every request (ECS hardened mode can be switched on and off). */
  constructor(
    clock: Clock,
    private readonly policy: () => TokenPolicy,
    private readonly tree: (model: CloudModel, instance: Instance) => MetadataTree,
  ) {
    this.tokens = new MetadataTokens(clock);
  }

  unknownInstance(): FaceResponse {
    return notFound();
  }

  serve(instance: Instance, request: MetadataRequest, context: FaceContext): FaceResponse {
    const policy = this.policy();
    if (request.path === '/latest/api/token') return this.tokens.answerTokenRequest(request, instance.id, policy.ttlHeader);
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'Method Not Allowed');
    const token = header(request.headers, policy.tokenHeader);
    if (token === undefined) {
      if (policy.missingToken === 'unauthorized') return text(401, 'Unauthorized');
      if (policy.missingToken === 'forbidden') return text(403, 'Forbidden');
    } else if (!this.tokens.valid(token, instance.id)) {
      return text(401, 'Unauthorized');
    }
    return serveMetadataTree(request.path, () => this.tree(context.model, instance));
  }
}
