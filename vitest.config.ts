import { defineConfig } from 'vitest/config';

/**
 * Pure logic: no root, no namespaces, no child processes, no dist/. These run
 * without the build (`npm run test:unit`, a few seconds); everything else is
 * the integration project, which builds what it execs first.
 */
export const unitTests = [
  'test/wire/**/*.unit.test.ts',
  'test/cni/units.test.ts',
  'test/ipamd/pool/**/*.test.ts',
  'test/ipamd/config/**/*.test.ts',
  'test/ipamd/cloud/**/*.test.ts',
  'test/ipamd/api/keyed-lock.test.ts',
  'test/providers/*/errors.test.ts',
  'test/providers/shared/**/*.test.ts',
  'test/providers/catalogs/**/*.test.ts',
  'test/emulator/cloud/model/**/*.test.ts',
  'test/emulator/cloud/realism/**/*.test.ts',
  'test/emulator/cloud/faces/ec2-query.test.ts',
  'test/emulator/cloud/faces/fidelity.test.ts',
  'test/emulator/cloud/pipeline.test.ts',
  'test/lib/**/*.test.ts',
  'test/docs/**/*.test.ts',
  'test/lint/folder-cycles.test.ts',
  'test/torture/**/*.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only add contention for the namespace tests.
    maxWorkers: 2,
    env: {
      // The SDK warns about Node 20 on every client; the lock file pins a version that supports it.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    projects: [
      { extends: true, test: { name: 'unit', include: unitTests } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: unitTests, globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
