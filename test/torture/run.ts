/**
 * `npm run torture`: ipamd SIGKILLed at least a thousand times while eight
 * workers add and delete pods, with kills timed to land in every phase
 * (pool growth, shrink and interface deletion, datastore compaction, DELs
 * made while the daemon was down, start-up), the invariants checked after
 * every restart and at the end, and one figure line.
 *
 *   npm run torture -- [--kills 1000] [--faults on|off] [--seed N] [--workers 8] [--keep]
 *
 * Exits 1 when anything doubled, was lost or leaked, or a restart failed.
 * The seed fixes every decision of the run (phases, workers' choices, cloud
 * jitter and faults); the daemon's own timing still varies from run to run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { callIpamd } from '../../wire/client.ts';
import { bundleDaemonChild } from './bundle.ts';
import { GROWTH_ACTIONS, SHRINK_ACTIONS, TortureCloud } from './cloud.ts';
import type { ChildTuning } from './child-protocol.ts';
import { DaemonProcess } from './daemon-process.ts';
import { figureLine, passed, percentile, PHASES, type Phase } from './figures.ts';
import { checkAcknowledged, checkRestart, checkSettled, type DaemonBooks, type Violation } from './invariants.ts';
import { seededRandom } from './random.ts';
import { pendingRecords, Workload, type WorkMode } from './workload.ts';

/** A restart must serve an ADD within this (the bound the torture holds ipamd to). */
export const READY_BOUND_MS = 5000;
/**
 * Once all pods are gone, the books must balance within this: a release whose
 * call nobody saw answered is re-issued only after the consistency grace
 * (60 s, docs/ipamd.md), so the bound is that plus a margin.
 */
export const SETTLE_BOUND_MS = 75_000;
/** A restart not ready by then is given up on (and counted failed). */
const GIVE_UP_MS = 60_000;
const MAX_CONSECUTIVE_FAILED_RESTARTS = 5;

const { values: args } = parseArgs({
  options: {
    kills: { type: 'string', default: '1000' },
    faults: { type: 'string', default: 'on' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '8' },
    keep: { type: 'boolean', default: false },
  },
});
const kills = Number(args.kills);
const workers = Number(args.workers);
const seed = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed);
if (!Number.isInteger(kills) || kills < 1 || !Number.isInteger(workers) || workers < 1 || !Number.isInteger(seed) || !['on', 'off'].includes(args.faults)) {
  process.stderr.write('usage: npm run torture -- [--kills N] [--faults on|off] [--seed N] [--workers N] [--keep]\n');
  process.exit(2);
}
const faults = args.faults === 'on';

const tuning: ChildTuning = { shrinkIntervalMs: 300, minInterfaceAgeMs: 1000, checkIntervalMs: 50, compactEvery: 48 };

/** Each subject counted once per kind, with its first detail kept for the report. */
class Tally {
  readonly seen = new Map<string, Violation>();

  add(violations: Violation[], when: string): void {
    for (const violation of violations) {
      const id = `${violation.kind}:${violation.subject}`;
      if (this.seen.has(id)) continue;
      this.seen.set(id, violation);
      if (this.seen.size <= 40) process.stdout.write(`  ${violation.kind.toUpperCase()} (${when}): ${violation.detail}\n`);
    }
  }

