/**
 * The few Bun APIs the plugin uses when it runs as the compiled executable,
 * typed here because the project type-checks against Node's types only.
 * Undefined under Node (tsx, tests in-process), where node: modules are used.
 *
 * Why at all: in bun, loading node:net costs 20-30 ms and touching
 * process.stdin or process.stdout about 20 ms, several times the 10 ms the
 * whole plugin otherwise needs to start; Bun.connect and Bun.stdin cost
 * nothing measurable. Every pod ADD and DEL, and kubelet's STATUS every 5 s,
 * pays the difference.
 */
export interface BunSocket {
  /** Bytes taken; fewer than given when the kernel buffer is full (then `drain` follows). */
  write(data: Uint8Array): number;
  terminate(): void;
}

export interface BunSocketHandlers {
  open?(socket: BunSocket): void;
  data?(socket: BunSocket, data: Uint8Array): void;
  drain?(socket: BunSocket): void;
  close?(socket: BunSocket, error?: Error): void;
  end?(socket: BunSocket): void;
  error?(socket: BunSocket, error: Error): void;
}

export interface BunRuntime {
  connect(options: { unix: string; socket: BunSocketHandlers }): Promise<BunSocket>;
  stdin: { stream(): ReadableStream<Uint8Array> };
}

export const bun: BunRuntime | undefined = (globalThis as { Bun?: BunRuntime }).Bun;
