/**
 * No image can be built here (no Docker engine), so the Dockerfile is held to
 * what the rest of the repository says: the build scripts it runs exist and
 * read only what reaches the builder, the files it ships are the ones the
 * DaemonSet runs, and the init container's install command works.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { build } from 'esbuild';
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRepoFile, render, repoRoot, type RenderedObject } from './render.ts';

interface Stage {
  from: string;
  lines: string[];
}

/** The Dockerfile's stages, continuation lines joined, comments dropped. */
function stages(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) out.push({ from: line, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

/** COPY instructions of a stage: [sources, destination, --from]. */
function copies(stage: Stage): Array<{ sources: string[]; destination: string; from?: string }> {
  return stage.lines
    .filter((l) => /^COPY\s/i.test(l))
    .map((l) => {
      const words = l.split(/\s+/).slice(1);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      return { sources: paths.slice(0, -1), destination: paths.at(-1) ?? '', ...(from ? { from } : {}) };
    });
}

/**
 * Whether .dockerignore sends a path to the builder. Docker applies the
 * patterns in order, the last match winning, a pattern matching a parent
 * directory matching its contents. Only the forms this repository uses
 * (`*` and plain names) are understood; anything else fails the test.
 */
function sentToBuilder(patterns: string[], path: string): boolean {
  const segments = path.split('/');
  let included = true;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!/^(\*|[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)$/.test(pattern)) throw new Error(`.dockerignore pattern ${raw} is not understood by this test`);
    const parts = pattern.split('/');
    const matches = parts.length <= segments.length && parts.every((p, i) => p === '*' || p === segments[i]);
    if (matches) included = negated;
  }
  return included;
}

function packageScripts(): Record<string, string> {
  return (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts;
}

const dockerfile = readRepoFile('Dockerfile');
const [buildStage, runtimeStage, ...extraStages] = stages(dockerfile);
const ignorePatterns = readRepoFile('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('has a build stage running npm ci and both build scripts, and a runtime stage', () => {
    expect(extraStages).toEqual([]);
    expect(buildStage?.from).toMatch(/\sAS\s+build$/i);
    const runs = (buildStage?.lines ?? []).filter((l) => /^RUN\s/i.test(l)).join('\n');
    expect(runs).toMatch(/\bnpm ci\b/);
    const scripts = packageScripts();
    for (const script of ['build', 'build:plugin']) {
      expect(runs).toContain(`npm run ${script}`);
      expect(scripts[script], `package.json script ${script}`).toBeDefined();
    }
    expect(runtimeStage?.lines.some((l) => /^RUN\s/i.test(l) && /\bnpm (ci|install)\b/.test(l))).toBe(false);
  });

  it('builds and runs on one Node LTS line (even, >= 20), slim, for linux/amd64', () => {
    const image = (stage: Stage | undefined) => /\bnode:(\d+)-slim\b/.exec(stage?.from ?? '');
    const [buildImage, runtimeImage] = [image(buildStage), image(runtimeStage)];
    expect(buildImage?.[1]).toBeDefined();
    expect(runtimeImage?.[1]).toBe(buildImage?.[1]);
    const major = Number(runtimeImage?.[1]);
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(20);
    // The plugin is compiled for x86-64 only.
    for (const stage of [buildStage, runtimeStage]) expect(stage?.from).toContain('--platform=linux/amd64');
  });

  it('installs the tools ipamd execs: ip (iproute2) and nft (nftables)', () => {
    const runs = (runtimeStage?.lines ?? []).filter((l) => /^RUN\s/i.test(l)).join('\n');
    expect(runs).toMatch(/apt-get install[^\n]*\biproute2\b/);
    expect(runs).toMatch(/apt-get install[^\n]*\bnftables\b/);
  });

  it('ships exactly the build outputs, where the DaemonSet runs them', () => {
    const scripts = packageScripts();
    // The daemon is split: an entry named by --entry-names in --outdir, its chunks under --chunk-names' directory.
    const build = scripts.build ?? '';
    const daemonEntry = `${/--outdir[= ](\S+)/.exec(build)?.[1] ?? ''}/${/--entry-names[= ](\S+)/.exec(build)?.[1] ?? ''}.mjs`;
    const chunkDir = `dist/${/--chunk-names[= ]([^/\s]+)\//.exec(build)?.[1] ?? ''}`;
    expect([daemonEntry, chunkDir, /--outfile[= ](\S+)/.exec(scripts['build:plugin'] ?? '')?.[1]]).toEqual(['dist/ipamd.mjs', 'dist/ipamd-chunks', 'dist/vpc-cni']);
    const shipped = copies(runtimeStage ?? { from: '', lines: [] });
    expect(shipped).toHaveLength(2);
    const [files, chunks] = shipped;
    const workdir = /^WORKDIR\s+(\S+)/im.exec(buildStage?.lines.join('\n') ?? '')?.[1] ?? '/';
    expect(files?.from).toBe('build');
    expect(files?.sources.map((s) => posix.relative(workdir, s)).sort()).toEqual(['dist/ipamd.mjs', 'dist/ipamd.mjs.map', 'dist/vpc-cni']);
    expect(files?.destination).toBe('/opt/vpc-cni/');
    // Chunks are imported relative to the entry: the directory must keep its name beside it.
    expect(chunks?.from).toBe('build');
    expect(chunks?.sources.map((s) => posix.relative(workdir, s))).toEqual(['dist/ipamd-chunks']);
    expect(chunks?.destination).toBe('/opt/vpc-cni/ipamd-chunks/');

    const daemonSet = render('aws').find((o) => o.kind === 'DaemonSet') as (RenderedObject & IDaemonSet) | undefined;
    const pod = daemonSet?.spec?.template.spec;
    const ipamd = pod?.containers.find((c) => c.name === 'ipamd');
    const init = pod?.initContainers?.find((c) => c.name === 'install-cni-plugin');
    expect(ipamd?.command).toContain('/opt/vpc-cni/ipamd.mjs');
    expect((init?.command ?? []).join(' ')).toContain('/opt/vpc-cni/vpc-cni ');
    // `docker run <image> status` runs the same bundle.
    expect(dockerfile).toMatch(/^ENTRYPOINT \[.*"\/opt\/vpc-cni\/ipamd\.mjs"\]$/m);
  });

  it('runs as root, and says why', () => {
    expect(runtimeStage?.lines.filter((l) => /^USER\s/i.test(l))).toEqual(['USER root']);
    expect(dockerfile).toMatch(/#[^\n]*Root, not a dedicated user/);
  });
});

