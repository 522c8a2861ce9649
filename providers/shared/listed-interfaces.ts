import { CloudError, unlessNotFound } from '../errors.ts';

/**
 * Reads each interface of a metadata listing (`network/interfaces/macs/`,
 * whose entries are `<mac>/`), all at once. An interface detached between the
 * listing and its own reads answers 404: it is gone, so it is skipped.
 */
export async function readListedInterfaces<T extends object>(entries: readonly string[], read: (mac: string) => Promise<T>): Promise<T[]> {
  const found: Array<T | undefined> = await Promise.all(entries.map((entry) => unlessNotFound(read(entry.replace(/\/$/, '')))));
  return found.filter((nic): nic is T => nic !== undefined);
}

/** The interface of the instance's primary MAC; a metadata service that does not list it is answering about another instance. */
export function primaryInterface<T extends { mac: string }>(interfaces: readonly T[], primaryMac: string, operation: string): T {
  const primary = interfaces.find((nic) => nic.mac === primaryMac.toLowerCase());
  if (!primary) throw new CloudError({ kind: 'not-found', code: 'MetadataNotFound', message: `primary MAC ${primaryMac} is not among the instance's interfaces`, operation });
  return primary;
}
