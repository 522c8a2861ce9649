import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Names of everything a box creates. Namespace names carry the owner's pid
 * and that process's start time, so a sweeper can tell a box whose owner died
 * (pid gone, or reused by a process that started later) from a live one
 * without any state file:
 *
 *   vpcb-<box id>-<owner pid>-<owner start, base 36>-fabric
 *   vpcb-<box id>-<owner pid>-<owner start, base 36>-<instance id>
 */

export const boxNamespacePrefix = 'vpcb-';

const namePattern = /^vpcb-([0-9a-f]{6})-(\d+)-([0-9a-z]+)-(.+)$/;

export interface BoxOwner {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat). */
  startTicks: number;
}

export interface ParsedBoxNamespace {
  boxId: string;
  owner: BoxOwner;
  /** `fabric` or an instance id. */
  role: string;
}

/** Start time of a process, or null if it does not exist. */
export function processStartTicks(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) ? ticks : null;
}

export function currentOwner(): BoxOwner {
  const startTicks = processStartTicks(process.pid);
  if (startTicks === null) throw new Error('cannot read /proc/self/stat: the VPC box needs Linux with /proc');
  return { pid: process.pid, startTicks };
}

export function ownerAlive(owner: BoxOwner): boolean {
  return processStartTicks(owner.pid) === owner.startTicks;
}

export function newBoxId(): string {
  return randomBytes(3).toString('hex');
}

export function boxPrefix(boxId: string, owner: BoxOwner): string {
  return `${boxNamespacePrefix}${boxId}-${owner.pid}-${owner.startTicks.toString(36)}`;
}

export function parseBoxNamespace(name: string): ParsedBoxNamespace | null {
  const match = namePattern.exec(name);
  if (!match) return null;
  const [, boxId = '', pid = '', start = '', role = ''] = match;
  return { boxId, owner: { pid: Number(pid), startTicks: parseInt(start, 36) }, role };
}

/**
 * The fabric-side port of an ENI: `f` + the id's last 13 alphanumerics, which
 * fits IFNAMSIZ (15) and stays readable next to the ENI id.
 */
export function portName(interfaceId: string): string {
  const tail = interfaceId.toLowerCase().replace(/[^a-z0-9]/g, '').slice(-13);
  if (!tail) throw new Error(`cannot derive a port name from interface id ${JSON.stringify(interfaceId)}`);
  return `f${tail}`;
}

/** The node-side name of the interface at a device index, as a cloud kernel names it. */
export function nodeInterfaceName(deviceIndex: number): string {
  return `eth${deviceIndex}`;
}

/** Set by the fabric proxy on every request: the IPv4 address of the asking node. */
export const peerHeader = 'x-emulator-peer';
