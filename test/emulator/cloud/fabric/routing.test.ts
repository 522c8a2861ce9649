import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWorld, fabricCounter, inNode, requireHost, tcpProbe, tcpServer, type World } from './helpers.ts';

describe('VPC in a box: routing through the fabric', () => {
  let world: World | undefined;
  const cleanups: Array<() => void> = [];

  beforeAll(requireHost);

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    await world?.box.destroy();
    world = undefined;
  });

  it('nodes in the same and in different subnets reach each other', async () => {
    world = await buildWorld();
    const { box, model } = world;
    const [a, b, c] = await Promise.all([world.launch(), world.launch(), world.launch(world.subnetB)]);
    const ipOf = (id: string): string => model.getInterface(model.getInstance(id).primaryInterfaceId).primaryIp;

    expect(await inNode(box, a.id, ['ip', '-o', '-4', 'addr', 'show', 'eth0'])).toContain(`${ipOf(a.id)}/24`);
    expect(await inNode(box, a.id, ['ip', 'route', 'show', 'default'])).toContain(`via ${world.subnetA.gateway} dev eth0`);

    const serverB = await tcpServer(box, b.id, ipOf(b.id), 7000);
    cleanups.push(serverB.close);
    const serverC = await tcpServer(box, c.id, ipOf(c.id), 7000);
    cleanups.push(serverC.close);
    const [sameSubnet, otherSubnet] = await Promise.all([
      tcpProbe(box, a.id, { host: ipOf(b.id), port: 7000 }),
      tcpProbe(box, a.id, { host: ipOf(c.id), port: 7000 }),
    ]);
    expect(sameSubnet).toBe('ok');
    expect(otherSubnet).toBe('ok');
    expect(box.failures).toEqual([]);
  });

  it('drops packets whose source the sending ENI does not own (source/destination check)', async () => {
    world = await buildWorld();
    const { box, model } = world;
    const [a, b] = await Promise.all([world.launch(), world.launch()]);
    const ipB = model.getInterface(b.primaryInterfaceId).primaryIp;
    const gateway = world.subnetA.gateway;
    const eni = model.createInterface({ subnetId: world.subnetA.id, securityGroupIds: [world.sg.id] });
    model.attachInterface(eni.id, a.id, 1);
    await model.settled();
    const { ips } = await model.assignAddresses(eni.id, { ipCount: 1 });
    const secondary = ips[0] ?? '';

    const server = await tcpServer(box, b.id, ipB, 7001);
    cleanups.push(server.close);
    // Control: the primary address flows (and resolves the gateway on eth0).
    expect(await tcpProbe(box, a.id, { host: ipB, port: 7001 })).toBe('ok');

    // eth1's address sent out of eth0: the fabric port of eth0 must drop it.
    await inNode(box, a.id, ['ip', 'addr', 'add', `${secondary}/32`, 'dev', 'eth0']);
    const before = await fabricCounter(box, 'TcpExt', 'IPReversePathFilter');
    expect(await tcpProbe(box, a.id, { host: ipB, port: 7001, localAddress: secondary, timeoutMs: 500 })).toBe('timeout');
    expect(await fabricCounter(box, 'TcpExt', 'IPReversePathFilter')).toBeGreaterThan(before);

    // The same address on eth1 with per-ENI policy routing (what ipamd sets up): it flows.
    await inNode(box, a.id, ['ip', 'addr', 'del', `${secondary}/32`, 'dev', 'eth0']);
    for (const argv of [
      ['ip', 'link', 'set', 'eth1', 'up'],
      ['ip', 'addr', 'add', `${secondary}/32`, 'dev', 'eth1'],
      ['ip', 'route', 'add', gateway, 'dev', 'eth1', 'table', '101'],
      ['ip', 'route', 'add', 'default', 'via', gateway, 'dev', 'eth1', 'table', '101'],
      ['ip', 'rule', 'add', 'from', secondary, 'lookup', '101'],
    ]) {
      await inNode(box, a.id, argv);
    }
    expect(await tcpProbe(box, a.id, { host: ipB, port: 7001, localAddress: secondary })).toBe('ok');
    expect(box.failures).toEqual([]);
  });
});
