import type { IncomingHttpHeaders } from 'node:http';
import type { Instance } from '../../model/cloud.ts';
import type { FaceContext, FaceResponse } from '../face.ts';

/** A request to the metadata address, as the instance that made it sees its path. */
export interface MetadataRequest {
  method: string;
  /** The path without the emulator's /_instance/{id} scope. */
  path: string;
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
}

/**
 * One cloud's instance metadata service. The metadata endpoint (./endpoint.ts)
 * has found which instance asks; a service answers for that instance. It is
 * neither metered nor throttled, as on the clouds.
 */
export interface MetadataService {
  /** The answer when the caller's instance is not in the model (each service words its 404). */
  unknownInstance(): FaceResponse;
  serve(instance: Instance, request: MetadataRequest, context: FaceContext): FaceResponse;
}
