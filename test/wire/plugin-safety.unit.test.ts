/**
 * wire/ is loaded by the plugin on every pod ADD, so it stays plain: no zod,
 * no package at all, and the client pulls in nothing but node:net.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const wireDir = fileURLToPath(new URL('../../wire/', import.meta.url));

/** The specifiers a module imports at run time (type-only imports vanish when transpiled). */
async function runtimeImports(file: string): Promise<string[]> {
  const source = await fs.readFile(file, 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } }).outputText;
  return [...js.matchAll(/^\s*import\s[^;]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(/gm)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? 'require',
  );
}

/** What is outside wire/ among everything `file` loads at run time, following wire's own modules. */
async function externalClosure(file: string, seen = new Set<string>()): Promise<string[]> {
  if (seen.has(file)) return [];
  seen.add(file);
  const external: string[] = [];
  for (const specifier of await runtimeImports(file)) {
    if (specifier.startsWith('./')) external.push(...(await externalClosure(path.join(path.dirname(file), specifier), seen)));
    else external.push(specifier);
  }
  return [...new Set(external)].sort();
}

describe('the wire contract is plugin-safe', () => {
  it('imports only node: builtins and its own modules at run time (no zod, no package)', async () => {
    const files = (await fs.readdir(wireDir)).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      for (const specifier of await runtimeImports(path.join(wireDir, name))) {
        expect(specifier.startsWith('node:') || /^\.\/[a-z-]+\.ts$/.test(specifier), `${name} imports ${specifier}`).toBe(true);
      }
    }
  });

  it('gives the client nothing but node:net, and the answer reader and its error nothing at all', async () => {
    expect(await externalClosure(path.join(wireDir, 'client.ts'))).toEqual(['node:net']);
    for (const name of ['answer.ts', 'errors.ts', 'protocol.ts', 'identifiers.ts']) {
      expect(await externalClosure(path.join(wireDir, name)), name).toEqual([]);
    }
  });
});
