/**
 * Events: on the pod when its add fails (the reason, the limit, the
 * subnets), on the node when the cloud refuses ipamd's calls; repeats
 * aggregated into one Event whose count is patched, as kubelet does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeApi, loadKubeConfig } from '../../../ipamd/k8s/client.ts';
import { EventRecorder } from '../../../ipamd/k8s/events.ts';
import { silentLogger } from '../../../ipamd/common/logger.ts';
import { addPod, failure } from '../daemon-helpers.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { eventsFor, nodeName, nodeNetwork, useK8sWorld, waitFor } from './helpers.ts';

const start = useK8sWorld();

describe('events from ipamd', () => {
  it('puts one Event on a pod whose adds fail, naming the limit and the subnets, its count patched as the failures repeat', async () => {
    const w = await start({ targets: { maxEni: 1, warmEniTarget: 1 } });
    await waitFor(() => w.world.daemon.store.freeCount() === 9, 3000, 'primary interface full');
    for (let i = 0; i < 9; i++) await addPod(w.world, `fill-${i}`);
    await waitFor(() => w.world.daemon.pool.status.exhausted !== undefined, 3000, 'exhausted');
    const err = await failure(addPod(w.world, 'unlucky'));
    expect(err.code).toBe('exhausted');
    await waitFor(() => eventsFor(w.api, 'Pod', 'unlucky').length === 1, 3000, 'event on the pod');
    const [event] = eventsFor(w.api, 'Pod', 'unlucky');
    expect(event).toMatchObject({
      metadata: { namespace: 'default' },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'unlucky', uid: 'uid-unlucky' },
      type: 'Warning',
      reason: 'AddressesExhausted',
      count: 1,
      source: { component: 'vpc-cni-ipamd', host: nodeName },
    });
    const subnet = w.world.daemon.pool.status.subnets[0];
    expect(event?.message).toContain('limit: max-eni');
    expect(event?.message).toContain(`subnets: ${subnet?.subnetId} (${subnet?.freeAddresses} free)`);

    // kubelet retries the sandbox: the same Event counts them.
    for (let i = 0; i < 3; i++) await failure(addPod(w.world, 'unlucky'));
    await waitFor(() => eventsFor(w.api, 'Pod', 'unlucky')[0]?.count === 4, 3000, 'count 4');
    expect(eventsFor(w.api, 'Pod', 'unlucky')).toHaveLength(1);
    const writes = w.api.requests.filter((r) => r.resource === 'events');
    expect(writes.filter((r) => r.verb === 'create')).toHaveLength(1);
    expect(writes.filter((r) => r.verb === 'patch').length).toBeLessThanOrEqual(3);
    // Successful adds leave no Event.
    expect(eventsFor(w.api, 'Pod', 'fill-0')).toHaveLength(0);
  });

  it('puts an Event on the node when the cloud refuses a call for lack of permissions, and shows the error in the status', async () => {
    const w = await start({ targets: { warmIpTarget: 2, minimumIpTarget: 0, warmEniTarget: 0 } });
    w.world.emulator.faults.failNext('CreateNetworkInterface', 1000, { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403 });
    w.world.daemon.pool.configure({ ...w.world.daemon.pool.settings, targets: { ...w.world.daemon.pool.settings.targets, warmIpTarget: 15 } });
    await waitFor(() => eventsFor(w.api, 'Node', nodeName).some((e) => e.reason === 'CloudPermissionDenied' && (e.count ?? 0) >= 2), 5000, 'node event, repeated');
    const events = eventsFor(w.api, 'Node', nodeName).filter((e) => e.reason === 'CloudPermissionDenied');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Node', name: nodeName, uid: w.api.get('nodes', nodeName)?.metadata.uid } });
    expect(events[0]?.message).toContain('CreateNetworkInterface was refused (UnauthorizedOperation)');
    await waitFor(() => (nodeNetwork(w.api)?.status?.lastCloudError as { code?: string } | undefined)?.code === 'UnauthorizedOperation', 3000, 'lastCloudError');
    expect(nodeNetwork(w.api)?.status?.lastCloudError).toMatchObject({ message: expect.stringContaining('not authorized'), time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    w.world.emulator.faults.clear();
  });

  it('reports a permission error that stops ipamd at start-up on the node before exiting', async () => {
    const w = await start();
    await w.world.daemon.stop();
    w.world.emulator.faults.failNext('DescribeInstanceTypes', 10, { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403 });
    await expect(w.world.restart()).rejects.toThrow(/not authorized/);
    const events = eventsFor(w.api, 'Node', nodeName).filter((e) => e.reason === 'CloudPermissionDenied');
    expect(events).toHaveLength(1);
    expect(events[0]?.message).toContain('DescribeInstanceTypes');
    w.world.emulator.faults.clear();
    await w.world.restart();
  });
});

describe('EventRecorder', () => {
  let api: FakeApiServer | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts a new Event when the old one is gone (expired) or the window has passed, and loses nothing it can write', async () => {
    api = new FakeApiServer();
    await api.start();
    dir = await mkdtemp(join(tmpdir(), 'events-'));
    const client = createKubeApi(loadKubeConfig({ mode: 'kubeconfig', path: await api.writeKubeconfig(dir) }, 1000));
    let now = 1_000_000;
    const recorder = new EventRecorder({ api: client, logger: silentLogger, component: 'vpc-cni-ipamd', host: 'n1', patchIntervalMs: 0, windowMs: 60_000, now: () => now });
    const target = { apiVersion: 'v1', kind: 'Node', name: 'n1' };
    const events = () => api?.list('events') ?? [];
    recorder.record(target, 'Warning', 'R', 'first');
    await waitFor(() => events().length === 1, 2000, 'created');
    expect(events()[0]).toMatchObject({ metadata: { namespace: 'default' }, count: 1, message: 'first', firstTimestamp: new Date(now).toISOString() });
    now += 1000;
    recorder.record(target, 'Warning', 'R', 'second');
    await waitFor(() => events()[0]?.count === 2, 2000, 'patched');
    expect(events()[0]).toMatchObject({ message: 'second', lastTimestamp: new Date(now).toISOString() });
    // Events expire on the API server (a TTL): the next repeat starts a new one.
    const name = String(events()[0]?.metadata.name);
    api.remove('events', name, 'default');
    recorder.record(target, 'Warning', 'R', 'third');
    await waitFor(() => events().length === 1 && events()[0]?.count === 3, 2000, 'recreated with the running count');
    // After the window, a new Event with its own count.
    now += 120_000;
    recorder.record(target, 'Warning', 'R', 'later');
    await waitFor(() => events().length === 2, 2000, 'a second event');
    expect(events().find((e) => e.message === 'later')).toMatchObject({ count: 1 });
    // Another reason is another Event.
    recorder.record(target, 'Normal', 'Other', 'x');
    await waitFor(() => events().length === 3, 2000, 'third event');
    await recorder.close(1000);
  });
});
