/**
 * Renders deploy/overlays/<cloud> with `kubectl kustomize`, exactly as an
 * operator would, and parses the output into objects.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { configVariables } from '../../ipamd/config/index.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const overlays = ['aws', 'azure', 'alibaba'] as const;
export type Overlay = (typeof overlays)[number];

/** What every rendered object has; the rest is checked against the Kubernetes schemas. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function isRenderedObject(value: unknown): value is RenderedObject {
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Record<string, unknown>;
  const metadata = o.metadata as Record<string, unknown> | undefined;
  return typeof o.apiVersion === 'string' && typeof o.kind === 'string' && typeof metadata?.name === 'string';
}

/** Parses a multi-document YAML text; every document must be a Kubernetes object. */
export function parseObjects(text: string, source: string): RenderedObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as unknown;
    })
    .filter((value) => value !== null)
    .map((value) => {
      if (!isRenderedObject(value)) throw new Error(`${source}: a document is not a Kubernetes object (apiVersion, kind, metadata.name): ${JSON.stringify(value).slice(0, 200)}`);
      return value;
    });
}

/** `kubectl kustomize deploy/overlays/<overlay>`; fails loudly when kubectl is missing or the render fails. */
export function render(overlay: Overlay): RenderedObject[] {
  return renderDirectory(`deploy/overlays/${overlay}`, repoRoot);
}

/** `kubectl kustomize <dir>` run in `cwd`. */
export function renderDirectory(dir: string, cwd: string): RenderedObject[] {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', dir], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error("kubectl is not on PATH: the deploy tests render the overlays with `kubectl kustomize`. Install it (bash test/host-setup.sh installs Debian's kubernetes-client).");
    }
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr?.trim() || e.message}`);
  }
  return parseObjects(text, dir);
}

export function readRepoFile(path: string): string {
  return readFileSync(new URL(path, new URL('../../', import.meta.url)), 'utf8');
}

/** ipamd's default for a configuration variable, as config.ts documents it. */
export function configDefault(name: string): string {
  const variable = configVariables.find((v) => v.name === name);
  if (!variable) throw new Error(`${name} is not an ipamd configuration variable`);
  return variable.default;
}

/** The port of a host:port default such as `127.0.0.1:61679`. */
export function portOf(bindAddress: string): number {
  const match = /:(\d+)$/.exec(bindAddress);
  if (!match?.[1]) throw new Error(`no port in ${bindAddress}`);
  return Number(match[1]);
}
