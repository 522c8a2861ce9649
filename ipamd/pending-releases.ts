import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isPendingFileName, parsePendingRelease } from '../wire/pending-record.ts';
import type { IpamService } from '../wire/protocol.ts';
import type { Logger } from './common/logger.ts';

/**
 * Finishes the releases the plugin recorded while ipamd was down (the record:
 * wire/pending-record.ts). Each is finished like a DEL (pod network torn
 * down, address released) and its file removed. A file that is not a record
 * is left for a person to look at, and logged.
 */
export async function finishPendingReleases(dir: string, service: Pick<IpamService, 'del'>, logger: Logger): Promise<number> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter(isPendingFileName);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let finished = 0;
  for (const name of names.sort()) {
    const path = join(dir, name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      logger.warn({ path, err: (err as Error).message }, 'unreadable pending release left in place');
      continue;
    }
    const parsed = parsePendingRelease(text);
    if (!parsed.ok) {
      if (parsed.problem === 'not-json') logger.warn({ path, err: parsed.message }, 'unreadable pending release left in place');
      else logger.warn({ path }, 'pending release without network, containerId and ifName left in place');
      continue;
    }
    const { network, containerId, ifName } = parsed.release;
    try {
      await service.del({ key: { network, containerId, ifName } }, { signal: new AbortController().signal });
      await rm(path, { force: true });
      finished++;
      logger.info({ network, containerId, ifName }, 'finished a release recorded while ipamd was down');
    } catch (err) {
      logger.warn({ path, err: (err as Error).message }, 'pending release failed; will retry');
    }
  }
  return finished;
}
