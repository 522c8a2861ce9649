/**
 * The main job: a two-node cluster on the emulated VPC. ipamd warms each
 * node's pool, pods are added through the real plugin, they reach each other
 * across nodes without any overlay, and when they go their addresses come
 * back to the pool.
 */
import { join } from 'node:path';
import type { CloudName } from '../../providers/contract.ts';
import { EmulatedCluster, distDir, inNetns, type ClusterNode, type Pod } from './cluster.ts';
import { stopAdmittingPing } from './demo-security.ts';

export interface DemoOptions {
  cloud: CloudName;
  nodes: number;
  podsPerNode: number;
  /** Default: the cloud's demo instance type. */
  instanceType?: string;
  /** Keep the cluster up for exploring until Ctrl-C. */
  keep: boolean;
  cooldownSeconds: number;
}

const say = (line = ''): void => void process.stdout.write(`${line}\n`);

/** Teardown stops every ipamd within a few seconds (cluster.ts); past this, something else hangs. */
const teardownDeadlineMs = 60_000;

async function status(node: ClusterNode): Promise<string> {
  const out = await inNetns(node.namespace, [process.execPath, join(distDir, 'ipamd.mjs'), 'status']);
  return out.code === 0 ? out.stdout : `status failed: ${out.stderr}`;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

async function matrix(cluster: EmulatedCluster, pods: Pod[]): Promise<{ rows: string[]; failures: number; reach: Map<string, boolean> }> {
  const reach = new Map<string, boolean>();
  const pairs = pods.flatMap((from) => pods.filter((to) => to !== from).map((to) => [from, to] as const));
  const queue = [...pairs];
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      for (let pair = queue.shift(); pair; pair = queue.shift()) reach.set(`${pair[0].name}>${pair[1].name}`, await cluster.ping(pair[0], pair[1].ip));
    }),
  );
  const width = Math.max(...pods.map((pod) => pod.name.length));
  const header = `${''.padEnd(width)}  ${pods.map((_, i) => String(i + 1).padStart(2)).join(' ')}`;
  const rows = pods.map((from, i) => `${from.name.padEnd(width)}  ${pods.map((to) => (to === from ? ' ·' : reach.get(`${from.name}>${to.name}`) ? ' ✓' : ' ✗')).join(' ')}   ${String(i + 1).padStart(2)} ${from.ip}`);
  return { rows: [header, ...rows], failures: [...reach.values()].filter((ok) => !ok).length, reach };
}

/**
 * The cluster's group stops admitting ICMP: pairs across nodes stop answering
 * (their packets cross the fabric's firewall), pairs on one node do not (they
 * never leave it). Then the rule is put back and every pair answers again.
 */
