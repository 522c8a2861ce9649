/**
 * One life of the torture's daemon child: started from the bundle, its
 * events read from fd 3, its logs appended to the run's log file, ended by
 * SIGKILL (or SIGTERM at the very end).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, openSync, closeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ipamdNode } from '../../emulator/cluster/cluster.ts';
import { EVENT_FD, type ChildEvent, type ChildTuning } from './child-protocol.ts';

export class DaemonProcess {
  readonly startedAt = performance.now();
  readonly exited: Promise<number | null>;
  /** Set once the process is gone, with its exit code (null after a signal). */
  exitCode: number | null | undefined;
  introspectionUrl: string | undefined;
  /** A compaction announced and not finished. */
  compacting = false;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<(event: ChildEvent) => void>();
  private readyAt: number | undefined;

  constructor(bundle: string, env: Record<string, string>, tuning: ChildTuning, logPath: string, label: string) {
    appendFileSync(logPath, `--- ${new Date().toISOString()} ${label}\n`);
    const log = openSync(logPath, 'a');
    const stdio: Array<'pipe' | number> = ['pipe', log, log];
    stdio[EVENT_FD] = 'pipe';
    // The Node the emulated cluster runs ipamd on (VPC_CNI_IPAMD_NODE: the image's, in CI).
    this.child = spawn(ipamdNode(), [bundle, JSON.stringify(tuning)], { stdio, env });
    closeSync(log);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    const events = this.child.stdio[EVENT_FD] as Readable;
    createInterface({ input: events }).on('line', (line) => this.hear(line));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Hears the child's events until the returned function is called. */
  onEvent(listener: (event: ChildEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the socket serves; rejects when the child exits first or `timeoutMs` passes. */
  serving(timeoutMs: number): Promise<void> {
    if (this.readyAt !== undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`not serving within ${timeoutMs} ms`)), timeoutMs);
      const off = this.onEvent((event) => {
        if (event.event === 'ready') finish();
      });
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve();
      };
      void this.exited.then((code) => finish(new Error(`ipamd exited with ${code} before serving`)));
    });
  }

  /** SIGKILL, synchronously sent: the caller has just seen the moment it wanted to hit. */
  killNow(): void {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
  }

  async kill(): Promise<void> {
    this.killNow();
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.killNow(), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  private hear(line: string): void {
    let event: ChildEvent;
    try {
      event = JSON.parse(line) as ChildEvent;
    } catch {
      return;
    }
    if (event.event === 'ready') {
      this.readyAt = performance.now();
      this.introspectionUrl = event.introspectionUrl;
    }
    if (event.event === 'compact-start') this.compacting = true;
    if (event.event === 'compact-end') this.compacting = false;
    for (const listener of this.listeners) listener(event);
  }
}
