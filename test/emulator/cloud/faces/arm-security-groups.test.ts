import { NetworkManagementClient, type SecurityRule } from '@azure/arm-network';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Emulator } from '../../../../emulator/cloud/emulator.ts';
import { armIds, armResourceGroup, armSubscriptionId } from '../../../../emulator/cloud/faces/arm/ids.ts';
import type { Instance, NetworkInterface } from '../../../../emulator/cloud/model/cloud.ts';
import { allows } from '../../../../emulator/cloud/model/firewall-evaluate.ts';
import { compileFirewall } from '../../../../emulator/cloud/model/firewall-plan.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';

/**
 * The ARM face's network and application security groups: over raw HTTP
 * (ARM's error codes for every refusal) and through @azure/arm-network,
 * with the semantics asserted on the model's compiled firewall: priorities,
 * deny over a later allow, subnet and NIC NSGs both evaluated, ASG members.
 */

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

type Json = Record<string, unknown>;

const version = '2025-05-01';
let emulator: Emulator;
let url: string;
let topology: Topology;
let vms: Instance[];

const nsgPath = (name: string): string => armIds.nsg(name);
const asgPath = (name: string): string => armIds.asg(name);

async function arm(method: string, path: string, body?: unknown, raw?: string): Promise<Answer> {
  const target = new URL(path.startsWith('http') ? path : url + path);
  if (!path.startsWith('http')) target.searchParams.set('api-version', version);
  const res = await fetch(target, {
    method,
    headers: { authorization: 'Bearer test-token', 'content-type': 'application/json' },
    ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown), text };
}

function expectArmError(answer: Answer, status: number, code: string): string {
  expect({ status: answer.status, body: answer.body }, answer.text).toMatchObject({ status, body: { error: { code } } });
  return String((answer.body as { error: Json }).error.message);
}

/** A rule body with the fields every rule needs; `extra` overrides. */
function rule(name: string, priority: number, extra: Json = {}): Json {
  return {
    name,
    properties: {
      protocol: 'Tcp',
      access: 'Allow',
      direction: 'Inbound',
      priority,
      sourcePortRange: '*',
      destinationPortRange: '*',
      sourceAddressPrefix: '*',
      destinationAddressPrefix: '*',
      ...extra,
    },
  };
}

const putNsg = (name: string, rules: Json[] = [], extra: Json = {}): Promise<Answer> => arm('PUT', nsgPath(name), { location: 'eastus', properties: { securityRules: rules }, ...extra });

const nicOf = (instance: Instance): NetworkInterface => {
  const nic = emulator.model.attachedInterfaces(instance.id).find((candidate) => candidate.attachment?.deviceIndex === 0);
  if (!nic) throw new Error('no primary NIC');
  return nic;
};

/** Whether a new TCP flow from one NIC's address to another's port gets through the model's firewall. */
function tcp(from: NetworkInterface, to: NetworkInterface, port: number, src = from.primaryIp): boolean {
  const plan = compileFirewall(emulator.model.securityView());
  return allows(plan, { src, dst: to.primaryIp, protocol: 'tcp', sport: 40000, dport: port, from: from.id, to: to.id });
}

/** Read-modify-write of a NIC through ARM. */
async function putNicWith(nic: NetworkInterface, mutate: (body: Json & { properties: Json & { ipConfigurations: Array<Json & { properties: Json }> } }) => void): Promise<Answer> {
  const got = await arm('GET', armIds.nic(nic.id));
  expect(got.status, got.text).toBe(200);
  const body = got.body as Json & { properties: Json & { ipConfigurations: Array<Json & { properties: Json }> } };
  mutate(body);
  return arm('PUT', armIds.nic(nic.id), body);
}

beforeEach(async () => {
  emulator = new Emulator({ cloud: 'azure' });
  topology = await buildTopology(emulator.model, { nodes: 3, region: 'eastus', zone: '1', instanceType: 'Standard_D4s_v3', interfacesPerInstance: 1 });
  vms = topology.instances;
  ({ url } = await emulator.listen());
});

