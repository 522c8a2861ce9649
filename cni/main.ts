/**
 * vpc-cni: the CNI plugin executable (a conflist's `"type": "vpc-cni"`).
 *
 * A thin client: read CNI_* and the configuration on stdin, validate them,
 * make one request to ipamd over its unix socket, print the result or the
 * error (JSON on stdout, exit status 1 on error). No SDK, no framework.
 *
 * Spec versions 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0; commands ADD, DEL,
 * CHECK, VERSION, STATUS, GC. Error codes are listed in errors.ts; an
 * unexpected failure inside the plugin itself is 999 (libcni's "internal").
 *
 * Built into one executable by `npm run build:plugin` (bun build --compile
 * --splitting --bytecode, entry bin/vpc-cni.ts, which also serves as ipamd's
 * netlink helper) as dist/vpc-cni, with bun's autoloading of `.env` and
 * bunfig.toml off: a plugin the runtime runs as root in whatever directory
 * must not read configuration from there (nor walk the tree looking for it).
 * Start-up is kept lean on purpose, because
 * every pod ADD/DEL pays it (and kubelet runs STATUS every 5 s):
 * - this module imports only pure validation code; the command handlers and
 *   DEL's fallback (node:crypto, node:fs, node:child_process) are dynamic
 *   imports, which --splitting keeps as separate chunks inside the
 *   executable, loaded only by the commands that need them (in bun each
 *   node: module costs 4-30 ms to load). VERSION loads none of them.
 * - under bun, stdin is read with Bun.stdin, ipamd is called over
 *   Bun.connect (ipamd.ts) and output written with console: bun's node:net,
 *   process.stdin and process.stdout cost 20-30 ms each. Under Node (tsx,
 *   for development) the node: equivalents and wire/client.ts are used.
 */
import { bun } from './bun.ts';
import { decodeConfig, isObject, isSupportedVersion, LATEST_VERSION, parseConfig, SUPPORTED_VERSIONS } from './config.ts';
import { commandFrom, type Env } from './env.ts';
import { Code, CniError, errorJson } from './errors.ts';

const INTERNAL = 999;
/** A GC list of 100 000 attachments is a few MiB; anything past this is not a configuration. */
const MAX_STDIN = 64 * 1024 * 1024;
/** VERSION reads stdin for the caller's cniVersion only; it never waits long for it (a terminal). */
const VERSION_STDIN_WAIT_MS = 1_000;


function tooLarge(): CniError {
  return new CniError(Code.io, `network configuration on stdin is larger than ${MAX_STDIN} bytes`);
}

async function readAll(): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    if (bun) {
      const reader = bun.stdin.stream().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > MAX_STDIN) throw tooLarge();
        chunks.push(value);
      }
    } else {
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        size += chunk.byteLength;
        if (size > MAX_STDIN) throw tooLarge();
        chunks.push(chunk);
      }
    }
  } catch (err) {
    if (err instanceof CniError) throw err;
    throw new CniError(Code.io, `cannot read the network configuration from stdin: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** VERSION: answer in the caller's cniVersion when we speak it, else in the latest. */
async function versionInfo(): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stdin = await Promise.race([
    readAll().catch(() => ''),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(''), VERSION_STDIN_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  let cniVersion: string = LATEST_VERSION;
  try {
    const raw: unknown = JSON.parse(stdin);
    if (isObject(raw) && isSupportedVersion(raw.cniVersion)) cniVersion = raw.cniVersion;
  } catch {
    // no or bad input: the latest version
  }
  return JSON.stringify({ cniVersion, supportedVersions: SUPPORTED_VERSIONS });
}

interface Outcome {
  stdout: string;
  status: number;
}

async function run(env: Env): Promise<Outcome> {
  let cniVersion: string = LATEST_VERSION;
  try {
    const command = commandFrom(env);
    if (command === 'VERSION') return { stdout: await versionInfo(), status: 0 };
    const raw = decodeConfig(await readAll());
    if (isSupportedVersion(raw.cniVersion)) cniVersion = raw.cniVersion;
    const conf = parseConfig(raw);
    const { runCommand } = await import('./commands.ts');
    const stdout = await runCommand(command, conf, env, (line) => console.error(`vpc-cni: ${line}`));
    return { stdout, status: 0 };
  } catch (err) {
    const error = err instanceof CniError ? err : new CniError(INTERNAL, `internal error in vpc-cni: ${(err as Error)?.message ?? String(err)}`);
    return { stdout: errorJson(cniVersion, error), status: 1 };
  }
}

const outcome = await run(process.env);
// console.log writes synchronously to a pipe or file in both bun and Node on Linux, so exiting right after loses nothing;
// exiting explicitly means nothing left over (a VERSION caller that never closes stdin) keeps the process alive.
if (outcome.stdout) console.log(outcome.stdout);
process.exit(outcome.status);
