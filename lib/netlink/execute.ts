import { describeErrno, deviceToResolve, encode, linkByName, NLMSG_ERROR, requestFor, RTM_NEWLINK, type Answer, type Request } from './codec.ts';
import type { OpLine } from './ops.ts';

/**
 * Carries out a batch of steps over one rtnetlink socket, with the outcome
 * `ip -batch` would have: the 1-based lines that failed and ip's message for
 * each, stopping at the first failure unless some line tolerates one.
 * Synchronous: rtnetlink answers a change before send returns, and the helper
 * serves one batch at a time.
 */

/** A socket and the system calls around it; the helper's is bun:ffi over libc, tests use a fake. */
export interface NetlinkSystem {
  /** Sends one message and returns the answers that carry its sequence number (an ack, an error, or the object asked for). */
  exchange(message: Uint8Array, seq: number): Answer[];
  /** Opens a network namespace file for IFLA_NET_NS_FD; throws with the reason when it cannot. */
  openNamespace(path: string): number;
  close(fd: number): void;
}

let sequence = 0;

function send(system: NetlinkSystem, request: Request): Answer | undefined {
  sequence = (sequence + 1) >>> 0;
  const answers = system.exchange(encode(request, sequence), sequence);
  return answers.find((answer) => answer.type === NLMSG_ERROR || answer.type === RTM_NEWLINK);
}

function failureOf(answer: Answer | undefined): string | undefined {
  if (!answer) return 'RTNETLINK answers: no answer';
  if (answer.type === NLMSG_ERROR && answer.errno) return `RTNETLINK answers: ${describeErrno(answer.errno)}`;
  return undefined;
}

export function executeOps(lines: OpLine[], system: NetlinkSystem): Map<number, string> {
  const failures = new Map<number, string>();
  const carryOn = lines.some((line) => line.tolerate !== undefined);
  const indexes = new Map<string, number>();
  for (const [position, line] of lines.entries()) {
    const number = position + 1;
    let failure: string | undefined;
    let broken = false;
    try {
      failure = runLine(line, system, indexes);
    } catch (err) {
      // A bad step, or a socket that failed (this line's outcome unknown): nothing after it runs.
      failure = (err as Error).message;
      broken = true;
    }
    if (failure === undefined) continue;
    failures.set(number, failure);
    if (broken || !carryOn) break;
  }
  return failures;
}

function runLine(line: OpLine, system: NetlinkSystem, indexes: Map<string, number>): string | undefined {
  const { op } = line;
  const device = deviceToResolve(op);
  let index: number | undefined;
  if (device !== undefined) {
    index = indexes.get(device);
    if (index === undefined) {
      const answer = send(system, linkByName(device));
      if (answer?.type !== RTM_NEWLINK || answer.index === undefined) return `Cannot find device "${device}"`;
      index = answer.index;
      indexes.set(device, index);
    }
  }
  if (op.kind === 'veth-add') {
    let peerNamespaceFd: number;
    try {
      peerNamespaceFd = system.openNamespace(op.peer.netns);
    } catch (err) {
      return `Cannot open network namespace "${op.peer.netns}": ${(err as Error).message}`;
    }
    try {
      return failureOf(send(system, requestFor(op, { peerNamespaceFd })));
    } finally {
      system.close(peerNamespaceFd);
    }
  }
  if (op.kind === 'link-del') indexes.delete(op.dev);
  return failureOf(send(system, requestFor(op, { index })));
}