afterEach(async () => {
  await emulator.model.settled();
  await emulator.close();
});

describe('network security groups over raw HTTP', () => {
  it('creates an NSG as a long-running operation and shows its rules, the default rules and the list', async () => {
    const created = await putNsg('web-nsg', [rule('allow-http', 100, { destinationPortRange: '80' }), rule('deny-out', 100, { direction: 'Outbound', access: 'Deny' })], { tags: { team: 'a' } });
    expect(created.status, created.text).toBe(201);
    const operation = await arm('GET', created.headers.get('azure-asyncoperation') ?? '');
    expect(operation.body).toMatchObject({ status: 'Succeeded' });
    const got = await arm('GET', nsgPath('WEB-NSG'));
    expect(got.body).toMatchObject({ name: 'web-nsg', id: nsgPath('web-nsg'), type: 'Microsoft.Network/networkSecurityGroups', location: 'eastus', tags: { team: 'a' } });
    const properties = (got.body as { properties: { securityRules: Json[]; defaultSecurityRules: Array<{ name: string; properties: Json }> } }).properties;
    expect(properties.securityRules[0]).toMatchObject({
      name: 'allow-http',
      id: `${nsgPath('web-nsg')}/securityRules/allow-http`,
      properties: { protocol: 'Tcp', access: 'Allow', direction: 'Inbound', priority: 100, destinationPortRange: '80', sourceAddressPrefix: '*', provisioningState: 'Succeeded' },
    });
    expect(properties.defaultSecurityRules.map((each) => [each.name, each.properties.priority, each.properties.direction])).toEqual([
      ['AllowVnetInBound', 65000, 'Inbound'],
      ['AllowAzureLoadBalancerInBound', 65001, 'Inbound'],
      ['DenyAllInBound', 65500, 'Inbound'],
      ['AllowVnetOutBound', 65000, 'Outbound'],
      ['AllowInternetOutBound', 65001, 'Outbound'],
      ['DenyAllOutBound', 65500, 'Outbound'],
    ]);
    expect(properties.defaultSecurityRules[0]?.properties).toMatchObject({ sourceAddressPrefix: 'VirtualNetwork', destinationAddressPrefix: 'VirtualNetwork', access: 'Allow' });
    const listed = await arm('GET', `${armIds.resourceGroup}/providers/Microsoft.Network/networkSecurityGroups`);
    expect((listed.body as { value: Json[] }).value.map((each) => each.name)).toContain('web-nsg');
    const all = await arm('GET', `/subscriptions/${armSubscriptionId}/providers/Microsoft.Network/networkSecurityGroups`);
    expect((all.body as { value: Json[] }).value.map((each) => each.name)).toEqual(expect.arrayContaining(['web-nsg', topology.securityGroup.id]));
    // A PUT replaces the rules and the tags.
    const updated = await putNsg('web-nsg', [rule('allow-ssh', 300, { destinationPortRanges: ['22', '2200-2210'], destinationPortRange: undefined })]);
    expect(updated.status, updated.text).toBe(200);
    expect((updated.body as { tags: Json; properties: { securityRules: Json[] } }).properties.securityRules).toMatchObject([{ name: 'allow-ssh', properties: { destinationPortRanges: ['22', '2200-2210'] } }]);
    expect((updated.body as { tags: Json }).tags).toEqual({});
    const gone = await arm('DELETE', nsgPath('web-nsg'));
    expect(gone.status).toBe(202);
    expect(gone.headers.get('location')).toBeTruthy();
    expectArmError(await arm('GET', nsgPath('web-nsg')), 404, 'ResourceNotFound');
    expect((await arm('DELETE', nsgPath('web-nsg'))).status).toBe(204);
  });

  it('serves security rules and default rules as child resources', async () => {
    expect((await putNsg('rules-nsg')).status).toBe(201);
    const created = await arm('PUT', `${nsgPath('rules-nsg')}/securityRules/allow-dns`, rule('ignored', 200, { protocol: 'Udp', destinationPortRange: '53' }));
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('azure-asyncoperation')).toBeTruthy();
    expect(created.body).toMatchObject({ name: 'allow-dns', type: 'Microsoft.Network/networkSecurityGroups/securityRules', properties: { protocol: 'Udp', priority: 200 } });
    expect((await arm('PUT', `${nsgPath('rules-nsg')}/securityRules/allow-dns`, rule('x', 210, { protocol: 'Udp', destinationPortRange: '53' }))).status).toBe(200);
    expect((await arm('GET', `${nsgPath('rules-nsg')}/securityRules/allow-dns`)).body).toMatchObject({ properties: { priority: 210 } });
    const listed = await arm('GET', `${nsgPath('rules-nsg')}/securityRules`);
    expect((listed.body as { value: Json[] }).value.map((each) => each.name)).toEqual(['allow-dns']);
    expectArmError(await arm('GET', `${nsgPath('rules-nsg')}/securityRules/nothere`), 404, 'NotFound');
    expect((await arm('DELETE', `${nsgPath('rules-nsg')}/securityRules/allow-dns`)).status).toBe(202);
    expect((await arm('DELETE', `${nsgPath('rules-nsg')}/securityRules/allow-dns`)).status).toBe(204);
    expect(((await arm('GET', `${nsgPath('rules-nsg')}/defaultSecurityRules`)).body as { value: Json[] }).value).toHaveLength(6);
    expect((await arm('GET', `${nsgPath('rules-nsg')}/defaultSecurityRules/DenyAllInBound`)).body).toMatchObject({
      type: 'Microsoft.Network/networkSecurityGroups/defaultSecurityRules',
      properties: { access: 'Deny', priority: 65500 },
    });
    expectArmError(await arm('GET', `${nsgPath('rules-nsg')}/defaultSecurityRules/nothere`), 404, 'NotFound');
    expectArmError(await arm('GET', `${nsgPath('nothere')}/securityRules`), 404, 'ResourceNotFound');
  });

  it('answers every malformed or impossible rule with the code ARM uses, and creates nothing', async () => {
    const refusals: Array<[Json[], string]> = [
      [[rule('low', 99)], 'SecurityRuleInvalidPriority'],
      [[rule('high', 4097)], 'SecurityRuleInvalidPriority'],
      [[rule('a', 100), rule('b', 100)], 'SecurityRuleConflict'],
      [[rule('ports', 100, { destinationPortRange: '70000' })], 'SecurityRuleInvalidPortRange'],
      [[rule('ports', 100, { destinationPortRange: '90-80' })], 'SecurityRuleInvalidPortRange'],
      [[rule('ports', 100, { sourcePortRange: 'http' })], 'SecurityRuleInvalidPortRange'],
      [[rule('tag', 100, { sourceAddressPrefix: 'Storage' })], 'SecurityRuleInvalidAddressPrefix'],
      [[rule('bits', 100, { sourceAddressPrefix: '10.0.0.5/24' })], 'SecurityRuleInvalidAddressPrefix'],
      [[rule('list', 100, { sourceAddressPrefix: undefined, sourceAddressPrefixes: ['10.0.0.0/24', 'VirtualNetwork'] })], 'SecurityRuleParameterContainsUnsupportedValue'],
      [[rule('both', 100, { sourceAddressPrefixes: ['10.0.0.0/24'] })], 'BadRequest'],
      [[rule('neither', 100, { destinationPortRange: undefined })], 'BadRequest'],
      [[rule('esp', 100, { protocol: 'Esp' })], 'BadRequest'],
      [[rule('access', 100, { access: 'Maybe' })], 'InvalidRequestFormat'],
      [[rule('-bad-name', 100)], 'InvalidResourceName'],
      [[rule('asg', 100, { sourceAddressPrefix: undefined, sourceApplicationSecurityGroups: [{ id: asgPath('nothere') }] })], 'InvalidResourceReference'],
      [[rule('asg', 100, { sourceAddressPrefix: undefined, sourceApplicationSecurityGroups: [{ id: 'asg' }] })], 'LinkedInvalidPropertyId'],
      [Array.from({ length: 1001 }, (_, index) => rule(`r${index}`, 100 + (index % 2000), { direction: index < 2000 ? 'Inbound' : 'Outbound' })), 'SecurityRuleCountLimitReached'],
    ];
    for (const [rules, code] of refusals) {
      expectArmError(await putNsg('refused', rules), 400, code);
      expectArmError(await arm('GET', nsgPath('refused')), 404, 'ResourceNotFound');
    }
    // The same priority in the other direction is no conflict.
    expect((await putNsg('two-ways', [rule('in', 100), rule('out', 100, { direction: 'Outbound' })])).status).toBe(201);
    // A refused update leaves the rules as they were.
    expectArmError(await arm('PUT', `${nsgPath('two-ways')}/securityRules/again`, rule('again', 100)), 400, 'SecurityRuleConflict');
    expect(((await arm('GET', `${nsgPath('two-ways')}/securityRules`)).body as { value: Json[] }).value).toHaveLength(2);

    const asgs = await Promise.all(Array.from({ length: 11 }, (_, index) => arm('PUT', asgPath(`asg${index}`), { location: 'eastus' })));
    expect(asgs.map((answer) => answer.status)).toEqual(Array(11).fill(201));
    const many = Array.from({ length: 11 }, (_, index) => ({ id: asgPath(`asg${index}`) }));
    expectArmError(await putNsg('refused', [rule('many', 100, { sourceAddressPrefix: undefined, sourceApplicationSecurityGroups: many })]), 400, 'NumberOfApplicationSecurityGroupsReferencedInSecurityRuleLimitReached');

    expectArmError(await arm('PUT', nsgPath('refused'), { properties: {} }), 400, 'LocationRequired');
    expectArmError(await arm('PUT', nsgPath('refused'), { location: 'westeurope' }), 400, 'LocationNotAvailableForResourceType');
    expectArmError(await arm('PUT', nsgPath('two-ways'), { location: 'westus' }), 400, 'InvalidResourceLocation');
    expectArmError(await arm('PUT', nsgPath('refused'), undefined, '{not json'), 400, 'InvalidRequestFormat');
    expectArmError(await arm('PUT', nsgPath('bad name!'), { location: 'eastus' }), 400, 'InvalidResourceName');
  });

  it('refuses to delete an NSG a NIC or a subnet uses, and an ASG an ipConfiguration names', async () => {
    const nic = nicOf(vms[0] as Instance);
    const message = expectArmError(await arm('DELETE', nsgPath(topology.securityGroup.id)), 400, 'InUseNetworkSecurityGroupCannotBeDeleted');
    expect(message).toContain(armIds.nic(nic.id));
    expect((await putNsg('subnet-nsg')).status).toBe(201);
    const subnet = topology.nodeSubnet;
    const subnetPath = armIds.subnet(subnet.vpcId, subnet.id);
    const associated = await arm('PUT', subnetPath, { properties: { addressPrefix: subnet.cidr, networkSecurityGroup: { id: nsgPath('subnet-nsg') } } });
    expect(associated.status, associated.text).toBe(200);
    expect(associated.body).toMatchObject({ properties: { networkSecurityGroup: { id: nsgPath('subnet-nsg') } } });
    expect((await arm('GET', subnetPath)).body).toMatchObject({ properties: { networkSecurityGroup: { id: nsgPath('subnet-nsg') } } });
    expect((await arm('GET', nsgPath('subnet-nsg'))).body).toMatchObject({ properties: { subnets: [{ id: subnetPath }] } });
    expect(expectArmError(await arm('DELETE', nsgPath('subnet-nsg')), 400, 'InUseNetworkSecurityGroupCannotBeDeleted')).toContain(subnetPath);
    expectArmError(await arm('PUT', subnetPath, { properties: { addressPrefix: '10.9.0.0/24' } }), 400, 'BadRequest');
    expectArmError(await arm('PUT', armIds.subnet(subnet.vpcId, 'new-subnet'), { properties: { addressPrefix: '10.9.0.0/24' } }), 400, 'BadRequest');
    expectArmError(await arm('PUT', subnetPath, { properties: { networkSecurityGroup: { id: nsgPath('nothere') } } }), 400, 'InvalidResourceReference');
    expect((await arm('PUT', subnetPath, { properties: { addressPrefix: subnet.cidr } })).status).toBe(200);
    expect((await arm('GET', subnetPath)).body).not.toHaveProperty('properties.networkSecurityGroup');
    expect((await arm('DELETE', nsgPath('subnet-nsg'))).status).toBe(202);

    expect((await arm('PUT', asgPath('web'), { location: 'eastus' })).status).toBe(201);
    const joined = await putNicWith(nic, (body) => {
      for (const config of body.properties.ipConfigurations) config.properties.applicationSecurityGroups = [{ id: asgPath('web') }];
    });
    expect(joined.status, joined.text).toBe(200);
    expect(expectArmError(await arm('DELETE', asgPath('web')), 400, 'BadRequest')).toContain('ipconfig1');
    expect((await arm('GET', asgPath('web'))).body).toMatchObject({ name: 'web', type: 'Microsoft.Network/applicationSecurityGroups', location: 'eastus' });
  });

  it("requires every ipConfiguration of a NIC to name the same application security groups, at most 20", async () => {
    const nic = nicOf(vms[0] as Instance);
    for (const name of ['a', 'b']) expect((await arm('PUT', asgPath(name), { location: 'eastus' })).status).toBe(201);
    const subnet = { id: armIds.subnet(topology.nodeSubnet.vpcId, topology.nodeSubnet.id) };
    const differing = await putNicWith(nic, (body) => {
      body.properties.ipConfigurations.push({ name: 'second', properties: { subnet, privateIPAllocationMethod: 'Dynamic', applicationSecurityGroups: [{ id: asgPath('b') }] } });
      (body.properties.ipConfigurations[0] as { properties: Json }).properties.applicationSecurityGroups = [{ id: asgPath('a') }];
    });
    expectArmError(differing, 400, 'AllIpConfigurationsOnANicMustBelongToTheSameApplicationSecurityGroups');
    expect(emulator.model.getInterface(nic.id).secondaryIps).toEqual([]);
    const same = await putNicWith(nic, (body) => {
      body.properties.ipConfigurations.push({ name: 'second', properties: { subnet, privateIPAllocationMethod: 'Dynamic', applicationSecurityGroups: [{ id: asgPath('b') }, { id: asgPath('a') }] } });
      (body.properties.ipConfigurations[0] as { properties: Json }).properties.applicationSecurityGroups = [{ id: asgPath('a') }, { id: asgPath('b') }];
    });
    expect(same.status, same.text).toBe(200);
    const shown = (same.body as { properties: { ipConfigurations: Array<{ properties: Json }> } }).properties.ipConfigurations;
    const ids = (config: { properties: Json }): string[] => (config.properties.applicationSecurityGroups as Array<{ id: string }>).map((ref) => ref.id).sort();
    expect(shown.map(ids)).toEqual([
      [asgPath('a'), asgPath('b')],
      [asgPath('a'), asgPath('b')],
    ]);
    const many = await Promise.all(Array.from({ length: 21 }, (_, index) => arm('PUT', asgPath(`m${index}`), { location: 'eastus' })));
    expect(many.every((answer) => answer.status === 201)).toBe(true);
    const tooMany = await putNicWith(nic, (body) => {
      for (const config of body.properties.ipConfigurations) config.properties.applicationSecurityGroups = Array.from({ length: 21 }, (_, index) => ({ id: asgPath(`m${index}`) }));
    });
    expectArmError(tooMany, 400, 'BadRequest');
    expectArmError(
      await putNicWith(nic, (body) => {
        for (const config of body.properties.ipConfigurations) config.properties.applicationSecurityGroups = [{ id: asgPath('nothere') }];
      }),
      400,
      'InvalidResourceReference',
    );
  });

  it('pages the ASG list with nextLink', async () => {
    for (let index = 0; index < 101; index += 1) expect((await arm('PUT', asgPath(`p${index}`), { location: 'eastus' })).status).toBe(201);
    const first = await arm('GET', `${armIds.resourceGroup}/providers/Microsoft.Network/applicationSecurityGroups`);
    const body = first.body as { value: Json[]; nextLink: string };
    expect(body.value).toHaveLength(100);
    const second = await arm('GET', body.nextLink);
    expect((second.body as { value: Json[]; nextLink?: string }).value).toHaveLength(1);
    expect(second.body).not.toHaveProperty('nextLink');
  });
});

