/**
 * The offline recipe reads the Dockerfile instead of restating it: these pin
 * what it reads, and that it refuses what it would not reproduce.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../image/cache.ts';
import { buildContextSources, parseDockerfile } from '../../image/dockerfile.ts';
import { nodePackage } from '../../image/recipe.ts';

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

const minimal = (final: string): string =>
  ['FROM node:26-slim AS build', 'WORKDIR /src', 'COPY package.json ./', 'RUN npm ci', 'RUN npm run build', 'FROM node:26-slim', final, 'ENTRYPOINT ["node", "/a.mjs"]', 'CMD ["run"]', 'USER root'].join('\n');

describe("the Dockerfile's facts", () => {
  const facts = parseDockerfile(dockerfile);

  it('names a build stage and a final stage on the Node major the recipe pins', () => {
    expect(facts.build.name).toBe('build');
    expect(facts.build.workdir).toBe('/src');
    expect(facts.nodeMajor).toBe(Number(nodePackage.version.split('.')[0]));
  });

  it('copies sources that exist into the build stage, and only build outputs into the final one', () => {
    const sources = buildContextSources(facts);
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'cni', 'ipamd']));
    for (const source of sources) expect(existsSync(join(repoRoot, source)), source).toBe(true);
    for (const copy of facts.final.copies) {
      expect(copy.from).toBe('build');
      for (const source of copy.sources) expect(source.startsWith('/src/dist/'), source).toBe(true);
    }
  });

  it('reads the packages installed and the paths removed from the RUN lines, apt lists aside', () => {
    expect(facts.aptPackages).toEqual(['iproute2', 'nftables']);
    expect(facts.removedPaths).toEqual(expect.arrayContaining(['/usr/local/bin/npm', '/usr/local/lib/node_modules', '/usr/local/include/node']));
    expect(facts.removedPaths.some((path) => path.startsWith('/var/lib/apt'))).toBe(false);
  });

  it('reads ENTRYPOINT and CMD in exec form, and USER', () => {
    expect(facts.entrypoint[0]).toBe('node');
    expect(facts.entrypoint.at(-1)).toBe('/opt/vpc-cni/ipamd.mjs');
    expect(facts.cmd).toEqual(['run']);
    expect(facts.user).toBe('root');
  });
});

describe('what the recipe refuses rather than silently drops', () => {
  it('an instruction it does not reproduce', () => {
    expect(() => parseDockerfile(minimal('ENV FOO=bar'))).toThrow(/ENV is not understood/);
    expect(() => parseDockerfile(minimal('ADD x /x'))).toThrow(/ADD is not understood/);
  });

  it('a COPY flag it does not reproduce', () => {
    expect(() => parseDockerfile(minimal('COPY --chown=1000 --from=build /src/dist/a.mjs /opt/'))).toThrow(/--chown/);
  });

  it('the shell form of ENTRYPOINT', () => {
    expect(() => parseDockerfile(minimal('').replace('ENTRYPOINT ["node", "/a.mjs"]', 'ENTRYPOINT node /a.mjs'))).toThrow(/exec form/);
  });

  it('a final base that is not node:<major>', () => {
    expect(() => parseDockerfile(minimal('').replace(/FROM node:26-slim\n(?!.*AS)/, 'FROM debian:bookworm-slim\n'))).toThrow(/not node:<major>/);
  });

  it('a missing USER, or a third stage', () => {
    expect(() => parseDockerfile(minimal('').replace('USER root', ''))).toThrow(/ENTRYPOINT, CMD and USER/);
    expect(() => parseDockerfile(`${minimal('')}\nFROM node:26-slim\nUSER root`)).toThrow(/2 stages|3 stages/);
  });

  it('joins continuation lines and skips comments', () => {
    const facts = parseDockerfile(minimal('# a comment\nRUN apt-get install -y \\\n  iproute2 \\\n  nftables && rm -rf /usr/local/bin/npm'));
    expect(facts.aptPackages).toEqual(['iproute2', 'nftables']);
    expect(facts.removedPaths).toEqual(['/usr/local/bin/npm']);
  });
});
