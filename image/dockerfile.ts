/**
 * The facts of the Dockerfile that the offline recipe (image/build.ts) must
 * reproduce, read from its text: which source folders the build stage
 * copies, the final stage's base (and so its Node major), the Debian
 * packages it installs, the paths it removes, what it copies out of the
 * build stage and where, and its ENTRYPOINT, CMD and USER.
 *
 * The recipe is driven by these facts rather than restating them, so a new
 * source folder (a `COPY bin ./bin` line) or a changed entrypoint needs one
 * edit, in the Dockerfile; test/image/ checks that the built image matches.
 * Only the instructions this Dockerfile uses are understood: anything else
 * in the final stage is an error, so the recipe never silently drifts.
 */

export interface CopyFact {
  /** The stage copied from (`--from=`), or undefined for the build context. */
  from: string | undefined;
  /** Source paths as written (relative to the context or the stage's root). */
  sources: string[];
  /** The destination as written; a trailing slash means "into this directory". */
  destination: string;
}

export interface StageFacts {
  /** The image reference after FROM (platform flag removed). */
  base: string;
  name: string | undefined;
  workdir: string | undefined;
  copies: CopyFact[];
  runs: string[];
}

export interface DockerfileFacts {
  build: StageFacts;
  final: StageFacts;
  /** Node's major version in the final stage's base (node:<major>-slim). */
  nodeMajor: number;
  /** Debian packages the final stage installs with apt-get install. */
  aptPackages: string[];
  /** Absolute paths the final stage removes with rm -rf (globs kept as written). */
  removedPaths: string[];
  entrypoint: string[];
  cmd: string[];
  user: string;
}

interface Instruction {
  keyword: string;
  args: string;
}

/** Joins continuation lines and drops comments and blank lines. */
function instructions(text: string): Instruction[] {
  const joined: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    joined.push(current + line);
    current = '';
  }
  if (current !== '') joined.push(current);
  return joined.map((line) => {
    const match = /^\s*(\w+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`Dockerfile: cannot read the instruction "${line}"`);
    return { keyword: match[1]!.toUpperCase(), args: match[2]!.trim() };
  });
}

/** ENTRYPOINT/CMD in exec form: a JSON array of strings (the shell form would wrap it in sh -c). */
function execForm(keyword: string, args: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`Dockerfile: ${keyword} must be in exec form (a JSON array), got ${args}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new Error(`Dockerfile: ${keyword} must be a JSON array of strings`);
  return parsed;
}

function parseCopy(args: string): CopyFact {
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else throw new Error(`Dockerfile: COPY flag ${flag} is not understood by the offline recipe`);
  }
  if (words.length < 2) throw new Error(`Dockerfile: COPY needs a source and a destination: ${args}`);
  return { from, sources: words.slice(0, -1), destination: words.at(-1)! };
}

/** The commands of a RUN, split at && (each one a shell command line). */
function commands(run: string): string[][] {
  return run.split('&&').map((command) => command.trim().split(/\s+/));
}

export function parseDockerfile(text: string): DockerfileFacts {
  const stages: StageFacts[] = [];
  let entrypoint: string[] | undefined;
  let cmd: string[] | undefined;
  let user: string | undefined;
  for (const { keyword, args } of instructions(text)) {
    if (keyword === 'FROM') {
      const words = args.split(/\s+/).filter((word) => !word.startsWith('--platform='));
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({ base: words[0]!, name, workdir: undefined, copies: [], runs: [] });
      entrypoint = cmd = user = undefined;
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile: ${keyword} before FROM`);
    if (keyword === 'WORKDIR') stage.workdir = args;
    else if (keyword === 'COPY') stage.copies.push(parseCopy(args));
    else if (keyword === 'RUN') stage.runs.push(args);
    else if (keyword === 'ENTRYPOINT') entrypoint = execForm(keyword, args);
    else if (keyword === 'CMD') cmd = execForm(keyword, args);
    else if (keyword === 'USER') user = args;
    else throw new Error(`Dockerfile: ${keyword} is not understood by the offline recipe (image/dockerfile.ts): teach it, or the two recipes drift`);
  }
  const [build, final] = stages;
  if (stages.length !== 2 || !build || !final) throw new Error(`Dockerfile: expected a build stage and a final stage, found ${stages.length} stages`);
  const major = /^node:(\d+)(?:-[\w.-]+)?$/.exec(final.base)?.[1];
  if (!major) throw new Error(`Dockerfile: the final stage's base ${final.base} is not node:<major>[-variant]`);
  if (!entrypoint || !cmd || !user) throw new Error('Dockerfile: the final stage must set ENTRYPOINT, CMD and USER');

  const aptPackages: string[] = [];
  const removedPaths: string[] = [];
  for (const run of final.runs) {
    for (const words of commands(run)) {
      if (words[0] === 'apt-get' && words[1] === 'install') aptPackages.push(...words.slice(2).filter((word) => !word.startsWith('-')));
      else if (words[0] === 'rm') removedPaths.push(...words.slice(1).filter((word) => !word.startsWith('-') && !word.startsWith('/var/lib/apt')));
    }
  }
  return { build, final, nodeMajor: Number(major), aptPackages, removedPaths, entrypoint, cmd, user };
}

/** The source folders and files the build stage copies from the context (package.json, cni, wire, ...). */
export function buildContextSources(facts: DockerfileFacts): string[] {
  return facts.build.copies.filter((copy) => copy.from === undefined).flatMap((copy) => copy.sources);
}
