import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AddressStore, NoFreeAddressError, type InventoryInterface, type StoreOptions } from '../../../ipamd/datastore/store.ts';
import type { AllocationKey } from '../../../ipamd/common/types.ts';
import { inventoryInterface, useOpened, useTempDirs } from './helpers.ts';
import { fileSink, type JournalSink } from '../../../ipamd/datastore/journal.ts';

const key = (containerId: string, ifName = 'eth0', network = 'aws-cni'): AllocationKey => ({ network, containerId, ifName });

const nic = (deviceIndex: number, fields: Partial<InventoryInterface> = {}): InventoryInterface => inventoryInterface(deviceIndex, fields);

/** Every address held by more than one allocation. */
function duplicateIps(store: AddressStore): string[] {
  const seen = new Map<string, number>();
  for (const allocation of store.allocations()) seen.set(allocation.ip, (seen.get(allocation.ip) ?? 0) + 1);
  return [...seen].filter(([, count]) => count > 1).map(([ip]) => ip);
}

const byKeyString = (allocations: Array<{ key: AllocationKey }>) =>
  [...allocations].sort((a, b) => `${a.key.network}/${a.key.containerId}/${a.key.ifName}`.localeCompare(`${b.key.network}/${b.key.containerId}/${b.key.ifName}`));

