/**
 * Start-up cost of the plugin, measured as a runtime pays it: one exec of
 * CNI_COMMAND=VERSION, wall time from spawn to exit, median of `runs`.
 * Compared in the same run, interleaved (so drift hits all alike), with
 * `node -e 0` (what a plain Node plugin would pay before doing anything) and
 * Debian's Go reference plugin `/usr/lib/cni/ptp` VERSION.
 *
 *   npm run build:plugin && npx tsx test/cni/startup.ts [runs]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Startup {
  runs: number;
  /** Medians in milliseconds; ptp is undefined when it is not installed. */
  vpcCni: number;
  node: number;
  ptp: number | undefined;
}

const PTP = '/usr/lib/cni/ptp';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Each run reads the runtime's VERSION input from a file of its own (ptp does not read stdin at all: no pipe to break). */
function timeOnce(cmd: string, args: string[], input: string): number {
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: 'VERSION' };
  const fd = openSync(input, 'r');
  try {
    const start = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { env, stdio: [fd, 'pipe', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
    return ms;
  } finally {
    closeSync(fd);
  }
}

export function measureStartup(plugin: string, runs = 50): Startup {
  const candidates: Array<[keyof Omit<Startup, 'runs'>, string, string[]]> = [
    ['vpcCni', plugin, []],
    ['node', process.execPath, ['-e', '0']],
  ];
  if (existsSync(PTP)) candidates.push(['ptp', PTP, []]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vpccni-startup-'));
  const input = path.join(dir, 'stdin.json');
  writeFileSync(input, '{"cniVersion":"1.0.0"}');
  const times = new Map<string, number[]>(candidates.map(([k]) => [k, []]));
  try {
    for (const [, cmd, args] of candidates) for (let i = 0; i < 3; i++) timeOnce(cmd, args, input);
    for (let i = 0; i < runs; i++) for (const [k, cmd, args] of candidates) times.get(k)?.push(timeOnce(cmd, args, input));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (k: string): number | undefined => {
    const t = times.get(k);
    return t ? median(t) : undefined;
  };
  return { runs, vpcCni: med('vpcCni') as number, node: med('node') as number, ptp: med('ptp') };
}

export function describeStartup(s: Startup): string {
  const f = (ms: number): string => `${ms.toFixed(1)} ms`;
  const parts = [`vpc-cni VERSION ${f(s.vpcCni)}`, `node -e 0 ${f(s.node)} (vpc-cni is ${(s.vpcCni / s.node).toFixed(2)}x)`];
  if (s.ptp !== undefined) parts.push(`ptp VERSION ${f(s.ptp)} (vpc-cni is ${(s.vpcCni / s.ptp).toFixed(2)}x)`);
  return `start-up medians over ${s.runs} runs: ${parts.join('; ')}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const plugin = fileURLToPath(new URL('../../dist/vpc-cni', import.meta.url));
  console.log(describeStartup(measureStartup(plugin, Number(process.argv[2] ?? 50))));
}
