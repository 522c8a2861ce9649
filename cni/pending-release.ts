/**
 * Records a release DEL could not hand to ipamd, durably, for ipamd to finish
 * later. The record (name, content, modes, atomic write) is specified in
 * wire/pending-record.ts.
 */
import { closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { formatPendingRelease, PENDING_DIR_MODE, PENDING_FILE_MODE, pendingFileName, pendingTemporaryName } from '../wire/pending-record.ts';
import type { AllocationKey } from '../wire/protocol.ts';
import { Code, CniError } from './errors.ts';

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
  const path = `${base}/${pendingFileName(key)}`;
  const temporary = `${base}/${pendingTemporaryName(key, process.pid)}`;
  const text = formatPendingRelease(key, now);
  let step = `create ${base}`;
  try {
    mkdirSync(base, { recursive: true, mode: PENDING_DIR_MODE });
    step = `write ${temporary}`;
    removeQuietly(temporary);
    const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, PENDING_FILE_MODE);
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
