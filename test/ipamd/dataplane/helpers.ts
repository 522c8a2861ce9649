import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach } from 'vitest';
import type { PodAttachment, PodLinks } from '../../../ipamd/dataplane/types.ts';

/**
 * A lab for the pod data plane, entirely in network namespaces this file
 * creates (names `pn-<pid>-<random>-<role>`):
 *
 *   pod namespaces  --veths made by the code under test-->  host  --eth0--> out (o0)
 *                                                                 --eth1--> out (o1)
 *
 * "host" plays the node: the code under test runs there in a child process
 * (fixtures/agent.ts). eth0 is the primary ENI (10.0.0.10/24, default route),
 * eth1 a secondary ENI at device index 1 (10.0.1.10/24, table 2, configured
 * like ipamd/dataplane/host-network.ts does). "out" plays the VPC router and the world beyond:
 * strict reverse-path filtering on its ports is the VPC's source/destination
 * check (pods of eth0 live in 10.0.0.128/25, of eth1 in 10.0.1.128/25), and
 * it holds an address outside the VPC (198.51.100.7) and one inside
 * (10.0.200.7), both reachable over eth0 and eth1.
 *
 * The tests need root and fail (never skip) without it.
 */

export const vpcCidr = '10.0.0.0/16';
export const primaryIp = '10.0.0.10';
export const outsideAddress = '198.51.100.7';
export const insideAddress = '10.0.200.7';
export const primaryPodIp = (i: number): string => `10.0.0.${130 + i}`;
export const secondaryPodIp = (i: number): string => `10.0.1.${130 + i}`;

export function requireRoot(): void {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`pod data-plane tests must run as root (uid is ${uid})`);
  for (const [tool, flag] of [['ip', '-V'], ['nft', '-v'], ['ping', '-V']] as const) {
    const probe = spawnSync(tool, [flag]);
    if (probe.error || probe.status !== 0) throw new Error(`pod data-plane tests need ${tool}: ${probe.error?.message ?? String(probe.stderr)}`);
  }
}

