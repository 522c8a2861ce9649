import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callIpamd } from '../../wire/client.ts';
import { IpamError } from '../../wire/errors.ts';
import { Emulator } from '../../emulator/cloud/emulator.ts';
import { buildTopology, type Topology } from '../../emulator/cloud/topology.ts';

const fixture = fileURLToPath(new URL('./fixtures/daemon-child.ts', import.meta.url));
const killPoints = Number(process.env.CRASH_KILL_POINTS ?? 25);

let emulator: Emulator;
let topology: Topology;
let url: string;
let stateDir: string;

beforeAll(async () => {
  emulator = new Emulator();
  topology = await buildTopology(emulator.model, { nodes: 1 });
  url = (await emulator.listen()).url;
  stateDir = await mkdtemp(join(tmpdir(), 'ipamd-crash-'));
});

afterAll(async () => {
  await emulator.close();
  await rm(stateDir, { recursive: true, force: true });
});

async function startChild(socketPath: string): Promise<ChildProcess> {
  const instance = topology.instances[0]?.id ?? '';
  const spec = { ec2: url, imds: `${url}/_instance/${instance}`, stateDir, socketPath, podSubnetId: topology.podSubnets[0]?.id ?? '' };
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ipamd child did not get ready')), 20_000);
    child.once('exit', (code) => reject(new Error(`ipamd child exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return child;
}

it(`no address is ever held twice or lost across ${killPoints} SIGKILLs during a storm of adds and deletes`, async () => {
  const socketPath = join(stateDir, 'ipamd.sock');
  /** What ipamd acknowledged: container -> address it holds. */
  const live = new Map<string, string>();
  let acknowledgedAdds = 0;
  let acknowledgedDels = 0;
  /** Operations that were in flight at a crash: the runtime retries their DEL, and so do we. */
  const retryDel = new Set<string>();
  let sequence = 0;
  for (let point = 0; point <= killPoints; point++) {
    const child = await startChild(socketPath);
    for (const containerId of retryDel) await callIpamd(socketPath, 'del', { key: { network: 'net', containerId, ifName: 'eth0' } }, { timeoutMs: 5000 });
    retryDel.clear();
    // Everything acknowledged before the last crash is still there, with the same address.
    for (const [containerId, ip] of live) {
      const checked = await callIpamd(socketPath, 'check', { key: { network: 'net', containerId, ifName: 'eth0' } }, { timeoutMs: 5000 });
      expect(checked.address, `container ${containerId} after restart ${point}`).toBe(`${ip}/32`);
    }
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const existing = [...live.keys()];
        const remove = existing.length > 6 && Math.random() < 0.5;
        const containerId = remove ? existing[Math.floor(Math.random() * existing.length)]! : `c${++sequence}`;
        try {
          if (remove) {
            // Out of the ledger before the DEL leaves: from then on ipamd may hand the address out again.
            if (!live.delete(containerId)) continue;
            await callIpamd(socketPath, 'del', { key: { network: 'net', containerId, ifName: 'eth0' } }, { timeoutMs: 5000 });
            acknowledgedDels++;
          } else {
            const added = await callIpamd(socketPath, 'add', { key: { network: 'net', containerId, ifName: 'eth0' }, netns: `/var/run/netns/${containerId}` }, { timeoutMs: 5000 });
            const holder = [...live].find(([, ip]) => ip === added.ip);
            expect(holder, `address ${added.ip} handed to ${containerId} while ${holder?.[0]} holds it`).toBeUndefined();
            live.set(containerId, added.ip);
            acknowledgedAdds++;
          }
        } catch (err) {
          // In flight when the daemon died, or the pool momentarily empty: not acknowledged.
          if (!(err instanceof IpamError)) throw err;
          live.delete(containerId);
          retryDel.add(containerId);
        }
      }
    };
    if (point === killPoints) {
      // The last round is not killed: the books must balance exactly.
      const status = await callIpamd(socketPath, 'status', {}, { timeoutMs: 5000 });
      expect(status.assigned).toBe(live.size);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      break;
    }
    const workers = Array.from({ length: 4 }, () => worker());
    await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 250));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await exited;
  }
  console.log(`crash test: ${killPoints} kill points, ${acknowledgedAdds} adds and ${acknowledgedDels} deletes acknowledged, ${live.size} live at the end`);
  expect(acknowledgedAdds).toBeGreaterThan(killPoints);
}, 240_000);
