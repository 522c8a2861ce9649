/**
 * The bench's end of the libcni runtime (main.go): one long-lived process
 * started inside the node's namespace with a single `ip netns exec`, so no
 * request pays that wrapper; requests go as JSON lines and may overlap.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Attachment } from '../../../emulator/cluster/runtime.ts';

/** One libcni call as the runtime timed it (ms; start/end in µs on the runtime's own clock). */
export interface LibcniTiming {
  ms: number;
  /** Of `ms`, the time spent in plugin processes (exec to exit, every plugin of the list). */
  execMs: number;
  startUs: number;
  endUs: number;
}

interface Answer extends LibcniTiming {
  id: number;
  error?: string;
}

export interface LibcniRuntimeOptions {
  binary: string;
  /** The node's network namespace the runtime lives in. */
  namespace: string;
  /** CNI_PATH, searched in order. */
  pluginDirs: string[];
  /** Where libcni keeps ADD results for DEL. */
  cacheDir: string;
}

export class LibcniRuntime {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private stderrTail = '';

  constructor(options: LibcniRuntimeOptions) {
    const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_PATH: options.pluginDirs.join(':'), LIBCNI_CACHE_DIR: options.cacheDir };
    this.child = spawn('ip', ['netns', 'exec', options.namespace, options.binary], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Plugins' stderr passes through the runtime: drained, the tail kept for errors.
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000)));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const answer = JSON.parse(line) as Answer;
      this.waiting.get(answer.id)?.resolve(answer);
      this.waiting.delete(answer.id);
    });
    const failAll = (why: string): void => {
      for (const w of this.waiting.values()) w.reject(new Error(`libcni runtime ${why}: ${this.stderrTail}`));
      this.waiting.clear();
    };
    this.child.on('error', (err) => failAll(`did not start (${err.message})`));
    this.child.on('exit', (code) => failAll(`exited (${code})`));
  }

  private async call(request: Record<string, unknown>): Promise<LibcniTiming> {
    if (this.child.exitCode !== null) throw new Error(`libcni runtime has exited (${this.child.exitCode}): ${this.stderrTail}`);
    const id = ++this.nextId;
    const answer = await new Promise<Answer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, ...request })}\n`);
    });
    if (answer.error) throw new Error(`libcni ${String(request.cmd)} ${String(request.plugin ?? request.conflist)}: ${answer.error}`);
    return answer;
  }

  private attachmentRequest(cmd: 'add' | 'del', conflist: string, a: Attachment): Record<string, unknown> {
    // As containerd's go-cni does: IgnoreUnknown first, so plugins that do not know the Kubernetes keys accept them.
    const args = Object.entries({ IgnoreUnknown: '1', ...a.args });
    return { cmd, conflist, containerId: a.containerId, netns: a.netns, ifName: a.ifName, args };
  }

  add(conflist: string, a: Attachment): Promise<LibcniTiming> {
    return this.call(this.attachmentRequest('add', conflist, a));
  }

  del(conflist: string, a: Attachment): Promise<LibcniTiming> {
    return this.call(this.attachmentRequest('del', conflist, a));
  }

  /** ADD, and on failure DEL at once, as containerd does. */
  async addOrCleanUp(conflist: string, a: Attachment): Promise<LibcniTiming> {
    try {
      return await this.add(conflist, a);
    } catch (err) {
      await this.del(conflist, a).catch(() => undefined);
      throw err;
    }
  }

  /** libcni's GetVersionInfo: one plugin exec with CNI_COMMAND=VERSION, from inside the node. */
  version(plugin: string): Promise<LibcniTiming> {
    return this.call({ cmd: 'version', plugin });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await exited;
  }
}
