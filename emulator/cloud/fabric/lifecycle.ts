import { readdirSync, statSync } from 'node:fs';
import { ipBatch, ipBatchSync } from '../../../lib/iproute.ts';
import { boxNamespacePrefix, ownerAlive, parseBoxNamespace } from './names.ts';

/**
 * Teardown shared by `destroy()`, the exit hooks and the sweeper: find the
 * processes living in a box's namespaces (a namespace outlives its name while
 * a process holds it), kill them, then delete the names.
 */

const netnsDir = '/var/run/netns';

export function listNamespaces(): string[] {
  try {
    return readdirSync(netnsDir);
  } catch {
    return [];
  }
}

export function boxNamespaces(prefix: string): string[] {
  return listNamespaces().filter((name) => name.startsWith(`${prefix}-`));
}

/** Pids whose network namespace is one of `names`; scans /proc (no exec, usable at exit). */
export function pidsInNamespaces(names: string[]): number[] {
  const inodes = new Set<number>();
  for (const name of names) {
    try {
      inodes.add(statSync(`${netnsDir}/${name}`).ino);
    } catch {
      // already gone
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (inodes.has(statSync(`/proc/${pid}/ns/net`).ino)) pids.push(pid);
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return pids;
}

export function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

const deleteLines = (names: string[]): string[][] => names.map((name) => ['netns', 'del', name]);

export async function deleteNamespaces(names: string[]): Promise<void> {
  killPids(pidsInNamespaces(names));
  await ipBatch(deleteLines(names), { force: true });
}

/** The same, synchronously, for `process.on('exit')` where nothing async runs. */
export function deleteNamespacesSync(names: string[]): void {
  if (names.length === 0) return;
  killPids(pidsInNamespaces(names));
  ipBatchSync(deleteLines(names), { force: true });
}

/**
 * Deletes the namespaces (and kills the processes inside) of every box whose
 * owner process is gone. Returns the deleted namespace names.
 */
export async function sweepStaleBoxes(): Promise<string[]> {
  const stale = listNamespaces().filter((name) => {
    if (!name.startsWith(boxNamespacePrefix)) return false;
    const parsed = parseBoxNamespace(name);
    return parsed !== null && !ownerAlive(parsed.owner);
  });
  await deleteNamespaces(stale);
  return stale;
}

// ---- exit hooks ------------------------------------------------------------

export interface SyncDestroyable {
  destroySync(): void;
}

const live = new Set<SyncDestroyable>();
const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function destroyAll(): void {
  for (const box of [...live]) box.destroySync();
}

function onSignal(signal: NodeJS.Signals): void {
  // Another listener owns the shutdown (the demo, the emulator CLI): it tears
  // down in order, daemons before their namespaces, and the exit hook still
  // removes whatever it leaves. Deleting the namespaces here first would pull
  // them from under that teardown.
  if (process.listenerCount(signal) > 1) return;
  destroyAll();
  // Our listener replaced the default action (exit): restore it and re-raise
  // so the process still dies by that signal.
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', destroyAll);
  for (const signal of signals) process.on(signal, onSignal);
}

function uninstall(): void {
  process.off('exit', destroyAll);
  for (const signal of signals) process.off(signal, onSignal);
}

/** Handlers exist only while a box is up, so an idle process exits as usual. */
export function trackLiveBox(box: SyncDestroyable): void {
  if (live.size === 0) install();
  live.add(box);
}

export function untrackLiveBox(box: SyncDestroyable): void {
  if (!live.delete(box)) return;
  if (live.size === 0) uninstall();
}
