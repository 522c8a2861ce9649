/**
 * The compiled plugin (dist/vpc-cni, built here by `npm run build:plugin`)
 * exec'd as a runtime does, against a fake ipamd on a temporary socket.
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostVethName } from '../../wire/names.ts';
import { IpamError } from '../../wire/errors.ts';
import { buildPlugin, ip, PLUGIN, requireRoot, runPlugin, startProxiedIpamd, type ProxiedIpamd, type RunResult } from './helpers.ts';
import { describeStartup, measureStartup } from './startup.ts';

const NETWORK = 'vpc-cni';
const CONTAINER = 'c0ffee1234abcd';
const NETNS = '/var/run/netns/cni-7f1c2d3e';
const POD_UID = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
const CNI_ARGS = `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=${CONTAINER};K8S_POD_UID=${POD_UID}`;
const VETH = hostVethName(NETWORK, CONTAINER, 'eth0');
const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

let ipamd: ProxiedIpamd;

beforeAll(() => {
  buildPlugin();
}, 180_000);

beforeEach(async () => {
  ipamd = await startProxiedIpamd();
});

afterEach(async () => {
  await ipamd.close();
});

function env(command: string, over: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: CONTAINER,
    CNI_NETNS: NETNS,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS,
    ...over,
  };
}

function conf(over: Record<string, unknown> = {}): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: NETWORK, type: 'vpc-cni', ipamdSocket: ipamd.socket, ...over });
}

function expectCniError(r: RunResult, code: number, msg: RegExp): void {
  expect(r.status, r.stdout + r.stderr).not.toBe(0);
  expect(r.json, `stdout: ${r.stdout}`).toBeDefined();
  expect(r.json?.code, r.stdout).toBe(code);
  expect(typeof r.json?.cniVersion).toBe('string');
  expect(String(r.json?.msg)).toMatch(msg);
}

function sha1Name(containerId: string, ifName = 'eth0'): string {
  return `${createHash('sha1').update(`${NETWORK}/${containerId}/${ifName}`).digest('hex')}.json`;
}

describe('the executable', () => {
  it('carries no zod: the plugin loads only the plain wire contract, never the server validation', async () => {
    const bundle = await fs.readFile(PLUGIN);
    expect(bundle.includes('ZodError')).toBe(false);
  });
});

describe('VERSION', () => {
  it('answers in the caller cniVersion with every supported version', async () => {
    const r = await runPlugin({ env: { CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion":"0.4.0"}' });
    expect(r.status).toBe(0);
    expect(r.json).toStrictEqual({ cniVersion: '0.4.0', supportedVersions: [...VERSIONS] });
  });

  it('answers in the latest version without input or with a version it does not speak', async () => {
    for (const stdin of ['', '{"cniVersion":"0.2.0"}', 'not json']) {
      const r = await runPlugin({ env: { CNI_COMMAND: 'VERSION' }, stdin });
      expect(r.status).toBe(0);
      expect(r.json).toStrictEqual({ cniVersion: '1.1.0', supportedVersions: [...VERSIONS] });
    }
  });

  it('does not hang when stdin is never closed', async () => {
    const child = spawn(PLUGIN, [], { env: { CNI_COMMAND: 'VERSION' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.destroy();
    expect(status).toBe(0);
    expect(JSON.parse(out).cniVersion).toBe('1.1.0');
  });
});

describe('ADD', () => {
  for (const version of VERSIONS) {
    it(`returns the ${version} result shape`, async () => {
      const r = await runPlugin({ env: env('ADD'), stdin: conf({ cniVersion: version }) });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const legacy = version.startsWith('0.');
      const pod: Record<string, unknown> = { name: 'eth0', mac: '02:bb:00:00:00:02', sandbox: NETNS };
      if (version === '1.1.0') pod.mtu = 9001;
      const ipEntry: Record<string, unknown> = legacy
        ? { version: '4', address: '10.0.16.5/32', gateway: '169.254.1.1', interface: 1 }
        : { address: '10.0.16.5/32', gateway: '169.254.1.1', interface: 1 };
      expect(r.json).toStrictEqual({
        cniVersion: version,
        interfaces: [{ name: VETH, mac: '02:aa:00:00:00:01' }, pod],
        ips: [ipEntry],
        routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
        dns: {},
      });
    });
  }

  it('sends ipamd the key, the netns and the pod from CNI_ARGS', async () => {
    const r = await runPlugin({ env: env('ADD'), stdin: conf() });
    expect(r.status, r.stdout).toBe(0);
    expect(ipamd.fake.requests()).toStrictEqual([
      {
        op: 'add',
        params: {
          key: { network: NETWORK, containerId: CONTAINER, ifName: 'eth0' },
          netns: NETNS,
          pod: { namespace: 'default', name: 'web-0', uid: POD_UID },
        },
      },
    ]);
  });

  it('sends no pod when CNI_ARGS does not name one', async () => {
    const r = await runPlugin({ env: env('ADD', { CNI_ARGS: undefined }), stdin: conf() });
    expect(r.status, r.stdout).toBe(0);
    expect(ipamd.fake.calls[0]?.params).toStrictEqual({ key: { network: NETWORK, containerId: CONTAINER, ifName: 'eth0' }, netns: NETNS });
  });

  it('ignores keys it does not know, such as another CNI\'s ipam section', async () => {
    const extra = { ipam: { type: 'host-local', subnet: 'usePodCidr' }, log_level: 'info', capabilities: { portMappings: true }, runtimeConfig: { portMappings: [] } };
    const r = await runPlugin({ env: env('ADD'), stdin: conf(extra) });
    expect(r.status, r.stdout).toBe(0);
    expect(r.json?.ips).toStrictEqual([{ address: '10.0.16.5/32', gateway: '169.254.1.1', interface: 1 }]);
  });

  it('is 11 when ipamd is unreachable, naming the socket', async () => {
    const socket = path.join(ipamd.dir, 'nobody.sock');
    const r = await runPlugin({ env: env('ADD'), stdin: conf({ ipamdSocket: socket }) });
    expectCniError(r, 11, /ipamd is not reachable/);
    expect(r.stdout).toContain(socket);
  });

  it('is 11 when ipamd does not answer in time', async () => {
    ipamd.fake.delayMs = 3_000;
    const r = await runPlugin({ env: env('ADD'), stdin: conf({ timeoutMs: 300 }) });
    expectCniError(r, 11, /did not answer add within 300 ms/);
  });

  it('is 100 with the limit when addresses are exhausted', async () => {
    ipamd.fake.failWith.set('add', new IpamError('exhausted', 'all 3 interfaces are full and no more may be attached', 'max-eni'));
    const r = await runPlugin({ env: env('ADD'), stdin: conf() });
    expectCniError(r, 100, /^no address available: all 3 interfaces are full .*\(limit: max-eni\)$/);
    expect(String(r.json?.details)).toMatch(/MAX_ENI/);
  });

  it('does not repeat "no address available" when ipamd already says it', async () => {
    ipamd.fake.failWith.set('add', new IpamError('exhausted', 'no address available: the subnet is full', 'subnet-addresses'));
    const r = await runPlugin({ env: env('ADD'), stdin: conf() });
    expectCniError(r, 100, /^no address available: the subnet is full \(limit: subnet-addresses\)$/);
  });

  it('is 11 when ipamd is not ready or busy', async () => {
    for (const code of ['not-ready', 'busy'] as const) {
      ipamd.fake.failWith.set('add', new IpamError(code, `ipamd says ${code}`));
      const r = await runPlugin({ env: env('ADD'), stdin: conf() });
      expectCniError(r, 11, new RegExp(`try again later: ipamd says ${code}`));
    }
  });

  it('is 102 for other ipamd errors', async () => {
    ipamd.fake.failWith.set('add', new Error('boom'));
    const r = await runPlugin({ env: env('ADD'), stdin: conf() });
    expectCniError(r, 102, /ipamd refused add \(internal\)/);
  });

  it('is 3, naming the namespace, when ipamd finds no network namespace for an ADD', async () => {
    ipamd.fake.failWith.set('add', new IpamError('not-found', 'network namespace /var/run/netns/gone (CNI_NETNS) does not exist; no address was allocated'));
    const r = await runPlugin({ env: env('ADD'), stdin: conf() });
    expectCniError(r, 3, /^network namespace \/var\/run\/netns\/gone \(CNI_NETNS\) does not exist; no address was allocated$/);
  });
});

describe('bad input never reaches ipamd', () => {
  const long = 'a'.repeat(300);
  const cases: Array<{ what: string; env?: Record<string, string | undefined>; stdin?: (c: typeof conf) => string; code: number; msg: RegExp }> = [
    { what: 'no CNI_COMMAND', env: { CNI_COMMAND: undefined }, code: 4, msg: /CNI_COMMAND is not set/ },
    { what: 'unknown CNI_COMMAND', env: { CNI_COMMAND: 'REMOVE' }, code: 4, msg: /CNI_COMMAND "REMOVE" is not supported/ },
    { what: 'CNI_CONTAINERID ../x', env: { CNI_CONTAINERID: '../x' }, code: 4, msg: /CNI_CONTAINERID "\.\.\/x" is invalid/ },
    { what: 'CNI_CONTAINERID -x', env: { CNI_CONTAINERID: '-x' }, code: 4, msg: /CNI_CONTAINERID "-x" is invalid: it must start with a letter or digit/ },
    { what: 'CNI_CONTAINERID empty', env: { CNI_CONTAINERID: '' }, code: 4, msg: /CNI_CONTAINERID is not set/ },
    { what: 'CNI_CONTAINERID of 300 characters', env: { CNI_CONTAINERID: long }, code: 4, msg: /CNI_CONTAINERID .* at most 256 characters/ },
    { what: 'CNI_IFNAME a/b', env: { CNI_IFNAME: 'a/b' }, code: 4, msg: /CNI_IFNAME "a\/b" is not a valid interface name: it must not contain '\/'/ },
    { what: 'CNI_IFNAME of 16 characters', env: { CNI_IFNAME: 'eth0123456789abc' }, code: 4, msg: /CNI_IFNAME .* at most 15 bytes/ },
    { what: 'CNI_IFNAME ..', env: { CNI_IFNAME: '..' }, code: 4, msg: /CNI_IFNAME "\.\." is not a valid interface name/ },
    { what: 'CNI_IFNAME missing', env: { CNI_IFNAME: undefined }, code: 4, msg: /CNI_IFNAME is not set/ },
    { what: 'CNI_NETNS relative', env: { CNI_NETNS: 'var/run/netns/x' }, code: 4, msg: /CNI_NETNS "var\/run\/netns\/x" is invalid: it must be an absolute path/ },
    { what: 'CNI_NETNS missing on ADD', env: { CNI_NETNS: undefined }, code: 4, msg: /CNI_NETNS is not set/ },
    { what: 'CNI_ARGS pair without =', env: { CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME' }, code: 4, msg: /CNI_ARGS has an invalid pair "K8S_POD_NAME"/ },
    { what: 'CNI_ARGS bad pair despite IgnoreUnknown', env: { CNI_ARGS: 'IgnoreUnknown=1;garbage' }, code: 4, msg: /CNI_ARGS has an invalid pair "garbage"/ },
    { what: 'CNI_ARGS pod name with a space', env: { CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=web 0;K8S_POD_UID=${POD_UID}` }, code: 4, msg: /K8S_POD_NAME=.* visible ASCII/ },
    { what: 'stdin not JSON', stdin: () => '{"cniVersion": ', code: 6, msg: /not valid JSON/ },
    { what: 'stdin a JSON array', stdin: () => '[{"cniVersion":"1.0.0"}]', code: 6, msg: /must be a JSON object, got an array/ },
    { what: 'stdin empty', stdin: () => '', code: 6, msg: /no network configuration on stdin/ },
    { what: 'no name', stdin: (c) => c({ name: undefined }), code: 7, msg: /no "name"/ },
    { what: 'bad name', stdin: (c) => c({ name: 'my net' }), code: 7, msg: /"name" "my net" is not a valid network name/ },
    { what: 'no cniVersion', stdin: (c) => c({ cniVersion: undefined }), code: 7, msg: /no "cniVersion"/ },
    { what: 'cniVersion not a string', stdin: (c) => c({ cniVersion: 1 }), code: 7, msg: /"cniVersion" must be a string, got a number/ },
    { what: 'cniVersion 0.2.0', stdin: (c) => c({ cniVersion: '0.2.0' }), code: 1, msg: /incompatible CNI versions/ },
    { what: 'cniVersion 9.9.9', stdin: (c) => c({ cniVersion: '9.9.9' }), code: 1, msg: /incompatible CNI versions/ },
    { what: 'ipamdSocket a number', stdin: (c) => c({ ipamdSocket: 42 }), code: 7, msg: /"ipamdSocket" must be a string, got a number/ },
    { what: 'ipamdSocket relative', stdin: (c) => c({ ipamdSocket: 'ipamd.sock' }), code: 7, msg: /"ipamdSocket" must be an absolute path/ },
    { what: 'ipamdSocket too long', stdin: (c) => c({ ipamdSocket: `/${'s'.repeat(120)}` }), code: 7, msg: /"ipamdSocket" must be at most 107 bytes/ },
    { what: 'pendingDir an array', stdin: (c) => c({ pendingDir: [] }), code: 7, msg: /"pendingDir" must be a string, got an array/ },
    { what: 'timeoutMs a string', stdin: (c) => c({ timeoutMs: 'fast' }), code: 7, msg: /"timeoutMs" must be an integer/ },
    { what: 'prevResult a string', stdin: (c) => c({ prevResult: 'x' }), code: 7, msg: /"prevResult" must be an object, got a string/ },
    { what: 'runtimeConfig an array', stdin: (c) => c({ runtimeConfig: [] }), code: 7, msg: /"runtimeConfig" must be an object/ },
    { what: 'a requested MAC', stdin: (c) => c({ runtimeConfig: { mac: '02:00:00:00:00:99' } }), code: 2, msg: /unsupported field "runtimeConfig.mac"/ },
    { what: 'a requested IP', stdin: (c) => c({ runtimeConfig: { ips: ['10.0.0.9/32'] } }), code: 2, msg: /unsupported field "runtimeConfig.ips"/ },
    { what: 'CHECK without prevResult', env: { CNI_COMMAND: 'CHECK' }, code: 7, msg: /CHECK needs "prevResult"/ },
    { what: 'CHECK with a 0.3.1 config', env: { CNI_COMMAND: 'CHECK' }, stdin: (c) => c({ cniVersion: '0.3.1', prevResult: {} }), code: 1, msg: /does not allow CHECK/ },
    { what: 'CHECK with a prevResult without address', env: { CNI_COMMAND: 'CHECK' }, stdin: (c) => c({ prevResult: { interfaces: [], ips: [] } }), code: 7, msg: /"prevResult" lists no address/ },
    { what: 'STATUS with a 1.0.0 config', env: { CNI_COMMAND: 'STATUS' }, code: 1, msg: /does not allow STATUS/ },
    { what: 'GC without valid attachments', env: { CNI_COMMAND: 'GC' }, stdin: (c) => c({ cniVersion: '1.1.0' }), code: 7, msg: /GC needs "cni.dev\/valid-attachments"/ },
    {
      what: 'GC with a bad attachment',
      env: { CNI_COMMAND: 'GC' },
      stdin: (c) => c({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: '../etc', ifname: 'eth0' }] }),
      code: 7,
      msg: /"cni.dev\/valid-attachments"\[0\].containerID "..\/etc" is not a valid container ID/,
    },
    { what: 'DEL with a bad CNI_CONTAINERID', env: { CNI_COMMAND: 'DEL', CNI_CONTAINERID: '../x' }, code: 4, msg: /CNI_CONTAINERID/ },
  ];

  for (const c of cases) {
    it(`${c.what} -> ${c.code}`, async () => {
      const r = await runPlugin({ env: env('ADD', c.env), stdin: c.stdin ? c.stdin(conf) : conf() });
      expectCniError(r, c.code, c.msg);
      expect(ipamd.connections()).toBe(0);
      expect(ipamd.fake.requests()).toStrictEqual([]);
    });
  }

  it('an unsupported cniVersion lists the supported ones', async () => {
    const r = await runPlugin({ env: env('ADD'), stdin: conf({ cniVersion: '9.9.9' }) });
    expect(r.json?.details).toBe('config is "9.9.9", vpc-cni supports 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0');
  });
});

describe('DEL with ipamd up', () => {
  it('sends del with the key and netns, prints nothing', async () => {
    const r = await runPlugin({ env: env('DEL'), stdin: conf() });
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toBe('');
    expect(ipamd.fake.requests()).toStrictEqual([{ op: 'del', params: { key: { network: NETWORK, containerId: CONTAINER, ifName: 'eth0' }, netns: NETNS } }]);
  });

  it('succeeds twice, with an empty or dangling CNI_NETNS, and without prevResult or CNI_ARGS', async () => {
    for (const over of [{}, {}, { CNI_NETNS: '' }, { CNI_NETNS: '/var/run/netns/long-gone' }, { CNI_NETNS: undefined, CNI_ARGS: undefined }]) {
      const r = await runPlugin({ env: env('DEL', over), stdin: conf() });
      expect(r.status, r.stdout).toBe(0);
    }
    expect(ipamd.fake.calls.map((c) => (c.params as { netns?: string }).netns)).toStrictEqual([NETNS, NETNS, undefined, '/var/run/netns/long-gone', undefined]);
  });

  it('passes a prevResult by without needing it', async () => {
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: VETH }], ips: [{ address: '10.0.16.5/32', interface: 0 }] };
    const r = await runPlugin({ env: env('DEL'), stdin: conf({ prevResult }) });
    expect(r.status, r.stdout).toBe(0);
  });

  it('is 102 when ipamd fails the release itself', async () => {
    ipamd.fake.failWith.set('del', new IpamError('internal', 'data plane teardown failed'));
    const r = await runPlugin({ env: env('DEL'), stdin: conf() });
    expectCniError(r, 102, /ipamd refused del \(internal\): data plane teardown failed/);
  });
});

describe('DEL with ipamd away', () => {
  const ns = `vpccni-t${process.pid}`;
  let pendingDir: string;

  beforeAll(() => {
    requireRoot();
    spawnSync('ip', ['netns', 'del', ns]);
    ip(['netns', 'add', ns]);
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', ns]);
  });

  beforeEach(() => {
    pendingDir = path.join(ipamd.dir, 'state', 'pending-del');
  });

  function vethExists(name: string): boolean {
    return spawnSync('ip', ['-n', ns, 'link', 'show', 'dev', name]).status === 0;
  }

  async function readPending(containerId: string): Promise<{ record: Record<string, unknown>; fileMode: number; dirMode: number; files: string[] }> {
    const file = path.join(pendingDir, sha1Name(containerId));
    const record = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    return {
      record,
      fileMode: (await fs.stat(file)).mode & 0o777,
      dirMode: (await fs.stat(pendingDir)).mode & 0o777,
      files: await fs.readdir(pendingDir),
    };
  }

  it('removes the host veth, records the release durably, and exits 0; a second DEL too', async () => {
    ip(['-n', ns, 'link', 'add', VETH, 'type', 'veth', 'peer', 'name', 'podend0']);
    expect(vethExists(VETH)).toBe(true);
    const before = Date.now();
    const stdin = conf({ ipamdSocket: path.join(ipamd.dir, 'gone.sock'), pendingDir });

    const first = await runPlugin({ env: env('DEL'), stdin, netns: ns });
    expect(first.status, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toBe('');
    expect(first.stderr).toMatch(new RegExp(`deleted host veth ${VETH}`));
    expect(vethExists(VETH)).toBe(false);
    expect(vethExists('podend0')).toBe(false);

    const { record, fileMode, dirMode, files } = await readPending(CONTAINER);
    expect(Object.keys(record).sort()).toStrictEqual(['at', 'containerId', 'ifName', 'network']);
    expect(record).toMatchObject({ network: NETWORK, containerId: CONTAINER, ifName: 'eth0' });
    const at = Date.parse(String(record.at));
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(fileMode).toBe(0o600);
    expect(dirMode).toBe(0o700);
    expect(files).toStrictEqual([sha1Name(CONTAINER)]);

    const second = await runPlugin({ env: env('DEL', { CNI_NETNS: '' }), stdin, netns: ns });
    expect(second.status, second.stdout + second.stderr).toBe(0);
    expect(second.stderr).toMatch(/already gone/);
    expect((await readPending(CONTAINER)).files).toStrictEqual([sha1Name(CONTAINER)]);
    expect(ipamd.connections()).toBe(0);
  });

  it('falls back the same way when ipamd is not ready or times out', async () => {
    const cases: Array<[string, () => void, Record<string, unknown>]> = [
      ['c1notready', () => ipamd.fake.failWith.set('del', new IpamError('not-ready', 'starting')), {}],
      ['c2timeout', () => (ipamd.fake.delayMs = 3_000), { timeoutMs: 300 }],
    ];
    for (const [containerId, arrange, extra] of cases) {
      arrange();
      const r = await runPlugin({ env: env('DEL', { CNI_CONTAINERID: containerId }), stdin: conf({ pendingDir, ...extra }), netns: ns });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect((await readPending(containerId)).record).toMatchObject({ network: NETWORK, containerId, ifName: 'eth0' });
    }
  });

  it('fails with 5 when the release cannot be recorded', async () => {
    const blocker = path.join(ipamd.dir, 'a-file');
    await fs.writeFile(blocker, '');
    const r = await runPlugin({
      env: env('DEL'),
      stdin: conf({ ipamdSocket: path.join(ipamd.dir, 'gone.sock'), pendingDir: path.join(blocker, 'pending') }),
      netns: ns,
    });
    expectCniError(r, 5, /could not be recorded: cannot create .*a-file\/pending/);
  });
});

describe('CHECK', () => {
  const checkEnv = env('CHECK');

  it('sends the address and host interface of prevResult, for every version from 0.4.0', async () => {
    for (const version of ['0.4.0', '1.0.0', '1.1.0']) {
      const added = await runPlugin({ env: env('ADD'), stdin: conf({ cniVersion: version }) });
      expect(added.status).toBe(0);
      ipamd.fake.calls.length = 0;
      const r = await runPlugin({ env: checkEnv, stdin: conf({ cniVersion: version, prevResult: added.json }) });
      expect(r.status, r.stdout).toBe(0);
      expect(r.stdout).toBe('');
      expect(ipamd.fake.requests()).toStrictEqual([
        {
          op: 'check',
          params: {
            key: { network: NETWORK, containerId: CONTAINER, ifName: 'eth0' },
            netns: NETNS,
            expected: { address: '10.0.16.5/32', hostInterface: VETH },
          },
        },
      ]);
    }
  });

  it('is 101 when ipamd finds a difference or nothing', async () => {
    const added = await runPlugin({ env: env('ADD'), stdin: conf() });
    ipamd.fake.failWith.set('check', new IpamError('check-failed', `host veth ${VETH} is missing`));
    let r = await runPlugin({ env: checkEnv, stdin: conf({ prevResult: added.json }) });
    expectCniError(r, 101, new RegExp(`check failed: host veth ${VETH} is missing`));
    ipamd.fake.failWith.set('check', new IpamError('not-found', `no address for container ${CONTAINER}`));
    r = await runPlugin({ env: checkEnv, stdin: conf({ prevResult: added.json }) });
    expectCniError(r, 101, /check failed: no address for container/);
  });

  it('is 11 when ipamd is unreachable', async () => {
    const added = await runPlugin({ env: env('ADD'), stdin: conf() });
    const r = await runPlugin({ env: checkEnv, stdin: conf({ prevResult: added.json, ipamdSocket: '/nonexistent/ipamd.sock' }) });
    expectCniError(r, 11, /not reachable/);
  });
});

describe('STATUS', () => {
  const statusConf = (over: Record<string, unknown> = {}): string => conf({ cniVersion: '1.1.0', ...over });

  it('exits 0 and prints nothing when ipamd is ready', async () => {
    const r = await runPlugin({ env: { CNI_COMMAND: 'STATUS', CNI_PATH: '/opt/cni/bin' }, stdin: statusConf() });
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toBe('');
    expect(ipamd.fake.calls.map((c) => c.op)).toStrictEqual(['status']);
  });

  it('is 50 with the reason when ipamd is not ready', async () => {
    ipamd.fake.ready = false; // status answers 'pool not warmed yet'
    const r = await runPlugin({ env: { CNI_COMMAND: 'STATUS' }, stdin: statusConf() });
    expectCniError(r, 50, /^plugin not available: ipamd is not ready: pool not warmed yet$/);
  });

  it('is 50 when ipamd is unreachable', async () => {
    const r = await runPlugin({ env: { CNI_COMMAND: 'STATUS' }, stdin: statusConf({ ipamdSocket: path.join(ipamd.dir, 'gone.sock') }) });
    expectCniError(r, 50, /^plugin not available: ipamd is unreachable/);
  });
});

describe('GC', () => {
  it('sends the valid attachments of this network', async () => {
    const attachments = [
      { containerID: 'aaa111', ifname: 'eth0' },
      { containerID: 'bbb222', ifname: 'net1' },
    ];
    const r = await runPlugin({ env: { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, stdin: conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': attachments }) });
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toBe('');
    expect(ipamd.fake.requests()).toStrictEqual([
      {
        op: 'gc',
        params: {
          network: NETWORK,
          validAttachments: [
            { containerId: 'aaa111', ifName: 'eth0' },
            { containerId: 'bbb222', ifName: 'net1' },
          ],
        },
      },
    ]);
  });

  it('accepts the older key cni.dev/attachments and an empty list', async () => {
    const r = await runPlugin({ env: { CNI_COMMAND: 'GC' }, stdin: conf({ cniVersion: '1.1.0', 'cni.dev/attachments': [] }) });
    expect(r.status, r.stdout).toBe(0);
    expect(ipamd.fake.requests()).toStrictEqual([{ op: 'gc', params: { network: NETWORK, validAttachments: [] } }]);
  });
});

describe('the same answers under Node (callIpamd over node:net) as compiled (Bun.connect)', () => {
  async function both(opts: { env: Record<string, string | undefined>; stdin: string }): Promise<[RunResult, RunResult]> {
    const compiled = await runPlugin(opts);
    const node = await runPlugin({ ...opts, runtime: 'node' });
    return [compiled, node];
  }

  function same([compiled, node]: [RunResult, RunResult]): void {
    expect(node.status).toBe(compiled.status);
    expect(node.stdout).toBe(compiled.stdout);
  }

  it('for ADD, exhaustion, STATUS not ready, and an unreachable ipamd', async () => {
    same(await both({ env: env('ADD'), stdin: conf({ cniVersion: '1.1.0' }) }));
    ipamd.fake.failWith.set('add', new IpamError('exhausted', 'all 3 interfaces are full', 'max-eni'));
    same(await both({ env: env('ADD'), stdin: conf() }));
    ipamd.fake.ready = false; // status answers 'pool not warmed yet'
    same(await both({ env: { CNI_COMMAND: 'STATUS' }, stdin: conf({ cniVersion: '1.1.0' }) }));
    same(await both({ env: env('ADD'), stdin: conf({ ipamdSocket: path.join(ipamd.dir, 'gone.sock') }) }));
  }, 60_000);

  it('for an ipamd that hangs up without answering or answers garbage', async () => {
    for (const reply of ['', 'not json\n', '{"id":7,"ok":true,"result":{}}\n']) {
      const socket = path.join(ipamd.dir, 'rude.sock');
      const server = net.createServer((c) => c.once('data', () => (reply ? c.end(reply) : c.destroy())));
      await new Promise<void>((resolve) => server.listen(socket, resolve));
      try {
        const results = await both({ env: env('ADD'), stdin: conf({ ipamdSocket: socket }) });
        same(results);
        expectCniError(results[0], 11, /ipamd is not reachable, try again later: ipamd (closed the connection|sent an answer that is not JSON|sent a malformed answer)/);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  }, 60_000);

  it('for a GC list of 1000 attachments', async () => {
    const attachments = Array.from({ length: 1000 }, (_, i) => ({ containerID: `container${String(i).padStart(5, '0')}`, ifname: 'eth0' }));
    const [compiled] = await both({ env: { CNI_COMMAND: 'GC' }, stdin: conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': attachments }) });
    expect(compiled.status, compiled.stdout).toBe(0);
    expect(ipamd.fake.calls).toHaveLength(2);
    for (const call of ipamd.fake.calls) expect((call.params as { validAttachments: unknown[] }).validAttachments).toHaveLength(1000);
  }, 60_000);
});

describe('start-up', () => {
  it('prints the VERSION medians of vpc-cni, node -e 0 and ptp', () => {
    const figures = measureStartup(PLUGIN, 50);
    console.log(describeStartup(figures));
    expect(figures.vpcCni).toBeGreaterThan(0);
  }, 60_000);

  it('prints the median of a whole ADD and DEL against the fake ipamd', async () => {
    const times: Record<'ADD' | 'DEL', number[]> = { ADD: [], DEL: [] };
    for (let i = 0; i < 20; i++) {
      for (const command of ['ADD', 'DEL'] as const) {
        const start = performance.now();
        const r = await runPlugin({ env: env(command, { CNI_CONTAINERID: `bench${i}` }), stdin: conf() });
        times[command].push(performance.now() - start);
        expect(r.status).toBe(0);
      }
    }
    const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1] as number;
    console.log(`ADD median ${median(times.ADD).toFixed(1)} ms, DEL median ${median(times.DEL).toFixed(1)} ms (exec to exit, fake ipamd answering at once, 20 runs each)`);
  }, 60_000);
});
