/**
 * The address source the service asks: allocate now, or wait for the pool to
 * grow within the wait and the request's signal. A real store, a scripted pool.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressStore } from '../../../ipamd/datastore/store.ts';
import { silentLogger } from '../../../ipamd/common/logger.ts';
import { PoolAddressSource } from '../../../ipamd/pool/address-source.ts';
import { primaryInterface, ScriptedPool } from '../fixtures/pool.ts';

const key = (containerId: string) => ({ network: 'vpc-cni', containerId, ifName: 'eth0' });

const dirs: string[] = [];
const stores: AddressStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function openStore(): Promise<AddressStore> {
  const dir = await mkdtemp(join(tmpdir(), 'address-source-'));
  dirs.push(dir);
  const { store } = await AddressStore.open({ dir, mode: 'ips', cooldownMs: 0 });
  stores.push(store);
  return store;
}

describe('PoolAddressSource', () => {
  it('allocates at once when an address is free', async () => {
    const store = await openStore();
    store.replaceInventory([primaryInterface(['10.0.0.11'])]);
    const pool = new ScriptedPool();
    const answer = await new PoolAddressSource({ store, pool, logger: silentLogger }).take(key('a'), { netns: '/ns/a', waitMs: 1000 });
    expect(answer).toMatchObject({ kind: 'allocated', existing: false, allocation: { ip: '10.0.0.11' } });
    expect(pool.runs).toBe(0);
  });

  it('waits for the pool to grow, then allocates', async () => {
    const store = await openStore();
    store.replaceInventory([primaryInterface([])]);
    const pool = new ScriptedPool();
    const taking = new PoolAddressSource({ store, pool, logger: silentLogger }).take(key('a'), { netns: '/ns/a', waitMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pool.runs).toBe(1);
    pool.completeRuns(() => store.replaceInventory([primaryInterface(['10.0.0.11'])]));
    expect(await taking).toMatchObject({ kind: 'allocated', allocation: { ip: '10.0.0.11' } });
  });

  it('abandons a wait when the request is aborted, and allocates nothing once the pool has grown', async () => {
    const store = await openStore();
    store.replaceInventory([primaryInterface([])]);
    const pool = new ScriptedPool();
    const abort = new AbortController();
    const taking = new PoolAddressSource({ store, pool, logger: silentLogger }).take(key('a'), { netns: '/ns/a', waitMs: 5000, signal: abort.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    abort.abort(new Error('request timed out'));
    expect(await taking).toEqual({ kind: 'abandoned', reason: 'request timed out' });
    pool.completeRuns(() => store.replaceInventory([primaryInterface(['10.0.0.11'])]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.find(key('a'))).toBeUndefined();
    expect(store.allocations()).toEqual([]);
    expect(store.freeCount()).toBe(1);
  });

  it('answers exhausted with the limit when the pool cannot grow, without waiting', async () => {
    const store = await openStore();
    store.replaceInventory([primaryInterface([])]);
    const pool = new ScriptedPool();
    pool.status.exhausted = { limit: 'max-eni', message: 'MAX_ENI=1 interfaces are attached' };
    const answer = await new PoolAddressSource({ store, pool, logger: silentLogger }).take(key('a'), { netns: '/ns/a', waitMs: 5000 });
    expect(answer).toEqual({ kind: 'exhausted', limit: 'max-eni', message: 'MAX_ENI=1 interfaces are attached' });
    expect(pool.runs).toBe(0);
  });

  it('answers still-growing when the wait ends before an address is free, and not-ready before the first fill', async () => {
    const store = await openStore();
    store.replaceInventory([primaryInterface([])]);
    const pool = new ScriptedPool();
    const source = new PoolAddressSource({ store, pool, logger: silentLogger });
    expect(await source.take(key('a'), { netns: '/ns/a', waitMs: 30 })).toMatchObject({ kind: 'still-growing' });
    pool.status.ready = false;
    expect(source.ready).toBe(false);
    expect(await source.take(key('b'), { netns: '/ns/b', waitMs: 30 })).toEqual({ kind: 'not-ready' });
  });
});
