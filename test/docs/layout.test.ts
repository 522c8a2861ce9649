/**
 * The README's layout table matches the tree, and the documentation points
 * only at things that exist: relative links (and their #anchors), and the
 * repository paths it names in backticks. Pure file reads, no build.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentationPages, firstCells, headingAnchors, linkTargets, readPage, repoRoot, section, withoutCodeBlocks } from './pages.ts';

const readme = readPage('README.md');
const pages = documentationPages();

/** The folders the README's layout table lists, without their trailing slash. */
const listedFolders = firstCells(section(readme.text, 'Layout')).map((cell) => cell.replace(/\/$/, ''));

/** Top-level folders that .gitignore keeps out of the repository (node_modules/, dist/, ...). */
function ignoredTopLevelFolders(): Set<string> {
  const lines = readFileSync(`${repoRoot}.gitignore`, 'utf8').split('\n');
  return new Set(lines.map((line) => line.trim()).filter((line) => /^\/?[\w.-]+\/$/.test(line)).map((line) => line.replace(/^\/|\/$/g, '')));
}

function holdsTypeScript(dir: string): boolean {
  return readdirSync(dir, { withFileTypes: true }).some((entry) => (entry.isDirectory() ? holdsTypeScript(posix.join(dir, entry.name)) : entry.name.endsWith('.ts')));
}

/** Folders at the top of the repository that hold source (TypeScript), plus deploy/ and docs/; dot-folders (.git, .ci) and ignored ones are not source. */
function topLevelSourceFolders(): string[] {
  const ignored = ignoredTopLevelFolders();
  return readdirSync(repoRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !ignored.has(entry.name))
    .map((entry) => entry.name)
    .filter((name) => name === 'deploy' || name === 'docs' || holdsTypeScript(`${repoRoot}${name}`))
    .sort();
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

describe("the README's layout table", () => {
  it('lists folders', () => {
    expect(listedFolders.length).toBeGreaterThan(5);
  });

  it('lists every top-level source folder (itself or the folders in it)', () => {
    const unlisted = topLevelSourceFolders().filter((top) => !listedFolders.some((folder) => folder === top || folder.startsWith(`${top}/`)));
    expect(unlisted, 'top-level folders missing from the README layout table').toEqual([]);
  });

  it('lists only folders that exist', () => {
    expect(listedFolders.filter((folder) => !isDirectory(`${repoRoot}${folder}`))).toEqual([]);
  });
});

describe('the documentation', () => {
  it('links every docs page from the README', () => {
    const linked = new Set(linkTargets(readme.text).map((target) => target.split('#')[0]));
    const unlinked = pages.filter((page) => page.path !== readme.path && !linked.has(page.path)).map((page) => page.path);
    expect(unlinked).toEqual([]);
  });

  it.each(pages.map((page) => [page.path, page] as const))('%s: every relative link points at a file that exists (and a heading of it)', (_path, page) => {
    const broken: string[] = [];
    for (const target of linkTargets(page.text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto: ...
      const [file = '', anchor] = target.split('#');
      const resolved = file === '' ? page.path : posix.normalize(posix.join(posix.dirname(page.path), file));
      if (resolved.startsWith('..') || !existsSync(`${repoRoot}${resolved}`)) {
        broken.push(`${target}: no file ${resolved}`);
      } else if (anchor !== undefined && resolved.endsWith('.md') && !headingAnchors(readFileSync(`${repoRoot}${resolved}`, 'utf8')).has(anchor)) {
        broken.push(`${target}: no heading #${anchor} in ${resolved}`);
      }
    }
    expect(broken).toEqual([]);
  });

  /**
   * Paths such as `ipamd/pool/` or `providers/azure/errors.ts` in backticks,
   * outside code blocks: they must exist, so that a move cannot leave the
   * docs behind. Placeholders (`overlays/<cloud>/`) are skipped, and so is
   * the example of an operator's own overlay, which the deploy page has the
   * reader create.
   */
  const operatorsOwn = ['deploy/overlays/prod-aws'];
  it.each(pages.map((page) => [page.path, page] as const))('%s: every repository path it names exists', (_path, page) => {
    const tops = new Set(listedFolders.map((folder) => folder.split('/')[0]));
    const named = [...withoutCodeBlocks(page.text).matchAll(/`([\w.-]+\/[^`\s]*)`/g)].map((m) => m[1] ?? '');
    const missing = named
      .filter((path) => tops.has(path.split('/')[0]) && !/[<>*{}]/.test(path))
      .filter((path) => !operatorsOwn.some((own) => path.startsWith(own)))
      .filter((path) => !existsSync(`${repoRoot}${path}`));
    expect(missing).toEqual([]);
  });
});
