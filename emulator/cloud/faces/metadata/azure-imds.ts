import { randomBytes } from 'node:crypto';
import type { Clock, CloudModel, Instance } from '../../model/cloud.ts';
import { parseCidr, numberToIp } from '../../model/addresses.ts';
import { armIds, armResourceGroup, armSubscriptionId, imdsMac, stableGuid } from '../arm/ids.ts';
import { header, type FaceContext, type FaceResponse } from '../face.ts';
import type { MetadataRequest, MetadataService } from './service.ts';

/**
 * The Azure Instance Metadata Service: `/metadata/instance` (the VM, its NICs
 * and their addresses) and the managed-identity token endpoint
 * `/metadata/identity/oauth2/token`, which @azure/identity's
 * ManagedIdentityCredential uses. Every request needs `Metadata: true`.
 */

const instanceVersions = ['2017-03-01', '2017-04-02', '2017-08-01', '2017-12-01', '2018-02-01', '2018-04-02', '2018-10-01', '2019-02-01', '2019-03-11', '2019-04-30', '2019-06-01', '2019-06-04', '2019-08-01', '2019-08-15', '2019-11-01', '2020-06-01', '2020-07-15', '2020-09-01', '2020-10-01', '2020-12-01', '2021-01-01', '2021-02-01', '2021-03-01', '2021-05-01', '2021-10-01', '2021-11-01', '2021-11-15', '2021-12-13', '2022-02-01', '2022-03-01', '2022-03-11', '2022-04-13', '2022-07-07', '2022-08-01', '2022-09-01', '2023-07-01'];
const tokenVersions = ['2018-02-01', '2019-08-01'];
const newestVersions = instanceVersions.slice(-3).reverse();

const json = (status: number, value: unknown): FaceResponse => ({ status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(value) });
const notFound = (): FaceResponse => json(404, { error: 'Not found' });

type Doc = string | number | boolean | Doc[] | { [key: string]: Doc };

function instanceDocument(model: CloudModel, instance: Instance): { [key: string]: Doc } {
  const interfaces = model.attachedInterfaces(instance.id).map((nic): Doc => {
    const { base, prefixLength } = parseCidr(model.getSubnet(nic.subnetId).cidr);
    return {
      ipv4: {
        ipAddress: [nic.primaryIp, ...nic.secondaryIps].map((privateIpAddress) => ({ privateIpAddress, publicIpAddress: '' })),
        subnet: [{ address: numberToIp(base), prefix: String(prefixLength) }],
      },
      ipv6: { ipAddress: [] },
      macAddress: imdsMac(nic.mac),
    };
  });
  return {
    compute: {
      azEnvironment: 'AzurePublicCloud',
      location: instance.region,
      name: instance.id,
      osType: 'Linux',
      provider: 'Microsoft.Compute',
      resourceGroupName: armResourceGroup,
      resourceId: armIds.vm(instance.id),
      subscriptionId: armSubscriptionId,
      tags: Object.entries(instance.tags)
        .map(([key, value]) => `${key}:${value}`)
        .join(';'),
      tagsList: Object.entries(instance.tags).map(([name, value]) => ({ name, value })),
      vmId: stableGuid(`vm:${instance.id}`),
      vmScaleSetName: '',
      vmSize: instance.type,
      zone: instance.zone,
    },
    network: { interface: interfaces },
  };
}

function lookup(doc: Doc, segments: string[]): Doc | undefined {
  let node: Doc | undefined = doc;
  for (const segment of segments) {
    if (node === undefined || typeof node !== 'object') return undefined;
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(segment)) return undefined;
      node = node[Number(segment)];
    } else {
      node = Object.hasOwn(node, segment) ? node[segment] : undefined;
    }
  }
  return node;
}

/** Tokens the emulated identity hands out: opaque, as ARM here accepts any bearer token. */
function token(instance: Instance, query: URLSearchParams, clock: Clock): FaceResponse {
  const version = query.get('api-version');
  if (version === null) return json(400, { error: 'invalid_request', error_description: "Required query variable 'api-version' is missing" });
  if (!tokenVersions.includes(version)) return json(400, { error: 'invalid_request', error_description: `Invalid api-version '${version}'` });
  const resource = query.get('resource');
  if (resource === null || resource === '') return json(400, { error: 'invalid_request', error_description: "Required query variable 'resource' is missing" });
  const lifetime = 86_399;
  const now = Math.floor(clock.now() / 1000);
  // A user-assigned identity is picked by client_id (or object/resource id); the system one by default.
  const clientId = query.get('client_id') ?? stableGuid(`identity:${instance.id}:${query.get('object_id') ?? query.get('msi_res_id') ?? query.get('mi_res_id') ?? ''}`);
  return json(200, {
    access_token: randomBytes(32).toString('base64url'),
    client_id: clientId,
    expires_in: String(lifetime),
    expires_on: String(now + lifetime),
    ext_expires_in: String(lifetime),
    not_before: String(now),
    resource,
    token_type: 'Bearer',
  });
}

/** The Azure IMDS. */
export const azureImds: MetadataService = {
  unknownInstance: notFound,
  serve: serveInstance,
};

function serveInstance(instance: Instance, request: MetadataRequest, { model, clock }: FaceContext): FaceResponse {
  // Clients differ on a trailing slash (MSAL sends /metadata/identity/oauth2/token/); IMDS takes both.
  const path = request.path.replace(/(?<=.)\/+$/, '');
  const isToken = path === '/metadata/identity/oauth2/token';
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return isToken ? json(405, { error: 'invalid_request', error_description: 'Only GET is supported' }) : json(405, { error: 'Method not allowed' });
  }
  // IMDS refuses requests that went through a proxy and requests without the header a browser cannot set.
  if (header(request.headers, 'x-forwarded-for') !== undefined) return json(400, { error: 'Bad request. Request contains X-Forwarded-For header' });
  if (header(request.headers, 'metadata')?.toLowerCase() !== 'true') {
    return isToken ? json(400, { error: 'invalid_request', error_description: 'Required metadata header not specified' }) : json(400, { error: 'Bad request. Required metadata header not specified' });
  }
  if (isToken) return token(instance, request.query, clock);
  if (path === '/metadata/versions') return json(200, { apiVersions: instanceVersions });
  if (path !== '/metadata/instance' && !path.startsWith('/metadata/instance/')) return notFound();

  const version = request.query.get('api-version');
  if (version === null || !instanceVersions.includes(version)) {
    return json(400, {
      error: 'Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds',
      'newest-versions': newestVersions,
    });
  }
  const format = request.query.get('format') ?? 'json';
  if (format !== 'json' && format !== 'text') return json(400, { error: `Bad request. Query parameter format=${format} is not supported` });
  let segments: string[];
  try {
    segments = path.slice('/metadata/instance'.length).split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return notFound();
  }
  const node = lookup(instanceDocument(model, instance), segments);
  if (node === undefined) return notFound();
  if (format === 'text') {
    if (typeof node === 'object') return json(400, { error: 'Bad request. Query parameter format=text is supported for leaf values only' });
    return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: String(node) };
  }
  return json(200, node);
}
