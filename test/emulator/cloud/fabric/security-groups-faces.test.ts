import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, EC2Client, RevokeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import { NetworkManagementClient } from '@azure/arm-network';
import { afterEach, describe, expect, it } from 'vitest';
import { Emulator } from '../../../../emulator/cloud/emulator.ts';
import { armIds, armSubscriptionId } from '../../../../emulator/cloud/faces/arm/ids.ts';
import { VpcBox } from '../../../../emulator/cloud/fabric/index.ts';
import type { Instance } from '../../../../emulator/cloud/model/cloud.ts';
import { buildTopology, type Topology } from '../../../../emulator/cloud/topology.ts';
import { emulatorAlibabaCredential } from '../../../../emulator/cluster/credentials.ts';
import { ecs, openApi, teaUtil } from '../../../../providers/alibaba/sdk.ts';
import type { CloudName } from '../../../../providers/catalogs/catalog.ts';
import { requireHost, tcpProbe, tcpServer } from './helpers.ts';
import { committed, until } from './traffic.ts';

/**
 * Each cloud's face changes real traffic: a rule written through the cloud's
 * own SDK, over HTTP to the emulator, reaches the fabric's firewall and
 * decides whether a TCP connection between two instances gets through, and
 * taking it back through the SDK undoes it, each within a second.
 */

interface Env {
  emulator: Emulator;
  box: VpcBox;
  url: string;
  topology: Topology;
  client: Instance;
  server: Instance;
  probe(timeoutMs?: number): Promise<string>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function env(cloud: CloudName, region: string): Promise<Env> {
  requireHost();
  const emulator = new Emulator({ cloud });
  const { url } = await emulator.listen();
  const box = new VpcBox({ model: emulator.model, onError: () => undefined });
  cleanups.push(() => emulator.close());
  cleanups.push(() => box.destroy());
  await box.create();
  const topology = await buildTopology(emulator.model, { nodes: 2, region, zone: `${region}-1`, instanceType: 'm5.large' });
  await box.idle();
  const [client, server] = topology.instances as [Instance, Instance];
  const stop = await tcpServer(box, server.id, '0.0.0.0', 8080);
  cleanups.push(() => stop.close());
  const serverIp = emulator.model.getInterface(server.primaryInterfaceId).primaryIp;
  const probe = (timeoutMs = 300): Promise<string> => tcpProbe(box, client.id, { host: serverIp, port: 8080, timeoutMs });
  return { emulator, box, url, topology, client, server, probe };
}


describe('security groups through each face, on real traffic', () => {
  it('EC2 (AWS SDK): a group that admits nothing, then AuthorizeSecurityGroupIngress from the node group, then Revoke by rule id', async () => {
    const e = await env('aws', 'us-east-1');
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: e.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    cleanups.push(() => ec2.destroy());
    expect(await e.probe(1000)).toBe('ok');
    const { GroupId: web = '' } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web servers', VpcId: e.topology.vpc.id }));
    e.emulator.model.setSecurityGroups(e.server.primaryInterfaceId, [web]);
    expect(await committed(e.box)).toBeLessThanOrEqual(1000);
    await until(() => e.probe(), 'timeout', 3000);
    const granted = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, UserIdGroupPairs: [{ GroupId: e.topology.securityGroup.id }] }] }),
    );
    expect(await committed(e.box)).toBeLessThanOrEqual(1000);
    await until(() => e.probe(), 'ok', 3000);
    const ruleId = granted.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? '';
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: web, SecurityGroupRuleIds: [ruleId] }));
    expect(await committed(e.box)).toBeLessThanOrEqual(1000);
    await until(() => e.probe(), 'timeout', 3000);
  });

  it('ARM (@azure/arm-network): a Deny rule PUT into the NIC NSG, then deleted through the securityRules child resource', async () => {
    const e = await env('azure', 'eastus');
    const credential = { getToken: () => Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const arm = new NetworkManagementClient(credential, armSubscriptionId, { endpoint: e.url, $host: e.url, allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    // The SDK's bearer policy insists on https; the emulator is plain http.
    arm.pipeline.removePolicy({ name: 'bearerTokenAuthenticationPolicy' });
    arm.pipeline.addPolicy({ name: 'plainBearer', sendRequest: (request, next) => (request.headers.set('authorization', 'Bearer test-token'), next(request)) }, { phase: 'Sign' });
    const nsg = e.topology.securityGroup.id;
    const group = armIds.nsg(nsg).split('/')[4] ?? '';
    expect(await e.probe(1000)).toBe('ok');
    await arm.securityRules.beginCreateOrUpdateAndWait(group, nsg, 'deny-8080', {
      protocol: 'Tcp',
      access: 'Deny',
      direction: 'Inbound',
      priority: 100,
      sourceAddressPrefix: 'VirtualNetwork',
      sourcePortRange: '*',
      destinationAddressPrefix: '*',
      destinationPortRange: '8080',
    }, { updateIntervalInMs: 10 });
    expect(await committed(e.box)).toBeLessThanOrEqual(1000);
    await until(() => e.probe(), 'timeout', 3000);
    await arm.securityRules.beginDeleteAndWait(group, nsg, 'deny-8080', { updateIntervalInMs: 10 });
    expect(await committed(e.box)).toBeLessThanOrEqual(1000);
    await until(() => e.probe(), 'ok', 3000);
  });

  it('ECS (@alicloud/ecs20140526): a Drop at priority 1 beats the basic group, RevokeSecurityGroup by rule id lifts it', async () => {
    const e = await env('alibaba', 'cn-hangzhou');
    const client = new ecs.default(new openApi.Config({ credential: emulatorAlibabaCredential(), endpoint: new URL(e.url).host, protocol: 'http', regionId: 'cn-hangzhou' }));
    const runtime = new teaUtil.RuntimeOptions({ autoretry: false, maxAttempts: 1 });
    const group = e.topology.securityGroup.id;
    expect(await e.probe(1000)).toBe('ok');
    await client.authorizeSecurityGroupWithOptions(
      new ecs.AuthorizeSecurityGroupRequest({
        regionId: 'cn-hangzhou',
        securityGroupId: group,
        permissions: [new ecs.AuthorizeSecurityGroupRequestPermissions({ ipProtocol: 'TCP', portRange: '8080/8080', sourceCidrIp: '0.0.0.0/0', policy: 'drop', priority: '1' })],
      }),
      runtime,
    );
    expect(await committed(e.box)).toBeLessThanOrEqual(1000);
    await until(() => e.probe(), 'timeout', 3000);
    const attribute = await client.describeSecurityGroupAttributeWithOptions(new ecs.DescribeSecurityGroupAttributeRequest({ regionId: 'cn-hangzhou', securityGroupId: group }), runtime);
    const ruleId = attribute.body?.permissions?.permission?.find((p) => p.policy?.toLowerCase() === 'drop')?.securityGroupRuleId ?? '';
    await client.revokeSecurityGroupWithOptions(new ecs.RevokeSecurityGroupRequest({ regionId: 'cn-hangzhou', securityGroupId: group, securityGroupRuleId: [ruleId] }), runtime);
    expect(await committed(e.box)).toBeLessThanOrEqual(1000);
    await until(() => e.probe(), 'ok', 3000);
  });
});
