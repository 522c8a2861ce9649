/**
 * ADD, DEL, CHECK, STATUS and GC: each validates what it needs, makes one call
 * to ipamd, and returns what to print on stdout (nothing but ADD prints on
 * success). Failures are thrown as CniError.
 */
import { IpamError, type IpamErrorCode } from '../wire/errors.ts';
import type { AddParams, AllocationKey, Attachment, CheckParams, DelParams } from '../wire/protocol.ts';
import { isObject, refuseUnsupportedForAdd, versionAtLeast, type CniVersion, type NetConf } from './config.ts';
import { containerIdFrom, containerIdProblem, ifNameFrom, ifNameProblem, optionalNetnsFrom, podFrom, requiredNetnsFrom, type Command, type Env } from './env.ts';
import { Code, CniError, fromIpamd, show } from './errors.ts';
import { callIpamd } from './ipamd.ts';
import { addResult, expectedFromPrevResult } from './result.ts';

export type Log = (line: string) => void;

/** STATUS is polled every 5 s by kubelet: it must not hang on a wedged ipamd. */
const STATUS_TIMEOUT_MS = 5_000;

function requireVersion(conf: NetConf, min: CniVersion, command: string): void {
  if (!versionAtLeast(conf.cniVersion, min)) {
    throw new CniError(Code.incompatibleVersion, `config version ${conf.cniVersion} does not allow ${command}`, `${command} needs cniVersion ${min} or later`);
  }
}

async function call<T>(conf: NetConf, run: () => Promise<T>, op: string): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof IpamError) throw fromIpamd(err, op, conf.ipamdSocket);
    throw err;
  }
}

function keyFrom(conf: NetConf, env: Env): AllocationKey {
  return { network: conf.name, containerId: containerIdFrom(env), ifName: ifNameFrom(env) };
}

/**
 * ADD: vpc-cni is the primary plugin and must come first in a chain; a
 * prevResult (there should be none) is replaced by our result.
 */
export async function add(conf: NetConf, env: Env): Promise<string> {
  const key = keyFrom(conf, env);
  const netns = requiredNetnsFrom(env);
  const pod = podFrom(env);
  refuseUnsupportedForAdd(conf);
  const params: AddParams = pod ? { key, netns, pod } : { key, netns };
  const result = await call(conf, () => callIpamd(conf.ipamdSocket, 'add', params, conf.timeoutMs), 'add');
  return JSON.stringify(addResult(conf.cniVersion, result, key.ifName, netns));
}

/** ipamd answers that mean "not there to take it now": DEL then finishes on its own and leaves a record. */
const DEL_FALLBACK: ReadonlySet<IpamErrorCode> = new Set(['unreachable', 'timeout', 'protocol', 'not-ready', 'busy']);

/**
 * DEL: idempotent, and succeeds when everything is gone, with CNI_NETNS empty
 * or dangling, without prevResult, and while ipamd is away. Then the host veth
 * is removed by its deterministic name and the release recorded in pendingDir
 * for ipamd to finish (record first: if anything after it fails or the runtime
 * kills us, the release is already durable). Only a failure to record fails
 * the DEL (code 5), so that the runtime retries it instead of the address
 * leaking.
 */
export async function del(conf: NetConf, env: Env, log: Log): Promise<void> {
  const key = keyFrom(conf, env);
  const netns = optionalNetnsFrom(env);
  const params: DelParams = netns ? { key, netns } : { key };
  try {
    await callIpamd(conf.ipamdSocket, 'del', params, conf.timeoutMs);
    return;
  } catch (err) {
    if (!(err instanceof IpamError)) throw err;
    if (!DEL_FALLBACK.has(err.code)) throw fromIpamd(err, 'del', conf.ipamdSocket);
    log(`ipamd could not take DEL of ${key.containerId}/${key.ifName} (${err.code}: ${err.message}); finishing without it`);
  }
  // Loaded only here: node:crypto, node:fs and node:child_process cost start-up time every other call would pay.
  const { delWithoutIpamd } = await import('./fallback.ts');
  await delWithoutIpamd(conf.pendingDir, key, log);
}

