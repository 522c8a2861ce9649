/**
 * Running the real plugin executable the way a runtime does (CNI_* env,
 * config on stdin, stdout and exit status back), against a fake ipamd: the
 * real API server in front of the fake service of test/fakes, behind a
 * counting proxy so a test can tell that no request reached ipamd.
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeIpamd } from '../fakes/ipamd.ts';
import type { FakeIpamService } from '../fakes/ipam-service.ts';

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

export interface ProxiedIpamd {
  /** The fake's directory: tests put sockets and state of their own here. */
  dir: string;
  /** The socket the plugin is pointed at (the counting proxy). */
  socket: string;
  fake: FakeIpamService;
  /** Connections made to the socket so far. */
  connections(): number;
  close(): Promise<void>;
}

/** The fake ipamd (test/fakes), fronted by a proxy that counts connections. */
export async function startProxiedIpamd(): Promise<ProxiedIpamd> {
  const ipamd = await startFakeIpamd();
  const socket = path.join(ipamd.dir, 'ipamd-proxy.sock');
  let count = 0;
  const proxy = net.createServer((client) => {
    count++;
    const upstream = net.connect(ipamd.socketPath);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(socket, resolve));
  return {
    dir: ipamd.dir,
    socket,
    fake: ipamd.service,
    connections: () => count,
    close: async () => {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await ipamd.close();
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
