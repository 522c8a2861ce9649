import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { EmulatedCluster, type ClusterNode } from '../../../emulator/cluster/cluster.ts';

/**
 * Stopping ipamd never waits for ever: not for a child whose exit was already
 * seen (killed by a signal, as the fabric's signal handler does to what runs in
 * its namespaces), nor for one that ignores SIGTERM.
 */

const cluster = new EmulatedCluster();
afterAll(() => cluster.emulator.close());

/** A stand-in for ipamd's process on a node. */
function nodeRunning(argv: string[]): { node: ClusterNode; child: ChildProcess } {
  const [file = '', ...args] = argv;
  const child = spawn(file, args, { stdio: 'ignore' });
  const node = { instanceId: 'i-test', ipamd: child } as unknown as ClusterNode;
  return { node, child };
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'still waiting'> =>
  Promise.race([promise, new Promise<'still waiting'>((resolve) => setTimeout(resolve, ms, 'still waiting'))]);

describe('stopping ipamd in the emulated cluster', () => {
  it('returns at once for an ipamd that already died by a signal', async () => {
    const { node, child } = nodeRunning(['sleep', '30']);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(await within(cluster.killIpamd(node).then(() => 'done'), 2_000)).toBe('done');
    expect(node.ipamd).toBeUndefined();
  });

  it('escalates to SIGKILL for an ipamd that ignores SIGTERM', { timeout: 20_000 }, async () => {
    // `trap '' TERM` is inherited across exec: sleep ignores SIGTERM.
    const { node, child } = nodeRunning(['sh', '-c', "trap '' TERM; exec sleep 30"]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await within(cluster.stopIpamd(node).then(() => 'done'), 10_000)).toBe('done');
    expect(child.signalCode).toBe('SIGKILL');
  });
});
