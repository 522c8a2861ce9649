import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, isAbsolute } from 'node:path';
import { CommandError, programPath, run, runOk, type CommandResult, type RunOptions } from './command.ts';

/**
 * Driving iproute2: one `ip -batch -` per namespace and step (an exec costs
 * ~1.7 ms, a batched line microseconds), with per-line tolerance of expected
 * failures (deleting what is already gone, adding what is already there);
 * `ip -j` queries; and the arguments that select a network namespace.
 */

/** One line of an `ip -batch`; a failure whose message matches `tolerate` is not an error. */
export interface BatchLine {
  tokens: string[];
  tolerate?: RegExp;
}

/** Messages of a delete whose object is already gone. */
export const alreadyGone = /Cannot find device|No such device|No such file or directory|No such process|does not exist/;
/** Message of an add whose object is already there. */
export const alreadyThere = /File exists/;

function tolerated(lines: BatchLine[], line: number, message: string): boolean {
  const pattern = lines[line - 1]?.tolerate;
  return pattern !== undefined && pattern.test(message);
}

/** An `ip -batch` that failed on a line not tolerating its failure, or before running any line. */
export class IpBatchError extends CommandError {
  constructor(
    readonly args: string[],
    readonly lines: BatchLine[],
    /** 1-based line number -> ip's message, for the lines that failed. */
    readonly failures: Map<number, string>,
    result: CommandResult,
  ) {
    const first = [...failures].find(([line]) => !tolerated(lines, line, failures.get(line) ?? ''));
    const detail = first
      ? `line ${first[0]} (${lines[first[0] - 1]?.tokens.join(' ')}): ${first[1]}`
      : result.stderr.trim() || `exit ${result.code ?? result.signal}`;
    super(['ip', ...args], result, `ip ${args.join(' ')}: ${detail}`);
    this.name = 'IpBatchError';
  }

  /** The first line that failed, 0 if ip failed before running any (e.g. the namespace would not open). */
  get firstFailedLine(): number {
    return this.failures.size > 0 ? Math.min(...this.failures.keys()) : 0;
  }
}

// ip's batch parser splits on blanks, honours quotes and treats '#' as a
// comment: tokens are restricted so no input can smuggle in another command.
const safeToken = /^[A-Za-z0-9_.:/@+*-]+$/;

/** The stdin of `ip -batch -`: one line per command, each token checked. */
export function batchText(lines: BatchLine[]): string {
  return (
    lines
      .map(({ tokens }) => {
        for (const token of tokens) {
          if (!safeToken.test(token)) throw new Error(`unsafe token for ip -batch: ${JSON.stringify(token)}`);
        }
        return tokens.join(' ');
      })
      .join('\n') + '\n'
  );
}

/** ip prints each failing batch line's messages, then `Command failed -:N`. */
export function parseBatchFailures(stderr: string): Map<number, string> {
  const failures = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const match = /^Command failed .*:(\d+)$/.exec(line.trim());
    if (match) {
      failures.set(Number(match[1]), pending.join(' ').trim());
      pending = [];
    } else if (line.trim()) {
      pending.push(line.trim());
    }
  }
  return failures;
}

export interface BatchOptions {
  /** Arguments selecting the namespace (`namespaceArgs`, `namedNamespaceArgs`); none: this process's namespace. */
  namespace?: string[];
  json?: boolean;
  /**
   * Carry on past failing lines, and do not reject. Implied for ip when a
   * line has `tolerate`; without it ip stops at the first failure, so
   * everything after it did not run.
   */
  force?: boolean;
}

export interface BatchOutcome {
  stdout: string;
  failures: Map<number, string>;
}

/** A bare token list is a line that tolerates nothing. */
function asBatchLines(lines: ReadonlyArray<BatchLine | string[]>): BatchLine[] {
  return lines.map((line) => (Array.isArray(line) ? { tokens: line } : line));
}

function batchArgs(lines: BatchLine[], options: BatchOptions): string[] {
  const force = options.force || lines.some((line) => line.tolerate !== undefined);
  return [...(options.namespace ?? []), ...(options.json ? ['-j'] : []), ...(force ? ['-force'] : []), '-batch', '-'];
}

