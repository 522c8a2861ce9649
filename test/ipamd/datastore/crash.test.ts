import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AddressStore } from '../../../ipamd/datastore/store.ts';
import { crashInventory, crashStoreOptions } from './fixtures/crash-setup.ts';
import { useTempDirs } from './helpers.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));

type State =
  | { s: 'held'; ip: string }
  | { s: 'allocating' }
  | { s: 'failed' }
  | { s: 'releasing'; ip: string }
  | { s: 'released' };

interface Round {
  lines: string[];
  delayMs: number;
  inFlightAtKill: number;
}

/** Runs the child on DIR, SIGKILLs it `delayMs` after it is ready, and returns what it printed. */
function runAndKill(dir: string, delayMs: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    let inFlightAtKill = 0;
    const pendingAtKill = (): number => {
      const open = new Set<string>();
      for (const line of out.split('\n')) {
        const [tag, id] = line.split(' ');
        if (tag === 'a?' || tag === 'r?') open.add(id as string);
        else if (tag === 'a' || tag === 'x' || tag === 'r') open.delete(id as string);
      }
      return open.size;
    };
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      const wasReady = out.includes('ready ');
      out += chunk;
      if (!wasReady && out.includes('ready ')) {
        setTimeout(() => {
          inFlightAtKill = pendingAtKill();
          killed = proc.kill('SIGKILL');
        }, delayMs);
      }
    });
    proc.stderr.on('data', (chunk: string) => {
      err += chunk;
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      if (!killed || signal !== 'SIGKILL') {
        reject(new Error(`child ended on its own (code ${code}, signal ${signal}): ${err}`));
        return;
      }
      // A line the parent read is complete: each is one small write to a pipe.
      const lines = out.split('\n');
      if (lines[lines.length - 1] !== '') {
        reject(new Error(`partial line from the child: ${JSON.stringify(lines[lines.length - 1])}`));
        return;
      }
      resolve({ lines: lines.slice(0, -1), delayMs, inFlightAtKill });
    });
  });
}

interface ChainStats {
  rounds: number;
  acknowledged: number;
  inFlightKills: number;
  skippedRecords: number;
  maxHeld: number;
}

/**
 * Kills a child on DIR again and again (at least `minRounds` times, then until
 * `deadline`), checking after each kill what recovery finds against what the
 * child acknowledged. Each child continues from the state the previous left.
 */
