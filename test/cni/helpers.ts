/**
 * Running the real plugin executable the way a runtime does (CNI_* env,
 * config on stdin, stdout and exit status back), against a fake ipamd: the
 * real API server (ipamd/api/server.ts) in front of a scripted IpamService,
 * behind a counting proxy so a test can tell that no request reached ipamd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostVethName } from '../../wire/names.ts';
import type {
  AddParams,
  AddResult,
  CheckParams,
  CheckResult,
  DelParams,
  GcParams,
  GcResult,
  IpamService,
  StatusResult,
} from '../../wire/protocol.ts';
import { IpamError } from '../../wire/errors.ts';
import { startApiServer, type ApiLogger, type ApiServer } from '../../ipamd/api/server.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PLUGIN = path.join(ROOT, 'dist/vpc-cni');

/** Build dist/vpc-cni with the npm script; throws with the build output when it fails. */
export function buildPlugin(): string {
  const result = spawnSync('npm', ['run', '-s', 'build:plugin'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (result.error || result.status !== 0) {
    throw new Error(`npm run build:plugin failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}\n${result.stderr}`);
  }
  return PLUGIN;
}

const quiet: ApiLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface Recorded {
  op: string;
  params: unknown;
}

/** A scripted ipamd: records every call; `failWith` makes an op throw an IpamError. */
export class FakeIpamd implements IpamService {
  readonly calls: Recorded[] = [];
  readonly failWith = new Map<string, IpamError>();
  status_: StatusResult = { ready: true, assigned: 0, available: 10 };
  mtu = 9001;
  checkAnswer: CheckResult | undefined;
  /** Every call waits this long before answering. */
  delayMs = 0;

  async #maybeFail(op: string): Promise<void> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const err = this.failWith.get(op);
    if (err) throw err;
  }

  async add(params: AddParams): Promise<AddResult> {
    this.calls.push({ op: 'add', params });
    await this.#maybeFail('add');
    const { network, containerId, ifName } = params.key;
    return {
      address: '10.0.16.5/32',
      ip: '10.0.16.5',
      interfaceId: 'eni-0a1b2c3d',
      deviceIndex: 1,
      mac: '02:00:0a:00:10:01',
      subnetCidr: '10.0.16.0/20',
      gateway: '10.0.16.1',
      hostInterface: { name: hostVethName(network, containerId, ifName), mac: '02:aa:00:00:00:01' },
      podInterface: { name: ifName, mac: '02:bb:00:00:00:02' },
      mtu: this.mtu,
      podGateway: '169.254.1.1',
    };
  }

  async del(params: DelParams): Promise<void> {
    this.calls.push({ op: 'del', params });
    await this.#maybeFail('del');
  }

  async check(params: CheckParams): Promise<CheckResult> {
    this.calls.push({ op: 'check', params });
    await this.#maybeFail('check');
    return this.checkAnswer ?? { address: params.expected?.address ?? '10.0.16.5/32', interfaceId: 'eni-0a1b2c3d' };
  }

  async status(): Promise<StatusResult> {
    this.calls.push({ op: 'status', params: {} });
    await this.#maybeFail('status');
    return this.status_;
  }

  async gc(params: GcParams): Promise<GcResult> {
    this.calls.push({ op: 'gc', params });
    await this.#maybeFail('gc');
    return { released: 0 };
  }
}

export interface Ipamd {
  dir: string;
  /** The socket the plugin is pointed at (the counting proxy). */
  socket: string;
  fake: FakeIpamd;
  /** Connections made to the socket so far. */
  connections(): number;
  close(): Promise<void>;
}

/** The real API server with a FakeIpamd behind it, fronted by a proxy that counts connections. */
export async function startFakeIpamd(): Promise<Ipamd> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'vpccni-'));
  const inner = path.join(dir, 'ipamd-inner.sock');
  const socket = path.join(dir, 'ipamd.sock');
  const fake = new FakeIpamd();
  const server: ApiServer = await startApiServer({ socketPath: inner, service: fake, logger: quiet });
  let count = 0;
  const proxy = net.createServer((client) => {
    count++;
    const upstream = net.connect(inner);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(socket, resolve));
  return {
    dir,
    socket,
    fake,
    connections: () => count,
    close: async () => {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await server.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed, when it is JSON. */
  json: Record<string, unknown> | undefined;
}

export interface RunOptions {
  /** The CNI_* variables (and anything else) of the call; nothing is inherited but PATH. */
  env: Record<string, string | undefined>;
  stdin?: string;
  /** Run inside this named network namespace (`ip netns exec`). */
  netns?: string;
  /** `bun`: the compiled dist/vpc-cni (default); `node`: cni/main.ts under Node with tsx, the development path. */
  runtime?: 'bun' | 'node';
}

export function runPlugin(opts: RunOptions): Promise<RunResult> {
  const env: Record<string, string> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
  const plugin = opts.runtime === 'node' ? [process.execPath, '--import', 'tsx', path.join(ROOT, 'cni/main.ts')] : [PLUGIN];
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...plugin] : plugin;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => {
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ status, stdout, stderr, json });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Run `ip` and insist it succeeds. */
export function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export function requireRoot(): void {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`these tests create network namespaces and must run as root (uid is ${uid})`);
}