/**
 * Runs the lines with one `ip -batch -`. Rejects with `IpBatchError` when a
 * line fails that does not tolerate its failure, or when ip fails outright
 * (never with `force`).
 */
export async function ipBatch(lines: ReadonlyArray<BatchLine | string[]>, options: BatchOptions = {}): Promise<BatchOutcome> {
  if (lines.length === 0) return { stdout: '', failures: new Map() };
  const batch = asBatchLines(lines);
  const args = batchArgs(batch, options);
  const result = await run('ip', args, { input: batchText(batch) });
  const failures = parseBatchFailures(result.stderr);
  if (result.code !== 0) {
    const fatal = failures.size === 0 || [...failures].some(([line, message]) => !tolerated(batch, line, message));
    if (fatal && !options.force) throw new IpBatchError(args, batch, failures, result);
  }
  return { stdout: result.stdout, failures };
}

/** `ipBatch` for where nothing asynchronous runs any more (a process exit handler): best effort, output ignored. */
export function ipBatchSync(lines: ReadonlyArray<BatchLine | string[]>, options: BatchOptions = {}): void {
  if (lines.length === 0) return;
  const batch = asBatchLines(lines);
  let ip: string;
  try {
    ip = programPath('ip');
  } catch {
    return; // best effort: without ip there is nothing to undo with
  }
  spawnSync(ip, batchArgs(batch, options), { input: batchText(batch), stdio: ['pipe', 'ignore', 'ignore'] });
}

/**
 * Splits the stdout of an `ip -j -force -batch` into one parsed value per
 * line (ip prints one JSON document per successful command, nothing for a
 * failed one); failed lines get `undefined`.
 */
export function splitJsonOutputs(lineCount: number, outcome: BatchOutcome): unknown[] {
  const documents = outcome.stdout.split('\n').filter((text) => text.trim());
  const values: unknown[] = [];
  for (let line = 1; line <= lineCount; line++) {
    if (outcome.failures.has(line)) {
      values.push(undefined);
      continue;
    }
    const text = documents.shift();
    values.push(text === undefined ? undefined : JSON.parse(text));
  }
  return values;
}

/** One `ip [-n NS] -j ...` query, parsed; rejects with CommandError when ip fails. */
export async function ipJson<T = unknown>(namespace: string[], args: string[]): Promise<T> {
  const result = await runOk('ip', [...namespace, '-j', ...args]);
  const text = result.stdout.trim();
  return (text ? JSON.parse(text) : []) as T;
}

/** `ip -n` arguments for a namespace named under /var/run/netns; null: this process's own namespace. */
export function namedNamespaceArgs(name: string | null): string[] {
  return name ? ['-n', name] : [];
}

const netnsRunDir = '/var/run/netns';
let runDirReady = false;

/**
 * `ip -n` arguments for a namespace given by path (CNI_NETNS). `ip -n` opens
 * `/var/run/netns/<name>` and costs ~0.3 ms over a plain `ip`, against ~1.5 ms
 * more for `nsenter --net=PATH ip`; a path outside /var/run/netns is reached
 * by climbing to / first (`..` of / is /, so a generous count is always
 * right), which needs only the directory to exist.
 */
export function namespaceArgs(netnsPath: string): string[] {
  if (!isAbsolute(netnsPath)) throw new Error(`network namespace path must be absolute: ${JSON.stringify(netnsPath)}`);
  const dir = dirname(netnsPath);
  if (dir === netnsRunDir || dir === '/run/netns') return ['-n', basename(netnsPath)];
  if (!runDirReady) {
    mkdirSync(netnsRunDir, { recursive: true });
    runDirReady = true;
  }
  return ['-n', `${'../'.repeat(16)}${netnsPath.replace(/^\/+/, '')}`];
}

/** Runs a command inside a named network namespace (`ip netns exec`). */
export function runInNamespace(name: string, argv: string[], options: RunOptions = {}): Promise<CommandResult> {
  return run('ip', ['netns', 'exec', name, ...argv], options);
}