describe('what the rules do (the compiled firewall)', () => {
  it('lets a deny at priority 100 beat an allow at 200, and a rule deleted stop counting', async () => {
    const [a, b] = vms.map(nicOf) as [NetworkInterface, NetworkInterface];
    expect((await putNsg('b-nsg', [rule('allow-80', 200, { destinationPortRange: '80' }), rule('deny-vnet', 4000, { access: 'Deny', sourceAddressPrefix: 'VirtualNetwork' })])).status).toBe(201);
    expect((await putNicWith(b, (body) => (body.properties.networkSecurityGroup = { id: nsgPath('b-nsg') }))).status).toBe(200);
    expect(tcp(a, b, 80)).toBe(true);
    expect(tcp(a, b, 22)).toBe(false);
    expect((await arm('PUT', `${nsgPath('b-nsg')}/securityRules/deny-80`, rule('x', 100, { destinationPortRange: '80', access: 'Deny' }))).status).toBe(201);
    expect(tcp(a, b, 80)).toBe(false);
    expect((await arm('DELETE', `${nsgPath('b-nsg')}/securityRules/deny-80`)).status).toBe(202);
    expect(tcp(a, b, 80)).toBe(true);
    // An outbound deny on the sender's NIC stops the flow before the receiver's rules.
    expect((await putNsg('a-nsg', [rule('no-out-80', 100, { direction: 'Outbound', access: 'Deny', destinationPortRange: '80' })])).status).toBe(201);
    expect((await putNicWith(a, (body) => (body.properties.networkSecurityGroup = { id: nsgPath('a-nsg') }))).status).toBe(200);
    expect(tcp(a, b, 80)).toBe(false);
  });

  it('makes a subnet NSG and a NIC NSG both allow inbound traffic', async () => {
    const [a, b] = vms.map(nicOf) as [NetworkInterface, NetworkInterface];
    const subnet = topology.nodeSubnet;
    const subnetPath = armIds.subnet(subnet.vpcId, subnet.id);
    expect(tcp(a, b, 22)).toBe(true);
    expect((await putNsg('subnet-nsg', [rule('deny-ssh', 100, { access: 'Deny', destinationPortRange: '22' })])).status).toBe(201);
    expect((await arm('PUT', subnetPath, { properties: { addressPrefix: subnet.cidr, networkSecurityGroup: { id: nsgPath('subnet-nsg') } } })).status).toBe(200);
    expect(tcp(a, b, 22)).toBe(false);
    expect(tcp(a, b, 443)).toBe(true);
    // The NIC's NSG denies what the subnet's allows: still dropped.
    expect((await arm('PUT', `${nsgPath(topology.securityGroup.id)}/securityRules/deny-https`, rule('x', 100, { access: 'Deny', destinationPortRange: '443' }))).status).toBe(201);
    expect(tcp(a, b, 443)).toBe(false);
    expect((await arm('PUT', subnetPath, { properties: { addressPrefix: subnet.cidr } })).status).toBe(200);
    expect(tcp(a, b, 22)).toBe(true);
  });

  it('matches an ASG rule on exactly the addresses of the ipConfigurations that name the ASG', async () => {
    const [a, b, c] = vms.map(nicOf) as [NetworkInterface, NetworkInterface, NetworkInterface];
    expect((await arm('PUT', asgPath('clients'), { location: 'eastus' })).status).toBe(201);
    expect(
      (
        await putNsg('db-nsg', [
          rule('clients-in', 100, { destinationPortRange: '5432', sourceAddressPrefix: undefined, sourceApplicationSecurityGroups: [{ id: asgPath('clients') }] }),
          rule('others-out', 200, { destinationPortRange: '5432', access: 'Deny' }),
        ])
      ).status,
    ).toBe(201);
    expect((await putNicWith(b, (body) => (body.properties.networkSecurityGroup = { id: nsgPath('db-nsg') }))).status).toBe(200);
    expect(tcp(a, b, 5432)).toBe(false);
    const subnet = { id: armIds.subnet(topology.nodeSubnet.vpcId, topology.nodeSubnet.id) };
    const joined = await putNicWith(a, (body) => {
      body.properties.ipConfigurations.push({ name: 'second', properties: { subnet, privateIPAllocationMethod: 'Dynamic' } });
      for (const config of body.properties.ipConfigurations) config.properties.applicationSecurityGroups = [{ id: asgPath('clients') }];
    });
    expect(joined.status, joined.text).toBe(200);
    const secondary = emulator.model.getInterface(a.id).secondaryIps[0] ?? '';
    expect(tcp(a, b, 5432)).toBe(true);
    expect(tcp(a, b, 5432, secondary)).toBe(true);
    expect(tcp(c, b, 5432)).toBe(false);
    // Leaving the ASG takes both addresses out.
    expect(
      (
        await putNicWith(a, (body) => {
          for (const config of body.properties.ipConfigurations) delete config.properties.applicationSecurityGroups;
        })
      ).status,
    ).toBe(200);
    expect(tcp(a, b, 5432)).toBe(false);
    expect(tcp(a, b, 5432, secondary)).toBe(false);
  });
});

