import type { IncomingHttpHeaders } from 'node:http';
import type { Clock, NetworkInterface } from '../../model/cloud.ts';
import type { BucketSpec } from '../../realism/throttle.ts';
import type { FaceContext, FaceResponse } from '../ec2/face.ts';
import { ArmError, armErrorResponse, armResponse, statusForCode, toArmError } from './errors.ts';
import { armResourceGroup, armSubscriptionId } from './ids.ts';
import { normalizeLocation, putNic, validNicName } from './nic-put.ts';
import { nicJson, nsgJson, skuJson, subnetJson, usageJson, vnetJson } from './resources.ts';
import { ArmState, type AsyncOperation } from './state.ts';

/**
 * The Azure Resource Manager face: ARM JSON under /subscriptions/..., the
 * Microsoft.Network calls a CNI makes on NICs, subnets and VNets, and
 * Microsoft.Compute resource SKUs. Writes are long-running operations polled
 * through Azure-AsyncOperation URLs this face serves too.
 */

export interface ArmRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** The body; null when it is larger than the emulator accepts. */
  body(): Promise<string | null>;
}

/** API versions accepted per provider (the SDKs pinned here send the first). */
const networkApiVersions = ['2025-05-01', '2025-03-01', '2025-01-01', '2024-10-01', '2024-07-01', '2024-05-01', '2024-03-01', '2024-01-01', '2023-11-01', '2023-09-01', '2023-06-01', '2023-05-01', '2023-04-01', '2023-02-01', '2022-11-01', '2022-09-01', '2022-07-01', '2022-05-01', '2022-01-01', '2021-08-01', '2021-05-01'];
const skuApiVersions = ['2021-07-01', '2019-04-01', '2017-09-01'];

/** ARM's documented subscription buckets (capacity, refill per second). */
const buckets: Record<'reads' | 'writes' | 'deletes', BucketSpec> = {
  reads: { capacity: 250, refillPerSecond: 25 },
  writes: { capacity: 200, refillPerSecond: 10 },
  deletes: { capacity: 200, refillPerSecond: 10 },
};

const pageSize = 100;

type Handler = (request: ArmRequest, params: string[]) => Promise<FaceResponse> | FaceResponse;

