/**
 * A container runtime's CNI side, the way containerd (libcni) does it: read
 * a conflist, exec each plugin with the CNI environment and the per-plugin
 * stdin derived from the list, pass `prevResult` down the chain, run DEL in
 * reverse with the cached ADD result, and run CHECK with it.
 */
import { spawn } from 'node:child_process';

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown> & { type: string; capabilities?: Record<string, boolean> }>;
}

export interface Attachment {
  containerId: string;
  netns: string;
  ifName: string;
  args?: Record<string, string>;
  /** Capability arguments (portMappings, bandwidth, ...), given only to plugins that declared them. */
  capabilityArgs?: Record<string, unknown>;
}

/** A chained plugin's error result, as the runtime sees it (the plugin's own error type is cni/errors.ts' CniError). */
export class PluginFailure extends Error {
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly code: number | undefined,
    readonly msg: string,
    readonly details: string | undefined,
    readonly stdout: string,
  ) {
    super(`${plugin} ${command} failed (code ${code ?? '?'}): ${msg}${details ? ` (${details})` : ''}`);
  }
}

export interface RuntimeOptions {
  /** Directories searched for plugin binaries (CNI_PATH), in order. */
  pluginDirs: string[];
  /** Run each plugin inside this network namespace (the node), as the runtime on that node would. */
  hostNamespace?: string;
  timeoutMs?: number;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function execPlugin(options: RuntimeOptions, type: string, env: Record<string, string>, stdin: string): Promise<ExecResult> {
  const { existsSync } = await import('node:fs');
  const dir = options.pluginDirs.find((candidate) => existsSync(`${candidate}/${type}`));
  if (!dir) throw new PluginFailure(type, env.CNI_COMMAND ?? '', undefined, `plugin ${type} not found in ${options.pluginDirs.join(':')}`, undefined, '');
  const binary = `${dir}/${type}`;
  const [file, args] = options.hostNamespace ? ['ip', ['netns', 'exec', options.hostNamespace, binary]] : [binary, []];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A plugin that fails before reading stdin closes the pipe early: its exit code tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

export class Runtime {
  /** The final ADD result per attachment, as libcni caches it for DEL and CHECK. */
  private readonly cache = new Map<string, unknown>();

  constructor(
    readonly conflist: Conflist,
    private readonly options: RuntimeOptions,
  ) {}

  private cacheKey(a: Attachment): string {
    return `${this.conflist.name}/${a.containerId}/${a.ifName}`;
  }

  cachedResult(a: Attachment): unknown {
    return this.cache.get(this.cacheKey(a));
  }

  private stdinFor(plugin: Conflist['plugins'][number], a: Attachment, prevResult: unknown): string {
    const runtimeConfig: Record<string, unknown> = {};
    for (const [capability, enabled] of Object.entries(plugin.capabilities ?? {})) {
      if (enabled && a.capabilityArgs && capability in a.capabilityArgs) runtimeConfig[capability] = a.capabilityArgs[capability];
    }
    const { capabilities: _capabilities, ...rest } = plugin;
    return JSON.stringify({
      ...rest,
      cniVersion: this.conflist.cniVersion,
      name: this.conflist.name,
      ...(Object.keys(runtimeConfig).length > 0 ? { runtimeConfig } : {}),
      ...(prevResult === undefined ? {} : { prevResult }),
    });
  }

  private env(command: string, a: Attachment): Record<string, string> {
    const args = Object.entries({ IgnoreUnknown: '1', ...a.args })
      .map(([k, v]) => `${k}=${v}`)
      .join(';');
    return {
      CNI_COMMAND: command,
      CNI_CONTAINERID: a.containerId,
      CNI_NETNS: a.netns,
      CNI_IFNAME: a.ifName,
      CNI_ARGS: args,
      CNI_PATH: this.options.pluginDirs.join(':'),
    };
  }

  private async run(plugin: Conflist['plugins'][number], command: string, a: Attachment, prevResult: unknown): Promise<unknown> {
    const out = await execPlugin(this.options, plugin.type, this.env(command, a), this.stdinFor(plugin, a, prevResult));
    if (out.code !== 0) {
      let parsed: { code?: number; msg?: string; details?: string } = {};
      try {
        parsed = JSON.parse(out.stdout) as typeof parsed;
      } catch {
        parsed = { msg: `exit ${out.code}, stdout ${JSON.stringify(out.stdout)}, stderr ${JSON.stringify(out.stderr.slice(0, 500))}` };
      }
      throw new PluginFailure(plugin.type, command, parsed.code, parsed.msg ?? 'no message', parsed.details, out.stdout);
    }
    return out.stdout.trim() === '' ? undefined : (JSON.parse(out.stdout) as unknown);
  }

  async add(a: Attachment): Promise<unknown> {
    let result: unknown;
    for (const plugin of this.conflist.plugins) result = await this.run(plugin, 'ADD', a, result);
    this.cache.set(this.cacheKey(a), result);
    return result;
  }

  /** DEL in reverse order with the cached result; like containerd, also after a failed ADD. */
  async del(a: Attachment): Promise<void> {
    const prevResult = this.cache.get(this.cacheKey(a));
    for (const plugin of [...this.conflist.plugins].reverse()) await this.run(plugin, 'DEL', a, prevResult);
    this.cache.delete(this.cacheKey(a));
  }

  async check(a: Attachment): Promise<void> {
    const prevResult = this.cache.get(this.cacheKey(a));
    for (const plugin of this.conflist.plugins) await this.run(plugin, 'CHECK', a, prevResult);
  }

  /** ADD, and on failure DEL at once, as containerd does. */
  async addOrCleanUp(a: Attachment): Promise<unknown> {
    try {
      return await this.add(a);
    } catch (err) {
      await this.del(a).catch(() => undefined);
      throw err;
    }
  }
}