  count(kind: Violation['kind']): number {
    return [...this.seen.values()].filter((violation) => violation.kind === kind).length;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function daemonBooks(daemon: DaemonProcess): Promise<DaemonBooks> {
  if (!daemon.introspectionUrl) throw new Error('the daemon announced no introspection endpoint');
  const response = await fetch(new URL('/v1/pool', daemon.introspectionUrl), { signal: AbortSignal.timeout(5000) });
  const view = (await response.json()) as DaemonBooks;
  return { interfaces: view.interfaces.map(({ interfaceId, ips }) => ({ interfaceId, ips })), allocations: view.allocations.map(({ containerId, ip }) => ({ containerId, ip })) };
}

async function main(): Promise<number> {
  const started = performance.now();
  const random = seededRandom(seed);
  const workDir = await mkdtemp(join(tmpdir(), 'ipamd-torture-'));
  const stateDir = join(workDir, 'state');
  const socketPath = join(stateDir, 'ipamd.sock');
  const pendingDir = join(stateDir, 'pending-del');
  const logPath = join(workDir, 'ipamd.log');
  process.stdout.write(`torture: ${kills} kills, faults ${args.faults}, seed ${seed}, ${workers} workers; work dir ${workDir}\n`);
  const bundle = await bundleDaemonChild(workDir);
  const cloud = new TortureCloud(seededRandom(seed ^ 0x5bd1e995), faults);
  await cloud.start();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'torture',
    AWS_SECRET_ACCESS_KEY: 'torture',
    CLOUD: 'aws',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_EC2: cloud.url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `${cloud.url}/_instance/${cloud.instanceId}`,
    STATE_DIR: stateDir,
    // Never the host's /etc/cni/net.d: the daemon writes its conflist there once ready.
    CNI_CONF_DIR: join(workDir, 'net.d'),
    CNI_BIN_DIR: join(workDir, 'bin'),
    CLUSTER_NAME: 'torture',
    POD_SUBNET_IDS: cloud.podSubnetId,
    WARM_IP_TARGET: '5',
    IP_COOLDOWN_PERIOD: '1',
    RECONCILE_INTERVAL_SECONDS: '5',
    CLOUD_API_RATE: '100',
    CLOUD_API_BURST: '100',
    LOG_LEVEL: 'info',
  };

  const tally = new Tally();
  const killsByPhase = Object.fromEntries(PHASES.map((phase) => [phase, 0])) as Record<Phase, number>;
  const restartMs: number[] = [];
  let failedRestarts = 0;
  let consecutiveFailures = 0;
  let restarts = 0;
  const workload = new Workload(socketPath, random, (containerId, ip) => {
    const found = checkAcknowledged(workload.ledger, containerId, ip, cloud.books());
    tally.add(found, 'at ack');
    return found.length === 0;
  });

  /** Starts the daemon and waits until `status` says an ADD can be served; undefined when the restart failed. */
  const restart = async (label: string): Promise<DaemonProcess | undefined> => {
    restarts++;
    const daemon = new DaemonProcess(bundle, env, tuning, logPath, label);
    try {
      await daemon.serving(GIVE_UP_MS);
      for (;;) {
        const status = await callStatus(socketPath);
        if (status) break;
        if (performance.now() - daemon.startedAt > GIVE_UP_MS) throw new Error(`status not ready within ${GIVE_UP_MS} ms`);
        await sleep(20);
      }
    } catch (err) {
      failedRestarts++;
      consecutiveFailures++;
      process.stdout.write(`  FAILED RESTART (${label}): ${(err as Error).message}\n`);
      await daemon.kill();
      return undefined;
    }
    const took = Math.round(performance.now() - daemon.startedAt);
    restartMs.push(took);
    if (took > READY_BOUND_MS) {
      failedRestarts++;
      process.stdout.write(`  SLOW RESTART (${label}): ready after ${took} ms (bound ${READY_BOUND_MS} ms)\n`);
    }
    consecutiveFailures = 0;
    return daemon;
  };

  const checkBooks = async (daemon: DaemonProcess, when: string): Promise<void> => {
    await workload.retryDeletes();
    const checks = await workload.checkAll();
    const found = checkRestart({ ledger: workload.ledger, checks, daemon: await daemonBooks(daemon), cloud: cloud.books() });
    tally.add(found, when);
    // A lost pod is reported once; the runtime then deletes it, so that the run goes on.
    for (const violation of found) {
      if (violation.kind === 'loss' && workload.ledger.delete(violation.subject)) workload.retryDel.add(violation.subject);
    }
  };

  const progressEvery = Math.max(1, Math.round(kills / 20));
  let kill = 0;
  while (kill < kills) {
    if (consecutiveFailures >= MAX_CONSECUTIVE_FAILED_RESTARTS) {
      process.stdout.write(`torture: ${consecutiveFailures} restarts in a row failed; giving up\n`);
      break;
    }
    const armed = choosePhase(random, workload.ledger.size);
    if (armed === 'pending-del') workload.deleteWhileDown(pendingDir, 1 + Math.floor(random() * Math.max(1, workload.ledger.size / 2)));
    let phase: Phase;
    let lastDaemonExit: number | null = null;
    if (armed === 'pending-del' || armed === 'startup') {
      // Killed while starting: restoring, rebuilding from the cloud, finishing the releases recorded while down.
      const daemon = new DaemonProcess(bundle, env, tuning, logPath, `kill ${kill + 1}: ${armed}`);
      const typical = restartMs.length > 0 ? percentile(restartMs, 50) : 500;
      await Promise.race([sleep(20 + random() * typical * 1.2), daemon.exited]);
      phase = pendingRecords(pendingDir) > 0 ? 'pending-del' : classify(daemon, cloud, 'startup');
      lastDaemonExit = daemon.exitCode ?? null;
      await daemon.kill();
    } else {
      const daemon = await restart(`kill ${kill + 1}: ${armed}`);
      if (!daemon) continue;
      await checkBooks(daemon, `after restart ${restarts}`);
      phase = await stormUntilKill(daemon, cloud, workload, armed, random);
      lastDaemonExit = daemon.exitCode ?? null;
    }
    if (lastDaemonExit !== null) {
      // Not our SIGKILL: the daemon ended by itself (its log says why).
      failedRestarts++;
      process.stdout.write(`  DAEMON EXITED by itself with code ${lastDaemonExit} (kill ${kill + 1})\n`);
    }
    killsByPhase[phase]++;
    kill++;
    if (kill % progressEvery === 0 || kill === kills) {
      process.stdout.write(
        `[${kill}/${kills}] ${Math.round((performance.now() - started) / 1000)} s: live ${workload.ledger.size}, adds ${workload.acknowledgedAdds}, ` +
          `doubles ${tally.count('double')}, losses ${tally.count('loss')}, failed restarts ${failedRestarts}, ` +
          `restart p50 ${percentile(restartMs, 50)} p95 ${percentile(restartMs, 95)} max ${percentile(restartMs, 100)} ms; ` +
          PHASES.map((p) => `${p} ${killsByPhase[p]}`).join(', ') +
          '\n',
      );
    }
  }

  // The end: one more restart, everything checked, every pod deleted, and the books must balance.
  const last = await restart('final');
  if (last) {
    await checkBooks(last, 'final restart');
    await workload.deleteAll();
    const settleStart = performance.now();
    let leaks: Violation[] = [];
    for (;;) {
      leaks = checkSettled({ daemon: await daemonBooks(last), cloud: cloud.books() });
      const quiet = !cloud.inFlightAny([...GROWTH_ACTIONS, ...SHRINK_ACTIONS]) && !cloud.attachmentInTransit() && workload.retryDel.size === 0;
      if ((leaks.length === 0 && quiet) || performance.now() - settleStart > SETTLE_BOUND_MS) break;
      if (workload.retryDel.size > 0) await workload.retryDeletes();
      await sleep(250);
    }
    tally.add(leaks, `settled ${Math.round((performance.now() - settleStart) / 1000)} s after the last pod went`);
    await last.stop();
  }
  await cloud.close();

  const refused = [...workload.refusedAdds].map(([code, count]) => `${code} ${count}`).join(', ');
  process.stdout.write(`refused adds by code: ${refused || 'none'}\n`);
  const figures = {
    kills: kill,
    killsByPhase,
    addsAcknowledged: workload.acknowledgedAdds,
    doubles: tally.count('double'),
    losses: tally.count('loss'),
    leaks: tally.count('leak'),
    failedRestarts,
    restartMs,
    faults,
    seed,
    elapsedMs: performance.now() - started,
  };
  const ok = passed(figures) && kill === kills;
  if (ok && !args.keep) await rm(workDir, { recursive: true, force: true });
  else process.stdout.write(`the daemon's log and state are kept in ${workDir}\n`);
  process.stdout.write(`${figureLine(figures)}\n`);
  return ok ? 0 : 1;
}

/** The phase a round aims its kill at (a pending-del round needs pods to delete). */
function choosePhase(random: () => number, live: number): Phase {
  const weights: Array<[Phase, number]> = [
    ['growth', 0.3],
    ['shrink', 0.25],
    ['compaction', 0.12],
    ['pending-del', 0.13],
    ['startup', 0.05],
    ['storm', 0.15],
  ];
  let draw = random();
  let phase: Phase = 'storm';
  for (const [candidate, weight] of weights) {
    if (draw < weight) {
      phase = candidate;
      break;
    }
    draw -= weight;
  }
  if (phase === 'pending-del' && live < 2) return 'growth';
  return phase;
}

/** Where a kill landed, from what was under way at that moment. */
function classify(daemon: DaemonProcess, cloud: TortureCloud, otherwise: Phase): Phase {
  if (daemon.compacting) return 'compaction';
  if (cloud.inFlightAny(GROWTH_ACTIONS)) return 'growth';
  if (cloud.inFlightAny(SHRINK_ACTIONS)) return 'shrink';
  return otherwise;
}

/**
 * Runs the workers in the mode that drives the armed phase and kills the
 * daemon the moment that phase shows (a mutating call arriving at or answered
 * by the cloud, a compaction starting), or after a while if it does not.
 */
async function stormUntilKill(daemon: DaemonProcess, cloud: TortureCloud, workload: Workload, armed: Phase, random: () => number): Promise<Phase> {
  const mode: WorkMode = armed === 'growth' ? 'add' : armed === 'shrink' ? 'del' : 'mixed';
  // Growth needs room and shrink needs pods: get there first, with no kill armed.
  const deadline = performance.now() + 3000;
  if (armed === 'growth' && workload.ledger.size >= 16) await workload.storm('del', workers, () => workload.ledger.size <= 6 || performance.now() > deadline);
  if (armed === 'shrink' && workload.ledger.size < 10) await workload.storm('add', workers, () => workload.ledger.size >= 16 || performance.now() > deadline);
  let killed: Phase | undefined;
  const killAs = (phase: Phase): void => {
    if (killed) return;
    killed = phase;
    daemon.killNow();
  };
  const stage = random() < 0.5 ? 'received' : 'answered';
  const actions: readonly string[] = armed === 'growth' ? GROWTH_ACTIONS : armed === 'shrink' ? SHRINK_ACTIONS : [];
  const offCall = cloud.onMutatingCall((event) => {
    if (event.stage === stage && actions.includes(event.action)) killAs(armed);
  });
  const offEvent = daemon.onEvent((event) => {
    if (armed === 'compaction' && event.event === 'compact-start') killAs('compaction');
  });
  const fallbackMs = armed === 'storm' ? 30 + random() * 400 : armed === 'compaction' ? 8000 : 5000;
  const timer = setTimeout(() => killAs(classify(daemon, cloud, 'storm')), fallbackMs);
  const storm = workload.storm(mode, workers, () => killed !== undefined);
  await daemon.exited;
  killed ??= classify(daemon, cloud, 'storm');
  clearTimeout(timer);
  offCall();
  offEvent();
  await storm;
  return killed;
}

/** True when ipamd answers `status` with ready; false while it warms up or cannot be reached. */
async function callStatus(socketPath: string): Promise<boolean> {
  try {
    return (await callIpamd(socketPath, 'status', {}, { timeoutMs: 2000 })).ready;
  } catch {
    return false;
  }
}

process.exitCode = await main();
