/**
 * The documentation as the docs tests read it: README.md (the landing page)
 * and the reference pages under docs/, with the few bits of Markdown the
 * tests need (table rows, sections, links, headings). Pure file reads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Page {
  /** Repository-relative, with forward slashes: `README.md`, `docs/configuration.md`. */
  path: string;
  text: string;
}

export function readPage(path: string): Page {
  return { path, text: readFileSync(`${repoRoot}${path}`, 'utf8') };
}

/** The README and every page under docs/, README first. */
export function documentationPages(): Page[] {
  const docs = readdirSync(`${repoRoot}docs`)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => readPage(`docs/${name}`));
  return [readPage('README.md'), ...docs];
}

/** The text without fenced code blocks, so that shell comments and sample output are not taken for Markdown. */
export function withoutCodeBlocks(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

/** The lines under the `## <title>` heading, up to the next heading of that level or higher. */
export function section(text: string, title: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line === `## ${title}`);
  if (start < 0) return '';
  const end = lines.findIndex((line, i) => i > start && /^#{1,2} /.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The table row whose first cell is exactly the backticked `name`. */
export function tableRow(text: string, name: string): string | undefined {
  return text.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
}

/** The backticked text of the first cell of every table row that starts with one. */
export function firstCells(text: string): string[] {
  return [...text.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1] ?? '');
}

/** Targets of inline Markdown links, `[text](target)`, outside code blocks. */
export function linkTargets(text: string): string[] {
  return [...withoutCodeBlocks(text).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
}

/**
 * The anchors GitHub gives a page's headings: lower case, punctuation other
 * than `-` and `_` dropped, spaces as `-`, repeats numbered `-1`, `-2`, ...
 */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutCodeBlocks(text).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (match[1] ?? '')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}
