import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findProgram, programPath, ProgramNotFoundError, run, standardProgramDirs } from '../../lib/command.ts';

const dirs: string[] = [];
const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory holding an executable `name` that prints `says` (never run here: unit tests spawn nothing). */
function programDir(name: string, says: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'command-test-'));
  dirs.push(dir);
  writeFileSync(join(dir, name), `#!/bin/sh\necho ${says}\n`);
  chmodSync(join(dir, name), 0o755);
  return dir;
}

describe('finding programs', () => {
  it('takes the first executable along PATH, then the standard directories', () => {
    const first = programDir('vpc-cni-probe', 'first');
    const second = programDir('vpc-cni-probe', 'second');
    expect(findProgram('vpc-cni-probe', `relative/dir:${first}:${second}`)).toBe(join(first, 'vpc-cni-probe'));
    // iproute2 is in a standard directory even when PATH says nothing.
    expect(standardProgramDirs.some((dir) => findProgram('ip', '').startsWith(`${dir}/`))).toBe(true);
    expect(findProgram('/bin/sh', '')).toBe('/bin/sh');
  });

  it('names the program and where it looked when it is nowhere', () => {
    const empty = mkdtempSync(join(tmpdir(), 'command-test-'));
    dirs.push(empty);
    const error = (() => {
      try {
        findProgram('no-such-program-vpc-cni', empty);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ProgramNotFoundError);
    expect((error as Error).message).toContain('cannot run no-such-program-vpc-cni');
    expect((error as Error).message).toContain(empty);
  });

  // Rejected before anything is spawned.
  it('run rejects with that error, not a bare ENOENT', async () => {
    await expect(run('no-such-program-vpc-cni', [])).rejects.toThrow(/cannot run no-such-program-vpc-cni: no executable/);
  });

  it('resolves a name once: a later PATH change does not send the next run through PATH again', () => {
    const first = programDir('vpc-cni-once', 'first');
    process.env.PATH = `${first}:${savedPath ?? ''}`;
    expect(programPath('vpc-cni-once')).toBe(join(first, 'vpc-cni-once'));
    const second = programDir('vpc-cni-once', 'second');
    process.env.PATH = `${second}:${first}:${savedPath ?? ''}`;
    expect(programPath('vpc-cni-once')).toBe(join(first, 'vpc-cni-once'));
  });
});