async function showSecurityGroups(cluster: EmulatedCluster, allPods: Pod[]): Promise<boolean> {
  // Three pods per node are enough to show it, and keep the demo short.
  const pods = cluster.nodes.flatMap((node) => allPods.filter((pod) => pod.node === node).slice(0, 3));
  const change = stopAdmittingPing(cluster.emulator.model, cluster.topology.securityGroup.id);
  await cluster.box.idle();
  say(`\nSecurity groups are enforced in the fabric: ${change.description}.`);
  const { rows, reach } = await matrix(cluster, pods);
  for (const row of rows) say(`  ${row}`);
  const across = (key: string): boolean => {
    const [from, to] = key.split('>');
    return pods.find((pod) => pod.name === from)?.node !== pods.find((pod) => pod.name === to)?.node;
  };
  const stopped = [...reach].filter(([, ok]) => !ok).map(([key]) => key);
  const expected = stopped.length === [...reach.keys()].filter(across).length && stopped.every(across);
  say(`  the ${stopped.length} pairs across nodes stop answering; the ${reach.size - stopped.length} on one node do not (their packets never leave the node)`);
  change.restore();
  await cluster.box.idle();
  const restored = await matrix(cluster, pods);
  say(restored.failures === 0 ? '  rule restored: every pair answers again' : `  rule restored, but ${restored.failures} pairs still FAIL`);
  return expected && restored.failures === 0;
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const cluster = new EmulatedCluster({
    cloud: options.cloud,
    nodes: options.nodes,
    ...(options.instanceType ? { instanceType: options.instanceType } : {}),
    env: { IP_COOLDOWN_PERIOD: String(options.cooldownSeconds) },
  });
  // One teardown, whatever asks for it first (the end of the run, a failure, a signal); later asks wait for it.
  let stopping: Promise<never> | undefined;
  const stop = (code: number): Promise<never> =>
    (stopping ??= (async (): Promise<never> => {
      say('\nTearing down: ipamd, pods, nodes, fabric.');
      // Never hang on the way out: past the deadline exit anyway (the fabric's exit hook still deletes its namespaces).
      setTimeout(() => {
        process.stderr.write(`teardown did not finish within ${teardownDeadlineMs / 1000} s; exiting anyway\n`);
        process.exit(code);
      }, teardownDeadlineMs);
      await cluster.teardown().catch((err: Error) => process.stderr.write(`teardown: ${err.message}\n`));
      process.exit(code);
    })());
  // One handler for both signals. It stays installed while tearing down, so
  // a second signal neither starts another teardown nor kills us half-way
  // (the fabric's handler re-raises a signal nobody else listens to).
  const onSignal = (signal: NodeJS.Signals): void => void stop(signal === 'SIGINT' ? 130 : 143);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say(`Building the VPC in a box on the ${options.cloud} face: ${options.nodes} x ${cluster.instanceType}, ipamd in each node's namespace...`);
    const started = performance.now();
    await cluster.start();
    say(`Warm pools ready in ${((performance.now() - started) / 1000).toFixed(1)} s (conflists written).\n`);
    for (const node of cluster.nodes) say(`  ${node.instanceId} in ${node.namespace}\n${indent(await status(node))}\n`);

    say(`Adding ${options.podsPerNode} pods per node through the vpc-cni plugin (as containerd would)...`);
    const pods: Pod[] = [];
    for (const node of cluster.nodes) {
      for (let i = 0; i < options.podsPerNode; i++) {
        const pod = await cluster.createPod(node, `n${node.index + 1}-pod${i + 1}`);
        const owner = cluster.emulator.model.listInterfaces().find((nic) => nic.secondaryIps.includes(pod.ip));
        say(`  ${pod.name.padEnd(10)} ${pod.ip.padEnd(12)} on ${owner ? `${owner.id} (device ${owner.attachment?.deviceIndex ?? '?'})` : 'unknown interface'}`);
        pods.push(pod);
      }
    }

    say('\nConnectivity (ping, every pod to every other pod, across nodes, no overlay):');
    const { rows, failures } = await matrix(cluster, pods);
    for (const row of rows) say(`  ${row}`);
    say(failures === 0 ? `  all ${pods.length * (pods.length - 1)} pairs reach each other` : `  ${failures} pairs FAILED`);

    const firewallOk = await showSecurityGroups(cluster, pods);

    for (const node of cluster.nodes) say(`\nPool of ${node.instanceId} with its pods:\n${indent(await status(node))}`);

    if (options.keep) {
      say('\nThe cluster stays up. Explore, e.g.:');
      const node = cluster.nodes[0];
      if (node) {
        say(`  ip netns exec ${node.namespace} node dist/ipamd.mjs status`);
        say(`  ip netns exec ${pods[0]?.netns ?? ''} ip addr`);
        say(`  curl -s ${'http://127.0.0.1'}:<port>/_emulator/state   (the emulator's own view)`);
      }
      say('Press Ctrl-C to delete the pods and tear everything down.');
      await new Promise<never>(() => undefined);
    }

    say('\nDeleting the pods...');
    for (const pod of pods) await cluster.deletePod(pod);
    const node = cluster.nodes[0];
    if (node) {
      say(`Right after the deletes, the addresses cool down (IP_COOLDOWN_PERIOD=${options.cooldownSeconds}):\n${indent(await status(node))}`);
      await new Promise((resolve) => setTimeout(resolve, options.cooldownSeconds * 1000 + 500));
      say(`\n...and ${options.cooldownSeconds} s later they are warm again:\n${indent(await status(node))}`);
    }
    await stop(failures === 0 && firewallOk ? 0 : 1);
  } catch (err) {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    for (const node of cluster.nodes) if (node.ipamdLog.length > 0) process.stderr.write(`ipamd log of ${node.instanceId}:\n${node.ipamdLog.join('')}\n`);
    await stop(1);
  }
  return 0;
}
