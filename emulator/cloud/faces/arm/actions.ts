import type { Clock, CloudModel, NetworkInterface } from '../../model/cloud.ts';
import { BodyTooLarge, header, type FaceRequest, type FaceResponse } from '../face.ts';
import { networkApiVersions } from './api-versions.ts';
import { ArmError, armErrorResponse, armResponse } from './errors.ts';
import { armResourceGroup, armSubscriptionId } from './ids.ts';
import { normalizeLocation, putNic as applyNicPut, validNicName } from './nic-put.ts';
import { nicJson, skuJson, subnetJson, usageJson, vnetJson } from './resources.ts';
import type { ArmState, AsyncOperation } from './state.ts';

/**
 * The ARM operations the face serves, one function each. The route table
 * (./routes.ts) names them; the face has checked authentication, the path,
 * the method and the api-version before one runs.
 */

/** What an operation gets: the request, the names the route's '*' segments matched, and the cloud. */
export interface ArmCall {
  request: FaceRequest;
  /** The route's '*' segments after the resource group, in order. */
  params: string[];
  model: CloudModel;
  state: ArmState;
  clock: Clock;
}

export type ArmAction = (call: ArmCall) => Promise<FaceResponse> | FaceResponse;

const pageSize = 100;

// ---- network interfaces ------------------------------------------------

function location(call: ArmCall, nic: NetworkInterface): string {
  return call.model.getVpc(nic.vpcId).region;
}

