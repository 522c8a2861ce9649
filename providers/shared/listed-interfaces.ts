import { unlessNotFound } from '../errors.ts';

/**
 * Reads each interface of a metadata listing (`network/interfaces/macs/`,
 * whose entries are `<mac>/`), all at once. An interface detached between the
 * listing and its own reads answers 404: it is gone, so it is skipped.
 */
export async function readListedInterfaces<T extends object>(entries: readonly string[], read: (mac: string) => Promise<T>): Promise<T[]> {
  const found: Array<T | undefined> = await Promise.all(entries.map((entry) => unlessNotFound(read(entry.replace(/\/$/, '')))));
  return found.filter((nic): nic is T => nic !== undefined);
}
