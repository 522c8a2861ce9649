/**
 * Releases DEL could not hand to ipamd (it was unreachable, not ready, busy
 * or timed out), recorded durably for ipamd to finish later.
 *
 * File format (read by ipamd/pending.ts, on start and periodically):
 *   directory  `pendingDir` from the config (default /var/run/vpc-cni/pending-del),
 *              created with mode 0700
 *   name       `<sha1 hex of "network/containerId/ifName">.json`: one file per
 *              attachment, so a repeated DEL rewrites the same file
 *   content    one JSON object and a newline, mode 0600:
 *                {"network":"vpc-cni","containerId":"<CNI_CONTAINERID>","ifName":"eth0","at":"<ISO 8601 time of the DEL>"}
 *   meaning    "this attachment was deleted by the runtime": ipamd finishes it
 *              as a DEL of that key (tears the pod network down, releases the
 *              address; both idempotent), then removes the file.
 * Written atomically: a temporary file `.<sha1>.<pid>.tmp` (never ending in
 * .json, so a reader never sees half a record) is written and fsync-ed,
 * renamed into place, and the directory fsync-ed, so the record survives a
 * crash or power loss as soon as DEL has exited 0.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { AllocationKey } from '../wire/protocol.ts';
import { Code, CniError } from './errors.ts';

export function pendingFileName(key: AllocationKey): string {
  return `${createHash('sha1').update(`${key.network}/${key.containerId}/${key.ifName}`).digest('hex')}.json`;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Write the record of `key` into `dir` and return its path; CniError code 5 when it cannot be made durable. */
export function recordPendingRelease(dir: string, key: AllocationKey, now: Date = new Date()): string {
  const base = dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
  const name = pendingFileName(key);
  const path = `${base}/${name}`;
  const temporary = `${base}/.${name.slice(0, -'.json'.length)}.${process.pid}.tmp`;
  const text = `${JSON.stringify({ network: key.network, containerId: key.containerId, ifName: key.ifName, at: now.toISOString() })}\n`;
  let step = `create ${base}`;
  try {
    mkdirSync(base, { recursive: true, mode: 0o700 });
    step = `write ${temporary}`;
    removeQuietly(temporary);
    const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    step = `rename ${temporary} to ${path}`;
    renameSync(temporary, path);
    step = `fsync ${base}`;
    const dirFd = openSync(base, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    return path;
  } catch (err) {
    removeQuietly(temporary);
    throw new CniError(
      Code.io,
      `ipamd is unreachable and the release of container ${key.containerId} could not be recorded: cannot ${step}: ${(err as Error).message}`,
      `make ${base} writable, or bring ipamd back; the runtime will retry DEL`,
    );
  }
}
