import { spawn } from 'node:child_process';

/**
 * Runs `ip` and other commands without a shell: every argument is passed as
 * is, and batches go to `ip -batch -` on stdin, one exec per namespace and
 * step instead of one per command.
 */

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
}

export class CommandError extends Error {
  constructor(
    readonly command: string[],
    readonly result: CommandResult,
  ) {
    const why = result.signal ? `signal ${result.signal}` : `exit ${result.code}`;
    super(`${command.join(' ')} failed (${why}): ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to completion; never rejects on a non-zero exit (see `runOk`). */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export async function runOk(file: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new CommandError([file, ...args], result);
  return result;
}

// ip's batch parser splits on blanks, honours quotes and treats '#' as a
// comment: tokens are restricted so no input can smuggle in another command.
const safeToken = /^[A-Za-z0-9_.:/@+-]+$/;

export function batchText(lines: string[][]): string {
  return lines
    .map((tokens) => {
      for (const token of tokens) {
        if (!safeToken.test(token)) throw new Error(`unsafe token for ip -batch: ${JSON.stringify(token)}`);
      }
      return tokens.join(' ');
    })
    .join('\n');
}

/**
 * Applies commands with one `ip [-n NS] -batch -`. `ns` null means the root
 * namespace (used only for `netns add/del`). With `force`, ip carries on past
 * failing lines and so does the caller (for teardown).
 */
export async function ipBatch(ns: string | null, lines: string[][], options: { force?: boolean } = {}): Promise<void> {
  if (lines.length === 0) return;
  const args = [...(ns ? ['-n', ns] : []), ...(options.force ? ['-force'] : []), '-batch', '-'];
  const result = await run('ip', args, { input: `${batchText(lines)}\n` });
  if (result.code !== 0 && !options.force) throw new CommandError(['ip', ...args], result);
}

/** One `ip -j ...` query, parsed. */
export async function ipJson<T = unknown>(ns: string | null, args: string[]): Promise<T> {
  const result = await runOk('ip', [...(ns ? ['-n', ns] : []), '-j', ...args]);
  const text = result.stdout.trim();
  return (text ? JSON.parse(text) : []) as T;
}

/** Runs a command inside a named network namespace. */
export function runInNamespace(ns: string, argv: string[], options: RunOptions = {}): Promise<CommandResult> {
  return run('ip', ['netns', 'exec', ns, ...argv], options);
}
