import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Starts `proxy.ts` inside the fabric namespace with this Node binary and
 * tsx's loader (resolved from here, so the caller's cwd does not matter).
 */

export interface Endpoint {
  address: string;
  port: number;
}

export interface ProxyHandle {
  pid: number;
  /** Stops the proxy and waits for it to exit. */
  stop(): Promise<void>;
  /** Sends SIGKILL without waiting (exit handlers). */
  kill(): void;
  /** What the proxy wrote to stderr (last few KiB). */
  stderr(): string;
}

const proxyScript = fileURLToPath(new URL('./proxy.ts', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const startTimeoutMs = 15_000;

/** Lets the owning process exit while the proxy runs; the proxy exits when its stdin closes. */
function detachFromLoop(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as Socket | null)?.unref();
}

export function startProxy(input: { namespace: string; socketPath: string; endpoints: readonly Endpoint[] }): Promise<ProxyHandle> {
  const args = ['netns', 'exec', input.namespace, process.execPath, '--import', tsxLoader, proxyScript, '--socket', input.socketPath];
  for (const { address, port } of input.endpoints) args.push('--listen', `${address}:${port}`);
  // `ip netns exec` execs the command in place: the child's pid is the proxy's.
  const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let errText = '';
  let exited = child.exitCode !== null;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exit.then(() => (exited = true));
  child.stderr.on('data', (chunk: Buffer) => {
    errText = (errText + chunk.toString('utf8')).slice(-4096);
  });

  const handle: ProxyHandle = {
    pid: child.pid ?? -1,
    async stop() {
      if (exited) return;
      child.ref(); // the wait below must keep the event loop alive
      child.kill('SIGKILL');
      await exit;
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
    stderr: () => errText,
  };

  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      handle.kill();
      reject(new Error(`fabric proxy failed to start: ${why}${errText ? `\n${errText.trim()}` : ''}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${startTimeoutMs} ms`), startTimeoutMs);
    child.on('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (settled || !out.includes('ready\n')) return;
      settled = true;
      clearTimeout(timer);
      detachFromLoop(child);
      resolve(handle);
    });
  });
}
