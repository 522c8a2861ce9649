import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/**
 * The one way this project runs a program: no shell, every argument passed as
 * is, stdin fed from a string when given, stdout and stderr collected. Both
 * the daemon's data plane and the emulator's fabric run `ip`, `nft` and
 * friends through it (iproute.ts adds `ip -batch` on top).
 */

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Killed with SIGKILL after this long; no limit by default. */
  timeoutMs?: number;
}

/** A command that ended other than with exit 0, where the caller wanted success. */
export class CommandError extends Error {
  constructor(
    readonly command: string[],
    readonly result: CommandResult,
    message?: string,
  ) {
    const why = result.signal ? `signal ${result.signal}` : `exit ${result.code}`;
    super(message ?? `${command.join(' ')} failed (${why}): ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/** Where programs are looked for after PATH: a daemon's PATH may lack the sbin directories iproute2 and nftables live in. */
export const standardProgramDirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** A program found neither along PATH nor in the standard directories. */
export class ProgramNotFoundError extends Error {
  constructor(
    readonly program: string,
    readonly searched: string[],
  ) {
    super(`cannot run ${program}: no executable ${program} in PATH or the standard directories (searched ${searched.join(', ')}); is it installed?`);
    this.name = 'ProgramNotFoundError';
  }
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The absolute path of a program: the first executable `name` along
 * `searchPath` (as execvp would pick), else in the standard directories.
 * A name with a slash is returned as is.
 */
export function findProgram(name: string, searchPath: string = process.env.PATH ?? ''): string {
  if (name.includes('/')) return name;
  const dirs = [...new Set([...searchPath.split(':').filter((dir) => isAbsolute(dir)), ...standardProgramDirs])];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new ProgramNotFoundError(name, dirs);
}

const programPaths = new Map<string, string>();

/**
 * `findProgram`, once per name for the life of the process: spawning a bare
 * name makes the kernel try every PATH entry in turn (eight failed execve
 * for `ip` under a typical PATH), on every pod ADD and DEL.
 */
export function programPath(name: string): string {
  let path = programPaths.get(name);
  if (path === undefined) {
    path = findProgram(name);
    programPaths.set(name, path);
  }
  return path;
}

/** Runs a command to completion; never rejects on a non-zero exit (see `runOk`), only when it cannot start. */
export function run(file: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(programPath(file), args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    if (options.input !== undefined) {
      // A child that dies before reading its stdin must not crash us with EPIPE.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input);
    }
  });
}

/** Runs a command and rejects with CommandError unless it exits 0. */
export async function runOk(file: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new CommandError([file, ...args], result);
  return result;
}

/** Applies an nftables ruleset read from stdin (`nft -f -`): one transaction, all of it or nothing. */
export function nftApply(ruleset: string): Promise<CommandResult> {
  return run('nft', ['-f', '-'], { input: ruleset });
}
