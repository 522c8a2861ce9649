import { afterEach, expect, it } from 'vitest';
import { callIpamd } from '../../ipamd/api/client.ts';
import { startIpamdWorld, waitFor, type IpamdWorld } from './harness.ts';

let world: IpamdWorld | undefined;
afterEach(async () => {
  await world?.teardown();
  world = undefined;
});

it('boots, warms and serves an add', async () => {
  world = await startIpamdWorld();
  const w = world;
  await waitFor(() => w.daemon.pool.status.ready && w.daemon.store.freeCount() > 0, 5000, 'warm pool');
  const result = await callIpamd(w.socketPath, 'add', { key: { network: 'vpc-cni', containerId: 'abc', ifName: 'eth0' }, netns: '/var/run/netns/x' }, { timeoutMs: 2000 });
  expect(result.ip).toMatch(/^10\.0\./);
  console.log(result, w.daemon.store.totalAddresses(), await w.metrics.cloudCallCounts());
});