describe('AddressStore', () => {
  const tempDir = useTempDirs();
  const opened = useOpened<AddressStore>();

  let clock = 1_000_000;
  const now = () => clock;

  async function openStore(dir: string, options: Partial<StoreOptions> = {}, inventory?: InventoryInterface[]) {
    const { store, skippedRecords } = await AddressStore.open({ dir, mode: 'ips', cooldownMs: 30_000, now, ...options });
    opened.push(store);
    if (inventory) store.replaceInventory(inventory);
    return { store, skippedRecords };
  }

  /** Two interfaces given out of order, their addresses out of numeric order. */
  const twoNics = (): InventoryInterface[] => [
    nic(1, { ips: ['10.0.1.20', '10.0.1.3'] }),
    nic(0, { ips: ['10.0.0.100', '10.0.0.9', '10.0.0.10'] }),
  ];

  it('allocates idempotently per key', async () => {
    clock = 1_000_000;
    const { store } = await openStore(await tempDir(), {}, twoNics());
    const first = await store.allocate(key('c1'), { netns: '/var/run/netns/a', pod: { namespace: 'default', name: 'web', uid: 'u-1' } });
    expect(first.existing).toBe(false);
    expect(first.allocation).toMatchObject({ ip: '10.0.0.9', allocatedAt: 1_000_000, netns: '/var/run/netns/a', pod: { namespace: 'default', name: 'web' } });
    clock += 5;
    const again = await store.allocate(key('c1'));
    expect(again.existing).toBe(true);
    expect(again.allocation).toEqual(first.allocation);
    expect(store.allocations()).toHaveLength(1);
    expect(store.find(key('c1'))?.ip).toBe('10.0.0.9');
    // Each of network, container and interface name is part of the key.
    const others = [key('c1', 'eth1'), key('c1', 'eth0', 'other-net'), key('c2')];
    const ips = new Set<string>(['10.0.0.9']);
    for (const other of others) {
      const result = await store.allocate(other);
      expect(result.existing).toBe(false);
      ips.add(result.allocation.ip);
    }
    expect(ips.size).toBe(4);
  });

  it('resolves a repeated allocate of a key in flight only once the allocation is durable', async () => {
    const dir = await tempDir();
    const { store } = await openStore(dir, {}, twoNics());
    const logOnResolve: Record<string, string> = {};
    const readLog = () => readFileSync(join(dir, 'journal.log'), 'utf8');
    const first = store.allocate(key('c1')).then((result) => {
      logOnResolve.first = readLog();
      return result;
    });
    const second = store.allocate(key('c1')).then((result) => {
      logOnResolve.second = readLog();
      return result;
    });
    const [a, b] = await Promise.all([first, second]);
    expect(a.existing).toBe(false);
    expect(b.existing).toBe(true);
    expect(b.allocation.ip).toBe(a.allocation.ip);
    expect(logOnResolve.first).toContain('"containerId":"c1"');
    expect(logOnResolve.second).toContain('"containerId":"c1"');
  });

  it('hands out the lowest device index first, then the lowest address, skipping taken ones', async () => {
    const { store } = await openStore(await tempDir(), {}, twoNics());
    const order: string[] = [];
    for (let i = 0; i < 5; i++) order.push((await store.allocate(key(`c${i}`))).allocation.ip);
    expect(order).toEqual(['10.0.0.9', '10.0.0.10', '10.0.0.100', '10.0.1.3', '10.0.1.20']);
    // A freed address on the lower interface is preferred again once it has cooled down.
    const { store: noCooldown } = await openStore(await tempDir(), { cooldownMs: 0 }, twoNics());
    for (let i = 0; i < 5; i++) await noCooldown.allocate(key(`c${i}`));
    await noCooldown.release(key('c1'));
    await noCooldown.release(key('c4'));
    expect((await noCooldown.allocate(key('d1'))).allocation.ip).toBe('10.0.0.10');
    expect((await noCooldown.allocate(key('d2'))).allocation.ip).toBe('10.0.1.20');
  });

  it('keeps released addresses cooling until the cooldown has passed', async () => {
    clock = 2_000_000;
    const { store } = await openStore(await tempDir(), { cooldownMs: 10_000 }, [nic(0, { ips: ['10.0.0.5', '10.0.0.6'] })]);
    const a = await store.allocate(key('a'));
    expect(a.allocation.ip).toBe('10.0.0.5');
    const released = await store.release(key('a'));
    expect(released).toEqual(a.allocation);
    expect(store.find(key('a'))).toBeUndefined();
    expect(store.isCooling('10.0.0.5')).toBe(true);
    expect(store.coolingCount()).toBe(1);
    expect(store.freeCount()).toBe(1);

    expect((await store.allocate(key('b'))).allocation.ip).toBe('10.0.0.6');
    clock += 9_999;
    await expect(store.allocate(key('c'))).rejects.toBeInstanceOf(NoFreeAddressError);
    clock += 1;
    expect(store.isCooling('10.0.0.5')).toBe(false);
    expect((await store.allocate(key('c'))).allocation.ip).toBe('10.0.0.5');
    expect(store.coolingCount()).toBe(0);
  });

  it('returns undefined when releasing a key that holds nothing', async () => {
    const { store } = await openStore(await tempDir(), {}, twoNics());
    expect(await store.release(key('nobody'))).toBeUndefined();
    await store.allocate(key('a'));
    expect(await store.release(key('a', 'eth1'))).toBeUndefined();
    expect(await store.release(key('a'))).toBeDefined();
    expect(await store.release(key('a'))).toBeUndefined();
    expect(store.coolingCount()).toBe(1);
  });

  it('throws NoFreeAddressError saying how many addresses there are and how many cool down', async () => {
    const empty = await openStore(await tempDir(), {}, []);
    const none = await empty.store.allocate(key('a')).catch((err: unknown) => err);
    expect(none).toBeInstanceOf(NoFreeAddressError);
    expect((none as NoFreeAddressError).message).toMatch(/no addresses/);

    const { store } = await openStore(await tempDir(), {}, [nic(0, { ips: ['10.0.0.5', '10.0.0.6', '10.0.0.7'] })]);
    for (const id of ['a', 'b', 'c']) await store.allocate(key(id));
    const full = (await store.allocate(key('d')).catch((err: unknown) => err)) as NoFreeAddressError;
    expect(full).toBeInstanceOf(NoFreeAddressError);
    expect(full).toMatchObject({ total: 3, cooling: 0 });
    expect(full.message).toContain('3');
    expect(full.message).not.toMatch(/cool/);

    await store.release(key('b'));
    await store.release(key('c'));
    const cooling = (await store.allocate(key('d')).catch((err: unknown) => err)) as NoFreeAddressError;
    expect(cooling).toMatchObject({ total: 3, cooling: 2 });
    expect(cooling.message).toMatch(/all 3 addresses/);
    expect(cooling.message).toMatch(/2 cooling/);
    expect(store.find(key('d'))).toBeUndefined();
  });

  it('hands out addresses from delegated prefixes in prefix mode', async () => {
    const { store } = await openStore(await tempDir(), { mode: 'prefixes' }, [
      nic(1, { prefixes: ['10.0.8.0/28'], ips: ['10.0.1.50'] }),
      nic(0, { prefixes: ['10.0.4.16/28', '10.0.4.0/28'], ips: ['10.0.0.50'] }),
    ]);
    expect(store.mode).toBe('prefixes');
    expect(store.totalAddresses()).toBe(48);
    const ips: string[] = [];
    for (let i = 0; i < 33; i++) ips.push((await store.allocate(key(`p${i}`))).allocation.ip);
    expect(ips.slice(0, 3)).toEqual(['10.0.4.0', '10.0.4.1', '10.0.4.2']);
    expect(ips[16]).toBe('10.0.4.16');
    expect(ips[32]).toBe('10.0.8.0');
    // Secondary IPs are not pod addresses in prefix mode.
    expect(ips).not.toContain('10.0.0.50');
    expect(store.interfaceOf('10.0.4.31')?.interfaceId).toBe('eni-0');
    expect(store.interfaceOf('10.0.8.15')?.interfaceId).toBe('eni-1');
    expect(store.interfaceOf('10.0.8.16')).toBeUndefined();
  });

  it('reports free, assigned and cooling addresses per interface (IP mode)', async () => {
    const { store } = await openStore(await tempDir(), {}, twoNics());
    await store.allocate(key('a')); // 10.0.0.9
    await store.allocate(key('b')); // 10.0.0.10
    await store.allocate(key('c')); // 10.0.0.100
    await store.allocate(key('d')); // 10.0.1.3
    await store.release(key('b'));
    const usage = store.usage();
    expect(usage).toEqual([
      {
        interfaceId: 'eni-0',
        deviceIndex: 0,
        isPrimary: true,
        subnetId: 'subnet-a',
        ips: [
          { ip: '10.0.0.100', state: 'assigned' },
          { ip: '10.0.0.9', state: 'assigned' },
          { ip: '10.0.0.10', state: 'cooling' },
        ],
        prefixes: [],
      },
      {
        interfaceId: 'eni-1',
        deviceIndex: 1,
        isPrimary: false,
        subnetId: 'subnet-a',
        ips: [
          { ip: '10.0.1.20', state: 'free' },
          { ip: '10.0.1.3', state: 'assigned' },
        ],
        prefixes: [],
      },
    ]);
    expect(store.freeCount()).toBe(1);
  });

  it('reports assigned and cooling counts per prefix (prefix mode)', async () => {
    const { store } = await openStore(await tempDir(), { mode: 'prefixes', cooldownMs: 1000 }, [
      nic(0, { prefixes: ['10.0.4.0/28', '10.0.4.16/28'] }),
      nic(1, { prefixes: ['10.0.8.0/30'] }),
    ]);
    for (let i = 0; i < 18; i++) await store.allocate(key(`p${i}`));
    await store.release(key('p0'));
    await store.release(key('p17'));
    expect(store.usage().map((entry) => ({ id: entry.interfaceId, ips: entry.ips, prefixes: entry.prefixes }))).toEqual([
      {
        id: 'eni-0',
        ips: [],
        prefixes: [
          { prefix: '10.0.4.0/28', size: 16, assigned: 15, cooling: 1 },
          { prefix: '10.0.4.16/28', size: 16, assigned: 1, cooling: 1 },
        ],
      },
      { id: 'eni-1', ips: [], prefixes: [{ prefix: '10.0.8.0/30', size: 4, assigned: 0, cooling: 0 }] },
    ]);
    clock += 1000;
    expect(store.usage()[0]?.prefixes.map((prefix) => prefix.cooling)).toEqual([0, 0]);
  });

  it('lists allocations whose address left the inventory as orphans', async () => {
    const { store } = await openStore(await tempDir(), {}, twoNics());
    for (const id of ['a', 'b', 'c', 'd']) await store.allocate(key(id));
    expect(store.orphans()).toEqual([]);
    // The cloud took 10.0.0.10 back and eni-1 went away.
    store.replaceInventory([nic(0, { ips: ['10.0.0.100', '10.0.0.9'] })]);
    expect(store.orphans().map((allocation) => [allocation.key.containerId, allocation.ip])).toEqual([
      ['b', '10.0.0.10'],
      ['d', '10.0.1.3'],
    ]);
    expect(store.allocations()).toHaveLength(4);
  });

  it('never hands one address to two of 500 concurrent allocations', async () => {
    const dir = await tempDir();
    const prefixes = Array.from({ length: 16 }, (_, i) => `10.0.${i}.0/28`);
    const inventory = [nic(0, { prefixes: prefixes.slice(0, 8) }), nic(1, { prefixes: prefixes.slice(8) })];
    const { store } = await openStore(dir, { mode: 'prefixes', compactEvery: 64 }, inventory);
    expect(store.totalAddresses()).toBe(256);
    const results = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => store.allocate(key(`k${i}`))));
    const ok = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.allocation] : []));
    const failed = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    expect(ok).toHaveLength(256);
    expect(failed).toHaveLength(244);
    for (const err of failed) expect(err).toBeInstanceOf(NoFreeAddressError);
    expect(new Set(ok.map((allocation) => allocation.ip)).size).toBe(256);
    expect(duplicateIps(store)).toEqual([]);

    // 500 of 512 concurrently, release half of them concurrently, then fill the pool concurrently.
    const { store: big } = await openStore(await tempDir(), { mode: 'prefixes', cooldownMs: 0, compactEvery: 50 }, [
      nic(0, { prefixes: Array.from({ length: 32 }, (_, i) => `10.1.${i}.0/28`) }),
    ]);
    const many = await Promise.all(Array.from({ length: 500 }, (_, i) => big.allocate(key(`m${i}`))));
    expect(new Set(many.map((result) => result.allocation.ip)).size).toBe(500);
    await Promise.all(Array.from({ length: 250 }, (_, i) => big.release(key(`m${i * 2}`))));
    const more = await Promise.all(Array.from({ length: 262 }, (_, i) => big.allocate(key(`n${i}`))));
    expect(more.every((result) => !result.existing)).toBe(true);
    expect(duplicateIps(big)).toEqual([]);
    expect(big.allocations()).toHaveLength(512);
    expect(big.freeCount()).toBe(0);
  });

  it('restores exactly the same allocations and cooling entries after reopening, across compactions', async () => {
    clock = 5_000_000;
    const dir = await tempDir();
    const inventory = [nic(0, { ips: Array.from({ length: 30 }, (_, i) => `10.0.0.${10 + i}`) }), nic(1, { ips: Array.from({ length: 30 }, (_, i) => `10.0.1.${10 + i}`) })];
    const errors: Error[] = [];
    const { store } = await openStore(dir, { compactEvery: 7, cooldownMs: 5_000, onBackgroundError: (err) => errors.push(err) }, inventory);
    let random = 12345;
    const rand = (n: number) => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random % n;
    };
    const live: AllocationKey[] = [];
    let records = 0;
    for (let i = 0; i < 300; i++) {
      clock += 100;
      if (live.length > 0 && (rand(3) === 0 || store.freeCount() === 0)) {
        const [held] = live.splice(rand(live.length), 1);
        expect(await store.release(held as AllocationKey)).toBeDefined();
        records++;
      } else {
        const next = key(`c${i}`, i % 2 === 0 ? 'eth0' : 'eth1');
        await store.allocate(next, { pod: { namespace: 'ns', name: next.containerId, uid: `u-${i}` } });
        live.push(next);
        records++;
      }
    }
    // Compactions did happen: the snapshot is at most `compactEvery` records behind and the log is short.
    await store.close();
    const snapshot = JSON.parse(await readFile(join(dir, 'snapshot.json'), 'utf8')) as { seq: number };
    expect(snapshot.seq).toBeGreaterThan(records - 7);
    const lines = (await readFile(join(dir, 'journal.log'), 'utf8')).split('\n').filter(Boolean);
    expect(lines.length).toBe(records - snapshot.seq);
    const allocations = byKeyString(store.allocations());
    const usage = store.usage();
    const coolingCount = store.coolingCount();
    expect(coolingCount).toBeGreaterThan(10);
    expect(errors).toEqual([]);

    const { store: reopened, skippedRecords } = await openStore(dir, { compactEvery: 7, cooldownMs: 5_000 }, inventory);
    expect(skippedRecords).toBe(0);
    expect(byKeyString(reopened.allocations())).toEqual(allocations);
    expect(reopened.usage()).toEqual(usage);
    expect(reopened.coolingCount()).toBe(coolingCount);
    // The cooling entries expire when they said they would.
    clock += 5_000;
    expect(reopened.coolingCount()).toBe(0);
  });

  it('rolls the in-memory reservation back when the journal append fails (closed store)', async () => {
    const { store } = await openStore(await tempDir(), {}, twoNics());
    await store.allocate(key('a'));
    const free = store.freeCount();
    await store.close();
    await expect(store.allocate(key('b'))).rejects.toThrow(/closed/);
    expect(store.find(key('b'))).toBeUndefined();
    expect(store.freeCount()).toBe(free);
    expect(store.allocations().map((allocation) => allocation.key.containerId)).toEqual(['a']);
  });

  it('rolls back on a failed datasync, and the address taken next is held by one key after recovery', async () => {
    const dir = await tempDir();
    let failNext = false;
    const sink: JournalSink = {
      append: (fd, text) => fileSink.append(fd, text),
      sync: async (fd) => {
        await fileSink.sync(fd);
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        }
      },
    };
    const { store } = await openStore(dir, { sink }, twoNics());
    await store.allocate(key('a'));
    failNext = true;
    await expect(store.allocate(key('b'))).rejects.toThrow(/EIO/);
    expect(store.find(key('b'))).toBeUndefined();
    // The address b was about to get is free again, and goes to c.
    const c = await store.allocate(key('c'));
    expect(c.allocation.ip).toBe('10.0.0.10');
    await store.close();

    // The record of b may or may not have reached the disk; either way no address has two holders.
    const { store: reopened } = await openStore(dir, {}, twoNics());
    expect(duplicateIps(reopened)).toEqual([]);
    expect(reopened.find(key('c'))?.ip).toBe('10.0.0.10');
    expect(reopened.find(key('a'))?.ip).toBe('10.0.0.9');
  });
});
