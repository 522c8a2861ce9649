import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VpcBox } from '../../../../emulator/cloud/fabric/index.ts';
import { run } from '../../../../lib/command.ts';
import { ipJson, namedNamespaceArgs } from '../../../../lib/iproute.ts';
import { buildWorld, requireHost, type World } from './helpers.ts';

interface Link {
  ifname: string;
  address: string;
  flags: string[];
}
interface Route {
  dst: string;
  dev: string;
}
interface Neighbour {
  dst: string;
  lladdr?: string;
  state?: string[];
}

async function link(ns: string, name: string): Promise<Link | null> {
  const result = await run('ip', ['-n', ns, '-j', 'link', 'show', 'dev', name]);
  if (result.code !== 0) return null;
  return (JSON.parse(result.stdout) as Link[])[0] ?? null;
}

/** Fabric routes and permanent neighbours through one port, as "dst" strings. */
async function fabricEntries(world: World, port: string): Promise<{ routes: string[]; neighbours: Map<string, string> }> {
  const fabric = world.box.fabricNamespace;
  const routes = (await ipJson<Route[]>(namedNamespaceArgs(fabric), ['route', 'show', 'dev', port])).map((r) => r.dst);
  const neighbours = new Map<string, string>();
  for (const n of await ipJson<Neighbour[]>(namedNamespaceArgs(fabric), ['neigh', 'show', 'dev', port])) {
    if (n.state?.includes('PERMANENT')) neighbours.set(n.dst, n.lladdr ?? '');
  }
  return { routes, neighbours };
}

describe('VPC in a box: interfaces and addresses', () => {
  let world: World | undefined;

  beforeAll(requireHost);

  afterEach(async () => {
    await world?.box.destroy();
    world = undefined;
  });

  it('hot-plugs an attached ENI into the node with its MAC, and unplugs it on detach', async () => {
    world = await buildWorld();
    const { box, model } = world;
    const node = await world.launch();
    const ns = box.nodeNamespace(node.id);
    const eni = model.createInterface({ subnetId: world.subnetB.id, securityGroupIds: [world.sg.id] });

    const attachment = model.attachInterface(eni.id, node.id, 2);
    await model.settled();
    const eth2 = await link(ns, 'eth2');
    expect(eth2?.address).toBe(eni.mac);
    expect(eth2?.flags).not.toContain('UP'); // left for ipamd to configure
    expect(await link(box.fabricNamespace, box.portName(eni.id))).not.toBeNull();

    model.detachInterface(attachment.id);
    await model.settled();
    expect(await link(ns, 'eth2')).toBeNull();
    expect(await link(box.fabricNamespace, box.portName(eni.id))).toBeNull();
    // The primary interface is untouched.
    expect((await link(ns, 'eth0'))?.address).toBe(model.getInterface(node.primaryInterfaceId).mac);
    expect(box.failures).toEqual([]);
  });

  it('installs a route and a permanent neighbour per assigned address and removes released ones', async () => {
    world = await buildWorld();
    const { box, model } = world;
    const node = await world.launch(world.subnetA, 'm5.large');
    const primary = model.getInterface(node.primaryInterfaceId);
    const port = box.portName(primary.id);

    let entries = await fabricEntries(world, port);
    expect(entries.routes).toEqual([primary.primaryIp]);
    expect(entries.neighbours.get(primary.primaryIp)).toBe(primary.mac);

    const ips = await model.assignAddresses(primary.id, { ipCount: 2 });
    const prefixes = await model.assignAddresses(primary.id, { prefixCount: 1 });
    const prefix = prefixes.prefixes[0] ?? '';
    entries = await fabricEntries(world, port);
    expect(entries.routes).toEqual(expect.arrayContaining([...ips.ips, prefix]));
    for (const ip of ips.ips) expect(entries.neighbours.get(ip)).toBe(primary.mac);
    expect(entries.neighbours.size).toBe(1 + 2 + 16); // primary, two secondaries, a /28

    const [released, kept] = ips.ips;
    await model.releaseAddresses(primary.id, { ips: [released ?? ''], prefixes: [prefix] });
    entries = await fabricEntries(world, port);
    expect(entries.routes.sort()).toEqual([primary.primaryIp, kept].sort());
    expect([...entries.neighbours.keys()].sort()).toEqual([primary.primaryIp, kept].sort());
    expect(box.failures).toEqual([]);
  });

  it('installs addresses assigned while an ENI is detached when it attaches', async () => {
    world = await buildWorld();
    const { box, model } = world;
    const node = await world.launch();
    const eni = model.createInterface({ subnetId: world.subnetA.id, securityGroupIds: [world.sg.id], secondaryIpCount: 1 });
    const later = await model.assignAddresses(eni.id, { ipCount: 1 });
    model.attachInterface(eni.id, node.id, 1);
    await model.settled();

    const { routes, neighbours } = await fabricEntries(world, box.portName(eni.id));
    const expected = [eni.primaryIp, ...eni.secondaryIps, ...later.ips].sort();
    expect(routes.sort()).toEqual(expected);
    expect([...neighbours.keys()].sort()).toEqual(expected);
    expect(box.failures).toEqual([]);
  });

  it('terminating an instance removes its node and ports; a surviving ENI can attach elsewhere', async () => {
    world = await buildWorld();
    const { box, model } = world;
    const [doomed, other] = await Promise.all([world.launch(), world.launch()]);
    const eni = model.createInterface({ subnetId: world.subnetA.id, securityGroupIds: [world.sg.id] });
    model.attachInterface(eni.id, doomed.id, 1); // deleteOnTermination is false: it survives
    await model.settled();

    await model.terminateInstance(doomed.id);
    expect(await link(box.fabricNamespace, box.portName(eni.id))).toBeNull();
    expect(await link(box.fabricNamespace, box.portName(doomed.primaryInterfaceId))).toBeNull();
    expect((await run('ip', ['-n', box.nodeNamespace(doomed.id), 'link'])).code).not.toBe(0);

    model.attachInterface(eni.id, other.id, 1);
    await model.settled();
    expect((await link(box.nodeNamespace(other.id), 'eth1'))?.address).toBe(eni.mac);
    expect(box.failures).toEqual([]);
  });

  it('mirrors instances and ENIs that existed before the box was created', async () => {
    world = await buildWorld();
    const { model } = world;
    const node = await world.launch();
    const eni = model.createInterface({ subnetId: world.subnetA.id, securityGroupIds: [world.sg.id], secondaryIpCount: 2 });
    model.attachInterface(eni.id, node.id, 1);
    await model.settled();
    await world.box.destroy();

    const second = new VpcBox({ model, onError: () => undefined });
    try {
      await second.create();
      const ns = second.nodeNamespace(node.id);
      expect((await link(ns, 'eth0'))?.address).toBe(model.getInterface(node.primaryInterfaceId).mac);
      expect((await link(ns, 'eth1'))?.address).toBe(eni.mac);
      const routes = await ipJson<Route[]>(namedNamespaceArgs(second.fabricNamespace), ['route', 'show', 'dev', second.portName(eni.id)]);
      expect(routes.map((r) => r.dst).sort()).toEqual([eni.primaryIp, ...eni.secondaryIps].sort());
    } finally {
      await second.destroy();
    }
  });
});