interface Route {
  /** Segments after /subscriptions/{sub}/; '*' matches one name. Compared case-insensitively. */
  pattern: string[];
  methods: Partial<Record<string, { action: string; handler: Handler }>>;
  apiVersions: string[];
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ArmFace {
  readonly state: ArmState;
  private readonly routes: Route[];

  constructor(
    private readonly context: FaceContext,
    private readonly clock: Clock,
  ) {
    this.state = new ArmState(clock);
    const rg = ['resourceGroups', '*', 'providers'];
    const network = [...rg, 'Microsoft.Network'];
    this.routes = [
      { pattern: [...network, 'networkInterfaces'], apiVersions: networkApiVersions, methods: { GET: { action: 'NetworkInterfaces_List', handler: (r) => this.listNics(r) } } },
      {
        pattern: [...network, 'networkInterfaces', '*'],
        apiVersions: networkApiVersions,
        methods: {
          GET: { action: 'NetworkInterfaces_Get', handler: (_r, [name]) => this.getNic(name ?? '') },
          PUT: { action: 'NetworkInterfaces_CreateOrUpdate', handler: (r, [name]) => this.putNic(r, name ?? '') },
          DELETE: { action: 'NetworkInterfaces_Delete', handler: (r, [name]) => this.deleteNic(r, name ?? '') },
        },
      },
      {
        pattern: [...network, 'networkSecurityGroups', '*'],
        apiVersions: networkApiVersions,
        methods: { GET: { action: 'NetworkSecurityGroups_Get', handler: (_r, [name]) => this.getNsg(name ?? '') } },
      },
      { pattern: [...network, 'virtualNetworks', '*'], apiVersions: networkApiVersions, methods: { GET: { action: 'VirtualNetworks_Get', handler: (_r, [vnet]) => this.getVnet(vnet ?? '') } } },
      {
        pattern: [...network, 'virtualNetworks', '*', 'subnets'],
        apiVersions: networkApiVersions,
        methods: { GET: { action: 'Subnets_List', handler: (_r, [vnet]) => this.listSubnets(vnet ?? '') } },
      },
      {
        pattern: [...network, 'virtualNetworks', '*', 'subnets', '*'],
        apiVersions: networkApiVersions,
        methods: { GET: { action: 'Subnets_Get', handler: (_r, [vnet, subnet]) => this.getSubnet(vnet ?? '', subnet ?? '') } },
      },
      {
        pattern: [...network, 'virtualNetworks', '*', 'usages'],
        apiVersions: networkApiVersions,
        methods: { GET: { action: 'VirtualNetworks_ListUsage', handler: (_r, [vnet]) => this.listUsage(vnet ?? '') } },
      },
      {
        pattern: ['providers', 'Microsoft.Network', 'locations', '*', 'operations', '*'],
        apiVersions: networkApiVersions,
        methods: { GET: { action: 'AsyncOperations_Get', handler: (r, [, id]) => this.operationStatus(r, id ?? '') } },
      },
      {
        pattern: ['providers', 'Microsoft.Network', 'locations', '*', 'operationResults', '*'],
        apiVersions: networkApiVersions,
        methods: { GET: { action: 'AsyncOperations_GetResult', handler: (r, [, id]) => this.operationResult(r, id ?? '') } },
      },
      { pattern: ['providers', 'Microsoft.Compute', 'skus'], apiVersions: skuApiVersions, methods: { GET: { action: 'ResourceSkus_List', handler: (r) => this.listSkus(r) } } },
    ];
  }

  async handle(request: ArmRequest): Promise<FaceResponse> {
    try {
      return await this.dispatch(request);
    } catch (err) {
      return armErrorResponse(toArmError(err));
    }
  }

  private async dispatch(request: ArmRequest): Promise<FaceResponse> {
    const authorization = header(request.headers, 'authorization');
    if (!authorization) throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
    if (!/^Bearer \S+$/i.test(authorization)) throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');

    let segments: string[];
    try {
      segments = request.url.pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw new ArmError(400, 'InvalidRequestUri', `The request URI '${request.url.pathname}' is not valid.`);
    }
    if (segments[segments.length - 1] === '') segments.pop();
    const subscription = segments[1] ?? '';
    if (subscription.toLowerCase() !== armSubscriptionId) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscription}' could not be found.`);
    const rest = segments.slice(2);
    if (rest[0]?.toLowerCase() === 'resourcegroups' && rest[1] !== undefined && rest[1].toLowerCase() !== armResourceGroup) {
      throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rest[1]}' could not be found.`);
    }
    const matched = this.match(rest);
    if (!matched) {
      throw new ArmError(400, 'InvalidResourceType', `The resource type or path '${request.url.pathname}' is not served by this endpoint.`);
    }
    const { route, params } = matched;
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const entry = route.methods[method];
    if (!entry) throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${request.method}'.`);

    const version = request.url.searchParams.get('api-version');
    if (version === null || version === '') throw new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    if (!route.apiVersions.includes(version)) {
      throw new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${version}' is invalid. The supported versions are '${route.apiVersions.join(',')}'.`);
    }