export function sh(argv: string[], input?: string): string {
  const [file = '', ...args] = argv;
  const result = spawnSync(file, args, { input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')}: ${result.error?.message ?? ''}${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Runs a command inside a named namespace, async (so many can run at once). */
export function inNs(ns: string, argv: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function inNsOk(ns: string, argv: string[]): Promise<string> {
  const result = await inNs(ns, argv);
  if (result.code !== 0) throw new Error(`${argv.join(' ')} in ${ns}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

export function ipJson<T>(ns: string, args: string[]): T {
  return JSON.parse(sh(['ip', '-n', ns, '-j', ...args]).trim() || '[]') as T;
}

interface Answer {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
  reason?: string;
  ms: number;
}

export class AgentError extends Error {
  constructor(
    message: string,
    readonly reason: string | undefined,
  ) {
    super(message);
  }
}

export type LinkOpsKind = 'ip' | 'netlink';
/** Both ways ipamd can change pod links: tests of the pod network run with each. */
export const linkOpsKinds: LinkOpsKind[] = ['ip', 'netlink'];
/** The executable the integration set-up builds (global-setup.ts): the netlink helper. */
export const builtPlugin = new URL('../../../dist/vpc-cni', import.meta.url).pathname;

/** The code under test, running in the host namespace (fixtures/agent.ts). */
export class Agent {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private stderr = '';

  private constructor(readonly child: ChildProcess) {}

  /** `env`: the agent's environment (default ours), e.g. a PATH putting a wrapper in front of a program. */
  static async start(hostNs: string, env: NodeJS.ProcessEnv = process.env): Promise<Agent> {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const script = new URL('./fixtures/agent.ts', import.meta.url).pathname;
    const child = spawn('ip', ['netns', 'exec', hostNs, process.execPath, '--import', tsx, script], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const agent = new Agent(child);
    child.stderr?.on('data', (chunk: Buffer) => (agent.stderr += chunk.toString()));
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`agent exited (${code}): ${agent.stderr}`)));
      child.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          const message = JSON.parse(line) as Answer & { ready?: boolean };
          if (message.ready) resolve();
          else agent.waiting.get(message.id)?.(message);
        }
      });
    });
    return agent;
  }

  /** Calls a method; resolves with its value and the time it took in the agent. */
  async timed<T>(method: string, arg?: unknown): Promise<{ value: T; ms: number }> {
    const id = this.nextId++;
    const answer = await new Promise<Answer>((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin?.write(`${JSON.stringify({ id, method, arg })}\n`);
    });
    this.waiting.delete(id);
    if (!answer.ok) throw new AgentError(answer.error ?? 'failed', answer.reason);
    return { value: answer.value as T, ms: answer.ms };
  }

  async call<T>(method: string, arg?: unknown): Promise<T> {
    return (await this.timed<T>(method, arg)).value;
  }

  setUp(a: PodAttachment): Promise<PodLinks> {
    return this.call<PodLinks>('setUp', a);
  }

  tearDown(a: { network: string; containerId: string; ifName: string; ip?: string; netns?: string }): Promise<void> {
    return this.call<void>('tearDown', a);
  }

  verify(a: PodAttachment & { hostInterface?: string }): Promise<string[]> {
    return this.call<string[]>('verify', a);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Deletes namespaces left by a test process that died without cleaning up. */
export function sweepStaleLabs(): void {
  for (const name of readdirSync('/var/run/netns')) {
    const match = /^pn-(\d+)-/.exec(name);
    if (match && !pidAlive(Number(match[1]))) spawnSync('ip', ['netns', 'del', name]);
  }
}

export class Lab {
  readonly prefix = `pn-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly host = `${this.prefix}-host`;
  readonly out = `${this.prefix}-out`;
  agent: Agent | undefined;
  private readonly children: ChildProcess[] = [];
  private readonly namespaces: string[] = [];

  addNamespace(role: string): string {
    const name = `${this.prefix}-${role}`;
    sh(['ip', 'netns', 'add', name]);
    this.namespaces.push(name);
    return name;
  }

  /**
   * Host and outside namespaces wired as in the file comment; starts the
   * agent in host, its pod links through `linkOps` (ip execs, or the netlink
   * helper of the built dist/vpc-cni, as ipamd runs it).
   */
  async build(options: { linkOps?: LinkOpsKind } = {}): Promise<Agent> {
    this.addNamespace('host');
    this.addNamespace('out');
    const h = this.host;
    const o = this.out;
    const run = (ns: string, lines: string[]): void => void sh(['ip', '-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
    run(h, [
      'link set lo up',
      `link add eth0 mtu 9001 type veth peer name o0 mtu 9001 netns ${o}`,
      `link add eth1 mtu 9001 type veth peer name o1 mtu 9001 netns ${o}`,
      'address add 10.0.0.10/24 dev eth0',
      'address add 10.0.1.10/24 dev eth1',
      'link set eth0 up',
      'link set eth1 up',
      'route add default via 10.0.0.1 dev eth0',
      // eth1 as ipamd/dataplane/host-network.ts configures a secondary ENI: own table (device index 1 + 1), subnet route out of main.
      'route del 10.0.1.0/24 dev eth1 table main',
      'route add 10.0.1.0/24 dev eth1 scope link table 2',
      'route add default via 10.0.1.1 dev eth1 table 2',
      'rule add from 10.0.1.10/32 lookup 2 priority 1536',
    ]);
    run(o, [
      'link set lo up',
      'address add 10.0.0.1/24 dev o0',
      'address add 10.0.1.1/24 dev o1',
      `address add ${outsideAddress}/32 dev lo`,
      `address add ${insideAddress}/32 dev lo`,
      'link set o0 up',
      'link set o1 up',
      'route add 10.0.0.128/25 via 10.0.0.10 dev o0',
      'route add 10.0.1.128/25 via 10.0.1.10 dev o1',
    ]);
    for (const key of ['all', 'default', 'o0', 'o1']) sh(['ip', 'netns', 'exec', o, 'sysctl', '-qw', `net.ipv4.conf.${key}.rp_filter=1`]);
    this.agent = await Agent.start(h, options.linkOps === 'netlink' ? { ...process.env, LINK_OPS_HELPER: builtPlugin } : process.env);
    return this.agent;
  }

  /** A pod namespace under /var/run/netns; returns its path. */
  addPod(role: string): string {
    return `/var/run/netns/${this.addNamespace(role)}`;
  }

  /**
   * A pod namespace known only by a path outside /var/run/netns (a process's
   * /proc/PID/ns/net, as some runtimes pass), held by a sleeping process.
   */
  async addPodByProcess(role: string): Promise<{ path: string; name: string }> {
    const name = this.addNamespace(role);
    const child = spawn('ip', ['netns', 'exec', name, 'sleep', '600'], { stdio: 'ignore' });
    this.children.push(child);
    // Until `ip netns exec` has switched, /proc/PID/ns/net is OUR namespace: wait for the switch.
    const target = statSync(`/var/run/netns/${name}`).ino;
    const path = `/proc/${child.pid}/ns/net`;
    for (let waited = 0; ; waited += 10) {
      if (child.exitCode !== null || waited > 5000) throw new Error(`sleeper in ${name} did not start`);
      try {
        if (statSync(path).ino === target) break;
      } catch {
        // not yet there
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { path, name };
  }

  /** A TCP server in `ns` that answers every connection with the peer's address. */
  async peerEcho(ns: string, port: number): Promise<void> {
    const script = `require('node:net').createServer((s) => s.end(s.remoteAddress)).listen(${port}, '0.0.0.0', () => console.log('ready'));`;
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`server exited (${code})`)));
    });
  }

  destroy(): void {
    this.agent?.stop();
    this.agent = undefined;
    for (const child of this.children.splice(0)) child.kill('SIGKILL');
    for (const name of this.namespaces.splice(0).reverse()) spawnSync('ip', ['netns', 'del', name]);
  }
}

/** Connects from `ns` to host:port and returns what the server said (its view of our address). */
export async function peerAddressSeen(ns: string, host: string, port: number): Promise<string> {
  const script = `const s = require('node:net').connect(${port}, '${host}'); let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => { console.log(d); process.exit(0); }); s.on('error', (e) => { console.log('error ' + e.code); process.exit(0); }); setTimeout(() => { console.log('timeout'); process.exit(0); }, 2000);`;
  return (await inNsOk(ns, [process.execPath, '-e', script])).trim();
}

export async function ping(ns: string, target: string): Promise<boolean> {
  const result = await inNs(ns, ['ping', '-c', '1', '-W', '1', '-q', target]);
  return result.code === 0;
}

export interface HostDump {
  links: unknown[];
  routes: unknown;
  rules: unknown;
}

/** What must be identical before setUp and after tearDown. */
export function hostDump(ns: string): HostDump {
  const links = ipJson<Array<{ ifindex: number; ifname: string; mtu: number; address?: string; flags: string[] }>>(ns, ['link', 'show']).map(
    ({ ifindex, ifname, mtu, address, flags }) => ({ ifindex, ifname, mtu, address, flags }),
  );
  return {
    links,
    routes: ipJson(ns, ['-4', 'route', 'show', 'table', 'all']),
    rules: ipJson(ns, ['-4', 'rule', 'show']),
  };
}

export interface RuleJson {
  priority: number;
  src?: string;
  dst?: string;
  table?: string;
  fwmark?: string;
}

export function attachment(lab: Lab, i: number, netns: string, secondary = false): PodAttachment {
  return {
    network: 'vpc-cni',
    containerId: `${lab.prefix}-c${i}-${randomBytes(4).toString('hex')}`,
    ifName: 'eth0',
    netns,
    ip: secondary ? secondaryPodIp(i) : primaryPodIp(i),
    owner: secondary ? { deviceIndex: 1, isPrimary: false } : { deviceIndex: 0, isPrimary: true },
    mtu: 9001,
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** A fresh lab for every test of the calling file, destroyed after it (root required, stale labs swept first). */
export function useLab(assign: (lab: Lab) => void): void {
  let current: Lab | undefined;
  beforeAll(() => {
    requireRoot();
    sweepStaleLabs();
  });
  beforeEach(() => {
    current = new Lab();
    assign(current);
  });
  afterEach(() => current?.destroy());
}
