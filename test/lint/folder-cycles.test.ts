/**
 * No import cycle between folders: a folder's files may import a folder that
 * never imports them back, directly or through others. (The layering rule of
 * eslint.config.js holds the top-level arrows; this holds every folder.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sourceFolders = ['cni', 'wire', 'ipamd', 'providers', 'lib', 'emulator'];
const importSpecifier = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.\.?\/[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** folder -> the folders its files import */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFolders.flatMap(sourceFiles)) {
    for (const [, specifier = ''] of readFileSync(join(root, file), 'utf8').matchAll(importSpecifier)) {
      const from = dirname(file);
      const to = dirname(relative(root, normalize(join(root, from, specifier))));
      if (to !== from) graph.set(from, (graph.get(from) ?? new Set()).add(to));
    }
  }
  return graph;
}

/** One cycle through the graph, or undefined (depth-first, marking folders on the current path). */
function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const done = new Set<string>();
  const visit = (folder: string, path: string[]): string[] | undefined => {
    if (path.includes(folder)) return [...path.slice(path.indexOf(folder)), folder];
    if (done.has(folder)) return undefined;
    for (const next of graph.get(folder) ?? []) {
      const cycle = visit(next, [...path, folder]);
      if (cycle) return cycle;
    }
    done.add(folder);
    return undefined;
  };
  for (const folder of graph.keys()) {
    const cycle = visit(folder, []);
    if (cycle) return cycle;
  }
  return undefined;
}

it('finds a cycle when there is one', () => {
  const graph = new Map([
    ['a', new Set(['b'])],
    ['b', new Set(['c'])],
    ['c', new Set(['a'])],
  ]);
  expect(findCycle(graph)).toEqual(['a', 'b', 'c', 'a']);
});

it('no folder of the product or the emulator imports one that imports it back', () => {
  const graph = folderGraph();
  expect(graph.size).toBeGreaterThan(20);
  expect(findCycle(graph)?.join(' -> ')).toBeUndefined();
});
