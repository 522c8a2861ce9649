/**
 * The plugin's pieces in-process: validation kept in step with ipamd's
 * server-side schemas, result conversion, prevResult reading, the pending
 * release file (and ipamd finishing it).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AddResult, DelParams } from '../../wire/protocol.ts';
import { pendingFileName } from '../../wire/pending-record.ts';
import { paramsSchemas } from '../../ipamd/api/validation.ts';
import { finishPendingReleases } from '../../ipamd/pending-releases.ts';
import { decodeConfig, parseConfig } from '../../cni/config.ts';
import { containerIdProblem, ifNameProblem, parseCniArgs, podFrom } from '../../cni/env.ts';
import { CniError, fromIpamd } from '../../cni/errors.ts';
import { IpamError } from '../../wire/errors.ts';
import { recordPendingRelease } from '../../cni/pending-release.ts';
import { addResult, expectedFromPrevResult } from '../../cni/result.ts';
import { fakeAddResult } from '../fakes/add-result.ts';
import { removeDir, tempDir } from '../fakes/temp-dir.ts';

const add = fakeAddResult();

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err.code;
    throw err;
  }
  return undefined;
}

describe('validation agrees with ipamd', () => {
  const names = ['eth0', 'net1', 'a', 'x'.repeat(15), 'x'.repeat(16), '', '.', '..', 'a/b', 'a:b', 'a b', 'a\tb', 'é'.repeat(8), 'e\u0001', '...'];
  it('on interface names', () => {
    for (const n of names) {
      const parsed = paramsSchemas.del.safeParse({ key: { network: 'vpc-cni', containerId: 'c0ffee', ifName: n } });
      expect(parsed.success, JSON.stringify(n)).toBe(ifNameProblem(n) === undefined);
    }
  });

  it('on container IDs and network names the plugin accepts', () => {
    const ids = ['c0ffee', 'A_b.c-d', '-x', '../x', '.x', '', 'a'.repeat(256), 'a'.repeat(257), 'a b', 'a/b'];
    for (const id of ids) {
      if (containerIdProblem(id)) continue;
      const parsed = paramsSchemas.del.safeParse({ key: { network: 'vpc-cni', containerId: id, ifName: 'eth0' } });
      expect(parsed.success, id).toBe(true);
    }
    for (const id of ['-x', '../x', '', 'a'.repeat(257)]) expect(containerIdProblem(id), id).toBeDefined();
    for (const name of ['vpc-cni', 'A.b_c-1', 'x'.repeat(128)]) {
      const conf = parseConfig(decodeConfig(JSON.stringify({ cniVersion: '1.0.0', name })));
      expect(paramsSchemas.gc.safeParse({ network: conf.name, validAttachments: [] }).success, name).toBe(true);
    }
  });
});

describe('ipamd errors as CNI codes', () => {
  it('ADD into a namespace that does not exist is 3 with ipamd\'s message; other not-found answers stay 101 or 102', () => {
    const missing = new IpamError('not-found', 'network namespace /var/run/netns/gone (CNI_NETNS) does not exist; no address was allocated');
    expect(fromIpamd(missing, 'add', '/s')).toMatchObject({ code: 3, message: missing.message });
    expect(fromIpamd(missing, 'check', '/s').code).toBe(101);
    expect(fromIpamd(new IpamError('invalid-request', 'container c already has interface eth0'), 'add', '/s')).toMatchObject({ code: 102, message: expect.stringContaining('already has interface eth0') });
  });
});

describe('CNI_ARGS', () => {
  it('reads K=V pairs, tolerates empty segments and "=" in values', () => {
    expect([...parseCniArgs('A=1;;B=x=y;')]).toStrictEqual([
      ['A', '1'],
      ['B', 'x=y'],
    ]);
    expect(parseCniArgs(undefined).size).toBe(0);
    expect(parseCniArgs('').size).toBe(0);
  });

  it('refuses a pair without a key or "=" with code 4', () => {
    for (const raw of ['A', 'A=1;B', '=1', 'IgnoreUnknown=1;x']) expect(codeOf(() => parseCniArgs(raw)), raw).toBe(4);
  });

  it('gives a pod only when namespace, name and uid are all there', () => {
    expect(podFrom({ CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u;Other=1' })).toStrictEqual({ namespace: 'ns', name: 'p', uid: 'u' });
    expect(podFrom({ CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p' })).toBeUndefined();
    expect(podFrom({ CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=' })).toBeUndefined();
    expect(codeOf(() => podFrom({ CNI_ARGS: `K8S_POD_NAMESPACE=${'n'.repeat(64)}` }))).toBe(4);
  });
});

describe('results', () => {
  it('converts an IPv6 address with version "6" and a ::/0 route', () => {
    const r = addResult('0.4.0', { ...add, address: 'fd00::5/128', podGateway: 'fe80::1' }, 'eth0', '/var/run/netns/x');
    expect(r.ips).toStrictEqual([{ version: '6', address: 'fd00::5/128', gateway: 'fe80::1', interface: 1 }]);
    expect(r.routes).toStrictEqual([{ dst: '::/0', gw: 'fe80::1' }]);
  });

  it('refuses an incomplete answer from ipamd with 102', () => {
    expect(codeOf(() => addResult('1.0.0', { ...add, hostInterface: undefined } as unknown as AddResult, 'eth0', '/n'))).toBe(102);
    expect(codeOf(() => addResult('1.0.0', { ...add, address: '10.0.16.5' }, 'eth0', '/n'))).toBe(102);
  });

  it('reads expected state from a chained prevResult', () => {
    // As bandwidth leaves it: an ifb device appended, without sandbox.
    const prev = {
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'vcni0123456789a', mac: '02:00:00:00:00:01' },
        { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/x' },
        { name: 'bwp1234', mac: '02:00:00:00:00:03' },
      ],
      ips: [{ address: '10.0.16.5/32', gateway: '169.254.1.1', interface: 1 }],
    };
    expect(expectedFromPrevResult(prev, 'eth0')).toStrictEqual({ address: '10.0.16.5/32', hostInterface: 'vcni0123456789a' });
    expect(codeOf(() => expectedFromPrevResult(prev, 'net1'))).toBeUndefined();
    expect(codeOf(() => expectedFromPrevResult({ ips: [] }, 'eth0'))).toBe(7);
  });
});

describe('pending release file', () => {
  it('is written atomically, 0600 in a 0700 directory, and rewritten by a repeated DEL', async () => {
    const root = await tempDir('vpccni-pending-');
    try {
      const dir = path.join(root, 'a', 'pending-del');
      const key = { network: 'vpc-cni', containerId: 'abc123', ifName: 'eth0' };
      const file = recordPendingRelease(dir, key, new Date('2030-01-02T03:04:05.000Z'));
      expect(path.basename(file)).toBe(pendingFileName(key));
      expect(pendingFileName(key)).toMatch(/^[0-9a-f]{40}\.json$/);
      expect(await fs.readFile(file, 'utf8')).toBe('{"network":"vpc-cni","containerId":"abc123","ifName":"eth0","at":"2030-01-02T03:04:05.000Z"}\n');
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
      expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
      recordPendingRelease(`${dir}/`, key, new Date('2030-01-02T03:04:06.000Z'));
      expect(await fs.readdir(dir)).toStrictEqual([pendingFileName(key)]);
      expect(JSON.parse(await fs.readFile(file, 'utf8')).at).toBe('2030-01-02T03:04:06.000Z');
    } finally {
      await removeDir(root);
    }
  });

  it('is finished by ipamd as a DEL of its key and removed; what is not a record is left in place', async () => {
    const dir = await tempDir('vpccni-pending-');
    try {
      const key = { network: 'vpc-cni', containerId: 'abc123', ifName: 'eth0' };
      const record = recordPendingRelease(dir, key);
      await fs.writeFile(path.join(dir, 'garbage.json'), 'not json');
      await fs.writeFile(path.join(dir, 'partial.json'), '{"network":"vpc-cni","containerId":"x"}\n');
      await fs.writeFile(path.join(dir, '.abc.1.tmp'), '{"network":"vpc-cni","containerId":"tmp","ifName":"eth0"}\n');
      const deleted: DelParams[] = [];
      const logged: Array<{ level: number; msg: string }> = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line) as { level: number; msg: string }) });
      const finished = await finishPendingReleases(dir, { del: async (params) => void deleted.push(params) }, logger);
      expect(finished).toBe(1);
      expect(deleted).toStrictEqual([{ key }]);
      expect((await fs.readdir(dir)).sort()).toStrictEqual(['.abc.1.tmp', 'garbage.json', 'partial.json']);
      expect(record.startsWith(dir)).toBe(true);
      expect(logged.map((entry) => entry.msg).sort()).toStrictEqual([
        'finished a release recorded while ipamd was down',
        'pending release without network, containerId and ifName left in place',
        'unreadable pending release left in place',
      ]);
    } finally {
      await removeDir(dir);
    }
  });
});
