import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { configVariables } from '../../ipamd/config.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

it('documents every configuration variable ipamd reads, with its default', () => {
  for (const variable of configVariables) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${variable.name}\` |`));
    expect(row, `README row for ${variable.name}`).toBeDefined();
    if (variable.default !== '') expect(row).toContain(variable.default);
  }
});

it('documents every CLI command', () => {
  for (const command of ['vpc-cni-ipamd run', 'vpc-cni-ipamd status', 'vpc-cni-ipamd max-pods', '`up`', '`sweep`', 'npm run bench', 'npm run build']) expect(readme).toContain(command);
});
