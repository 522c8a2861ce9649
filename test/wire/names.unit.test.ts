import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONTAINER_ID_PATTERN, ifNameProblem } from '../../wire/identifiers.ts';
import { attachmentDigest, hostVethName, hostVethPrefix, isHostVethName } from '../../wire/names.ts';
import { pendingFileName } from '../../wire/pending-record.ts';

const key = { network: 'vpc-cni', containerId: 'c0ffee1234abcd', ifName: 'eth0' };
const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

describe('names derived from an attachment', () => {
  it('share one digest: sha1 of "network/containerId/ifName"', () => {
    const digest = sha1('vpc-cni/c0ffee1234abcd/eth0');
    expect(attachmentDigest(key)).toBe(digest);
    expect(hostVethName(key.network, key.containerId, key.ifName)).toBe(`vcni${digest.slice(0, 11)}`);
    expect(pendingFileName(key)).toBe(`${digest}.json`);
  });

  it('make host veth names that fit IFNAMSIZ, differ per attachment, and are recognised', () => {
    const names = new Set<string>();
    for (const ifName of ['eth0', 'net1']) {
      for (const containerId of ['a', 'b', 'c0ffee1234abcd']) {
        const name = hostVethName('vpc-cni', containerId, ifName);
        expect(name.startsWith(hostVethPrefix)).toBe(true);
        expect(Buffer.byteLength(name)).toBe(15);
        expect(ifNameProblem(name)).toBeUndefined();
        expect(isHostVethName(name), name).toBe(true);
        names.add(name);
      }
    }
    expect(names.size).toBe(6);
    for (const other of ['eth0', 'vcni', 'vcni0123456789', 'vcni0123456789ab', 'vcni0123456789A', 'xcni0123456789a', 'vcni0123456789a\n']) {
      expect(isHostVethName(other), JSON.stringify(other)).toBe(false);
    }
  });
});

describe('identifiers both sides accept', () => {
  it('container IDs: a letter or digit first, then [A-Za-z0-9_.-]', () => {
    for (const id of ['c0ffee', 'A_b.c-d', '9']) expect(CONTAINER_ID_PATTERN.test(id), id).toBe(true);
    for (const id of ['', '-x', '.x', '../x', 'a b', 'a/b', 'é']) expect(CONTAINER_ID_PATTERN.test(id), id).toBe(false);
  });

  it('interface names as the kernel takes them', () => {
    expect(ifNameProblem('eth0')).toBeUndefined();
    expect(ifNameProblem('x'.repeat(15))).toBeUndefined();
    expect(ifNameProblem('x'.repeat(16))).toBe('must be at most 15 bytes (IFNAMSIZ)');
    expect(ifNameProblem('é'.repeat(8))).toBe('must be at most 15 bytes (IFNAMSIZ)');
    expect(ifNameProblem('')).toBe('must not be empty');
    expect(ifNameProblem('..')).toBe('must not be ".."');
    expect(ifNameProblem('a/b')).toBe("must not contain '/'");
    expect(ifNameProblem('a:b')).toBe("must not contain ':'");
    expect(ifNameProblem('a b')).toBe('must not contain whitespace');
    expect(ifNameProblem('a\u0001')).toBe('must not contain control characters');
  });
});
