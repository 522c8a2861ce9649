import { dlopen, FFIType, ptr, read } from 'bun:ffi';
import { decode, describeErrno, NLMSG_ERROR, RTM_NEWLINK, type Answer } from './codec.ts';
import type { NetlinkSystem } from './execute.ts';

/**
 * rtnetlink sockets through libc, for the helper running in the
 * bun-compiled executable (bun:ffi; Node has no raw sockets). A socket
 * belongs to the namespace it was created in, whatever the thread does
 * later: `socketIn` enters a pod's namespace on this thread only long enough
 * to create one, as Go plugins do with a locked OS thread.
 */

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;
const EINTR = 4;

const libc = dlopen('libc.so.6', {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  send: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64_fast },
  open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  setns: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
}).symbols;

function errno(): number {
  return read.i32(libc.__errno_location() as Parameters<typeof read.i32>[0], 0);
}

/** A libc call's failure, with the kernel's words for it. */
export class SystemCallError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call}: ${describeErrno(errno)}`);
    this.name = 'SystemCallError';
  }
}

function openReadOnly(path: string): number {
  const fd = libc.open(ptr(new TextEncoder().encode(`${path}\0`)), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new SystemCallError(`open ${path}`, errno());
  return fd;
}

function newSocket(): number {
  const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw new SystemCallError('socket(AF_NETLINK)', errno());
  return fd;
}

/** Thrown when this thread could not return to its own namespace: the helper must not serve another request. */
export class NamespaceStuckError extends SystemCallError {}

/** A netlink socket of the namespace at `path` (absent: this thread's own). */
export function socketIn(path?: string): number {
  if (path === undefined) return newSocket();
  const target = openReadOnly(path);
  let own: number;
  try {
    own = openReadOnly('/proc/thread-self/ns/net');
  } catch (err) {
    libc.close(target);
    throw err;
  }
  if (libc.setns(target, CLONE_NEWNET) !== 0) {
    const code = errno();
    libc.close(target);
    libc.close(own);
    throw new SystemCallError(`setns ${path}`, code);
  }
  let fd: number | undefined;
  let failure: unknown;
  try {
    fd = newSocket();
  } catch (err) {
    failure = err;
  }
  const back = libc.setns(own, CLONE_NEWNET) === 0 ? 0 : errno();
  libc.close(target);
  libc.close(own);
  if (back !== 0) throw new NamespaceStuckError('setns back to our own namespace', back);
  if (fd === undefined) throw failure;
  return fd;
}

export class LibcNetlink implements NetlinkSystem {
  private readonly buffer = new Uint8Array(64 * 1024);

  constructor(readonly fd: number) {}

  exchange(message: Uint8Array, seq: number): Answer[] {
    if (libc.send(this.fd, ptr(message), message.byteLength, 0) < 0) throw new SystemCallError('send', errno());
    for (;;) {
      const length = libc.recv(this.fd, ptr(this.buffer), this.buffer.byteLength, 0);
      if (length < 0) {
        const code = errno();
        if (code === EINTR) continue;
        throw new SystemCallError('recv', code);
      }
      // Answers to an earlier request that was given up on are skipped.
      const mine = decode(this.buffer, length).filter((answer) => answer.seq === seq);
      if (mine.some((answer) => answer.type === NLMSG_ERROR || answer.type === RTM_NEWLINK)) return mine;
    }
  }

  openNamespace(path: string): number {
    return openReadOnly(path);
  }

  close(fd: number): void {
    libc.close(fd);
  }
}

export function closeFd(fd: number): void {
  libc.close(fd);
}
