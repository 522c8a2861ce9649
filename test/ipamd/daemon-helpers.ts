/**
 * Small helpers for the ipamd daemon tests: plugin calls on the socket and
 * reads of the cloud's truth (the emulator model) for the world's node.
 */
import { callIpamd } from '../../wire/client.ts';
import type { AddResult } from '../../wire/protocol.ts';
import type { AllocationKey } from '../../ipamd/common/types.ts';
import type { NetworkInterface } from '../../emulator/cloud/model/cloud.ts';
import { afterEach } from 'vitest';
import { startIpamdWorld, waitFor, type IpamdWorld } from './harness.ts';

export const key = (containerId: string, ifName = 'eth0', network = 'vpc-cni'): AllocationKey => ({ network, containerId, ifName });

export function addPod(world: IpamdWorld, containerId: string, options: { ifName?: string; network?: string; timeoutMs?: number } = {}): Promise<AddResult> {
  return callIpamd(
    world.socketPath,
    'add',
    { key: key(containerId, options.ifName, options.network), netns: `/var/run/netns/${containerId}`, pod: { namespace: 'default', name: containerId, uid: `uid-${containerId}` } },
    { timeoutMs: options.timeoutMs ?? 10_000 },
  );
}

export async function delPod(world: IpamdWorld, containerId: string, options: { ifName?: string; network?: string } = {}): Promise<void> {
  await callIpamd(world.socketPath, 'del', { key: key(containerId, options.ifName, options.network) }, { timeoutMs: 10_000 });
}

export function checkPod(world: IpamdWorld, containerId: string, options: { ifName?: string; network?: string } = {}) {
  return callIpamd(world.socketPath, 'check', { key: key(containerId, options.ifName, options.network) }, { timeoutMs: 10_000 });
}

/** The error a call failed with (fails the test when the call succeeds). */
export { callFailure as failure } from '../fakes/ipamd.ts';

export function instanceId(world: IpamdWorld): string {
  const id = world.topology.instances[0]?.id;
  if (!id) throw new Error('the world has no instance');
  return id;
}

/** The node's interfaces as the cloud has them (attaching ones included), by device index. */
export function cloudInterfaces(world: IpamdWorld): NetworkInterface[] {
  const id = instanceId(world);
  return world.emulator.model
    .listInterfaces()
    .filter((nic) => nic.attachment?.instanceId === id)
    .sort((a, b) => (a.attachment?.deviceIndex ?? 0) - (b.attachment?.deviceIndex ?? 0));
}

/** Secondary IPs per interface of the node in the cloud, by device index. */
export const cloudIpsPerInterface = (world: IpamdWorld): number[] => cloudInterfaces(world).map((nic) => nic.secondaryIps.length);

/** Secondary IPs per interface of the node as ipamd's store holds them, by device index. */
export const storeIpsPerInterface = (world: IpamdWorld): number[] =>
  world.daemon.store
    .interfaces()
    .sort((a, b) => a.deviceIndex - b.deviceIndex)
    .map((nic) => nic.ips.length);

/** Whether the cloud and the store agree on the node's interfaces and their addresses. */
export function storeMatchesCloud(world: IpamdWorld): boolean {
  const cloud = cloudInterfaces(world).map((nic) => `${nic.id}:${[...nic.secondaryIps].sort().join(',')}:${[...nic.prefixes].sort().join(',')}`);
  const store = world.daemon.store
    .interfaces()
    .sort((a, b) => a.deviceIndex - b.deviceIndex)
    .map((nic) => `${nic.interfaceId}:${[...nic.ips].sort().join(',')}:${[...nic.prefixes].sort().join(',')}`);
  return JSON.stringify(cloud) === JSON.stringify(store);
}

/** Cloud calls that change something, by action (successful attempts only). */
export async function mutations(world: IpamdWorld): Promise<Record<string, number>> {
  const counts = await world.metrics.cloudCallCounts();
  const out: Record<string, number> = {};
  for (const [label, value] of Object.entries(counts)) {
    const [action = '', outcome = ''] = label.split(':');
    if (/^(Describe|Get|List)/.test(action) || outcome !== 'success' || value === 0) continue;
    out[action] = (out[action] ?? 0) + value;
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One world per test, torn down after it: returns the function that boots it and waits until ipamd is ready. */
export function useIpamdWorld(): (options?: Parameters<typeof startIpamdWorld>[0]) => Promise<IpamdWorld> {
  let world: IpamdWorld | undefined;
  afterEach(async () => {
    await world?.teardown();
    world = undefined;
  });
  return async (options = {}) => {
    world = await startIpamdWorld(options);
    const w = world;
    await waitFor(() => w.daemon.pool.status.ready, 5000, 'ipamd ready');
    return w;
  };
}

/** Waits until the cloud shows these secondary IPs per interface and the store agrees. */
export async function converged(w: IpamdWorld, ipsPerInterface: number[], what: string, timeoutMs = 5000): Promise<void> {
  await waitFor(() => JSON.stringify(cloudIpsPerInterface(w)) === JSON.stringify(ipsPerInterface) && storeMatchesCloud(w), timeoutMs, `${what}: cloud ${JSON.stringify(ipsPerInterface)}`).catch((err: Error) => {
    throw new Error(`${err.message}; cloud has ${JSON.stringify(cloudIpsPerInterface(w))}, store ${JSON.stringify(storeIpsPerInterface(w))}; last plan: ${w.daemon.pool.status.lastPlan}`);
  });
}
