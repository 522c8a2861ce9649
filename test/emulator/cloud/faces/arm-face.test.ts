import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Emulator } from '../../../../emulator/cloud/emulator.ts';
import { armIds, armResourceGroup, armSubscriptionId } from '../../../../emulator/cloud/faces/arm/ids.ts';
import type { Instance, NetworkInterface, Subnet } from '../../../../emulator/cloud/model/cloud.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';

/**
 * The ARM face over raw HTTP: Azure's error documents and statuses for bad
 * input, etags and read-modify-write, long-running operations, paging,
 * throttling and faults. The happy paths through the Azure SDK live in
 * test/providers/contract.
 */

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

type Json = Record<string, unknown>;

const version = '2025-05-01';
let now: number;
let emulator: Emulator;
let url: string;
let topology: Topology;
let vm: Instance;
/** Every status the ARM face answered; none may be a 500 that was not injected. */
let statuses: number[];

const nicPath = (name: string): string => `${armIds.nic(name)}`;
const subnetRef = (subnet: Subnet): { id: string } => ({ id: armIds.subnet(subnet.vpcId, subnet.id) });

async function arm(method: string, path: string, options: { body?: unknown; headers?: Record<string, string>; apiVersion?: string | null; raw?: string } = {}): Promise<Answer> {
  const target = new URL(path.startsWith('http') ? path : url + path);
  if (options.apiVersion !== null && !path.startsWith('http')) target.searchParams.set('api-version', options.apiVersion ?? version);
  const res = await fetch(target, {
    method,
    headers: { authorization: 'Bearer test-token', 'content-type': 'application/json', ...options.headers },
    ...(options.raw !== undefined ? { body: options.raw } : options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  statuses.push(res.status);
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Asserts ARM's error document, exactly, and returns its message. */
function expectArmError(answer: Answer, status: number, code: string): string {
  expect({ status: answer.status, body: answer.body }, answer.text).toMatchObject({ status, body: { error: { code } } });
  expect(Object.keys(answer.body as Json)).toEqual(['error']);
  const error = (answer.body as { error: Json }).error;
  expect(Object.keys(error).sort()).toEqual(['code', 'message']);
  expect(typeof error.message).toBe('string');
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  return String(error.message);
}

const nicOf = (instance: Instance, device: number): NetworkInterface => {
  const nic = emulator.model.attachedInterfaces(instance.id).find((candidate) => candidate.attachment?.deviceIndex === device);
  if (!nic) throw new Error(`no NIC at device ${device}`);
  return nic;
};

/** The NIC as ARM shows it, ready to be changed and PUT back. */
async function getNic(name: string): Promise<Json & { etag: string; properties: { ipConfigurations: Json[] } }> {
  const answer = await arm('GET', nicPath(name));
  expect(answer.status, answer.text).toBe(200);
  return answer.body as Json & { etag: string; properties: { ipConfigurations: Json[] } };
}

const newConfig = (name: string, subnet: Subnet, extra: Json = {}): Json => ({ name, properties: { privateIPAllocationMethod: 'Dynamic', subnet: subnetRef(subnet), primary: false, ...extra } });

async function putWith(name: string, mutate: (nic: Json & { properties: { ipConfigurations: Json[] } }) => void, headers: Record<string, string> = {}): Promise<Answer> {
  const nic = await getNic(name);
  mutate(nic);
  return arm('PUT', nicPath(name), { body: nic, headers: { 'if-match': nic.etag, ...headers } });
}

async function pollOperation(answer: Answer): Promise<Json> {
  const location = answer.headers.get('azure-asyncoperation');
  expect(location, 'Azure-AsyncOperation header').toBeTruthy();
  const polled = await arm('GET', location ?? '');
  expect(polled.status).toBe(200);
  return polled.body as Json;
}

beforeEach(async () => {
  now = 1_700_000_000_000;
  statuses = [];
  emulator = new Emulator({ cloud: 'azure', clock: { now: () => now } });
  topology = await buildTopology(emulator.model, { nodes: 1, region: 'eastus', zone: '1', instanceType: 'Standard_D4s_v3', interfacesPerInstance: 2 });
  vm = topology.instances[0] as Instance;
  ({ url } = await emulator.listen());
});

afterEach(async () => {
  await emulator.model.settled();
  await emulator.close();
  expect(statuses.filter((status) => status >= 500)).toEqual([]);
});

describe('requests ARM refuses before looking at them', () => {
  it('wants a bearer token', async () => {
    const path = nicPath(nicOf(vm, 0).id);
    expectArmError(await arm('GET', path, { headers: { authorization: '' } }), 401, 'AuthenticationFailed');
    expectArmError(await arm('GET', path, { headers: { authorization: 'Basic dXNlcjpwdw==' } }), 401, 'InvalidAuthenticationToken');
    expectArmError(await arm('GET', path, { headers: { authorization: 'Bearer' } }), 401, 'InvalidAuthenticationToken');
  });

  it('wants a known api-version for the provider', async () => {
    const path = nicPath(nicOf(vm, 0).id);
    expectArmError(await arm('GET', path, { apiVersion: null }), 400, 'MissingApiVersionParameter');
    expectArmError(await arm('GET', path, { apiVersion: '' }), 400, 'MissingApiVersionParameter');
    expect(expectArmError(await arm('GET', path, { apiVersion: '2099-01-01' }), 400, 'InvalidApiVersionParameter')).toContain('2025-05-01');
    expectArmError(await arm('GET', `/subscriptions/${armSubscriptionId}/providers/Microsoft.Compute/skus`), 400, 'InvalidApiVersionParameter');
    expect((await arm('GET', `/subscriptions/${armSubscriptionId}/providers/Microsoft.Compute/skus`, { apiVersion: '2021-07-01' })).status).toBe(200);
  });

  it('answers unknown subscriptions, groups, types, methods and malformed paths in ARM words', async () => {
    const nic = nicOf(vm, 0).id;
    expectArmError(await arm('GET', `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${armResourceGroup}/providers/Microsoft.Network/networkInterfaces/${nic}`), 404, 'SubscriptionNotFound');
    expectArmError(await arm('GET', `/subscriptions/${armSubscriptionId}/resourceGroups/other-rg/providers/Microsoft.Network/networkInterfaces/${nic}`), 404, 'ResourceGroupNotFound');
    expectArmError(await arm('GET', `${armIds.resourceGroup}/providers/Microsoft.Network/loadBalancers/lb`), 400, 'InvalidResourceType');
    expectArmError(await arm('GET', `/subscriptions/${armSubscriptionId}`), 400, 'InvalidResourceType');
    expectArmError(await arm('POST', nicPath(nic)), 405, 'MethodNotAllowed');
    expectArmError(await arm('PATCH', nicPath(nic), { body: {} }), 405, 'MethodNotAllowed');
    expectArmError(await arm('GET', `${armIds.resourceGroup}/providers/Microsoft.Network/networkInterfaces/%E0%A4%A`), 400, 'InvalidRequestUri');
  });

  it('reads resource types and names case-insensitively, as ARM does', async () => {
    const nic = nicOf(vm, 0);
    const path = `/SUBSCRIPTIONS/${armSubscriptionId.toUpperCase()}/RESOURCEGROUPS/${armResourceGroup.toUpperCase()}/PROVIDERS/microsoft.network/NETWORKINTERFACES/${nic.id.toUpperCase()}`;
    const answer = await arm('GET', path);
    expect(answer.status).toBe(200);
    expect((answer.body as Json).name).toBe(nic.id);
  });
});

describe('network interfaces', () => {
  it("shows a VM's NIC with Azure's fields", async () => {
    const primary = nicOf(vm, 0);
    const answer = await arm('GET', nicPath(primary.id));
    const body = answer.body as Json & { properties: Json & { ipConfigurations: Array<Json & { properties: Json }> } };
    expect(body).toMatchObject({ name: primary.id, id: armIds.nic(primary.id), type: 'Microsoft.Network/networkInterfaces', location: 'eastus' });
    expect(answer.headers.get('etag')).toBe(body.etag);
    expect(body.etag).toMatch(/^W\/"[0-9a-f-]{36}"$/);
    expect(body.properties).toMatchObject({
      provisioningState: 'Succeeded',
      primary: true,
      virtualMachine: { id: armIds.vm(vm.id) },
      networkSecurityGroup: { id: armIds.nsg(topology.securityGroup.id) },
    });
    expect(body.properties.macAddress).toMatch(/^([0-9A-F]{2}-){5}[0-9A-F]{2}$/);
    expect(body.properties.ipConfigurations).toHaveLength(1);
    expect(body.properties.ipConfigurations[0]).toMatchObject({
      name: 'ipconfig1',
      id: armIds.ipConfiguration(primary.id, 'ipconfig1'),
      properties: { privateIPAddress: primary.primaryIp, privateIPAllocationMethod: 'Dynamic', primary: true, subnet: subnetRef(topology.nodeSubnet), privateIPAddressVersion: 'IPv4' },
    });
    expect(((await arm('GET', nicPath(nicOf(vm, 1).id))).body as { properties: Json }).properties.primary).toBe(false);
    expectArmError(await arm('GET', nicPath('nic-nothere')), 404, 'ResourceNotFound');
  });

  it('adds and removes IP configurations by PUT, with a new etag each time', async () => {
    const nic = nicOf(vm, 1);
    const pods = topology.podSubnets[0] as Subnet;
    const before = await getNic(nic.id);
    const added = await putWith(nic.id, (body) => body.properties.ipConfigurations.push(newConfig('extra1', pods), newConfig('extra2', pods)));
    expect(added.status, added.text).toBe(200);
    expect(await pollOperation(added)).toMatchObject({ status: 'Succeeded' });
    const after = await getNic(nic.id);
    expect(after.etag).not.toBe(before.etag);
    const configs = after.properties.ipConfigurations as Array<{ name: string; properties: { privateIPAddress: string } }>;
    expect(configs.map((config) => config.name)).toEqual(['ipconfig1', 'extra1', 'extra2']);
    const ips = configs.slice(1).map((config) => config.properties.privateIPAddress);
    expect(emulator.model.getInterface(nic.id).secondaryIps).toEqual(ips);

    const removed = await putWith(nic.id, (body) => {
      body.properties.ipConfigurations = body.properties.ipConfigurations.filter((config) => config.name !== 'extra1');
    });
    expect(removed.status).toBe(200);
    expect(emulator.model.getInterface(nic.id).secondaryIps).toEqual(ips.slice(1));
    expect((await getNic(nic.id)).etag).not.toBe(after.etag);

    // A Static configuration takes exactly the address asked for.
    const wanted = ips[0] ?? '';
    const statics = await putWith(nic.id, (body) => body.properties.ipConfigurations.push(newConfig('pinned', pods, { privateIPAllocationMethod: 'Static', privateIPAddress: wanted })));
    expect(statics.status, statics.text).toBe(200);
    expect(emulator.model.getInterface(nic.id).secondaryIps).toContain(wanted);
    // It reads back as Static; the others stay Dynamic, and a PUT can turn it back.
    type Config = { name: string; properties: { privateIPAllocationMethod: string } };
    const methods = async (): Promise<Record<string, string>> =>
      Object.fromEntries(((await getNic(nic.id)).properties.ipConfigurations as Config[]).map((config) => [config.name, config.properties.privateIPAllocationMethod]));
    expect(await methods()).toMatchObject({ pinned: 'Static', extra2: 'Dynamic' });
    const etag = (await getNic(nic.id)).etag;
    const dynamicAgain = await putWith(nic.id, (body) => {
      for (const config of body.properties.ipConfigurations as Config[]) if (config.name === 'pinned') config.properties.privateIPAllocationMethod = 'Dynamic';
    });
    expect(dynamicAgain.status, dynamicAgain.text).toBe(200);
    expect((await methods()).pinned).toBe('Dynamic');
    expect((await getNic(nic.id)).etag).not.toBe(etag);
    expect(emulator.model.getInterface(nic.id).secondaryIps).toContain(wanted);
  });

  it('refuses a PUT under a stale etag with 412 and changes nothing', async () => {
    const nic = nicOf(vm, 1);
    const pods = topology.podSubnets[0] as Subnet;
    const stale = await getNic(nic.id);
    expect((await putWith(nic.id, (body) => body.properties.ipConfigurations.push(newConfig('first', pods)))).status).toBe(200);
    stale.properties.ipConfigurations.push(newConfig('second', pods));
    expectArmError(await arm('PUT', nicPath(nic.id), { body: stale, headers: { 'if-match': stale.etag } }), 412, 'PreconditionFailed');
    expect(emulator.model.getInterface(nic.id).secondaryIps).toHaveLength(1);
    expectArmError(await arm('PUT', nicPath(nic.id), { body: stale, headers: { 'if-none-match': '*' } }), 412, 'PreconditionFailed');
    expectArmError(await arm('PUT', nicPath('nic-new'), { body: stale, headers: { 'if-match': stale.etag } }), 412, 'PreconditionFailed');
    // If-Match: * and no If-Match at all mean "whatever is there".
    expect((await arm('PUT', nicPath(nic.id), { body: stale, headers: { 'if-match': '*' } })).status).toBe(200);
  });

  it('answers malformed and impossible NIC bodies with 400 and the code Azure uses', async () => {
    const nic = nicOf(vm, 1);
    const pods = topology.podSubnets[0] as Subnet;
    const current = await getNic(nic.id);
    const put = (body: unknown): Promise<Answer> => arm('PUT', nicPath(nic.id), { body });
    const withConfigs = (...configs: Json[]): Json => ({ ...current, properties: { ...current.properties, ipConfigurations: configs } });
    const primary = current.properties.ipConfigurations[0] as Json;

    expectArmError(await arm('PUT', nicPath(nic.id), { raw: '{not json' }), 400, 'InvalidRequestFormat');
    expectArmError(await arm('PUT', nicPath(nic.id), { raw: '' }), 400, 'InvalidRequestFormat');
    expectArmError(await put([1, 2]), 400, 'InvalidRequestFormat');
    expectArmError(await put({ properties: { ipConfigurations: 'many' } }), 400, 'InvalidRequestFormat');
    expectArmError(await put({ ...current, tags: { team: 7 } }), 400, 'InvalidRequestFormat');
    expectArmError(await put(withConfigs()), 400, 'InvalidRequestFormat');
    expectArmError(await put(withConfigs(primary, { name: 'x', properties: { primary: false } })), 400, 'InvalidRequestFormat');
    expectArmError(await put(withConfigs(primary, newConfig('', pods))), 400, 'InvalidRequestFormat');
    expectArmError(await put(withConfigs(primary, newConfig('dup', pods), newConfig('DUP', pods))), 400, 'InvalidRequestFormat');
    expectArmError(await put(withConfigs(primary, newConfig('two', pods, { primary: true }))), 400, 'InvalidRequestFormat');
    expectArmError(await put(withConfigs(primary, newConfig('alloc', pods, { privateIPAllocationMethod: 'Sometimes' }))), 400, 'InvalidRequestFormat');
    expectArmError(await put(withConfigs(primary, newConfig('static', pods, { privateIPAllocationMethod: 'Static' }))), 400, 'InvalidRequestFormat');
    expectArmError(await put(withConfigs(primary, newConfig('badip', pods, { privateIPAddress: '10.0.16.300' }))), 400, 'InvalidRequestFormat');
    expectArmError(await put(withConfigs(primary, newConfig('v6', pods, { privateIPAddressVersion: 'IPv6' }))), 400, 'BadRequest');
    expectArmError(await put(withConfigs(primary, { name: 'badref', properties: { subnet: { id: 'subnet-1' } } })), 400, 'LinkedInvalidPropertyId');
    expectArmError(await put(withConfigs(primary, { name: 'gone', properties: { subnet: { id: armIds.subnet(topology.vpc.id, 'subnet-gone') } } })), 400, 'InvalidResourceReference');
    expectArmError(await put(withConfigs(primary, newConfig('elsewhere', topology.podSubnets[1] as Subnet))), 400, 'IpConfigurationsOnSameNicCannotUseDifferentSubnets');
    expectArmError(await put(withConfigs(newConfig('newprimary', pods, { primary: true }))), 400, 'IpConfigDeleteNotSupported');
    const taken = nicOf(vm, 0).primaryIp;
    expectArmError(await put(withConfigs(primary, newConfig('outside', pods, { privateIPAllocationMethod: 'Static', privateIPAddress: taken }))), 400, 'PrivateIPAddressNotInSubnet');
    const podNeighbour = emulator.model.createInterface({ subnetId: pods.id, securityGroupIds: [topology.securityGroup.id] }).primaryIp;
    expectArmError(await put(withConfigs(primary, newConfig('taken', pods, { privateIPAllocationMethod: 'Static', privateIPAddress: podNeighbour }))), 400, 'PrivateIPAddressIsAllocated');
    // Azure keeps x.x.x.0-3 and the last address of every subnet.
    for (const reserved of ['10.0.16.0', '10.0.16.1', '10.0.16.3', '10.0.31.255']) {
      expectArmError(await put(withConfigs(primary, newConfig('reserved', pods, { privateIPAllocationMethod: 'Static', privateIPAddress: reserved }))), 400, 'PrivateIPAddressInReservedRange');
    }
    expectArmError(await put({ ...withConfigs(primary), location: 'westeurope' }), 400, 'InvalidResourceLocation');
    expectArmError(await put({ ...withConfigs(primary), properties: { ipConfigurations: [primary], networkSecurityGroup: { id: 'nsg' } } }), 400, 'InvalidResourceReference');
    expectArmError(await arm('PUT', nicPath('-bad-name'), { body: current }), 400, 'InvalidResourceName');
    expectArmError(await arm('PUT', nicPath(`${'n'.repeat(81)}`), { body: current }), 400, 'InvalidResourceName');
    // None of it changed the NIC.
    expect(emulator.model.getInterface(nic.id).secondaryIps).toEqual([]);
    expect((await getNic(nic.id)).etag).toBe(current.etag);
  });

  it('holds at most 256 IP configurations per NIC', async () => {
    const nic = nicOf(vm, 1);
    const pods = topology.podSubnets[0] as Subnet;
    const full = await putWith(nic.id, (body) => body.properties.ipConfigurations.push(...Array.from({ length: 255 }, (_, i) => newConfig(`c${i}`, pods))));
    expect(full.status, full.text).toBe(200);
    expect(emulator.model.getInterface(nic.id).secondaryIps).toHaveLength(255);
    const over = await putWith(nic.id, (body) => body.properties.ipConfigurations.push(newConfig('one-too-many', pods)));
    expect(expectArmError(over, 400, 'IpConfigurationCountLimitReached')).toMatch(/256/);
    expect(emulator.model.getInterface(nic.id).secondaryIps).toHaveLength(255);
  });

  it('attaches no NIC to a running VM and detaches none from it', async () => {
    const pods = topology.podSubnets[0] as Subnet;
    const create = { location: 'eastus', properties: { ipConfigurations: [newConfig('ipconfig1', pods, { primary: true })], virtualMachine: { id: armIds.vm(vm.id) } } };
    expectArmError(await arm('PUT', nicPath('nic-hot'), { body: create }), 400, 'AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported');
    expectArmError(await putWith(nicOf(vm, 1).id, (body) => ((body.properties as Json).virtualMachine = null)), 400, 'AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported');
    const nic = nicOf(vm, 1).id;
    expectArmError(await arm('DELETE', nicPath(nic)), 400, 'NicInUse');
    expect(emulator.model.getInterface(nic).attachment?.instanceId).toBe(vm.id);
  });

  it('creates a detached NIC under its own name, lists it, and deletes it idempotently', async () => {
    const pods = topology.podSubnets[0] as Subnet;
    const body = {
      location: 'East US',
      tags: { 'vpc-cni.io/cluster': 'arm' },
      properties: {
        networkSecurityGroup: { id: armIds.nsg(topology.securityGroup.id) },
        ipConfigurations: [newConfig('main', pods, { primary: true }), newConfig('second', pods)],
      },
    };
    expectArmError(await arm('PUT', nicPath('My-Nic_1'), { body: { ...body, location: undefined } }), 400, 'LocationRequired');
    expectArmError(await arm('PUT', nicPath('My-Nic_1'), { body: { ...body, location: 'westus' } }), 400, 'InvalidResourceReference');
    const created = await arm('PUT', nicPath('My-Nic_1'), { body });
    expect(created.status, created.text).toBe(201);
    expect(await pollOperation(created)).toMatchObject({ status: 'Succeeded' });
    const shown = await getNic('my-nic_1');
    expect(shown).toMatchObject({ name: 'My-Nic_1', id: armIds.nic('My-Nic_1'), tags: { 'vpc-cni.io/cluster': 'arm' } });
    expect(shown.properties).not.toHaveProperty('virtualMachine');
    expect(shown.properties.ipConfigurations.map((config) => config.name)).toEqual(['main', 'second']);
    const listed = await arm('GET', `${armIds.resourceGroup}/providers/Microsoft.Network/networkInterfaces`);
    expect(((listed.body as { value: Json[] }).value).map((nic) => nic.name)).toContain('My-Nic_1');

    const deleted = await arm('DELETE', nicPath('My-Nic_1'));
    expect(deleted.status).toBe(202);
    expect(await pollOperation(deleted)).toMatchObject({ status: 'Succeeded' });
    const result = await arm('GET', deleted.headers.get('location') ?? '');
    expect(result.status).toBe(204);
    expectArmError(await arm('GET', nicPath('My-Nic_1')), 404, 'ResourceNotFound');
    expect((await arm('DELETE', nicPath('My-Nic_1'))).status).toBe(204);
    // The name is free again, for a NIC of its own.
    expect((await arm('PUT', nicPath('My-Nic_1'), { body })).status).toBe(201);
  });

  it('pages the NIC list with nextLink', async () => {
    for (let i = 0; i < 230; i++) emulator.model.createInterface({ subnetId: topology.podSubnets[1]?.id ?? '', securityGroupIds: [topology.securityGroup.id] });
    const names: string[] = [];
    let next: string | undefined = `${armIds.resourceGroup}/providers/Microsoft.Network/networkInterfaces`;
    let pages = 0;
    while (next) {
      const page = await arm('GET', next);
      expect(page.status).toBe(200);
      const body = page.body as { value: Json[]; nextLink?: string };
      names.push(...body.value.map((nic) => String(nic.name)));
      next = body.nextLink;
      if (next) expect(new URL(next).host).toBe(new URL(url).host);
      pages++;
    }
    expect(pages).toBe(3);
    expect(new Set(names).size).toBe(232);
    expectArmError(await arm('GET', `${armIds.resourceGroup}/providers/Microsoft.Network/networkInterfaces?$skipToken=bogus`), 400, 'InvalidSkipToken');
  });
});

describe('long-running operations', () => {
  it('stay InProgress for the attach delay, with Retry-After, then succeed', async () => {
    emulator.configure({ attachDelayMs: 2500 });
    const nic = nicOf(vm, 1);
    const answer = await putWith(nic.id, (body) => body.properties.ipConfigurations.push(newConfig('slow', topology.podSubnets[0] as Subnet)));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('retry-after')).toBe('3');
    expect(((answer.body as { properties: Json }).properties).provisioningState).toBe('Updating');
    const running = await pollOperation(answer);
    expect(running).toMatchObject({ status: 'InProgress' });
    expect(((await getNic(nic.id)).properties as Json).provisioningState).toBe('Updating');
    now += 2500;
    expect(await pollOperation(answer)).toMatchObject({ status: 'Succeeded', endTime: new Date(now).toISOString() });
    expect(((await getNic(nic.id)).properties as Json).provisioningState).toBe('Succeeded');
    expectArmError(await arm('GET', `/subscriptions/${armSubscriptionId}/providers/Microsoft.Network/locations/eastus/operations/nope`), 404, 'NotFound');
  });

  it('fail with SubnetIsFull when the subnet runs out, leaving the NIC as it was', async () => {
    const tiny = emulator.model.createSubnet(topology.vpc.id, '10.0.250.0/28', '1');
    const body = { location: 'eastus', properties: { ipConfigurations: [newConfig('ipconfig1', tiny, { primary: true })] } };
    expect((await arm('PUT', nicPath('nic-tiny'), { body })).status).toBe(201);
    // 10 addresses are left: ask for 11.
    const answer = await putWith('nic-tiny', (nic) => nic.properties.ipConfigurations.push(...Array.from({ length: 11 }, (_, i) => newConfig(`t${i}`, tiny))));
    expect(answer.status).toBe(200);
    const operation = await pollOperation(answer);
    expect(operation).toMatchObject({ status: 'Failed', error: { code: 'SubnetIsFull' } });
    expect((await getNic('nic-tiny')).properties.ipConfigurations).toHaveLength(1);
    // A create that cannot get its addresses is accepted and fails in its operation too.
    const big = { location: 'eastus', properties: { ipConfigurations: [newConfig('p', tiny, { primary: true }), ...Array.from({ length: 12 }, (_, i) => newConfig(`b${i}`, tiny))] } };
    const create = await arm('PUT', nicPath('nic-big'), { body: big });
    expect(create.status).toBe(201);
    expect(await pollOperation(create)).toMatchObject({ status: 'Failed', error: { code: 'SubnetIsFull' } });
    expectArmError(await arm('GET', nicPath('nic-big')), 404, 'ResourceNotFound');
  });
});

describe('virtual networks, subnets and SKUs', () => {
  it('shows the VNet, its subnets and their usage', async () => {
    const vnet = `${armIds.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${topology.vpc.id}`;
    const shown = await arm('GET', vnet);
    expect(shown.body).toMatchObject({ name: topology.vpc.id, location: 'eastus', properties: { addressSpace: { addressPrefixes: ['10.0.0.0/16'] } } });
    expect(((shown.body as { properties: { subnets: Json[] } }).properties.subnets).map((s) => (s.properties as Json).addressPrefix)).toEqual(['10.0.0.0/24', '10.0.16.0/20', '10.0.32.0/20']);
    const listed = await arm('GET', `${vnet}/subnets`);
    expect(((listed.body as { value: Json[] }).value)).toHaveLength(3);
    const subnet = await arm('GET', `${vnet}/subnets/${topology.nodeSubnet.id}`);
    expect(subnet.body).toMatchObject({ id: armIds.subnet(topology.vpc.id, topology.nodeSubnet.id), properties: { addressPrefix: '10.0.0.0/24' } });
    const usages = (await arm('GET', `${vnet}/usages`)).body as { value: Array<{ id: string; currentValue: number; limit: number }> };
    // The node subnet's /24: 251 usable, the VM's primary takes one; the first pod subnet holds the VM's second NIC.
    expect(usages.value).toEqual([
      expect.objectContaining({ id: armIds.subnet(topology.vpc.id, topology.nodeSubnet.id), currentValue: 1, limit: 251, unit: 'Count' }),
      expect.objectContaining({ currentValue: 1, limit: 4091 }),
      expect.objectContaining({ currentValue: 0, limit: 4091 }),
    ]);
    expectArmError(await arm('GET', `${armIds.resourceGroup}/providers/Microsoft.Network/virtualNetworks/vnet-nope`), 404, 'ResourceNotFound');
    expectArmError(await arm('GET', `${vnet}/subnets/snet-nope`), 404, 'NotFound');
    expectArmError(await arm('GET', `${armIds.resourceGroup}/providers/Microsoft.Network/virtualNetworks/vnet-nope/usages`), 404, 'ResourceNotFound');
  });

  it('lists VM sizes as resource SKUs with MaxNetworkInterfaces, by location', async () => {
    const answer = await arm('GET', `/subscriptions/${armSubscriptionId}/providers/Microsoft.Compute/skus?$filter=${encodeURIComponent("location eq 'westeurope'")}`, { apiVersion: '2021-07-01' });
    const skus = (answer.body as { value: Array<{ name: string; resourceType: string; locations: string[]; capabilities: Array<{ name: string; value: string }> }> }).value;
    const d4 = skus.find((sku) => sku.name === 'Standard_D4s_v3');
    expect(d4).toMatchObject({ resourceType: 'virtualMachines', locations: ['westeurope'] });
    expect(d4?.capabilities).toContainEqual({ name: 'MaxNetworkInterfaces', value: '2' });
    expect(skus.find((sku) => sku.name === 'Standard_D16s_v5')?.capabilities).toContainEqual({ name: 'MaxNetworkInterfaces', value: '8' });
    expect(skus.every((sku) => sku.name.startsWith('Standard_'))).toBe(true);
    expectArmError(await arm('GET', `/subscriptions/${armSubscriptionId}/providers/Microsoft.Compute/skus?$filter=${encodeURIComponent('name eq x')}`, { apiVersion: '2021-07-01' }), 400, 'InvalidParameter');
  });
});

describe('throttling, faults, latency and size limits', () => {
  it("throttles per subscription with ARM's read and write buckets", async () => {
    emulator.configure({ throttling: true });
    const path = nicPath(nicOf(vm, 0).id);
    const first = await arm('GET', path);
    expect(first.headers.get('x-ms-ratelimit-remaining-subscription-reads')).toBe('249');
    for (let i = 1; i < 250; i++) expect((await arm('GET', path)).status).toBe(200);
    const throttled = await arm('GET', path);
    expect(expectArmError(throttled, 429, 'SubscriptionRequestsThrottled')).toMatch(/read/);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(throttled.headers.get('x-ms-ratelimit-remaining-subscription-reads')).toBe('0');
    // Writes have their own bucket.
    const nic = nicOf(vm, 1);
    const current = emulator.model.getInterface(nic.id);
    expect(current.secondaryIps).toEqual([]);
    const put = await arm('PUT', nicPath(nic.id), {
      body: { location: 'eastus', properties: { networkSecurityGroup: { id: armIds.nsg(topology.securityGroup.id) }, ipConfigurations: [newConfig('ipconfig1', topology.podSubnets[0] as Subnet, { primary: true })] } },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.headers.get('x-ms-ratelimit-remaining-subscription-writes')).toBe('199');
    now += 1000;
    expect((await arm('GET', path)).status).toBe(200);
  });

  it('answers injected faults in ARM shape and waits the configured latency per action', async () => {
    const path = nicPath(nicOf(vm, 0).id);
    emulator.faults.failNext('NetworkInterfaces_Get', 1, { code: 'AuthorizationFailed', message: 'The client does not have authorization to perform action.' });
    expectArmError(await arm('GET', path), 403, 'AuthorizationFailed');
    emulator.faults.failNext('NetworkInterfaces_Get', 1, { code: 'SubscriptionRequestsThrottled', message: 'throttled' });
    const throttled = await arm('GET', path);
    expectArmError(throttled, 429, 'SubscriptionRequestsThrottled');
    expect(throttled.headers.get('retry-after')).toBe('1');
    emulator.faults.failNext('NetworkInterfaces_List', 1, { code: 'AnotherOperationInProgress', message: 'busy', status: 409 });
    expectArmError(await arm('GET', `${armIds.resourceGroup}/providers/Microsoft.Network/networkInterfaces`), 409, 'AnotherOperationInProgress');
    expect(emulator.faults.pending()).toEqual({});
    emulator.configure({ latencyMs: { NetworkInterfaces_Get: 80 } });
    const started = performance.now();
    expect((await arm('GET', path)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('refuses a body over 1 MiB with 413 in ARM shape', async () => {
    const nic = nicOf(vm, 1).id;
    expectArmError(await arm('PUT', nicPath(nic), { raw: JSON.stringify({ padding: 'x'.repeat(1_100_000) }) }), 413, 'RequestEntityTooLarge');
  });
});
