import { describe, expect, it } from 'vitest';
import {
  formatPendingRelease,
  isPendingFileName,
  parsePendingRelease,
  pendingFileName,
  pendingTemporaryName,
} from '../../wire/pending-record.ts';

const key = { network: 'vpc-cni', containerId: 'abc123', ifName: 'eth0' };

describe('the pending-release record', () => {
  it('is one JSON line with the key and the time of the DEL', () => {
    expect(formatPendingRelease(key, new Date('2030-01-02T03:04:05.000Z'))).toBe(
      '{"network":"vpc-cni","containerId":"abc123","ifName":"eth0","at":"2030-01-02T03:04:05.000Z"}\n',
    );
  });

  it('reads back what is written', () => {
    const text = formatPendingRelease(key, new Date('2030-01-02T03:04:05.000Z'));
    expect(parsePendingRelease(text)).toStrictEqual({ ok: true, release: { ...key, at: '2030-01-02T03:04:05.000Z' } });
  });

  it('needs network, containerId and ifName as strings; `at` and other fields are not checked', () => {
    expect(parsePendingRelease('{"network":"n","containerId":"c","ifName":"eth0"}')).toStrictEqual({
      ok: true,
      release: { network: 'n', containerId: 'c', ifName: 'eth0' },
    });
    expect(parsePendingRelease('{"network":"n","containerId":"c","ifName":"eth0","at":5,"extra":true}')).toStrictEqual({
      ok: true,
      release: { network: 'n', containerId: 'c', ifName: 'eth0' },
    });
    for (const text of ['{"network":"n","containerId":"c"}', '{"network":"n","containerId":7,"ifName":"eth0"}', 'null', '[]', '"x"', '5']) {
      expect(parsePendingRelease(text), text).toMatchObject({ ok: false, problem: 'incomplete' });
    }
  });

  it('tells text that is not JSON apart, with the parser message', () => {
    const parsed = parsePendingRelease('{"network":');
    expect(parsed).toMatchObject({ ok: false, problem: 'not-json' });
    expect(parsed.ok ? '' : parsed.message).not.toBe('');
  });

  it('lives in <digest>.json; the temporary a writer renames from is never taken for a record', () => {
    expect(pendingFileName(key)).toMatch(/^[0-9a-f]{40}\.json$/);
    expect(isPendingFileName(pendingFileName(key))).toBe(true);
    const temporary = pendingTemporaryName(key, 4242);
    expect(temporary).toBe(`.${pendingFileName(key).slice(0, -'.json'.length)}.4242.tmp`);
    expect(isPendingFileName(temporary)).toBe(false);
  });
});
