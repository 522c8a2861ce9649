/**
 * The shipped bundle (dist/ipamd.mjs, client-node inside it) reaches the
 * API server from a kubeconfig, with the same calls as the sources.
 * The node's metadata service is unreachable on purpose, so the daemon
 * stops before it could touch this host's network.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { FakeApiServer } from './fake-apiserver.ts';
import { nodeName, nodeObject, waitFor } from './helpers.ts';
import { ipamdNode } from '../../../emulator/cluster/cluster.ts';

const bundle = fileURLToPath(new URL('../../../dist/ipamd.mjs', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('the bundled daemon reaches the API server with the kubeconfig it is given', async () => {
  const api = new FakeApiServer();
  await api.start();
  cleanups.push(() => api.stop());
  api.put('nodes', nodeObject());
  const dir = await mkdtemp(join(tmpdir(), 'ipamd-bundle-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = await api.writeKubeconfig(dir);
  let stderr = '';
  // On the Node that ships (VPC_CNI_IPAMD_NODE in CI), as the torture and the e2e run ipamd.
  const child = spawn(ipamdNode(), [bundle, 'run'], {
    env: {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: kubeconfig,
      NODE_NAME: nodeName,
      STATE_DIR: join(dir, 'state'),
      CNI_CONF_DIR: join(dir, 'net.d'),
      AWS_REGION: 'us-east-1',
      // Refused: start-up fails at the metadata service, after the Kubernetes client started.
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9',
      METRICS_BIND_ADDRESS: '127.0.0.1:0',
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const seen = (): string[] => api.requests.map((r) => `${r.verb} ${r.apiGroup}/${r.resource}`);
  await waitFor(() => ['list /nodes', 'list vpc-cni.io/nodenetworkconfigs', 'list /pods'].every((call) => seen().includes(call)), 15_000, 'lists from the bundle');
  expect(api.requests.every((r) => r.authorization === 'Bearer fake-token')).toBe(true);
  expect(api.requests.find((r) => r.verb === 'list' && r.resource === 'pods')?.query.fieldSelector).toBe(`spec.nodeName=${nodeName}`);
  // Then the pool's start fails at the metadata service: one fatal log line, exit 1.
  expect(await exited).toBe(1);
  expect(stderr).toContain('"msg":"ipamd could not start"');
  expect(stderr).toContain('instance metadata');
  expect(stderr).not.toMatch(/Cannot find module|ERR_MODULE_NOT_FOUND|is not a function/);
}, 30_000);