export function notFound(type: string, name: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${armResourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

function findNic(call: ArmCall, name: string): NetworkInterface {
  const modelId = call.state.modelIdOf(name);
  const nic = call.model.listInterfaces().find((candidate) => candidate.id === modelId);
  if (!nic) throw notFound('Microsoft.Network/networkInterfaces', name);
  return nic;
}

function nic(call: ArmCall, nic: NetworkInterface): Record<string, unknown> {
  return nicJson(call.model, call.state, nic, location(call, nic));
}

export const getNic: ArmAction = (call) => {
  const body = nic(call, findNic(call, call.params[0] ?? ''));
  return armResponse(200, body, { etag: String(body.etag) });
};

export const listNics: ArmAction = (call) => {
  // Creation order, as NRP lists them; ids break ties.
  const nics = call.model.listInterfaces().sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  return page(call, nics.map((each) => nic(call, each)));
};

/** The request body as text; too large a body is ARM's 413. */
export async function readBody(call: ArmCall): Promise<string> {
  return call.request.body().catch((err: unknown) => {
    throw err instanceof BodyTooLarge ? new ArmError(413, 'RequestEntityTooLarge', 'The request body is too large.') : err;
  });
}

export const putNic: ArmAction = async (call) => {
  const name = call.params[0] ?? '';
  validNicName(name);
  const body = await readBody(call);
  return call.state.exclusive(name, async () => {
    const outcome = await applyNicPut(call.model, call.state, {
      name,
      body,
      ifMatch: header(call.request.headers, 'if-match'),
      ifNoneMatch: header(call.request.headers, 'if-none-match'),
    });
    const operation = call.state.startOperation(call.model.attachDelayMs, outcome.modelId, outcome.failure);
    const headers = operationHeaders(call, operation, outcome.location, false);
    if (!outcome.modelId) {
      // A create that failed in its operation: ARM still answered 201 with what it was asked to build.
      return armResponse(201, { name, type: 'Microsoft.Network/networkInterfaces', properties: { provisioningState: 'Updating' } }, headers);
    }
    const json = nic(call, call.model.getInterface(outcome.modelId));
    // Until the operation ends the NIC shows Updating, whether it will succeed or fail.
    if (outcome.failure) (json.properties as Record<string, unknown>).provisioningState = 'Updating';
    return armResponse(outcome.created ? 201 : 200, json, { ...headers, etag: String(json.etag) });
  });
};

export const deleteNic: ArmAction = async (call) => {
  const name = call.params[0] ?? '';
  validNicName(name);
  return call.state.exclusive(name, async () => {
    const modelId = call.state.modelIdOf(name);
    const found = call.model.listInterfaces().find((candidate) => candidate.id === modelId);
    // ARM answers a delete of something absent with 204: deletes are idempotent.
    if (!found) return armResponse(204, undefined);
    if (found.attachment) {
      throw new ArmError(
        400,
        'NicInUse',
        `Network Interface ${nic(call, found).id as string} is used by existing resource ${found.attachment.instanceId}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.`,
      );
    }
    const region = location(call, found);
    call.model.deleteInterface(found.id);
    call.state.forget(found.id);
    const operation = call.state.startOperation(call.model.detachDelayMs);
    return armResponse(202, undefined, operationHeaders(call, operation, region, true));
  });
};

// ---- long-running operations -------------------------------------------

export function operationHeaders(call: ArmCall, operation: AsyncOperation, region: string, withLocation: boolean): Record<string, string> {
  const host = header(call.request.headers, 'host') ?? 'localhost';
  const version = call.request.url.searchParams.get('api-version') ?? networkApiVersions[0] ?? '';
  const prefix = `http://${host}/subscriptions/${armSubscriptionId}/providers/Microsoft.Network/locations/${normalizeLocation(region)}`;
  return {
    'azure-asyncoperation': `${prefix}/operations/${operation.id}?api-version=${version}`,
    ...(withLocation ? { location: `${prefix}/operationResults/${operation.id}?api-version=${version}` } : {}),
    'retry-after': String(retryAfterSeconds(call, operation)),
  };
}

function retryAfterSeconds(call: ArmCall, operation: AsyncOperation): number {
  const left = operation.doneAt - call.clock.now();
  return left <= 0 ? 0 : Math.ceil(left / 1000);
}

/** The operation a status URL names; its route's '*' segments are the location and the id. */
function findOperation(call: ArmCall): AsyncOperation {
  const id = call.params[1] ?? '';
  const operation = call.state.operation(id);
  if (!operation) throw new ArmError(404, 'NotFound', `Operation ${id} was not found.`);
  return operation;
}

export const operationStatus: ArmAction = (call) => {
  const operation = findOperation(call);
  const common = { id: call.request.url.pathname, name: operation.id, startTime: new Date(operation.startedAt).toISOString() };
  if (call.clock.now() < operation.doneAt) {
    return armResponse(200, { ...common, status: 'InProgress' }, { 'retry-after': String(retryAfterSeconds(call, operation)) });
  }
  const endTime = new Date(operation.doneAt).toISOString();
  if (operation.error) return armResponse(200, { ...common, status: 'Failed', endTime, error: { ...operation.error, details: [] } });
  return armResponse(200, { ...common, status: 'Succeeded', endTime });
};

export const operationResult: ArmAction = (call) => {
  const operation = findOperation(call);
  if (call.clock.now() < operation.doneAt) {
    return armResponse(202, undefined, { location: call.request.url.toString(), 'retry-after': String(retryAfterSeconds(call, operation)) });
  }
  if (operation.error) return armErrorResponse(new ArmError(400, operation.error.code, operation.error.message));
  return armResponse(204, undefined);
};

// ---- virtual networks --------------------------------------------------

/** The ARM name of a security group, for the JSON of what refers to it. */
const groupName =
  (call: ArmCall) =>
  (modelId: string): string =>
    call.state.security.nameOf(modelId);

/** The VNet the route's first '*' names. */
export function vpc(call: ArmCall): { id: string; region: string } {
  const vnetName = call.params[0] ?? '';
  const found = call.model.listVpcs().find((candidate) => candidate.id === vnetName.toLowerCase());
  if (!found) throw notFound('Microsoft.Network/virtualNetworks', vnetName);
  return found;
}

export const getVnet: ArmAction = (call) => {
  const found = call.model.getVpc(vpc(call).id);
  const subnets = call.model.listSubnets().filter((subnet) => subnet.vpcId === found.id);
  return armResponse(200, vnetJson(found, subnets, groupName(call)));
};

export const listSubnets: ArmAction = (call) => {
  const found = vpc(call);
  return armResponse(200, { value: call.model.listSubnets().filter((subnet) => subnet.vpcId === found.id).map((subnet) => subnetJson(subnet, groupName(call))) });
};

export const getSubnet: ArmAction = (call) => {
  const found = vpc(call);
  const [vnetName = '', subnetName = ''] = call.params;
  const subnet = call.model.listSubnets().find((candidate) => candidate.vpcId === found.id && candidate.id === subnetName.toLowerCase());
  if (!subnet) throw new ArmError(404, 'NotFound', `Resource /subscriptions/${armSubscriptionId}/resourceGroups/${armResourceGroup}/providers/Microsoft.Network/virtualNetworks/${vnetName}/subnets/${subnetName} not found.`);
  return armResponse(200, subnetJson(subnet, groupName(call)));
};

export const listUsage: ArmAction = (call) => {
  const found = vpc(call);
  return armResponse(200, { value: call.model.listSubnets().filter((subnet) => subnet.vpcId === found.id).map((subnet) => usageJson(subnet, call.model.rules)) });
};

// ---- compute -------------------------------------------------------------

export const listSkus: ArmAction = (call) => {
  const filter = call.request.url.searchParams.get('$filter');
  let locations = [...new Set(call.model.listVpcs().map((each) => normalizeLocation(each.region)))];
  if (filter !== null) {
    const match = /^\s*location\s+eq\s+'([^']*)'\s*$/i.exec(filter);
    if (!match) throw new ArmError(400, 'InvalidParameter', `The $filter '${filter}' is not supported; use location eq '<location>'.`);
    locations = [normalizeLocation(match[1] ?? '')];
  }
  const sizes = [...call.model.catalog.values()].filter((type) => type.name.startsWith('Standard_'));
  return page(call, sizes.map((type) => skuJson(type, locations)));
};

// ---- paging --------------------------------------------------------------

export function page(call: ArmCall, items: unknown[]): FaceResponse {
  const { request } = call;
  const token = request.url.searchParams.get('$skipToken');
  let start = 0;
  if (token !== null) {
    const decoded = /^o(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString());
    if (!decoded) throw new ArmError(400, 'InvalidSkipToken', `The $skipToken '${token}' is invalid.`);
    start = Number(decoded[1]);
  }
  const end = start + pageSize;
  const body: Record<string, unknown> = { value: items.slice(start, end) };
  if (end < items.length) {
    const next = new URL(request.url.toString());
    next.host = header(request.headers, 'host') ?? next.host;
    next.searchParams.set('$skipToken', Buffer.from(`o${end}`).toString('base64url'));
    body.nextLink = next.toString();
  }
  return armResponse(200, body);
}
