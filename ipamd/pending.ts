import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { IpamService } from '../wire/protocol.ts';
import type { Logger } from './logger.ts';

/**
 * Releases the plugin recorded while ipamd was down: one JSON file per
 * attachment, `{network, containerId, ifName, at}`, written atomically by
 * the plugin's DEL. Each is finished like a DEL (pod network torn down,
 * address released) and its file removed. A file that cannot be read is
 * left for a person to look at, and logged.
 */
export async function finishPendingReleases(dir: string, service: Pick<IpamService, 'del'>, logger: Logger): Promise<number> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let finished = 0;
  for (const name of names.sort()) {
    const path = join(dir, name);
    let record: { network?: unknown; containerId?: unknown; ifName?: unknown };
    try {
      record = JSON.parse(await readFile(path, 'utf8')) as typeof record;
    } catch (err) {
      logger.warn({ path, err: (err as Error).message }, 'unreadable pending release left in place');
      continue;
    }
    const { network, containerId, ifName } = record;
    if (typeof network !== 'string' || typeof containerId !== 'string' || typeof ifName !== 'string') {
      logger.warn({ path }, 'pending release without network, containerId and ifName left in place');
      continue;
    }
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
