import { randomUUID } from 'node:crypto';
import type { Face, FaceContext, FaceOutcome, FaceRequest } from '../face.ts';
import { ec2Actions } from './actions.ts';
import { ec2Bucket } from './buckets.ts';
import { ec2Error, ec2Errors } from './errors.ts';
import { QueryParams } from './query.ts';
import { ec2Response } from './xml.ts';

const apiVersion = '2016-11-15';

/**
 * The EC2 Query protocol face: POST / with a form-encoded body naming the
 * Action; answers are XML. The actions live in ./actions.ts.
 */
export class Ec2Face implements Face {
  /** POST /: the server asks the ECS face first, which takes the calls that name their action outside the body. */
  matches(request: FaceRequest): boolean {
    return request.method === 'POST' && request.url.pathname === '/';
  }

  async handle(request: FaceRequest, context: FaceContext): Promise<FaceOutcome> {
    const body = await request.body();
    const requestId = randomUUID();
    let params: QueryParams;
    try {
      params = new QueryParams(body);
    } catch {
      return { answer: ec2Error(requestId, 'InvalidParameterValue', 'The request body could not be decoded') };
    }
    const action = params.action;
    if (action === '') return { answer: ec2Error(requestId, 'MissingAction', 'The request must contain the parameter Action', 400) };
    const entry = Object.hasOwn(ec2Actions, action) ? ec2Actions[action] : undefined;
    if (!entry) return { answer: ec2Error(requestId, 'InvalidAction', `The action ${action} is not valid for this web service.`) };
    const version = params.optional('Version');
    if (version !== undefined && version !== apiVersion) {
      return { answer: ec2Error(requestId, 'InvalidParameterValue', `Version ${version} is not supported; use ${apiVersion}`) };
    }
    const bucket = ec2Bucket(entry.bucket, params);
    return {
      call: {
        action,
        // Unfiltered Describe calls have a bucket apart from the filtered ones: the key names the bucket's size.
        throttle: { key: `ec2:${action}:${bucket.capacity}/${bucket.refillPerSecond}`, bucket },
        errors: ec2Errors(requestId),
        run: async () => ({
          status: 200,
          headers: { 'content-type': 'text/xml;charset=UTF-8' },
          body: ec2Response(action, requestId, await entry.run(context.model, params)),
        }),
      },
    };
  }
}