    const delay = this.context.latencyMs(entry.action);
    if (delay > 0) await sleep(delay);
    const kind = method === 'GET' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes';
    const bucketKey = `arm:${armSubscriptionId}:${kind}`;
    const rateHeaders = (): Record<string, string> => ({
      [`x-ms-ratelimit-remaining-subscription-${kind}`]: String(this.context.throttler.remaining(bucketKey, buckets[kind])),
    });
    const throttled = this.context.throttler.check(bucketKey, buckets[kind]);
    if (throttled) {
      const seconds = Math.max(1, Math.ceil(throttled.retryAfterMs / 1000));
      return armErrorResponse(
        new ArmError(
          429,
          'SubscriptionRequestsThrottled',
          `Number of '${kind.slice(0, -1)}' requests for subscription '${armSubscriptionId}' exceeded. Please try again after '${seconds}' seconds after the additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.`,
          { 'retry-after': String(seconds) },
        ),
        rateHeaders(),
      );
    }
    const fault = this.context.faults.take(entry.action);
    if (fault) {
      const status = fault.status ?? statusForCode(fault.code);
      // ARM sends Retry-After with every 429; an injected one waits the shortest time it can name.
      return armErrorResponse(new ArmError(status, fault.code, fault.message, status === 429 ? { 'retry-after': '1' } : {}), rateHeaders());
    }
    const response = await entry.handler(request, params);
    return { ...response, headers: { ...response.headers, ...rateHeaders() } };
  }

  private match(rest: string[]): { route: Route; params: string[] } | undefined {
    for (const route of this.routes) {
      if (route.pattern.length !== rest.length) continue;
      const params: string[] = [];
      const ok = route.pattern.every((part, index) => {
        const segment = rest[index] ?? '';
        if (part === '*') {
          params.push(segment);
          return segment !== '';
        }
        return part.toLowerCase() === segment.toLowerCase();
      });
      if (ok) return { route, params: params.slice(route.pattern[0] === 'resourceGroups' ? 1 : 0) };
    }
    return undefined;
  }

  // ---- network interfaces ------------------------------------------------

  private location(nic: NetworkInterface): string {
    return this.context.model.getVpc(nic.vpcId).region;
  }

  private findNic(name: string): NetworkInterface {
    const modelId = this.state.modelIdOf(name);
    const nic = this.context.model.listInterfaces().find((candidate) => candidate.id === modelId);
    if (!nic) throw this.notFound('Microsoft.Network/networkInterfaces', name);
    return nic;
  }

  private notFound(type: string, name: string): ArmError {
    return new ArmError(
      404,
      'ResourceNotFound',
      `The Resource '${type}/${name}' under resource group '${armResourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
  }

  private nic(nic: NetworkInterface): Record<string, unknown> {
    return nicJson(this.context.model, this.state, nic, this.location(nic));
  }

  private getNic(name: string): FaceResponse {
    const nic = this.findNic(name);
    const body = this.nic(nic);
    return armResponse(200, body, { etag: String(body.etag) });
  }

  private listNics(request: ArmRequest): FaceResponse {
    // Creation order, as NRP lists them; ids break ties.
    const nics = this.context.model.listInterfaces().sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    return this.page(request, nics.map((nic) => this.nic(nic)));
  }

  private async putNic(request: ArmRequest, name: string): Promise<FaceResponse> {
    validNicName(name);
    const body = await request.body();
    if (body === null) throw new ArmError(413, 'RequestEntityTooLarge', 'The request body is too large.');
    return this.state.exclusive(name, async () => {
      const outcome = await putNic(this.context.model, this.state, {
        name,
        body,
        ifMatch: header(request.headers, 'if-match'),
        ifNoneMatch: header(request.headers, 'if-none-match'),
      });
      const operation = this.state.startOperation(this.context.model.attachDelayMs, outcome.modelId, outcome.failure);
      const headers = this.operationHeaders(request, operation, outcome.location, false);
      if (!outcome.modelId) {
        // A create that failed in its operation: ARM still answered 201 with what it was asked to build.
        return armResponse(201, { name, type: 'Microsoft.Network/networkInterfaces', properties: { provisioningState: 'Updating' } }, headers);
      }
      const nic = this.context.model.getInterface(outcome.modelId);
      const json = this.nic(nic);
      // Until the operation ends the NIC shows Updating, whether it will succeed or fail.
      if (outcome.failure) (json.properties as Record<string, unknown>).provisioningState = 'Updating';
      return armResponse(outcome.created ? 201 : 200, json, { ...headers, etag: String(json.etag) });
    });
  }

  private async deleteNic(request: ArmRequest, name: string): Promise<FaceResponse> {
    validNicName(name);
    return this.state.exclusive(name, async () => {
      const modelId = this.state.modelIdOf(name);
      const nic = this.context.model.listInterfaces().find((candidate) => candidate.id === modelId);
      // ARM answers a delete of something absent with 204: deletes are idempotent.
      if (!nic) return armResponse(204, undefined);
      if (nic.attachment) {
        throw new ArmError(
          400,
          'NicInUse',
          `Network Interface ${this.nic(nic).id as string} is used by existing resource ${nic.attachment.instanceId}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.`,
        );
      }
      const location = this.location(nic);
      this.context.model.deleteInterface(nic.id);
      this.state.forget(nic.id);
      const operation = this.state.startOperation(this.context.model.detachDelayMs);
      return armResponse(202, undefined, this.operationHeaders(request, operation, location, true));
    });
  }

  // ---- long-running operations -------------------------------------------

  private operationHeaders(request: ArmRequest, operation: AsyncOperation, location: string, withLocation: boolean): Record<string, string> {
    const host = header(request.headers, 'host') ?? 'localhost';
    const version = request.url.searchParams.get('api-version') ?? networkApiVersions[0] ?? '';
    const prefix = `http://${host}/subscriptions/${armSubscriptionId}/providers/Microsoft.Network/locations/${normalizeLocation(location)}`;
    return {
      'azure-asyncoperation': `${prefix}/operations/${operation.id}?api-version=${version}`,
      ...(withLocation ? { location: `${prefix}/operationResults/${operation.id}?api-version=${version}` } : {}),
      'retry-after': String(this.retryAfterSeconds(operation)),
    };
  }

  private retryAfterSeconds(operation: AsyncOperation): number {
    const left = operation.doneAt - this.clock.now();
    return left <= 0 ? 0 : Math.ceil(left / 1000);
  }

  private findOperation(id: string): AsyncOperation {
    const operation = this.state.operation(id);
    if (!operation) throw new ArmError(404, 'NotFound', `Operation ${id} was not found.`);
    return operation;
  }

  private operationStatus(request: ArmRequest, id: string): FaceResponse {
    const operation = this.findOperation(id);
    const common = { id: request.url.pathname, name: operation.id, startTime: new Date(operation.startedAt).toISOString() };
    if (this.clock.now() < operation.doneAt) {
      return armResponse(200, { ...common, status: 'InProgress' }, { 'retry-after': String(this.retryAfterSeconds(operation)) });
    }
    const endTime = new Date(operation.doneAt).toISOString();
    if (operation.error) return armResponse(200, { ...common, status: 'Failed', endTime, error: { ...operation.error, details: [] } });
    return armResponse(200, { ...common, status: 'Succeeded', endTime });
  }

  private operationResult(request: ArmRequest, id: string): FaceResponse {
    const operation = this.findOperation(id);
    if (this.clock.now() < operation.doneAt) {
      return armResponse(202, undefined, { location: request.url.toString(), 'retry-after': String(this.retryAfterSeconds(operation)) });
    }
    if (operation.error) return armErrorResponse(new ArmError(400, operation.error.code, operation.error.message));
    return armResponse(204, undefined);
  }

  // ---- network security groups -------------------------------------------

  private getNsg(name: string): FaceResponse {
    // ARM names are case-insensitive; the model's ids are lower case.
    const group = this.context.model.listSecurityGroups().find((candidate) => candidate.id === name.toLowerCase());
    if (!group) throw this.notFound('Microsoft.Network/networkSecurityGroups', name);
    return armResponse(200, nsgJson(group, this.context.model.getVpc(group.vpcId).region));
  }

  // ---- virtual networks --------------------------------------------------

  private vpc(vnetName: string): { id: string; region: string } {
    const vpc = this.context.model.listVpcs().find((candidate) => candidate.id === vnetName.toLowerCase());
    if (!vpc) throw this.notFound('Microsoft.Network/virtualNetworks', vnetName);
    return vpc;
  }

  private getVnet(vnetName: string): FaceResponse {
    const vpc = this.context.model.getVpc(this.vpc(vnetName).id);
    const subnets = this.context.model.listSubnets().filter((subnet) => subnet.vpcId === vpc.id);
    return armResponse(200, vnetJson(vpc, subnets));
  }

  private listSubnets(vnetName: string): FaceResponse {
    const vpc = this.vpc(vnetName);
    return armResponse(200, { value: this.context.model.listSubnets().filter((subnet) => subnet.vpcId === vpc.id).map(subnetJson) });
  }

  private getSubnet(vnetName: string, subnetName: string): FaceResponse {
    const vpc = this.vpc(vnetName);
    const subnet = this.context.model.listSubnets().find((candidate) => candidate.vpcId === vpc.id && candidate.id === subnetName.toLowerCase());
    if (!subnet) throw new ArmError(404, 'NotFound', `Resource /subscriptions/${armSubscriptionId}/resourceGroups/${armResourceGroup}/providers/Microsoft.Network/virtualNetworks/${vnetName}/subnets/${subnetName} not found.`);
    return armResponse(200, subnetJson(subnet));
  }

  private listUsage(vnetName: string): FaceResponse {
    const vpc = this.vpc(vnetName);
    return armResponse(200, { value: this.context.model.listSubnets().filter((subnet) => subnet.vpcId === vpc.id).map(usageJson) });
  }

  // ---- compute -------------------------------------------------------------

  private listSkus(request: ArmRequest): FaceResponse {
    const filter = request.url.searchParams.get('$filter');
    let locations = [...new Set(this.context.model.listVpcs().map((vpc) => normalizeLocation(vpc.region)))];
    if (filter !== null) {
      const match = /^\s*location\s+eq\s+'([^']*)'\s*$/i.exec(filter);
      if (!match) throw new ArmError(400, 'InvalidParameter', `The $filter '${filter}' is not supported; use location eq '<location>'.`);
      locations = [normalizeLocation(match[1] ?? '')];
    }
    const sizes = [...this.context.model.catalog.values()].filter((type) => type.name.startsWith('Standard_'));
    return this.page(request, sizes.map((type) => skuJson(type, locations)));
  }

  // ---- paging --------------------------------------------------------------

  private page(request: ArmRequest, items: unknown[]): FaceResponse {
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
}
