import type { CloudModel } from '../../model/cloud.ts';
import type { Ec2BucketClass } from './buckets.ts';
import type { QueryParams } from './query.ts';
import type { XmlObject } from './xml.ts';

/** The emulated account that owns everything. */
export const ownerId = '111122223333';

export type Handler = (model: CloudModel, params: QueryParams) => Promise<XmlObject> | XmlObject;

/** One EC2 action: how it runs against the model, and which of EC2's throttle buckets it draws from. */
export interface Ec2Action {
  run: Handler;
  bucket: Ec2BucketClass;
}

/** The answer of an action whose only output is `<return>true</return>`. */
export const ok: XmlObject = { return: true };

/** EC2's `tagSet`: one item per tag. */
export function tagSet(tags: Record<string, string>): XmlObject[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

/** `TagSpecification.N.ResourceType` and its tags, merged per resource type. */
export function tagSpecifications(params: QueryParams): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (let i = 1; ; i++) {
    const type = params.optional(`TagSpecification.${i}.ResourceType`);
    if (type === undefined) return out;
    out[type] = { ...(out[type] ?? {}), ...params.tags(`TagSpecification.${i}.`) };
  }
}

/** An EC2 resource's ARN in the VPC's region. */
export function ec2Arn(model: CloudModel, vpcId: string, kind: string, id: string): string {
  return `arn:aws:ec2:${model.getVpc(vpcId).region}:${ownerId}:${kind}/${id}`;
}
