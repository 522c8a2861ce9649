import type { CloudName } from '../../../../providers/contract.ts';
import { cloudNames } from '../../../../emulator/cluster/clouds.ts';

/**
 * The clouds the end-to-end suites run against: all of them unless E2E_CLOUDS
 * (comma-separated) narrows it down while working on one.
 */
function selected(raw: string | undefined): CloudName[] {
  if (!raw) return cloudNames;
  const wanted = raw.split(',').map((name) => name.trim());
  const unknown = wanted.filter((name) => !(cloudNames as string[]).includes(name));
  if (unknown.length > 0) throw new Error(`E2E_CLOUDS names unknown clouds: ${unknown.join(', ')} (known: ${cloudNames.join(', ')})`);
  return wanted as CloudName[];
}

export const e2eClouds = selected(process.env.E2E_CLOUDS);
