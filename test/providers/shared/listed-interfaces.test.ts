import { describe, expect, it } from 'vitest';
import { CloudError } from '../../../providers/errors.ts';
import { readListedInterfaces } from '../../../providers/shared/listed-interfaces.ts';

describe('readListedInterfaces', () => {
  it('reads each listed MAC without its slash, and skips one detached meanwhile', async () => {
    const read = async (mac: string): Promise<{ mac: string }> => {
      if (mac === '0a:02') throw new CloudError({ kind: 'not-found', code: 'MetadataNotFound', message: 'gone' });
      return { mac };
    };
    expect(await readListedInterfaces(['0a:01/', '0a:02/', '0a:03'], read)).toEqual([{ mac: '0a:01' }, { mac: '0a:03' }]);
  });

  it('fails on any other error', async () => {
    const unavailable = new CloudError({ kind: 'transient', code: 'MetadataUnavailable', message: 'down' });
    await expect(readListedInterfaces(['0a:01/'], () => Promise.reject(unavailable))).rejects.toBe(unavailable);
  });
});
