/**
 * The list+watch loop against the fake API server over real HTTP:
 * resourceVersion tracking, bookmarks, 410 Gone, backoff, an API server
 * that goes away or hangs; and why client-node's own ListWatch was not used.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeApi, loadKubeConfig } from '../../../ipamd/k8s/client.ts';
import { Reflector } from '../../../ipamd/k8s/reflector.ts';
import { podKey, projectPod, type PodInfo } from '../../../ipamd/k8s/resources.ts';
import { silentLogger } from '../../../ipamd/common/logger.ts';
import { waitFor } from '../harness.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { nodeName, podObject } from './helpers.ts';

let api: FakeApiServer | undefined;
let dir: string | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await api?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  api = undefined;
  dir = undefined;
});

async function setup(options: { idleMs?: number; bookmarkIntervalMs?: number } = {}): Promise<{ api: FakeApiServer; reflector: Reflector<PodInfo>; kubeconfig: string }> {
  api = new FakeApiServer({ bookmarkIntervalMs: options.bookmarkIntervalMs ?? 100 });
  await api.start();
  dir = await mkdtemp(join(tmpdir(), 'reflector-'));
  const kubeconfig = await api.writeKubeconfig(dir);
  const client = createKubeApi(loadKubeConfig({ mode: 'kubeconfig', path: kubeconfig }, 1000));
  const reflector = new Reflector<PodInfo>({
    source: client.pods(`spec.nodeName=${nodeName}`),
    project: projectPod,
    key: podKey,
    logger: silentLogger,
    timing: { backoffInitialMs: 20, backoffMaxMs: 100, watchTimeoutSeconds: 30, watchIdleTimeoutMs: options.idleMs ?? 5000 },
  });
  cleanups.push(() => reflector.stop());
  return { api, reflector, kubeconfig };
}

const names = (reflector: Reflector<PodInfo>): string[] => reflector.items().map((p) => p.name).sort();
const verbs = (server: FakeApiServer, resource = 'pods'): string[] => server.requests.filter((r) => r.resource === resource).map((r) => r.verb);

describe('Reflector', () => {
  it('lists with the selector, watches from the list, and follows adds, changes and deletes', async () => {
    const { api, reflector } = await setup();
    api.put('pods', podObject('a'));
    api.put('pods', podObject('elsewhere', { node: 'node-2' }));
    reflector.start();
    expect(await reflector.waitUntilFresh(2000)).toBe(true);
    expect(names(reflector)).toEqual(['a']);
    api.put('pods', podObject('b'));
    api.put('pods', podObject('c', { node: 'node-2' }));
    await waitFor(() => names(reflector).join() === 'a,b', 2000, 'b added');
    // A pod moving onto the node is an add for this watch; one leaving it, a delete.
    api.put('pods', podObject('c'));
    api.remove('pods', 'a', 'default');
    await waitFor(() => names(reflector).join() === 'b,c', 2000, 'a deleted, c moved in');
    const [list, watch] = api.requests;
    expect(list).toMatchObject({ verb: 'list', resource: 'pods', query: { fieldSelector: 'spec.nodeName=node-1', resourceVersion: '0' }, authorization: 'Bearer fake-token' });
    expect(watch).toMatchObject({ verb: 'watch', query: { fieldSelector: 'spec.nodeName=node-1', allowWatchBookmarks: 'true' } });
    expect(Number(watch?.query.resourceVersion)).toBeGreaterThan(0);
  });

  it('resumes from the resourceVersion of the last bookmark, without listing again', async () => {
    const { api, reflector } = await setup({ bookmarkIntervalMs: 50 });
    reflector.start();
    await reflector.waitUntilFresh(2000);
    // Nothing changed since the list: this is the resourceVersion the list returned.
    const listedAt = Number(api.resourceVersion);
    // Changes to other objects move the resourceVersion on; only bookmarks tell this watch about it.
    for (let i = 0; i < 5; i++) api.put('pods', podObject(`other-${i}`, { node: 'node-2' }));
    const latest = Number(api.resourceVersion);
    await new Promise((resolve) => setTimeout(resolve, 200));
    api.endWatches();
    await waitFor(() => verbs(api).filter((v) => v === 'watch').length >= 2, 2000, 'second watch');
    const second = api.requests.filter((r) => r.verb === 'watch')[1];
    expect(Number(second?.query.resourceVersion)).toBe(latest);
    expect(latest).toBeGreaterThan(listedAt);
    expect(verbs(api).filter((v) => v === 'list')).toHaveLength(1);
    expect(reflector.fresh).toBe(true);
  });

  it('lists again (a current list) after 410 Gone, dropping what went away meanwhile', async () => {
    const { api, reflector } = await setup();
    api.put('pods', podObject('a'));
    api.put('pods', podObject('b'));
    reflector.start();
    await reflector.waitUntilFresh(2000);
    await api.stop();
    await waitFor(() => !reflector.fresh, 2000, 'stale while down');
    api.remove('pods', 'a', 'default');
    api.compact();
    await api.start();
    await waitFor(() => reflector.stats.relistsAfterGone === 1 && reflector.fresh, 3000, 'relist after 410');
    expect(names(reflector)).toEqual(['b']);
    const lists = api.requests.filter((r) => r.verb === 'list');
    expect(lists.map((r) => r.query.resourceVersion)).toEqual(['0', '']);
    // A watch told by the server that its resourceVersion expired also lists again.
    api.put('pods', podObject('c'));
    await waitFor(() => names(reflector).join() === 'b,c', 2000, 'c');
    api.expireWatches();
    await waitFor(() => reflector.stats.relistsAfterGone === 2 && reflector.fresh, 3000, 'relist after an ERROR 410 event');
    expect(names(reflector)).toEqual(['b', 'c']);
  });

  it('backs off while the API server is down, then resumes from where it was and replays what it missed', async () => {
    const { api, reflector } = await setup();
    api.put('pods', podObject('a'));
    reflector.start();
    await reflector.waitUntilFresh(2000);
    await api.stop();
    await waitFor(() => !reflector.fresh, 2000, 'stale');
    api.put('pods', podObject('while-down'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Refused connections are not recorded by the server; the failures count shows the attempts, spaced by backoff.
    expect(reflector.stats.failures).toBeGreaterThanOrEqual(2);
    expect(reflector.stats.failures).toBeLessThan(15);
    await api.start();
    await waitFor(() => reflector.fresh && names(reflector).join() === 'a,while-down', 3000, 'caught up');
    // Resumed from its resourceVersion: no second list.
    expect(verbs(api).filter((v) => v === 'list')).toHaveLength(1);
  });

  it('retries a list that fails, with backoff', async () => {
    const { api, reflector } = await setup();
    api.failNext(3, 500, (r) => r.verb === 'list');
    reflector.start();
    expect(await reflector.waitUntilFresh(3000)).toBe(true);
    expect(verbs(api).filter((v) => v === 'list')).toHaveLength(4);
  });

  it('gives up on a watch that goes silent (a hung API server) and comes back when it answers again', async () => {
    const { api, reflector } = await setup({ idleMs: 300, bookmarkIntervalMs: 50 });
    reflector.start();
    await reflector.waitUntilFresh(2000);
    api.hang(true);
    api.put('pods', podObject('during-hang'));
    await waitFor(() => !reflector.fresh, 3000, 'stale once silent');
    api.hang(false);
    await waitFor(() => reflector.fresh && names(reflector).join() === 'during-hang', 3000, 'fresh again');
  });
});

describe("client-node's own informer (why ipamd has its own loop)", () => {
  it('stops for good after a failed watch: no retry, no bookmarks asked for', async () => {
    const { api, kubeconfig } = await setup();
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
    const errors: unknown[] = [];
    informer.on('error', (err) => errors.push(err));
    cleanups.push(() => informer.stop());
    await informer.start();
    await waitFor(() => api.openWatches === 1, 2000, 'informer watching');
    expect(api.requests.find((r) => r.verb === 'watch')?.query.allowWatchBookmarks).toBeUndefined();
    await api.stop();
    // Its watch sees the connection end and tries once more while the server is away: an error, after which it gives up.
    await waitFor(() => errors.length > 0, 2000, 'the informer reports an error');
    await api.start();
    api.put('pods', podObject('after-restart'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(api.openWatches).toBe(0);
    expect(informer.list().map((p) => p.metadata?.name)).not.toContain('after-restart');
  });
});
