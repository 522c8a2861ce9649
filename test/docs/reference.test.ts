/**
 * The reference pages keep up with the code: every variable ipamd reads has
 * its row, with its default, in the configuration page's table, and every
 * command is documented in the README or a docs page.
 */
import { expect, it } from 'vitest';
import { configVariables } from '../../ipamd/config/index.ts';
import { documentationPages, readPage, tableRow } from './pages.ts';

it('documents every configuration variable ipamd reads, with its default', () => {
  const { path, text } = readPage('docs/configuration.md');
  for (const variable of configVariables) {
    const row = tableRow(text, variable.name);
    expect(row, `${path} row for ${variable.name}`).toBeDefined();
    if (variable.default !== '') expect(row).toContain(variable.default);
  }
});

it('documents every CLI command', () => {
  const documentation = documentationPages()
    .map((page) => page.text)
    .join('\n');
  for (const command of ['vpc-cni-ipamd run', 'vpc-cni-ipamd status', 'vpc-cni-ipamd max-pods', '`up`', '`sweep`', 'npm run bench', 'npm run build', 'npm run test:unit']) {
    expect(documentation, command).toContain(command);
  }
});
