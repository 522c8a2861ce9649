/**
 * ipamd as its own process for the torture: the real daemon, configured by
 * the product's own loader from the environment (so its defaults are the
 * product's), with the real cloud adapter over HTTP to the emulator, and the
 * no-op data plane (no host networking). The runner bundles this file once
 * with esbuild and starts the bundle per restart.
 *
 * argv[2] is JSON (`ChildTuning`, child-protocol.ts): the pool timings no variable sets, and how
 * often the datastore compacts. Events go to the runner as JSON lines on
 * fd 3, written synchronously so that a kill timed on one lands right after it:
 * {"event":"ready"}, {"event":"compact-start"}, {"event":"compact-end"}.
 * The child exits when its stdin closes (the runner died).
 */
import { writeSync } from 'node:fs';
import { createProvider } from '../../ipamd/cloud/provider-factory.ts';
import { loadConfig } from '../../ipamd/config/index.ts';
import { startDaemon } from '../../ipamd/daemon.ts';
import { DurableLog } from '../../ipamd/datastore/journal.ts';
import { AddressStore } from '../../ipamd/datastore/store.ts';
import { createLogger } from '../../ipamd/common/logger.ts';
import { Metrics } from '../../ipamd/common/metrics.ts';
import { noHostNetwork, noPodNetwork } from '../fakes/networks.ts';
import { EVENT_FD, type ChildEvent, type ChildTuning } from './child-protocol.ts';

function announce(event: ChildEvent['event'], extra: Record<string, unknown> = {}): void {
  try {
    writeSync(EVENT_FD, `${JSON.stringify({ event, ...extra })}\n`);
  } catch {
    process.exit(0);
  }
}

const tuning = JSON.parse(process.argv[2] ?? '{}') as ChildTuning;

// startDaemon does not pass `compactEvery` through to the datastore: set it on the one public entry, so that
// compactions happen every few dozen records and kills can land in them.
const openStore = AddressStore.open.bind(AddressStore);
AddressStore.open = (options) => openStore({ compactEvery: tuning.compactEvery, ...options });
const compact = DurableLog.prototype.compact;
DurableLog.prototype.compact = function (this: DurableLog<unknown, unknown>, snapshot: unknown): Promise<void> {
  announce('compact-start');
  const done = compact.call(this, snapshot);
  const end = (): void => announce('compact-end');
  done.then(end, end);
  return done;
};

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

const config = loadConfig(process.env);
const metrics = new Metrics(false);
const daemon = await startDaemon({
  provider: await createProvider(config.cloud, metrics),
  host: noHostNetwork,
  podNetwork: noPodNetwork,
  logger: createLogger(config.logging.level),
  metrics,
  stateDir: config.stateDir,
  pool: {
    ...config.pool,
    checkIntervalMs: tuning.checkIntervalMs,
    shrinkIntervalMs: tuning.shrinkIntervalMs,
    minInterfaceAgeMs: tuning.minInterfaceAgeMs,
  },
  api: config.api,
  dataPlane: config.dataPlane,
  endpoints: { introspection: { host: '127.0.0.1', port: 0 } },
});
announce('ready', { introspectionUrl: daemon.introspectionUrl, pid: process.pid });
