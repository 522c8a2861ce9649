/**
 * How long the plugin executable takes to start: the median wall time of
 * many CNI VERSION calls (the runtime execs the plugin for every ADD, DEL
 * and CHECK; VERSION does no work beyond starting and answering), with
 * the size of each binary. For choosing bun build options:
 *
 *   npx tsx image/plugin-start.ts [--runs 60] <plugin binary>...
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface StartFigures {
  binary: string;
  bytes: number;
  medianMs: number;
  p90Ms: number;
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export function measureStart(binary: string, runs: number): StartFigures {
  const times: number[] = [];
  // One warm-up: the first exec reads the file from disk, every later one from the page cache, as on a busy node.
  for (let i = 0; i <= runs; i++) {
    const started = performance.now();
    const out = spawnSync(binary, [], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}', encoding: 'utf8' });
    const elapsed = performance.now() - started;
    if (out.status !== 0 || !out.stdout.includes('supportedVersions')) throw new Error(`${binary} VERSION failed (exit ${out.status}): ${out.stderr}`);
    if (i > 0) times.push(elapsed);
  }
  times.sort((a, b) => a - b);
  return { binary, bytes: statSync(binary).size, medianMs: quantile(times, 0.5), p90Ms: quantile(times, 0.9) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '60' } } });
  for (const binary of positionals) {
    const figures = measureStart(binary, Number(values.runs));
    process.stdout.write(`${binary}: ${(figures.bytes / 1e6).toFixed(1)} MB, start median ${figures.medianMs.toFixed(1)} ms, p90 ${figures.p90Ms.toFixed(1)} ms (${values.runs} runs)\n`);
  }
}