/** CHECK: compare ipamd's live state with the prevResult of the ADD. */
export async function check(conf: NetConf, env: Env): Promise<void> {
  requireVersion(conf, '0.4.0', 'CHECK');
  const key = keyFrom(conf, env);
  const netns = requiredNetnsFrom(env);
  if (!conf.prevResult) {
    throw new CniError(Code.invalidConfig, 'CHECK needs "prevResult" (the result of the ADD being checked) and the configuration has none');
  }
  const expected = expectedFromPrevResult(conf.prevResult, key.ifName);
  const params: CheckParams = { key, netns, expected };
  const live = await call(conf, () => callIpamd(conf.ipamdSocket, 'check', params, conf.timeoutMs), 'check');
  if (typeof live?.address === 'string' && live.address !== expected.address) {
    throw new CniError(Code.checkFailed, `check failed: container ${key.containerId} has address ${live.address}, prevResult says ${expected.address}`);
  }
}

/** STATUS: 0 when ipamd can serve an ADD now, else code 50 with its reason. */
export async function status(conf: NetConf): Promise<void> {
  requireVersion(conf, '1.1.0', 'STATUS');
  let reason: string;
  try {
    const result = await callIpamd(conf.ipamdSocket, 'status', {}, Math.min(conf.timeoutMs, STATUS_TIMEOUT_MS));
    if (result.ready === true) return;
    reason = `ipamd is not ready: ${typeof result.reason === 'string' && result.reason !== '' ? result.reason : 'no reason given'}`;
  } catch (err) {
    if (!(err instanceof IpamError)) throw err;
    reason = err.code === 'unreachable' || err.code === 'timeout' ? `ipamd is unreachable: ${err.message}` : `ipamd answered ${err.code}: ${err.message}`;
  }
  throw new CniError(Code.notAvailable, `plugin not available: ${reason}`, `check the vpc-cni ipamd pod on this node and its log (socket ${conf.ipamdSocket})`);
}

/**
 * GC: ipamd releases every attachment of this network not listed. The list
 * is required: taking a missing one for an empty one would release every pod.
 * libcni 1.2 sends it under both "cni.dev/valid-attachments" and the older
 * misspelling "cni.dev/attachments".
 */
export async function gc(conf: NetConf): Promise<void> {
  requireVersion(conf, '1.1.0', 'GC');
  const listKey = conf.raw['cni.dev/valid-attachments'] !== undefined ? 'cni.dev/valid-attachments' : 'cni.dev/attachments';
  const list = conf.raw[listKey];
  if (!Array.isArray(list)) {
    throw new CniError(Code.invalidConfig, `GC needs "cni.dev/valid-attachments", an array of {containerID, ifname}; got ${list === undefined ? 'none' : show(JSON.stringify(list))}`);
  }
  const validAttachments: Attachment[] = list.map((entry: unknown, i) => {
    const where = `"${listKey}"[${i}]`;
    if (!isObject(entry)) throw new CniError(Code.invalidConfig, `${where} must be an object {containerID, ifname}`);
    const { containerID, ifname } = entry;
    if (typeof containerID !== 'string' || containerIdProblem(containerID)) {
      throw new CniError(Code.invalidConfig, `${where}.containerID ${show(String(containerID))} is not a valid container ID`);
    }
    if (typeof ifname !== 'string' || ifNameProblem(ifname)) {
      throw new CniError(Code.invalidConfig, `${where}.ifname ${show(String(ifname))} is not a valid interface name`);
    }
    return { containerId: containerID, ifName: ifname };
  });
  await call(conf, () => callIpamd(conf.ipamdSocket, 'gc', { network: conf.name, validAttachments }, conf.timeoutMs), 'gc');
}

/** Run a command other than VERSION; returns what to print on stdout. */
export async function runCommand(command: Exclude<Command, 'VERSION'>, conf: NetConf, env: Env, log: Log): Promise<string> {
  switch (command) {
    case 'ADD':
      return add(conf, env);
    case 'DEL':
      await del(conf, env, log);
      return '';
    case 'CHECK':
      await check(conf, env);
      return '';
    case 'STATUS':
      await status(conf);
      return '';
    case 'GC':
      await gc(conf);
      return '';
  }
}