describe('what the builder sees', () => {
  let inputs: string[];
  beforeAll(async () => {
    // The daemon through the real build script (its loaders and flags), the plugin's sources through esbuild.
    const out = mkdtempSync(join(tmpdir(), 'vpc-cni-image-'));
    try {
      execFileSync('npm', ['run', '--silent', 'build', '--', `--metafile=${join(out, 'meta.json')}`, `--outdir=${out}`, '--log-level=error'], {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const daemon = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
      const plugin = await build({ entryPoints: [join(repoRoot, 'bin/vpc-cni.ts')], absWorkingDir: repoRoot, bundle: true, platform: 'node', format: 'esm', external: ['bun:ffi'], write: false, metafile: true, logLevel: 'silent' });
      inputs = [...Object.keys(daemon.inputs), ...Object.keys(plugin.metafile.inputs)].map((p) => relative(repoRoot, join(repoRoot, p)));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('every source file of the two builds is copied into the build stage and not ignored', () => {
    const sources = inputs.filter((p) => !p.startsWith('node_modules/'));
    expect(sources.length).toBeGreaterThan(10);
    const copied = copies(buildStage ?? { from: '', lines: [] }).flatMap((c) => c.sources);
    for (const path of sources) {
      const top = path.split('/')[0] ?? '';
      expect(copied.includes(top) || copied.includes(path), `${path} is not copied into the build stage`).toBe(true);
      expect(sentToBuilder(ignorePatterns, path), `${path} is excluded by .dockerignore`).toBe(true);
    }
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json']) expect(sentToBuilder(ignorePatterns, file), file).toBe(true);
  });

  it('keeps local artefacts away from the builder', () => {
    for (const path of ['node_modules/esbuild/package.json', 'dist/ipamd.mjs', 'test/deploy/image.test.ts', '.git/HEAD', 'README.md']) {
      expect(sentToBuilder(ignorePatterns, path), path).toBe(false);
    }
  });
});

describe('the init container', () => {
  it('installs the plugin into /opt/cni/bin by copy and atomic rename, replacing the old one', () => {
    const daemonSet = render('aws').find((o) => o.kind === 'DaemonSet') as (RenderedObject & IDaemonSet) | undefined;
    const init = daemonSet?.spec?.template.spec?.initContainers?.find((c) => c.name === 'install-cni-plugin');
    const [shell, flags, script] = init?.command ?? [];
    expect([shell, flags]).toEqual(['/bin/sh', '-ec']);
    if (!script) throw new Error('no install script');

    // The image's and the host's paths, moved under a scratch directory.
    const root = mkdtempSync(join(tmpdir(), 'vpc-cni-init-'));
    try {
      const image = join(root, 'image/opt/vpc-cni');
      const host = join(root, 'host/opt/cni/bin');
      mkdirSync(image, { recursive: true });
      mkdirSync(host, { recursive: true });
      writeFileSync(join(image, 'vpc-cni'), 'new plugin\n');
      writeFileSync(join(host, 'vpc-cni'), 'old plugin\n', { mode: 0o755 });
      // A temporary file left by an install that died half-way.
      writeFileSync(join(host, '.vpc-cni.tmp'), 'torn', { mode: 0o444 });
      chmodSync(join(host, '.vpc-cni.tmp'), 0o444);
      const before = statSync(join(host, 'vpc-cni')).ino;
      const local = script.replaceAll('/opt/vpc-cni/', `${image}/`).replaceAll('/host/opt/cni/bin', host);
      execFileSync('/bin/sh', ['-ec', local], { stdio: ['ignore', 'pipe', 'pipe'] });

      const installed = statSync(join(host, 'vpc-cni'));
      expect(readFileSync(join(host, 'vpc-cni'), 'utf8')).toBe('new plugin\n');
      expect(installed.mode & 0o777).toBe(0o755);
      // A new inode: the old file was replaced by a rename, never rewritten under a running plugin.
      expect(installed.ino).not.toBe(before);
      expect(readdirSync(host)).toEqual(['vpc-cni']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