async function crashChain(dir: string, minRounds: number, maxRounds: number, deadline: number, stopped: () => boolean): Promise<ChainStats> {
  /** What the parent knows of each key, from the child's output; carried across rounds. */
  let model = new Map<string, State>();
  const stats: ChainStats = { rounds: 0, acknowledged: 0, inFlightKills: 0, skippedRecords: 0, maxHeld: 0 };

  while (!stopped() && stats.rounds < maxRounds && (stats.rounds < minRounds || Date.now() < deadline)) {
    // Kill points from right after opening (recovery, first compaction) to well into the loop.
    const delayMs = Math.floor(Math.random() * (stats.rounds % 4 === 0 ? 10 : 150));
    const round = await runAndKill(dir, delayMs);
    stats.rounds++;
    if (round.inFlightAtKill > 0) stats.inFlightKills++;
    const context = `${dir} round ${stats.rounds}, killed ${delayMs} ms after ready`;

    const ready = round.lines[0];
    expect(ready, `${context}: the child starts from the recovered state`).toBe(`ready ${model.size}`);
    for (const line of round.lines.slice(1)) {
      const [tag, id, ip] = line.split(' ') as [string, string, string | undefined];
      if (tag === 'error') throw new Error(`child reported: ${line}`);
      const before = model.get(id);
      if (tag === 'a?') {
        expect(before, `key ${id} reused`).toBeUndefined();
        model.set(id, { s: 'allocating' });
      } else if (tag === 'a') {
        expect(before?.s).toBe('allocating');
        model.set(id, { s: 'held', ip: ip as string });
        stats.acknowledged++;
      } else if (tag === 'x') {
        expect(before?.s).toBe('allocating');
        model.set(id, { s: 'failed' });
      } else if (tag === 'r?') {
        expect(before?.s, `release of ${id}`).toBe('held');
        model.set(id, { s: 'releasing', ip: (before as { ip: string }).ip });
      } else if (tag === 'r') {
        expect(before?.s).toBe('releasing');
        expect(ip, `release of ${id} returned its address`).toBe((before as { ip: string }).ip);
        model.set(id, { s: 'released' });
        stats.acknowledged++;
      } else {
        throw new Error(`unexpected line from the child: ${line}`);
      }
    }

    const { store, skippedRecords } = await AddressStore.open(crashStoreOptions(dir));
    stats.skippedRecords += skippedRecords;
    try {
      store.replaceInventory(crashInventory());
      const recovered = new Map(store.allocations().map((allocation) => [allocation.key.containerId, allocation.ip]));

      // No address is held by two keys.
      const ips = [...recovered.values()];
      expect(new Set(ips).size, `${context}: duplicate addresses ${ips.sort().join(',')}`).toBe(ips.length);
      // Nothing appears that the child never asked for.
      for (const id of recovered.keys()) expect(model.has(id), `${context}: unknown key ${id}`).toBe(true);

      for (const [id, state] of model) {
        const ip = recovered.get(id);
        const where = `${context}: key ${id} (${state.s})`;
        switch (state.s) {
          case 'held':
            expect(ip, where).toBe(state.ip);
            break;
          case 'releasing':
            // Either the free record made it or it did not; the address cannot change.
            if (ip !== undefined) expect(ip, where).toBe(state.ip);
            break;
          case 'released':
          case 'failed':
            expect(ip, where).toBeUndefined();
            break;
          case 'allocating':
            break;
        }
      }
      stats.maxHeld = Math.max(stats.maxHeld, recovered.size);
      // What recovery says becomes the truth the next child starts from.
      model = new Map([...recovered].map(([id, ip]) => [id, { s: 'held', ip }] as const));
    } finally {
      await store.close();
    }
  }
  return stats;
}

describe('AddressStore survives SIGKILL at random moments', () => {
  const tempDir = useTempDirs();

  it('keeps every acknowledged allocation and never gives an address to two keys', { timeout: 60_000 }, async () => {
    const base = await tempDir();
    const started = Date.now();
    // Two independent state directories, killed in parallel: more kill points in the same time.
    let failed = false;
    const settled = await Promise.allSettled(
      [0, 1].map((i) =>
        crashChain(join(base, `state-${i}`), 10, 25, started + 10_000, () => failed).catch((err: unknown) => {
          // Stop the other chain too, so that nothing writes into the directory once it is removed.
          failed = true;
          throw err;
        }),
      ),
    );
    const chains = settled.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });
    const total = chains.reduce(
      (sum, stats) => ({
        rounds: sum.rounds + stats.rounds,
        acknowledged: sum.acknowledged + stats.acknowledged,
        inFlightKills: sum.inFlightKills + stats.inFlightKills,
        skippedRecords: sum.skippedRecords + stats.skippedRecords,
        maxHeld: Math.max(sum.maxHeld, stats.maxHeld),
      }),
      { rounds: 0, acknowledged: 0, inFlightKills: 0, skippedRecords: 0, maxHeld: 0 },
    );
    console.log(
      `crash test: ${total.rounds} kill points in ${Date.now() - started} ms, ${total.acknowledged} acknowledged operations, ` +
        `${total.inFlightKills} kills with operations in flight, ${total.skippedRecords} torn records skipped, up to ${total.maxHeld} allocations held`,
    );
    expect(total.rounds).toBeGreaterThanOrEqual(20);
    // The kills must land while the child works, not only before it starts.
    expect(total.acknowledged).toBeGreaterThan(total.rounds * 5);
    expect(total.inFlightKills).toBeGreaterThanOrEqual(total.rounds / 2);
  });
});
