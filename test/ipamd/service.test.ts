/**
 * The service over the real API server: an add waiting for the pool to grow
 * holds only its own container's turn, an add the server answered `busy`
 * allocates nothing afterwards, and exhaustion reaches the plugin with its limit.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../ipamd/api/server.ts';
import { AddressStore } from '../../ipamd/datastore/store.ts';
import { noPodNetwork } from '../fakes/networks.ts';
import { PodNetworkError, type PodNetwork } from '../../ipamd/dataplane/index.ts';
import { silentLogger } from '../../ipamd/common/logger.ts';
import { PoolAddressSource, type AddressSource } from '../../ipamd/pool/address-source.ts';
import { primaryInterface, ScriptedPool } from './fixtures/pool.ts';
import { NodeIpamService } from '../../ipamd/service.ts';
import { callIpamd } from '../../wire/client.ts';
import { addressAt } from '../../lib/ipv4.ts';

const key = (containerId: string) => ({ network: 'vpc-cni', containerId, ifName: 'eth0' });
const addParams = (containerId: string) => ({ key: key(containerId), netns: `/var/run/netns/${containerId}` });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(
  makeSource: (store: AddressStore) => AddressSource,
  options: { requestTimeoutMs?: number } = {},
  podNetwork: PodNetwork = noPodNetwork,
): Promise<{ store: AddressStore; socketPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ipamd-service-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const { store } = await AddressStore.open({ dir: join(dir, 'ipam'), mode: 'ips', cooldownMs: 0 });
  cleanups.push(() => store.close());
  const service = new NodeIpamService({ store, addresses: makeSource(store), logger: silentLogger, podNetwork, mtu: 9001, subnetGateway: (cidr) => addressAt(cidr, 1), growWaitMs: 5000 });
  const socketPath = join(dir, 'ipamd.sock');
  const server: ApiServer = await startApiServer({ socketPath, service, logger: silentLogger, ...options });
  cleanups.push(() => server.close());
  return { store, socketPath };
}

const failureOf = (promise: Promise<unknown>): Promise<{ code?: string; limit?: string }> =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: { code?: string; limit?: string }) => err,
  );

describe('NodeIpamService and its address source', () => {
  it("an add waiting for growth does not hold up another container's add", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { socketPath } = await serve((store) => {
      store.replaceInventory([primaryInterface(['10.0.0.11', '10.0.0.12'])]);
      return {
        ready: true,
        changed: () => undefined,
        // Container a waits as if for a slow cloud round trip; the others are served at once.
        take: async (k) => {
          if (k.containerId === 'a') await gate;
          return { kind: 'allocated', ...(await store.allocate(k, {})) };
        },
      };
    });
    let aDone = false;
    const a = callIpamd(socketPath, 'add', addParams('a'), { timeoutMs: 10_000 }).finally(() => (aDone = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const b = await callIpamd(socketPath, 'add', addParams('b'), { timeoutMs: 2000 });
    expect(b.ip).toMatch(/^10\.0\.0\.1[12]$/);
    expect(aDone).toBe(false);
    release();
    expect((await a).ip).toMatch(/^10\.0\.0\.1[12]$/);
  }, 15_000);

  it('an add answered busy while it waits for growth is abandoned: it allocates nothing once the pool grows', async () => {
    const pool = new ScriptedPool();
    const { store, socketPath } = await serve(
      (s) => {
        s.replaceInventory([primaryInterface([])]);
        return new PoolAddressSource({ store: s, pool, logger: silentLogger });
      },
      { requestTimeoutMs: 200 },
    );
    expect(await failureOf(callIpamd(socketPath, 'add', addParams('a'), { timeoutMs: 5000 }))).toMatchObject({ code: 'busy' });
    store.replaceInventory([primaryInterface(['10.0.0.11'])]);
    pool.completeRuns();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(store.allocations()).toEqual([]);
    // The address is still there for the next add.
    expect((await callIpamd(socketPath, 'add', addParams('b'), { timeoutMs: 2000 })).ip).toBe('10.0.0.11');
  });

  it("an add waiting for growth gives its container's lock up: a DEL of it runs at once, and the add then allocates nothing", async () => {
    const pool = new ScriptedPool();
    const { store, socketPath } = await serve((s) => {
      s.replaceInventory([primaryInterface([])]);
      return new PoolAddressSource({ store: s, pool, logger: silentLogger });
    });
    const add = failureOf(callIpamd(socketPath, 'add', addParams('a'), { timeoutMs: 5000 }));
    while (pool.runs === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Held behind the add before: it would have waited for the whole growth.
    await callIpamd(socketPath, 'del', { key: key('a') }, { timeoutMs: 1000 });
    pool.completeRuns(() => store.replaceInventory([primaryInterface(['10.0.0.11'])]));
    expect(await add).toMatchObject({ code: 'busy' });
    expect(store.allocations()).toEqual([]);
  });

  it('an add that waited for growth with nothing in between takes its address once the pool has grown', async () => {
    const pool = new ScriptedPool();
    const { store, socketPath } = await serve((s) => {
      s.replaceInventory([primaryInterface([])]);
      return new PoolAddressSource({ store: s, pool, logger: silentLogger });
    });
    const add = callIpamd(socketPath, 'add', addParams('a'), { timeoutMs: 5000 });
    while (pool.runs === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // A gc (which needs every container's lock) is not held up by the waiting add either.
    expect(await callIpamd(socketPath, 'gc', { network: 'vpc-cni', validAttachments: [] }, { timeoutMs: 1000 })).toEqual({ released: 0 });
    pool.completeRuns(() => store.replaceInventory([primaryInterface(['10.0.0.11'])]));
    expect((await add).ip).toBe('10.0.0.11');
    expect(store.allocations().map((a) => a.key.containerId)).toEqual(['a']);
  });

  it('an exhausted pool answers exhausted with its limit', async () => {
    const pool = new ScriptedPool();
    pool.status.exhausted = { limit: 'subnet-addresses', message: 'subnet-1 has no free address' };
    const { socketPath } = await serve((s) => {
      s.replaceInventory([primaryInterface([])]);
      return new PoolAddressSource({ store: s, pool, logger: silentLogger });
    });
    expect(await failureOf(callIpamd(socketPath, 'add', addParams('a'), { timeoutMs: 2000 }))).toMatchObject({ code: 'exhausted', limit: 'subnet-addresses' });
  });
});

describe('NodeIpamService refuses up front, allocating nothing', () => {
  /** A source that counts its takes: a refused add must not reach it. */
  const countingSource = (store: AddressStore, counter: { takes: number }): AddressSource => ({
    ready: true,
    changed: () => undefined,
    take: async (k) => {
      counter.takes++;
      return { kind: 'allocated', ...(await store.allocate(k, {})) };
    },
  });
  const withNamespaces: PodNetwork = { ...noPodNetwork, hasNamespace: (netns) => existsSync(netns) };

  it('an ADD into a network namespace that does not exist: not-found naming it, no address taken', async () => {
    const counter = { takes: 0 };
    const { store, socketPath } = await serve(
      (s) => {
        s.replaceInventory([primaryInterface(['10.0.0.11'])]);
        return countingSource(s, counter);
      },
      {},
      withNamespaces,
    );
    const failure = await failureOf(callIpamd(socketPath, 'add', addParams('a'), { timeoutMs: 2000 }));
    expect(failure).toMatchObject({ code: 'not-found', message: expect.stringContaining('network namespace /var/run/netns/a (CNI_NETNS) does not exist') });
    expect(counter.takes).toBe(0);
    expect(store.allocations()).toEqual([]);
    // A namespace that is there is served.
    expect((await callIpamd(socketPath, 'add', { key: key('b'), netns: '/proc/self/ns/net' }, { timeoutMs: 2000 })).ip).toBe('10.0.0.11');
  });

  it('a namespace that vanishes during set-up: not-found too, and the address goes back', async () => {
    const vanishing: PodNetwork = {
      ...withNamespaces,
      setUp: async (a) => {
        throw new PodNetworkError('netns-missing', `network namespace ${a.netns} does not exist`);
      },
    };
    const { store, socketPath } = await serve(
      (s) => {
        s.replaceInventory([primaryInterface(['10.0.0.11'])]);
        return countingSource(s, { takes: 0 });
      },
      {},
      vanishing,
    );
    const failure = await failureOf(callIpamd(socketPath, 'add', { key: key('a'), netns: '/proc/self/ns/net' }, { timeoutMs: 2000 }));
    expect(failure).toMatchObject({ code: 'not-found', message: expect.stringContaining('/proc/self/ns/net (CNI_NETNS) does not exist') });
    expect(store.allocations()).toEqual([]);
  });

  it('a second interface into the same container (CNI_IFNAME=net1, as Multus asks): invalid-request naming both', async () => {
    const counter = { takes: 0 };
    const { store, socketPath } = await serve((s) => {
      s.replaceInventory([primaryInterface(['10.0.0.11', '10.0.0.12'])]);
      return countingSource(s, counter);
    });
    await callIpamd(socketPath, 'add', addParams('a'), { timeoutMs: 2000 });
    const second = { ...addParams('a'), key: { ...key('a'), ifName: 'net1' } };
    const failure = await failureOf(callIpamd(socketPath, 'add', second, { timeoutMs: 2000 }));
    expect(failure).toMatchObject({ code: 'invalid-request', message: expect.stringMatching(/container a already has interface eth0 .*one interface, so net1 .* is refused/) });
    expect(counter.takes).toBe(1);
    expect(store.allocations().map((a) => a.key)).toEqual([key('a')]);
    // A runtime repeating the first ADD is still served, with the same address.
    expect((await callIpamd(socketPath, 'add', addParams('a'), { timeoutMs: 2000 })).ip).toBe(store.allocations()[0]?.ip);
  });
});
