/**
 * The paths the DaemonSet's probes and the PodMonitor use are served by a
 * real ipamd (on the emulated VPC, control plane only): a typo in a probe
 * would restart ipamd for ever, one in the PodMonitor would scrape nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { startIpamdWorld, waitFor, type IpamdWorld } from '../ipamd/harness.ts';
import { render, type RenderedObject } from './render.ts';

let world: IpamdWorld | undefined;
let probes: Array<{ name: string; path: string }>;
let metricsPaths: string[];

beforeAll(async () => {
  const objects = render('aws');
  const daemonSet = objects.find((o) => o.kind === 'DaemonSet') as (RenderedObject & IDaemonSet) | undefined;
  const ipamd = daemonSet?.spec?.template.spec?.containers.find((c) => c.name === 'ipamd');
  probes = (['startupProbe', 'livenessProbe', 'readinessProbe'] as const).map((name) => ({ name, path: ipamd?.[name]?.httpGet?.path ?? '(none)' }));
  const monitor = objects.find((o) => o.kind === 'PodMonitor') as (RenderedObject & { spec?: { podMetricsEndpoints?: Array<{ path?: string }> } }) | undefined;
  metricsPaths = (monitor?.spec?.podMetricsEndpoints ?? []).map((e) => e.path ?? '/metrics');
  world = await startIpamdWorld({ daemon: { endpoints: { introspection: { host: '127.0.0.1', port: 0 }, metrics: { host: '127.0.0.1', port: 0 } } } });
});

afterAll(async () => {
  await world?.teardown();
});

function urls(): { introspection: string; metrics: string } {
  const introspection = world?.daemon.introspectionUrl;
  const metrics = world?.daemon.metricsUrl;
  if (!introspection || !metrics) throw new Error('ipamd serves no introspection or metrics endpoint');
  return { introspection, metrics };
}

it('answers 200 on every probe path once warm', async () => {
  const { introspection } = urls();
  expect(probes.length).toBe(3);
  await waitFor(async () => (await fetch(`${introspection}/readyz`)).status === 200, 10_000, 'ipamd ready');
  for (const probe of probes) {
    const response = await fetch(`${introspection}${probe.path}`);
    expect(response.status, `${probe.name} ${probe.path}`).toBe(200);
  }
});

it('serves its metrics on the PodMonitor path', async () => {
  const { metrics } = urls();
  expect(metricsPaths.length).toBeGreaterThan(0);
  for (const path of metricsPaths) {
    const response = await fetch(`${metrics}${path}`);
    expect(response.status, path).toBe(200);
    expect(await response.text()).toMatch(/^vpccni_addresses\{state="total"\} \d+$/m);
  }
});

it('answers 404 on a path it does not serve (so the checks above can fail)', async () => {
  const { introspection, metrics } = urls();
  expect((await fetch(`${introspection}/health`)).status).toBe(404);
  expect((await fetch(`${metrics}/metric`)).status).toBe(404);
});
