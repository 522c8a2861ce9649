import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layering, stated once. Arrows run one way:
 *
 *   bin -> cni, lib                                  (the executable: plugin or netlink helper)
 *   cni -> wire <- ipamd -> providers -> lib
 *                    \---------------------^
 *   emulator/cloud -> providers/catalogs, lib        (a cloud: no daemon, no adapter)
 *   emulator/cluster -> everything above              (the only place daemon and emulator meet)
 *   test -> everything
 *
 * Each zone lists what its files must not import. A wrong arrow fails
 * `npm run lint`; test/lint/layering.test.ts shows that it does, by linting
 * a file that imports across a forbidden arrow.
 */
const ours = ['bin', 'cni', 'wire', 'ipamd', 'providers', 'lib', 'emulator', 'test'];
const except = (...allowed) => ours.filter((folder) => !allowed.includes(folder)).map((folder) => `./${folder}`);
export const layeringZones = [
  { target: './bin', from: except('bin', 'cni', 'lib'), message: 'The executable picks the plugin or the netlink helper: it imports only those.' },
  { target: './cni', from: except('cni', 'wire'), message: 'The plugin imports only the wire contract (it loads on every pod ADD).' },
  { target: './wire', from: except('wire'), message: 'The wire contract imports nothing of ours: both sides of the socket load it.' },
  { target: './ipamd', from: ['./cni', './emulator', './test'], message: 'The daemon never imports the plugin, the emulator or the tests.' },
  { target: './providers', from: ['./cni', './wire', './ipamd', './emulator', './test'], message: 'Providers see only the cloud: no daemon, plugin or emulator code.' },
  { target: './lib', from: except('lib'), message: 'lib/ is leaf code every side may use: it imports nothing of ours.' },
  {
    target: './emulator/cloud',
    from: ['./cni', './wire', './ipamd', './providers', './emulator/cluster', './test'],
    except: ['./catalogs'],
    message: 'The emulated cloud is a cloud: it imports no daemon, plugin or adapter code (only the instance catalogs and lib/).',
  },
  { target: './emulator/cluster', from: ['./test'], message: 'The emulated cluster does not import the tests.' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layeringZones }],
    },
  },
);
