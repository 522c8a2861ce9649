/**
 * The programs the offline build runs. A missing one stops the build at
 * once with the Debian package to install (test/host-setup.sh installs them
 * all), rather than halfway through with a bare ENOENT.
 */
import { spawn } from 'node:child_process';
import { findProgram, ProgramNotFoundError } from '../lib/command.ts';

const packageOf: Record<string, string> = {
  mmdebstrap: 'mmdebstrap',
  umoci: 'umoci',
  skopeo: 'skopeo',
  tar: 'tar',
  npm: 'npm (Node.js)',
};

export function assertImageToolsInstalled(): void {
  const missing = Object.keys(packageOf).filter((program) => {
    try {
      findProgram(program);
      return false;
    } catch (err) {
      if (err instanceof ProgramNotFoundError) return true;
      throw err;
    }
  });
  if (missing.length > 0) {
    throw new Error(`npm run image needs ${missing.map((program) => `${program} (Debian package ${packageOf[program]})`).join(', ')}: run test/host-setup.sh or apt-get install mmdebstrap umoci skopeo`);
  }
}

export interface ToolOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Runs one step of the build (no shell; stdin closed), with its output
 * kept for the error message. lib/command.ts's run has no cwd or env: the
 * build's steps need both (npm scripts, SOURCE_DATE_EPOCH).
 */
export function runTool(file: string, args: string[], options: ToolOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 900_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${file} ${args.join(' ')} failed (${signal ? `signal ${signal}` : `exit ${code}`}): ${stderr.trim() || stdout.trim().slice(-4000)}`));
    });
  });
}
