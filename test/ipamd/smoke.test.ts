import { afterEach, expect, it } from 'vitest';
import { callIpamd } from '../../wire/client.ts';
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
  // Every request is counted and timed by operation and result.
  await expect(callIpamd(w.socketPath, 'check', { key: { network: 'vpc-cni', containerId: 'nothere', ifName: 'eth0' } }, { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'not-found' });
  const requests = await w.metrics.registry.getSingleMetricAsString('vpccni_requests_total');
  expect(requests).toContain('vpccni_requests_total{op="add",result="ok"} 1');
  expect(requests).toContain('vpccni_requests_total{op="check",result="not-found"} 1');
  expect(await w.metrics.registry.getSingleMetricAsString('vpccni_request_duration_seconds')).toContain('vpccni_request_duration_seconds_count{op="add"} 1');
});
