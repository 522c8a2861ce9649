/**
 * `npm run bench`: the project's speed and memory figures, each read against
 * a reference measured in the same run (these machines are noisy).
 */
import { benchEmulatorThroughput, printThroughput } from './emulator-throughput.ts';
import { benchIpamd } from './ipamd.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const only = process.argv[2];
const suites: Record<string, () => Promise<void>> = {
  emulator: async () => printThroughput(await benchEmulatorThroughput()),
  ipamd: benchIpamd,
  cni: async () => (await import('./cni.ts')).benchCni(),
  'security-groups': async () => (await import('./security-groups.ts')).benchSecurityGroups(),
};

for (const [name, suite] of Object.entries(suites)) {
  if (only && only !== name) continue;
  await suite();
}
