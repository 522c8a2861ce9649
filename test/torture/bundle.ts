/**
 * Bundles the torture's daemon child once per run, with the flags of the
 * product's `build` script (the .tsv loader, the embedded-data define, the
 * `require` shim), so that each of a thousand restarts starts a plain .mjs
 * instead of compiling TypeScript through tsx.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export async function bundleDaemonChild(outDir: string): Promise<string> {
  await build({
    entryPoints: { 'ipamd-torture-child': fileURLToPath(new URL('./daemon-child.ts', import.meta.url)) },
    outdir: outDir,
    // Split like the product: each cloud's SDK is its own chunk, loaded only by a node in that cloud.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    minify: true,
    keepNames: true,
    sourcemap: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    loader: { '.tsv': 'text' },
    define: { 'import.meta.vpcCniEmbeddedData': 'true' },
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return join(outDir, 'ipamd-torture-child.mjs');
}
