import type { Instance } from '../../model/cloud.ts';
import { peerHeader } from '../../fabric/names.ts';
import type { Face, FaceContext, FaceOutcome, FaceRequest } from '../face.ts';
import { notFound } from './answers.ts';
import type { MetadataService } from './service.ts';

/** /_instance/{id}/...: a metadata request that names its instance (tests and tools outside the data plane). */
const scopePattern = /^\/_instance\/([^/]+)(\/.*)$/;

/**
 * The link-local metadata address as a face: it finds which instance asks
 * (from the /_instance/{id} scope, or from the caller's address that the
 * data plane's proxy passes in a header) and hands the request to the
 * metadata service of the emulated cloud.
 */
export class MetadataEndpoint implements Face {
  constructor(private readonly service: MetadataService) {}

  matches(request: FaceRequest): boolean {
    const path = request.url.pathname;
    return scopePattern.test(path) || path.startsWith('/latest/') || path.startsWith('/metadata/');
  }

  handle(request: FaceRequest, context: FaceContext): FaceOutcome {
    const path = request.url.pathname;
    const scoped = scopePattern.exec(path);
    let instanceId: string | undefined;
    let instancePath = path;
    if (scoped) {
      try {
        instanceId = decodeURIComponent(scoped[1] ?? '');
      } catch {
        return { answer: notFound() };
      }
      instancePath = scoped[2] ?? '/';
    } else {
      const peer = request.headers[peerHeader];
      instanceId = typeof peer === 'string' ? context.model.attachedInterfaceWithPrimaryIp(peer)?.attachment?.instanceId : undefined;
      if (!instanceId) return { answer: notFound() };
    }
    let instance: Instance;
    try {
      instance = context.model.getInstance(instanceId);
    } catch {
      return { answer: this.service.unknownInstance() };
    }
    return { answer: this.service.serve(instance, { method: request.method, path: instancePath, headers: request.headers, query: request.url.searchParams }, context) };
  }
}
