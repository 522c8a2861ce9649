/**
 * The layering rule of eslint.config.js fails a wrong arrow. By hand:
 * `npm run lint` reports import-x/no-restricted-paths on such a file.
 */
import { ESLint } from 'eslint';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function layeringErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${root}${file}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'import-x/no-restricted-paths').map((m) => m.message);
}

describe('the layering rule', () => {
  it.each([
    ['ipamd/probe.ts', "import { startEmulator } from '../emulator/cloud/emulator.ts';", 'daemon -> emulator'],
    ['ipamd/probe.ts', "import { add } from '../cni/commands.ts';", 'daemon -> plugin'],
    ['cni/probe.ts', "import { loadConfig } from '../ipamd/config/index.ts';", 'plugin -> daemon'],
    ['cni/probe.ts', "import { parseCidr } from '../lib/ipv4.ts';", 'plugin -> lib'],
    ['wire/probe.ts', "import type { PoolTargets } from '../ipamd/common/types.ts';", 'wire -> daemon'],
    ['providers/aws/probe.ts', "import type { PoolTargets } from '../../ipamd/common/types.ts';", 'adapter -> daemon'],
    ['emulator/cloud/probe.ts', "import { loadConfig } from '../../ipamd/config/index.ts';", 'emulator -> daemon'],
    ['emulator/cloud/probe.ts', "import { AwsProvider } from '../../providers/aws/provider.ts';", 'emulator -> adapter'],
    ['emulator/cloud/probe.ts', "import { startCluster } from '../cluster/cluster.ts';", 'cloud -> cluster'],
    ['lib/probe.ts', "import type { CloudName } from '../providers/contract.ts';", 'lib -> providers'],
  ])('%s: %s is refused (%s)', async (file, source) => {
    // The rule judges only imports that resolve: a probe of a moved file would pass for nothing.
    const target = /from '([^']+)'/.exec(source)?.[1] ?? '';
    expect(existsSync(join(root, dirname(file), target)), `${target} exists`).toBe(true);
    expect(await layeringErrors(file, `${source}\nexport {};\n`)).toHaveLength(1);
  });

  it.each([
    ['cni/probe.ts', "import type { AddResult } from '../wire/protocol.ts';"],
    ['ipamd/probe.ts', "import type { NodeProvider } from '../providers/contract.ts';"],
    ['emulator/cloud/probe.ts', "import { awsInstanceCatalog } from '../../providers/catalogs/catalog.ts';"],
    ['emulator/cluster/probe.ts', "import { startDaemon } from '../../ipamd/daemon.ts';"],
  ])('%s: %s is allowed', async (file, source) => {
    expect(await layeringErrors(file, `${source}\nexport {};\n`)).toEqual([]);
  });
});
