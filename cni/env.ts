/**
 * The CNI environment variables, each validated before it is used: nothing
 * from the environment reaches ipamd, a file name or a command unchecked.
 * Failures are code 4 (invalid environment variables) naming the variable.
 */
import { CONTAINER_ID_PATTERN, ifNameProblem, MAX_CONTAINER_ID } from '../wire/identifiers.ts';
import type { PodRef } from '../wire/protocol.ts';
import { Code, CniError, show } from './errors.ts';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type Command = (typeof COMMANDS)[number];

export type Env = Record<string, string | undefined>;

export function commandFrom(env: Env): Command {
  const cmd = env.CNI_COMMAND;
  if (!cmd) throw new CniError(Code.invalidEnv, `CNI_COMMAND is not set; expected one of ${COMMANDS.join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(cmd)) {
    throw new CniError(Code.invalidEnv, `CNI_COMMAND ${show(cmd)} is not supported; expected one of ${COMMANDS.join(', ')}`);
  }
  return cmd as Command;
}

export function containerIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'must not be empty';
  if (id.length > MAX_CONTAINER_ID) return `must be at most ${MAX_CONTAINER_ID} characters (got ${id.length})`;
  if (!CONTAINER_ID_PATTERN.test(id)) return 'must start with a letter or digit and contain only letters, digits, "_", "." and "-"';
  return undefined;
}

/** A variable that must be set and pass `problemOf`; code 4 naming it otherwise. */
function requiredVar(env: Env, name: string, problemOf: (value: string) => string | undefined, wording: { unset?: string; invalid?: string } = {}): string {
  const value = env[name];
  if (!value) throw new CniError(Code.invalidEnv, wording.unset ?? `${name} is not set`);
  const problem = problemOf(value);
  if (problem) throw new CniError(Code.invalidEnv, `${name} ${show(value)} ${wording.invalid ?? 'is invalid'}: it ${problem}`);
  return value;
}

export function containerIdFrom(env: Env): string {
  return requiredVar(env, 'CNI_CONTAINERID', containerIdProblem);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function ifNameFrom(env: Env): string {
  return requiredVar(env, 'CNI_IFNAME', ifNameProblem, { invalid: 'is not a valid interface name' });
}

const MAX_PATH = 4096;

function netnsProblem(netns: string): string | undefined {
  if (!netns.startsWith('/')) return 'must be an absolute path';
  if (netns.length > MAX_PATH) return `must be at most ${MAX_PATH} characters`;
  if (CONTROL.test(netns)) return 'must not contain control characters';
  return undefined;
}

/** CNI_NETNS for ADD and CHECK: required, an absolute path. */
export function requiredNetnsFrom(env: Env): string {
  return requiredVar(env, 'CNI_NETNS', netnsProblem, { unset: 'CNI_NETNS is not set; it must be the path of the pod network namespace' });
}

/**
 * CNI_NETNS for DEL: may be empty or point at a namespace that is gone. It is
 * only a hint for ipamd, so a value that is not a clean absolute path is
 * dropped rather than failing a DEL the runtime would retry for ever.
 */
export function optionalNetnsFrom(env: Env): string | undefined {
  const netns = env.CNI_NETNS;
  if (!netns || netnsProblem(netns)) return undefined;
  return netns;
}

const MAX_CNI_ARGS = 64 * 1024;

/**
 * CNI_ARGS: "K=V;K=V". A pair without "=" (or with an empty key) is an error
 * whatever IgnoreUnknown says, as in libcni's LoadArgs: IgnoreUnknown is about
 * keys a plugin does not know, not about text that is not a pair at all.
 * Empty segments (a trailing ";") are tolerated. Keys other than the three
 * K8S_POD_* ones are ignored: runtimes send more (K8S_POD_INFRA_CONTAINER_ID,
 * IgnoreUnknown, ...) and none of them matter here. A value may contain "=".
 */
export function parseCniArgs(raw: string | undefined): Map<string, string> {
  const args = new Map<string, string>();
  if (!raw) return args;
  if (raw.length > MAX_CNI_ARGS) throw new CniError(Code.invalidEnv, `CNI_ARGS is too long (${raw.length} characters, at most ${MAX_CNI_ARGS})`);
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(Code.invalidEnv, `CNI_ARGS has an invalid pair ${show(pair)}: expected KEY=VALUE pairs separated by ";"`);
    }
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return args;
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const podFields = [
  ['namespace', 'K8S_POD_NAMESPACE', 63],
  ['name', 'K8S_POD_NAME', 253],
  ['uid', 'K8S_POD_UID', 128],
] as const;

/** The pod of an ADD, from CNI_ARGS, when all of namespace, name and uid are given (ipamd wants all three). */
export function podFrom(env: Env): PodRef | undefined {
  const args = parseCniArgs(env.CNI_ARGS);
  const pod: Partial<PodRef> = {};
  let complete = true;
  for (const [field, key, max] of podFields) {
    const value = args.get(key);
    if (value === undefined || value === '') {
      complete = false;
      continue;
    }
    if (value.length > max) throw new CniError(Code.invalidEnv, `CNI_ARGS ${key} is too long (${value.length} characters, at most ${max})`);
    if (!VISIBLE_ASCII.test(value)) throw new CniError(Code.invalidEnv, `CNI_ARGS ${key}=${show(value)} must contain only visible ASCII characters`);
    pod[field] = value;
  }
  return complete ? (pod as PodRef) : undefined;
}

export { ifNameProblem };
