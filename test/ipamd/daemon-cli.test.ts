/**
 * The `vpc-cni-ipamd` command line: `run` refuses bad configuration before it
 * touches anything; `status` prints a running node's pool as a table.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { addPod, cloudInterfaces, storeMatchesCloud } from './daemon-helpers.ts';
import { startIpamdWorld, waitFor, type IpamdWorld } from './harness.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'ipamd', 'cli.ts');

/** Runs the CLI asynchronously (an in-process daemon must keep answering meanwhile). */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', cli, ...args],
      { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

let world: IpamdWorld | undefined;
let scratch: string | undefined;
afterEach(async () => {
  await world?.teardown();
  world = undefined;
  if (scratch) await rm(scratch, { recursive: true, force: true });
  scratch = undefined;
});

it('run with bad configuration exits 2, names every bad variable and value, and creates no state directory', async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ipamd-cli-'));
  const stateDir = join(scratch, 'state');
  const { code, stdout, stderr } = await runCli(['run'], {
    WARM_IP_TARGET: 'abc',
    MAX_ENI: '0',
    POD_MTU: '100',
    STATE_DIR: stateDir,
    // Nothing may be contacted: an endpoint that would fail loudly if it were.
    AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9',
  });
  expect(code, stderr).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toContain('invalid ipamd configuration (3 problems)');
  expect(stderr).toMatch(/WARM_IP_TARGET="abc" is invalid: expected a whole number/);
  expect(stderr).toMatch(/MAX_ENI="0" is invalid: expected a whole number >= 1/);
  expect(stderr).toMatch(/POD_MTU="100" is invalid: expected a whole number from 576 to 9001/);
  // The valid ones are not complained about.
  expect(stderr).not.toContain('STATE_DIR');
  expect(existsSync(stateDir)).toBe(false);
});

it('status prints the pool of a running node as a table', async () => {
  world = await startIpamdWorld({ daemon: { endpoints: { introspection: { host: '127.0.0.1', port: 0 } } } });
  const w = world;
  await waitFor(() => w.daemon.pool.status.ready, 5000, 'ready');
  const pod = await addPod(w, 'abcdef0123456789');
  await waitFor(() => cloudInterfaces(w).length === 2 && cloudInterfaces(w)[1]?.secondaryIps.length === 9 && storeMatchesCloud(w), 5000, 'second ENI');
  const url = w.daemon.introspectionUrl;
  if (!url) throw new Error('no introspection endpoint');

  const { code, stdout, stderr } = await runCli(['status', '--url', url], {});
  expect(code, stderr).toBe(0);
  const [primary, second] = cloudInterfaces(w);
  const lines = stdout.split('\n');
  expect(lines[0]).toMatch(new RegExp(`^Node ${w.topology.instances[0]?.id} \\(m5\\.large, us-east-1a, ${primary?.primaryIp}\\)\\s+READY$`));
  expect(stdout).toContain('mode ips, WARM_ENI_TARGET=1; limits 3 interfaces x 10 IPv4');
  expect(stdout).toMatch(/^INTERFACE\s+DEV\s+SUBNET\s+PRIMARY IP\s+ADDRESSES\s+FREE\s+ASSIGNED\s+COOLING$/m);
  expect(stdout).toMatch(new RegExp(`^${primary?.id} \\(primary\\)\\s+0\\s+10\\.0\\.0\\.0/24\\s+${primary?.primaryIp}\\s+9\\s+8\\s+1\\s+0$`, 'm'));
  expect(stdout).toMatch(new RegExp(`^${second?.id}\\s+1\\s+10\\.0\\.16\\.0/20\\s+${second?.primaryIp}\\s+9\\s+9\\s+0\\s+0$`, 'm'));
  expect(stdout).toContain('total 18 addresses on 2 interfaces: 1 assigned, 17 warm, 0 cooling down');
  expect(stdout).toContain('exhausted: no');
  expect(stdout).toMatch(new RegExp(`^default/abcdef0123456789\\s+abcdef012345\\s+eth0\\s+${pod.ip.replaceAll('.', '\\.')}\\s`, 'm'));

  // --json gives the same view as the endpoint.
  const json = await runCli(['status', '--url', url, '--json'], {});
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({ ready: true, totals: { addresses: 18, assigned: 1, warm: 17, cooldown: 0, interfaces: 2 } });
});

it('status against nothing listening fails with exit code 1 and says where it looked', async () => {
  const { code, stderr } = await runCli(['status', '--url', 'http://127.0.0.1:9'], {});
  expect(code).toBe(1);
  expect(stderr).toContain('cannot reach ipamd at http://127.0.0.1:9');
});
