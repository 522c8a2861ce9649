import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLUGIN } from './helpers.ts';

/** The compiled executable itself, whatever the command: what it reads at start, and its two roles. */
describe('the vpc-cni executable', () => {
  let dir: string;
  beforeAll(() => {
    // Built by the integration set-up (test/global-setup.ts), as the runtime would find it.
    if (!existsSync(PLUGIN)) throw new Error(`${PLUGIN} is missing: npm run build:plugin`);
    dir = mkdtempSync(join(tmpdir(), 'vpc-cni-cwd-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads no .env or bunfig.toml from the directory the runtime runs it in', () => {
    // Bun's compiled executables load both by default: a root plugin must not take settings from its working directory.
    writeFileSync(join(dir, '.env'), 'CNI_COMMAND=VERSION\n');
    writeFileSync(join(dir, 'bunfig.toml'), 'preload = ["./nope.ts"]\n');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const out = spawnSync(PLUGIN, [], { cwd: dir, env, input: '{}', encoding: 'utf8' });
    expect(out.status).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 4, msg: expect.stringMatching(/^CNI_COMMAND is not set/) });
  });

  it('serves as the netlink helper with its argument, answering an empty request', () => {
    const out = execFileSync(PLUGIN, ['netlink-helper'], { input: '{"id":1,"segments":[]}\n', encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ id: 1, results: [] });
  });
});
