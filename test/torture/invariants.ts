/**
 * The torture's invariants, as pure functions of three sets of books: the
 * ledger (what the runtime was acknowledged: container -> address), the
 * daemon's (its `check` answers and its pool view) and the cloud's (the
 * emulator's model: which interface holds which address, attached where).
 * Each returns the violations it finds; the runner counts them.
 */

export interface CloudInterface {
  id: string;
  /** The instance's primary interface (never ours to create or delete). */
  primary: boolean;
  /** The instance it is attached to (attaching, attached or detaching), or null when detached. */
  instanceId: string | null;
  attachmentStatus: 'attaching' | 'attached' | 'detaching' | null;
  secondaryIps: string[];
}

export interface CloudBooks {
  instanceId: string;
  /** Every interface in the VPC's pod and node subnets. */
  interfaces: CloudInterface[];
}

export interface DaemonBooks {
  interfaces: Array<{ interfaceId: string; ips: string[] }>;
  allocations: Array<{ containerId: string; ip: string }>;
}

/** What `check` answered for a container: its address (with /32), or the error code. */
export type CheckAnswer = { address: string } | { error: string };

export type ViolationKind = 'double' | 'loss' | 'leak';

export interface Violation {
  kind: ViolationKind;
  /** What it is about: a container id, an address or an interface id (the runner counts each subject once). */
  subject: string;
  detail: string;
}

/** Addresses the node can use now: on an interface attaching or attached to it (not detaching). */
export function addressesOnNode(cloud: CloudBooks): Map<string, string> {
  const out = new Map<string, string>();
  for (const nic of cloud.interfaces) {
    if (nic.instanceId !== cloud.instanceId || nic.attachmentStatus === 'detaching') continue;
    for (const ip of nic.secondaryIps) out.set(ip, nic.id);
  }
  return out;
}

/** An add was just acknowledged: nobody else may hold the address, and the node must have it. */
export function checkAcknowledged(ledger: ReadonlyMap<string, string>, containerId: string, ip: string, cloud: CloudBooks): Violation[] {
  const out: Violation[] = [];
  for (const [holder, held] of ledger) {
    if (held === ip && holder !== containerId) out.push({ kind: 'double', subject: ip, detail: `${ip} acknowledged to ${containerId} while ${holder} holds it` });
  }
  if (!addressesOnNode(cloud).has(ip)) out.push({ kind: 'loss', subject: containerId, detail: `${ip} acknowledged to ${containerId} is on no interface of ${cloud.instanceId}` });
  return out;
}

/**
 * After a restart: every acknowledged pod still holds its address in the
 * daemon's books (`check`) and on the node in the cloud, and no address has
 * two holders on either side.
 */
export function checkRestart(input: { ledger: ReadonlyMap<string, string>; checks: ReadonlyMap<string, CheckAnswer>; daemon: DaemonBooks; cloud: CloudBooks }): Violation[] {
  const { ledger, checks, daemon, cloud } = input;
  const out: Violation[] = [];
  out.push(...sharedAddresses([...ledger].map(([containerId, ip]) => ({ containerId, ip })), 'acknowledged'));
  out.push(...sharedAddresses(daemon.allocations, "in the daemon's books"));
  const onNode = addressesOnNode(cloud);
  for (const [containerId, ip] of ledger) {
    const answer = checks.get(containerId);
    if (!answer) out.push({ kind: 'loss', subject: containerId, detail: `${containerId} (${ip}) was not checked` });
    else if ('error' in answer) out.push({ kind: 'loss', subject: containerId, detail: `check of ${containerId} (${ip}) failed: ${answer.error}` });
    else if (answer.address !== `${ip}/32`) out.push({ kind: 'loss', subject: containerId, detail: `check of ${containerId} answers ${answer.address}, acknowledged ${ip}` });
    if (!onNode.has(ip)) out.push({ kind: 'loss', subject: containerId, detail: `${ip} of ${containerId} is on no interface of ${cloud.instanceId} in the cloud` });
  }
  return out;
}

/**
 * Once every pod is gone and the daemon has settled: nothing is left on
 * either side. No allocation, no detached interface, no interface or
 * address on the node that the daemon does not know, none it knows that the
 * node does not have.
 */
export function checkSettled(input: { daemon: DaemonBooks; cloud: CloudBooks }): Violation[] {
  const { daemon, cloud } = input;
  const out: Violation[] = [];
  for (const allocation of daemon.allocations) {
    out.push({ kind: 'leak', subject: allocation.ip, detail: `${allocation.ip} still allocated to ${allocation.containerId} after every pod is gone` });
  }
  for (const nic of cloud.interfaces) {
    if (!nic.primary && nic.instanceId === null) out.push({ kind: 'leak', subject: nic.id, detail: `interface ${nic.id} is left detached (${nic.secondaryIps.length} secondary addresses)` });
  }
  const known = new Set(daemon.interfaces.map((nic) => nic.interfaceId));
  for (const nic of cloud.interfaces) {
    if (nic.instanceId === cloud.instanceId && !known.has(nic.id)) out.push({ kind: 'leak', subject: nic.id, detail: `interface ${nic.id} is attached to ${cloud.instanceId} but not in the daemon's books` });
  }
  const onNode = addressesOnNode(cloud);
  const inBooks = new Set(daemon.interfaces.flatMap((nic) => nic.ips));
  for (const [ip, interfaceId] of onNode) {
    if (!inBooks.has(ip)) out.push({ kind: 'leak', subject: ip, detail: `${ip} on ${interfaceId} in the cloud is not in the daemon's books` });
  }
  for (const ip of inBooks) {
    if (!onNode.has(ip)) out.push({ kind: 'leak', subject: ip, detail: `${ip} is in the daemon's books but on no interface of ${cloud.instanceId}` });
  }
  return out;
}

function sharedAddresses(holders: Array<{ containerId: string; ip: string }>, where: string): Violation[] {
  const byIp = new Map<string, string[]>();
  for (const { containerId, ip } of holders) byIp.set(ip, [...(byIp.get(ip) ?? []), containerId]);
  return [...byIp]
    .filter(([, containers]) => containers.length > 1)
    .map(([ip, containers]) => ({ kind: 'double' as const, subject: ip, detail: `${ip} is held by ${containers.join(' and ')} ${where}` }));
}
