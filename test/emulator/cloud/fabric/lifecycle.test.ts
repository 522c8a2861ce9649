import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listNamespaces, pidsInNamespaces, sweepStaleBoxes } from '../../../../emulator/cloud/fabric/lifecycle.ts';
import { processStartTicks } from '../../../../emulator/cloud/fabric/names.ts';
import { buildWorld, requireHost, type World } from './helpers.ts';

const ofPrefix = (prefix: string): string[] => listNamespaces().filter((name) => name.startsWith(`${prefix}-`));

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts fixtures/owner.ts (a process owning a box) and reads what it built. */
async function startOwner(
  socketPath?: string,
  extra: string[] = [],
): Promise<{ pid: number; prefix: string; fabricPids: number[]; exited: Promise<unknown>; output: () => string }> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const script = new URL('./fixtures/owner.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', tsx, script, socketPath ?? '-', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let out = '';
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
    });
    child.on('exit', (code) => reject(new Error(`owner exited (${code}): ${err}`)));
  });
  return { pid: child.pid ?? -1, exited, output: () => out, ...(JSON.parse(line) as { prefix: string; fabricPids: number[] }) };
}

describe('VPC in a box: lifecycle', () => {
  let world: World | undefined;
  const fakes: string[] = [];

  beforeAll(requireHost);

  afterEach(async () => {
    await world?.box.destroy();
    world = undefined;
    for (const name of fakes.splice(0)) spawnSync('ip', ['netns', 'del', name]);
  });

  it('destroy() removes every namespace, is idempotent, and later hooks do nothing', async () => {
    world = await buildWorld();
    const { box, model } = world;
    const node = await world.launch();
    await world.launch(world.subnetB);
    const eni = model.createInterface({ subnetId: world.subnetA.id, securityGroupIds: [world.sg.id] });
    model.attachInterface(eni.id, node.id, 1);
    await model.settled();
    expect(ofPrefix(box.prefix)).toHaveLength(3);

    await box.destroy();
    expect(ofPrefix(box.prefix)).toEqual([]);
    await box.destroy();
    await world.launch();
    expect(ofPrefix(box.prefix)).toEqual([]);
  });

  it('sweepStaleBoxes removes boxes whose owner is dead, processes included, and spares live ones', async () => {
    world = await buildWorld();
    await world.launch();
    // pid 999999999 exceeds pid_max: that owner can never be alive.
    const dead = 'vpcb-dead00-999999999-0';
    fakes.push(`${dead}-fabric`, `${dead}-i-0123456789abcdef0`, 'vpcb-notabox');
    for (const name of fakes) expect(spawnSync('ip', ['netns', 'add', name]).status).toBe(0);
    const squatter = spawn('ip', ['netns', 'exec', `${dead}-fabric`, 'sleep', '30'], { stdio: 'ignore' });
    const squatterGone = new Promise((resolve) => squatter.on('exit', resolve));
    await until('the squatter to enter the namespace', () => pidsInNamespaces([`${dead}-fabric`]).length === 1);

    const swept = await sweepStaleBoxes();
    expect(swept.sort()).toEqual([`${dead}-fabric`, `${dead}-i-0123456789abcdef0`]);
    expect(ofPrefix(dead)).toEqual([]);
    await squatterGone;
    expect(listNamespaces()).toContain('vpcb-notabox'); // not our naming scheme: untouched
    expect(ofPrefix(world.box.prefix)).toHaveLength(2); // a live box is untouched
  });

  it('an owner killed by SIGTERM cleans up on its way out', async () => {
    const owner = await startOwner();
    expect(ofPrefix(owner.prefix)).toHaveLength(2);
    process.kill(owner.pid, 'SIGTERM');
    await owner.exited;
    expect(ofPrefix(owner.prefix)).toEqual([]);
  });

  it('an owner with its own SIGTERM handler tears down in its own order: the fabric does not pull the namespaces from under it', async () => {
    const owner = await startOwner(undefined, ['--own-handler']);
    expect(ofPrefix(owner.prefix)).toHaveLength(2);
    process.kill(owner.pid, 'SIGTERM');
    await owner.exited;
    expect(owner.output()).toContain('{"namespacesAtHandler":2}');
    expect(ofPrefix(owner.prefix)).toEqual([]);
  });

  it('an owner killed by SIGKILL takes its proxy along and leaves namespaces for the sweeper', async () => {
    const owner = await startOwner('/nonexistent/api.sock');
    const [proxyPid] = owner.fabricPids;
    expect(owner.fabricPids).toHaveLength(1);
    process.kill(owner.pid, 'SIGKILL');
    await owner.exited;
    await until('the proxy to exit', () => processStartTicks(proxyPid ?? -1) === null);
    expect(ofPrefix(owner.prefix)).toHaveLength(2);
    expect(await sweepStaleBoxes()).toEqual(expect.arrayContaining(ofPrefix(owner.prefix)));
    expect(ofPrefix(owner.prefix)).toEqual([]);
  });
});
