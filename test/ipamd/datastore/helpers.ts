import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, vi } from 'vitest';
import type { InventoryInterface } from '../../../ipamd/datastore/store.ts';

/** Temporary directories made by the current test file, removed after each test. */
export function useTempDirs(): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-datastore-'));
    made.push(dir);
    return dir;
  };
}

export const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Things a test opened (stores, logs), closed after each test, with spies restored first. */
export function useOpened<T extends { close(): Promise<void> }>(): T[] {
  const opened: T[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(opened.splice(0).map((item) => item.close()));
  });
  return opened;
}

/** One interface of a store's inventory: device 0 is the primary; addresses from `fields`. */
export function inventoryInterface(deviceIndex: number, fields: Partial<InventoryInterface> = {}, net = { subnetId: 'subnet-a', cidr: '10.0.0.0/16', macByte: '00' }): InventoryInterface {
  const secondOctets = net.cidr.split('.').slice(0, 2).join('.');
  return {
    interfaceId: `eni-${deviceIndex}`,
    mac: `02:00:00:00:${net.macByte}:0${deviceIndex}`,
    deviceIndex,
    subnetId: net.subnetId,
    subnetCidr: net.cidr,
    primaryIp: `${secondOctets}.${deviceIndex}.1`,
    isPrimary: deviceIndex === 0,
    ips: [],
    prefixes: [],
    ...fields,
  };
}
