/**
 * Fidelity is checked, not promised: every error code a face of the emulated
 * cloud can answer with (and every HTTP status a metadata service answers)
 * is listed in that face's table under docs/fidelity/, each row with its
 * source. The codes are read from the faces' model-code tables and from the
 * literals in their error constructors; the tables from the Markdown.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { armModelCodes, ipConfigurationLimitCode } from '../../../../emulator/cloud/faces/arm/errors.ts';
import { ec2ModelCodes } from '../../../../emulator/cloud/faces/ec2/errors.ts';
import { ecsModelCodes } from '../../../../emulator/cloud/faces/ecs/errors.ts';

const root = new URL('../../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** The TypeScript sources of one face folder, as one text. */
function faceSource(folder: string): string {
  const dir = `emulator/cloud/faces/${folder}/`;
  return readdirSync(new URL(dir, root))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => read(`${dir}${name}`))
    .join('\n');
}

/** Every first capture of `pattern` in `text`. */
function captures(text: string, pattern: RegExp): string[] {
  return [...text.matchAll(pattern)].map((match) => match[1] ?? '');
}

/** The rows of the Markdown tables of a page: cells trimmed, header and separator rows left out. */
function tableRows(page: string): string[][] {
  return page
    .split('\n')
    .filter((line) => line.trim().startsWith('|') && !/^\|[\s|:-]+\|$/.test(line.trim()))
    .map((line) =>
      line
        .trim()
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

/** What a page's tables list in backticks, in their first column. */
function listed(page: string): Set<string> {
  return new Set(tableRows(page).flatMap((cells) => captures(cells[0] ?? '', /`([^`]+)`/g)));
}

const faces = [
  {
    name: 'EC2',
    page: 'docs/fidelity/ec2.md',
    codes: (): string[] => [
      ...Object.values(ec2ModelCodes),
      ...captures(faceSource('ec2'), /(?:new QueryError\(|ec2Error\(requestId, )'([A-Za-z][\w.]*)'/g),
      ...captures(faceSource('ec2'), /readonly code: ((?:'[\w.]+'(?: \| )?)+)/g).flatMap((union) => captures(union, /'([\w.]+)'/g)),
    ],
  },
  {
    name: 'ARM',
    page: 'docs/fidelity/arm.md',
    codes: (): string[] => [...Object.values(armModelCodes).map((entry) => entry.code), ipConfigurationLimitCode, ...captures(faceSource('arm'), /new ArmError\(\s*\d+,\s*'([A-Za-z][\w.]*)'/g)],
  },
  {
    name: 'ECS',
    page: 'docs/fidelity/ecs.md',
    codes: (): string[] => [...Object.values(ecsModelCodes).map((entry) => entry.code), ...captures(faceSource('ecs'), /(?:new RpcError\(|refuse\(|fail\()'([A-Za-z][\w.]*)'/g)],
  },
];

describe('fidelity tables', () => {
  for (const face of faces) {
    it(`lists every error code the ${face.name} face can answer with (${face.page})`, () => {
      const codes = [...new Set(face.codes())].sort();
      // The extraction found the codes (a renamed constructor would silently find none).
      expect(codes.length).toBeGreaterThan(10);
      const table = listed(read(face.page));
      expect(codes.filter((code) => !table.has(code))).toEqual([]);
    });
  }

  it('lists every HTTP status the metadata services answer with (docs/fidelity/metadata.md)', () => {
    const statuses = [...new Set(captures(faceSource('metadata'), /(?:text|json)\((\d{3})/g))].sort();
    expect(statuses).toEqual(expect.arrayContaining(['200', '401', '404']));
    const table = listed(read('docs/fidelity/metadata.md'));
    expect(statuses.filter((status) => !table.has(status))).toEqual([]);
  });

  it('gives every row a source: a page (URL), a public log ("log: …"), or "chosen: …" where the docs are silent', () => {
    for (const page of ['docs/fidelity/ec2.md', 'docs/fidelity/arm.md', 'docs/fidelity/ecs.md', 'docs/fidelity/metadata.md']) {
      const text = read(page);
      // A page may name a linked reference once, "(below: *name*)", and cite it by that name.
      const named = captures(text, /\]\(https?:\/\/[^)]+\)\s*\(below: \*([^*]+)\*/g);
      for (const cells of tableRows(text)) {
        if (['Code', 'Action', 'State', 'Status', 'Rule', 'Path'].includes(cells[0] ?? '')) continue;
        const source = cells[cells.length - 1] ?? '';
        const cited = /https?:\/\/|log: |chosen: /.test(source) || named.some((name) => source.includes(name));
        expect(cited, `${page}: ${cells.join(' | ')}`).toBe(true);
      }
    }
  });
});