describe('through @azure/arm-network', () => {
  function client(): NetworkManagementClient {
    const credential = { getToken: () => Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const sdk = new NetworkManagementClient(credential, armSubscriptionId, { endpoint: url, $host: url, allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    // The SDK's bearer policy insists on https; the emulator is plain http.
    sdk.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
    sdk.pipeline.addPolicy(
      {
        name: 'testBearer',
        sendRequest: (request, next) => {
          request.headers.set('authorization', 'Bearer test-token');
          return next(request);
        },
      },
      { phase: 'Sign' },
    );
    return sdk;
  }

  const sdkRule = (name: string, priority: number, extra: Partial<SecurityRule> = {}): SecurityRule => ({
    name,
    protocol: 'Tcp',
    access: 'Allow',
    direction: 'Inbound',
    priority,
    sourcePortRange: '*',
    destinationPortRange: '*',
    sourceAddressPrefix: '*',
    destinationAddressPrefix: '*',
    ...extra,
  });

  const poll = { updateIntervalInMs: 1 };

  it('creates groups and rules, associates them with a subnet and NICs, and the firewall follows', async () => {
    const sdk = client();
    const [a, b, c] = vms.map(nicOf) as [NetworkInterface, NetworkInterface, NetworkInterface];
    const asg = await sdk.applicationSecurityGroups.beginCreateOrUpdateAndWait(armResourceGroup, 'sdk-asg', { location: 'eastus' }, poll);
    expect(asg).toMatchObject({ name: 'sdk-asg', provisioningState: 'Succeeded' });
    const nsg = await sdk.networkSecurityGroups.beginCreateOrUpdateAndWait(
      armResourceGroup,
      'sdk-nsg',
      { location: 'eastus', securityRules: [sdkRule('from-asg', 110, { destinationPortRange: '8080', sourceAddressPrefix: undefined, sourceApplicationSecurityGroups: [{ id: asg.id ?? '' }] }), sdkRule('deny-8080', 200, { access: 'Deny', destinationPortRange: '8080' })] },
      poll,
    );
    expect(nsg.securityRules?.map((each) => each.name)).toEqual(['from-asg', 'deny-8080']);
    expect(nsg.defaultSecurityRules).toHaveLength(6);
    const subnet = await sdk.subnets.get(armResourceGroup, topology.nodeSubnet.vpcId, topology.nodeSubnet.id);
    const updated = await sdk.subnets.beginCreateOrUpdateAndWait(armResourceGroup, topology.nodeSubnet.vpcId, topology.nodeSubnet.id, { ...subnet, networkSecurityGroup: { id: nsg.id ?? '' } }, poll);
    expect(updated.networkSecurityGroup?.id).toBe(nsg.id);
    expect(tcp(a, b, 8080)).toBe(false);

    const current = await sdk.networkInterfaces.get(armResourceGroup, a.id);
    const joined = await sdk.networkInterfaces.beginCreateOrUpdateAndWait(
      armResourceGroup,
      a.id,
      { ...current, ipConfigurations: (current.ipConfigurations ?? []).map((config) => ({ ...config, applicationSecurityGroups: [{ id: asg.id ?? '' }] })) },
      poll,
    );
    expect(joined.ipConfigurations?.[0]?.applicationSecurityGroups?.[0]?.id).toBe(asg.id);
    expect(tcp(a, b, 8080)).toBe(true);
    expect(tcp(c, b, 8080)).toBe(false);

    await sdk.securityRules.beginCreateOrUpdateAndWait(armResourceGroup, 'sdk-nsg', 'deny-all-8080', sdkRule('deny-all-8080', 100, { access: 'Deny', destinationPortRange: '8080' }), poll);
    expect(tcp(a, b, 8080)).toBe(false);
    const rules = [];
    for await (const each of sdk.securityRules.list(armResourceGroup, 'sdk-nsg')) rules.push(each.name);
    expect(rules.sort()).toEqual(['deny-8080', 'deny-all-8080', 'from-asg']);
    await sdk.securityRules.beginDeleteAndWait(armResourceGroup, 'sdk-nsg', 'deny-all-8080', poll);
    expect(tcp(a, b, 8080)).toBe(true);

    const groups = [];
    for await (const each of sdk.networkSecurityGroups.list(armResourceGroup)) groups.push(each.name);
    expect(groups).toContain('sdk-nsg');
    const asgs = [];
    for await (const each of sdk.applicationSecurityGroups.listAll()) asgs.push(each.name);
    expect(asgs).toEqual(['sdk-asg']);
  });

  it("answers refusals with ARM's codes through the SDK", async () => {
    const sdk = client();
    const refusal = async (run: () => Promise<unknown>): Promise<{ code?: string; statusCode?: number }> => {
      try {
        await run();
      } catch (err) {
        return err as { code?: string; statusCode?: number };
      }
      throw new Error('expected a refusal');
    };
    expect(await refusal(() => sdk.networkSecurityGroups.beginCreateOrUpdateAndWait(armResourceGroup, 'x', { location: 'eastus', securityRules: [sdkRule('a', 100), sdkRule('b', 100)] }, poll))).toMatchObject({
      code: 'SecurityRuleConflict',
      statusCode: 400,
    });
    expect(await refusal(() => sdk.networkSecurityGroups.beginCreateOrUpdateAndWait(armResourceGroup, 'x', { location: 'eastus', securityRules: [sdkRule('a', 5000)] }, poll))).toMatchObject({
      code: 'SecurityRuleInvalidPriority',
    });
    expect(await refusal(() => sdk.networkSecurityGroups.beginDeleteAndWait(armResourceGroup, topology.securityGroup.id, poll))).toMatchObject({ code: 'InUseNetworkSecurityGroupCannotBeDeleted', statusCode: 400 });
    expect(await refusal(() => sdk.networkSecurityGroups.get(armResourceGroup, 'nothere'))).toMatchObject({ code: 'ResourceNotFound', statusCode: 404 });
    expect(await refusal(() => sdk.securityRules.get(armResourceGroup, topology.securityGroup.id, 'nothere'))).toMatchObject({ code: 'NotFound', statusCode: 404 });
  });
});
