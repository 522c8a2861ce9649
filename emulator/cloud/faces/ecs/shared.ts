import type { CloudModel, NetworkInterface } from '../../model/cloud.ts';
import { RpcError, invalid, type RpcParams } from './params.ts';

/**
 * What the ECS face's action files share: the answer types, the region and
 * ENI look-ups, ECS's time and tag shapes, and token paging.
 */

/** The emulated Alibaba Cloud account that owns everything. */
export const alibabaOwnerId = '1234567890123456';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type Handler = (model: CloudModel, params: RpcParams) => Promise<JsonObject> | JsonObject;

export const eniNotFound = (id: string): RpcError => new RpcError('InvalidEniId.NotFound', `The specified EniId does not exist: ${id}.`, 404);
export const eniState = (id: string, status: string): RpcError =>
  new RpcError('InvalidOperation.InvalidEniState', `The operation is not allowed in the current state of ENI ${id} (${status}).`, 400);

/** RegionId is a parameter of every call but DescribeInstanceTypes: resources of other regions do not exist for it. */
export function region(params: RpcParams): string {
  const value = params.required('RegionId');
  if (!/^[a-z]{2,}(-[a-z0-9]+){1,4}$/.test(value)) throw new RpcError('InvalidRegionId.MalFormed', 'The specified parameter RegionId is not valid.');
  return value;
}

export function regionOfVpc(model: CloudModel): (vpcId: string) => string {
  const regions = new Map(model.listVpcs().map((vpc) => [vpc.id, vpc.region]));
  return (vpcId) => regions.get(vpcId) ?? '';
}

export function ecsStatus(nic: NetworkInterface): 'Available' | 'Attaching' | 'InUse' | 'Detaching' {
  switch (nic.attachment?.status) {
    case undefined:
      return 'Available';
    case 'attaching':
      return 'Attaching';
    case 'detaching':
      return 'Detaching';
    default:
      return 'InUse';
  }
}

/** ECS prints times to the second: 2019-12-25T12:31:31Z. */
export const ecsTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function tagsJson(tags: Record<string, string>): JsonObject {
  return { Tag: Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })) };
}

/** A resource of a VPC, if it exists in this region: others answer `notFound` as if absent. */
export function inRegion<T extends { vpcId: string }>(model: CloudModel, regionId: string, lookup: () => T, notFound: () => RpcError): T {
  let resource: T;
  try {
    resource = lookup();
  } catch {
    throw notFound();
  }
  if (regionOfVpc(model)(resource.vpcId) !== regionId) throw notFound();
  return resource;
}

/** The current truth of one ENI, if it exists in this region. */
export function eni(model: CloudModel, id: string, regionId: string): NetworkInterface {
  return inRegion(model, regionId, () => model.getInterface(id), () => eniNotFound(id));
}

/** Paging by an opaque token carrying the offset; NextToken is empty on the last page. */
export function tokenPage<T>(items: T[], params: RpcParams, range: [number, number], fallback: number): { items: T[]; nextToken: string } {
  const maxResults = params.int('MaxResults', range[0], range[1]) ?? fallback;
  const token = params.optional('NextToken');
  let start = 0;
  if (token !== undefined && token !== '') {
    const decoded = /^ecs:(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString('latin1'));
    if (!decoded) throw invalid('NextToken', 'The token was not issued by this service.');
    start = Number(decoded[1]);
  }
  const end = start + maxResults;
  return { items: items.slice(start, end), nextToken: end < items.length ? Buffer.from(`ecs:${end}`).toString('base64url') : '' };
}
