/**
 * The build's cache under node_modules/.cache/vpc-cni-image: each product
 * (Node's package, the Debian base, the built dist/, the image archive) sits
 * in a directory named by the hash of its inputs, written under a temporary
 * name and renamed when complete, so a killed build never leaves a product
 * that looks finished. A lock directory keeps two builds (two test workers)
 * from doing the same work at once.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const cacheRoot = process.env.VPC_CNI_IMAGE_CACHE ?? join(repoRoot, 'node_modules', '.cache', 'vpc-cni-image');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A hash of strings and files (paths under the repository, folders walked in name order). */
export function hashInputs(parts: { text?: string[]; paths?: string[] }): string {
  const hash = createHash('sha256');
  for (const text of parts.text ?? []) hash.update(`text\0${text}\0`);
  const files: string[] = [];
  const walk = (path: string): void => {
    if (!existsSync(path)) throw new Error(`image input ${relative(repoRoot, path)} does not exist`);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path).sort()) walk(join(path, entry));
    else files.push(path);
  };
  for (const path of parts.paths ?? []) walk(join(repoRoot, path));
  for (const file of files) {
    const mode = statSync(file).mode & 0o111 ? 'x' : '-';
    hash.update(`file\0${relative(repoRoot, file)}\0${mode}\0`).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Holds `<dir>.lock` while `work` runs; a lock whose owner died is taken over. */
export async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  await mkdir(join(lock, '..'), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
      if (owner > 0 && !alive(owner)) await rm(lock, { recursive: true, force: true });
      else await sleep(500);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The cached product in `dir`, made by `make(tmp)` into a fresh temporary
 * directory when absent. Returns whether it was already there.
 */
export async function cached(dir: string, make: (tmp: string) => Promise<void>): Promise<boolean> {
  if (existsSync(dir)) return true;
  const made = await withLock(dir, async () => {
    if (existsSync(dir)) return true;
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      await make(tmp);
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return false;
  });
  await prune(dir);
  return made;
}

/** Products kept per kind besides the newest: the previous one, for a run that started before the inputs changed. */
const keptPrevious = 1;

/**
 * Drops what a killed build left (temporary directories and locks of dead
 * processes) and all but the newest products of a kind: each is hundreds of
 * MB, and every commit and source edit makes a new one.
 */
async function prune(current: string): Promise<void> {
  const parent = dirname(current);
  const products: Array<{ path: string; mtimeMs: number }> = [];
  for (const entry of await readdir(parent)) {
    const path = join(parent, entry);
    const owner = /\.tmp-(\d+)$/.exec(entry)?.[1];
    if (owner !== undefined) {
      if (!alive(Number(owner))) await rm(path, { recursive: true, force: true });
    } else if (entry.endsWith('.lock')) {
      const pid = Number(await readFile(join(path, 'pid'), 'utf8').catch(() => '0'));
      if (pid > 0 && !alive(pid)) await rm(path, { recursive: true, force: true });
    } else if (path !== current) {
      products.push({ path, mtimeMs: (await stat(path)).mtimeMs });
    }
  }
  products.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const stale of products.slice(keptPrevious)) await rm(stale.path, { recursive: true, force: true });
}
