/**
 * The runtime's side of the torture: concurrent workers adding and deleting
 * pods through the real client, the ledger of acknowledged adds, the DELs a
 * runtime retries after a crash, and DELs made while the daemon is down (the
 * plugin's pending-release records, written by the plugin's own writer).
 */
import { readdirSync } from 'node:fs';
import { recordPendingRelease } from '../../cni/pending-release.ts';
import { callIpamd } from '../../wire/client.ts';
import { IpamError } from '../../wire/errors.ts';
import type { AllocationKey } from '../../wire/protocol.ts';
import { isPendingFileName } from '../../wire/pending-record.ts';
import type { CheckAnswer } from './invariants.ts';

/** add: grow towards the cap; del: shrink towards none; mixed: churn in between. */
export type WorkMode = 'add' | 'del' | 'mixed';

const NETWORK = 'torture';
/** m5.large holds 27 pod addresses (3 interfaces x 9): stay under, so that a refused ADD means something. */
export const MAX_LIVE = 24;
const CALL_TIMEOUT_MS = 5000;

const keyOf = (containerId: string): AllocationKey => ({ network: NETWORK, containerId, ifName: 'eth0' });
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Workload {
  /** Acknowledged and not deleted: container -> address. */
  readonly ledger = new Map<string, string>();
  /** In flight at a crash or failed: the runtime DELs them again once ipamd is back. */
  readonly retryDel = new Set<string>();
  acknowledgedAdds = 0;
  /** Refused ADDs by error code (exhausted below the cap is worth a look). */
  readonly refusedAdds = new Map<string, number>();
  private sequence = 0;
  /** Adds sent and not answered: counted against the cap, so that the node is never asked beyond it. */
  private addsInFlight = 0;

  constructor(
    private readonly socketPath: string,
    private readonly random: () => number,
    /** Called on every acknowledged add before it enters the ledger; false keeps it out (a violation). */
    private readonly acknowledged: (containerId: string, ip: string) => boolean,
  ) {}

  /** Runs `workers` workers until `stopped()` says so, then waits for their calls to end. */
  async storm(mode: WorkMode, workers: number, stopped: () => boolean): Promise<void> {
    await Promise.all(Array.from({ length: workers }, () => this.worker(mode, stopped)));
  }

  /** The runtime's retried DELs; the ones that fail again stay queued. */
  async retryDeletes(): Promise<void> {
    const pending = [...this.retryDel];
    this.retryDel.clear();
    await Promise.all(pending.map((containerId) => this.del(containerId)));
  }

  /** `check` for every acknowledged pod. */
  async checkAll(): Promise<Map<string, CheckAnswer>> {
    const answers = await Promise.all(
      [...this.ledger.keys()].map(async (containerId): Promise<[string, CheckAnswer]> => {
        try {
          const checked = await callIpamd(this.socketPath, 'check', { key: keyOf(containerId) }, { timeoutMs: CALL_TIMEOUT_MS });
          return [containerId, { address: checked.address }];
        } catch (err) {
          if (!(err instanceof IpamError)) throw err;
          return [containerId, { error: `${err.code}: ${err.message}` }];
        }
      }),
    );
    return new Map(answers);
  }

  /** Pods the runtime deletes while ipamd is down: out of the ledger, and a record each in the pending dir. */
  deleteWhileDown(pendingDir: string, count: number): number {
    const chosen = [...this.ledger.keys()].sort(() => this.random() - 0.5).slice(0, count);
    for (const containerId of chosen) {
      this.ledger.delete(containerId);
      recordPendingRelease(pendingDir, keyOf(containerId));
    }
    // And one the daemon never saw (a runtime DELs sandboxes whose ADD never reached it).
    recordPendingRelease(pendingDir, keyOf(`never-added-${++this.sequence}`));
    return chosen.length;
  }

  /** The runtime deletes every pod (the end of the run). */
  async deleteAll(): Promise<void> {
    for (const containerId of this.ledger.keys()) this.retryDel.add(containerId);
    this.ledger.clear();
    await this.retryDeletes();
  }

  private async worker(mode: WorkMode, stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      const live = this.ledger.size + this.addsInFlight;
      const remove = mode === 'del' ? live > 0 : mode === 'add' ? live >= MAX_LIVE : live >= MAX_LIVE || (live > 6 && this.random() < 0.5);
      if (mode === 'del' && this.ledger.size === 0) {
        // Nothing left to delete: let the pool shrink.
        await pause(25);
        continue;
      }
      if (remove) {
        const existing = [...this.ledger.keys()];
        const containerId = existing[Math.floor(this.random() * existing.length)];
        // Out of the ledger before the DEL leaves: from then on ipamd may hand the address out again.
        if (containerId === undefined || !this.ledger.delete(containerId)) continue;
        await this.del(containerId);
      } else {
        await this.add(`c${++this.sequence}`);
      }
    }
  }

  private async add(containerId: string): Promise<void> {
    this.addsInFlight++;
    try {
      const added = await callIpamd(this.socketPath, 'add', { key: keyOf(containerId), netns: `/var/run/netns/${containerId}` }, { timeoutMs: CALL_TIMEOUT_MS });
      this.acknowledgedAdds++;
      if (this.acknowledged(containerId, added.ip)) this.ledger.set(containerId, added.ip);
      else this.retryDel.add(containerId);
    } catch (err) {
      if (!(err instanceof IpamError)) throw err;
      // Not acknowledged (in flight at a kill, or refused): the runtime DELs it.
      this.refusedAdds.set(err.code, (this.refusedAdds.get(err.code) ?? 0) + 1);
      await this.del(containerId);
      // As a runtime backs off before it retries a sandbox: no busy loop against a refusing daemon.
      await pause(20);
    } finally {
      this.addsInFlight--;
    }
  }

  private async del(containerId: string): Promise<void> {
    try {
      await callIpamd(this.socketPath, 'del', { key: keyOf(containerId) }, { timeoutMs: CALL_TIMEOUT_MS });
    } catch (err) {
      if (!(err instanceof IpamError)) throw err;
      this.retryDel.add(containerId);
    }
  }
}

/** Records still waiting in the pending dir. */
export function pendingRecords(pendingDir: string): number {
  try {
    return readdirSync(pendingDir).filter(isPendingFileName).length;
  } catch {
    return 0;
  }
}
