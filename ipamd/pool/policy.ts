/**
 * The pool policy: a pure function from what the node holds to what ipamd
 * should do next. No I/O, no clock, and no dependence on input order (every
 * list is sorted by device index, interface id or address before use).
 *
 * It reproduces the target semantics users know from AWS VPC CNI
 * (amazon-vpc-cni-k8s `pkg/ipamd/ipamd.go`: isDatastorePoolTooLow,
 * isDatastorePoolTooHigh, datastoreTargetState, tryAssignIPs/tryAssignPrefixes,
 * tryAllocateENI, shouldRemoveExtraENIs, and the datastore's getDeletableENI):
 *
 * - Counting: IP mode counts secondary IPs, prefix mode every address of every
 *   prefix. `available` = addresses in state free (cooling addresses are held
 *   but not available; AWS counts them as available, see issues #1700/#2896).
 *   Each interface has `ipv4PerInterface - 1` slots (its primary IP takes
 *   one); a secondary IP or a prefix takes one slot.
 * - WARM_IP_TARGET / MINIMUM_IP_TARGET (either > 0) take precedence:
 *     short = max(warm - available, minimum - total, 0)
 *     over  = max(min(available - warm, total - minimum), 0)
 *   In prefix mode short is rounded up and over down to whole prefixes (and
 *   capped at the free prefixes).
 * - Otherwise, IP mode (WARM_ENI_TARGET): too low when
 *   available < warmEni * slots, or warmEni = 0 and available = 0; grow a whole
 *   interface's worth at a time. IP addresses are never released in this mode.
 *   Prefix mode (WARM_PREFIX_TARGET): too low when available < warmPrefix *
 *   prefixSize (or both 0); grow by max(1, warmPrefix - free prefixes);
 *   release free prefixes beyond warmPrefix.
 * - Growing fills existing interfaces, lowest device index first, then
 *   creates interfaces (addresses requested in the create call). The plan
 *   repeats AWS's one-action-per-cycle loop until the target is met, so one
 *   plan reaches the state AWS reaches after several cycles.
 * - Shrinking releases free addresses (highest device index, then highest
 *   address, first) and frees at most one interface: the highest device index
 *   that is not primary, holds nothing assigned or cooling, and without which
 *   the targets still hold (AWS's isRequiredFor* rules; with WARM_ENI_TARGET,
 *   only when available >= (warmEni + 1) * slots). A plan never grows and
 *   shrinks, and never shrinks into a state the grow rule would undo.
 */
import type { AddressRequest } from '../../providers/contract.ts';
import type { AddressMode, ExhaustionLimit, InterfaceUsage, Plan, PlanStep, PolicyInput } from '../common/types.ts';
import { ipTargetsTakePrecedence } from '../config/targets.ts';

type Rule =
  | { kind: 'ip-targets'; warm: number; minimum: number }
  | { kind: 'warm-eni'; warm: number }
  | { kind: 'warm-prefix'; warm: number };

/** Pool counters in addresses, for the active mode only. */
interface Pool {
  total: number;
  assigned: number;
  cooling: number;
  available: number;
  /** Prefixes with nothing assigned or cooling (prefix mode). */
  freePrefixes: number;
  totalPrefixes: number;
}

interface SimInterface {
  interfaceId: string;
  deviceIndex: number;
  isPrimary: boolean;
  subnetId: string;
  slotsUsed: number;
  /** Created by this plan: it has no id yet, so nothing more can be assigned to it here. */
  isNew: boolean;
  /** Holds an assigned or cooling address of either kind. */
  busy: boolean;
  /** Free secondary IPs / free prefixes, highest address first. */
  freeIps: string[];
  freePrefixList: Array<{ prefix: string; size: number }>;
  pool: Pool;
}

const emptyPool = (): Pool => ({ total: 0, assigned: 0, cooling: 0, available: 0, freePrefixes: 0, totalPrefixes: 0 });

/** Numeric value of a dotted IPv4 address (a /len suffix is ignored); NaN when it is not one. */
function addressValue(address: string): number {
  const host = address.split('/')[0] ?? '';
  const parts = host.split('.');
  if (parts.length !== 4) return NaN;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return NaN;
    const n = Number(part);
    if (n > 255) return NaN;
    value = value * 256 + n;
  }
  return value;
}

/** Highest address first; a tie or unparsable input falls back to plain string order, so the order is total. */
function byAddressDesc(a: string, b: string): number {
  const va = addressValue(a);
  const vb = addressValue(b);
  if (!Number.isNaN(va) && !Number.isNaN(vb) && va !== vb) return vb - va;
  return a < b ? 1 : a > b ? -1 : 0;
}

function byDeviceThenId(a: { deviceIndex: number; interfaceId: string }, b: { deviceIndex: number; interfaceId: string }): number {
  if (a.deviceIndex !== b.deviceIndex) return a.deviceIndex - b.deviceIndex;
  return a.interfaceId < b.interfaceId ? -1 : a.interfaceId > b.interfaceId ? 1 : 0;
}

function summarise(iface: InterfaceUsage, mode: AddressMode): SimInterface {
  const pool = emptyPool();
  let busy = false;
  const freeIps: string[] = [];
  const freePrefixList: Array<{ prefix: string; size: number }> = [];
  for (const { ip, state } of iface.ips) {
    if (state !== 'free') busy = true;
    if (mode !== 'ips') continue;
    pool.total += 1;
    if (state === 'assigned') pool.assigned += 1;
    else if (state === 'cooling') pool.cooling += 1;
    else {
      pool.available += 1;
      freeIps.push(ip);
    }
  }
  for (const p of iface.prefixes) {
    const assigned = Math.max(0, p.assigned);
    const cooling = Math.max(0, p.cooling);
    if (assigned > 0 || cooling > 0) busy = true;
    if (mode !== 'prefixes') continue;
    pool.total += p.size;
    pool.totalPrefixes += 1;
    pool.assigned += assigned;
    pool.cooling += cooling;
    pool.available += Math.max(0, p.size - assigned - cooling);
    if (assigned === 0 && cooling === 0) {
      pool.freePrefixes += 1;
      freePrefixList.push({ prefix: p.prefix, size: p.size });
    }
  }
  freeIps.sort(byAddressDesc);
  freePrefixList.sort((a, b) => byAddressDesc(a.prefix, b.prefix));
  return {
    interfaceId: iface.interfaceId,
    deviceIndex: iface.deviceIndex,
    isPrimary: iface.isPrimary,
    subnetId: iface.subnetId,
    slotsUsed: iface.ips.length + iface.prefixes.length + Math.max(0, iface.reservedSlots ?? 0),
    isNew: false,
    busy,
    freeIps,
    freePrefixList,
    pool,
  };
}

function addPools(into: Pool, from: Pool): void {
  into.total += from.total;
  into.assigned += from.assigned;
  into.cooling += from.cooling;
  into.available += from.available;
  into.freePrefixes += from.freePrefixes;
  into.totalPrefixes += from.totalPrefixes;
}

function poolOf(interfaces: SimInterface[]): Pool {
  const pool = emptyPool();
  for (const i of interfaces) addPools(pool, i.pool);
  return pool;
}

interface Context {
  mode: AddressMode;
  rule: Rule;
  prefixSize: number;
  /** Slots for secondary IPs or prefixes per interface (the primary IP takes one). */
  slots: number;
  /** False where an interface, once gone, cannot come back (Azure's fixed NIC set): never delete one. */
  hotAttach: boolean;
}

/** Addresses one allocated unit (an IP or a prefix) adds. */
const unitSize = (ctx: Context) => (ctx.mode === 'prefixes' ? ctx.prefixSize : 1);

function ipTargetState(rule: { warm: number; minimum: number }, pool: Pool): { short: number; over: number } {
  const short = Math.max(rule.warm - pool.available, rule.minimum - pool.total, 0);
  const over = Math.max(Math.min(pool.available - rule.warm, pool.total - rule.minimum), 0);
  return { short, over };
}

function warmNeeded(ctx: Context): number {
  if (ctx.rule.kind === 'warm-eni') return ctx.rule.warm * ctx.slots;
  if (ctx.rule.kind === 'warm-prefix') return ctx.rule.warm * ctx.prefixSize;
  return 0;
}

/** Whether the grow rule fires (AWS isDatastorePoolTooLow). */
function tooLow(ctx: Context, pool: Pool): boolean {
  if (ctx.rule.kind === 'ip-targets') return ipTargetState(ctx.rule, pool).short > 0;
  const needed = warmNeeded(ctx);
  return pool.available < needed || (ctx.rule.warm === 0 && pool.available === 0);
}

/** Addresses short of the target. */
function shortOf(ctx: Context, pool: Pool): number {
  if (ctx.rule.kind === 'ip-targets') return ipTargetState(ctx.rule, pool).short;
  if (!tooLow(ctx, pool)) return 0;
  return Math.max(warmNeeded(ctx) - pool.available, 1);
}

/** Addresses over the target. */
function excessOf(ctx: Context, pool: Pool): number {
  if (ctx.rule.kind === 'ip-targets') return ipTargetState(ctx.rule, pool).over;
  return Math.max(pool.available - warmNeeded(ctx), 0);
}

/** Units (IPs or prefixes) one grow action asks for, before slot and subnet caps. */
function unitsWanted(ctx: Context, pool: Pool): number {
  switch (ctx.rule.kind) {
    case 'ip-targets': {
      const short = ipTargetState(ctx.rule, pool).short;
      return ctx.mode === 'prefixes' ? Math.max(1, Math.ceil(short / ctx.prefixSize)) : short;
    }
    case 'warm-eni':
      return ctx.slots; // a whole interface's worth, as AWS's tryAssignIPs/tryAllocateENI
    case 'warm-prefix':
      return Math.max(1, ctx.rule.warm - pool.freePrefixes);
  }
}

function describeRule(ctx: Context, note: string): string {
  const mode = ctx.mode === 'ips' ? 'ip-mode' : 'prefix-mode';
  const r = ctx.rule;
  const rule =
    r.kind === 'ip-targets'
      ? `warm-ip=${r.warm} minimum-ip=${r.minimum}`
      : r.kind === 'warm-eni'
        ? `warm-eni=${r.warm} (${ctx.slots} per interface)`
        : `warm-prefix=${r.warm} (/${32 - Math.log2(ctx.prefixSize)} = ${ctx.prefixSize} addresses)`;
  return `${mode}${note} ${rule}`;
}

function describePool(ctx: Context, pool: Pool): string {
  const counts = `total ${pool.total}, assigned ${pool.assigned}, cooling ${pool.cooling}`;
  const prefixes = ctx.mode === 'prefixes' ? `, prefixes ${pool.totalPrefixes} (${pool.freePrefixes} free)` : '';
  if (ctx.rule.kind === 'ip-targets') {
    return `available ${pool.available} (warm ${ctx.rule.warm}), total ${pool.total} (minimum ${ctx.rule.minimum}), assigned ${pool.assigned}, cooling ${pool.cooling}${prefixes}`;
  }
  const needed = warmNeeded(ctx);
  const cmp = pool.available < needed ? '<' : '>=';
  return `available ${pool.available} ${cmp} ${needed} needed, ${counts}${prefixes}`;
}

function describeRequest(request: AddressRequest): string {
  const unit = request.kind === 'ips' ? 'ip' : 'prefix';
  return `${request.count} ${unit}${request.count === 1 ? '' : request.kind === 'ips' ? 's' : 'es'}`;
}

function describeStep(step: PlanStep): string {
  switch (step.kind) {
    case 'assign':
      return `assign ${describeRequest(step.request)} on ${step.interfaceId}`;
    case 'create-interface':
      return `create an interface at device ${step.deviceIndex} in ${step.subnetId} with ${describeRequest(step.request)}`;
    case 'release': {
      const what = step.ips.length > 0 ? `${step.ips.length} ip${step.ips.length === 1 ? '' : 's'}` : `${step.prefixes.length} prefix${step.prefixes.length === 1 ? '' : 'es'}`;
      return `release ${what} from ${step.interfaceId}`;
    }
    case 'delete-interface':
      return `delete ${step.interfaceId}`;
  }
}

function request(mode: AddressMode, count: number): AddressRequest {
  return mode === 'ips' ? { kind: 'ips', count } : { kind: 'prefixes', count };
}

interface GrowOutcome {
  steps: PlanStep[];
  /** Set when growth stopped at a hard limit. */
  blocked?: { limit: ExhaustionLimit; message: string };
  /** Set when growth stopped to wait for something already under way. */
  waiting?: string;
}

function grow(input: PolicyInput, ctx: Context, interfaces: SimInterface[], pool: Pool): GrowOutcome {
  const { limits, targets } = input;
  const unit = unitSize(ctx);
  const steps: PlanStep[] = [];
  const subnetFree = new Map<string, number>();
  // A subnet listed twice counts with its larger free count, whatever the order.
  for (const s of [...input.subnets, ...(input.interfaceSubnets ?? [])]) subnetFree.set(s.subnetId, Math.max(0, s.freeAddresses, subnetFree.get(s.subnetId) ?? 0));
  const forNewInterfaces = new Set(input.subnets.map((s) => s.subnetId));

  const usedIndexes = new Set<number>(input.usedDeviceIndexes);
  for (const i of interfaces) usedIndexes.add(i.deviceIndex);
  let attachedCount = Math.max(interfaces.length + Math.max(0, input.pendingInterfaces), usedIndexes.size);
  const instanceLimit = limits.maxInterfaces;
  const maxEniBinding = targets.maxEni > 0 && targets.maxEni < instanceLimit;
  const interfaceLimit = maxEniBinding ? targets.maxEni : instanceLimit;

  /** Units the subnet can still give (Infinity when its free count is not known). */
  const subnetUnits = (subnetId: string, reserve: number): number => {
    const free = subnetFree.get(subnetId);
    if (free === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(0, Math.floor((free - reserve) / unit));
  };
  const takeFromSubnet = (subnetId: string, addresses: number): void => {
    const free = subnetFree.get(subnetId);
    if (free !== undefined) subnetFree.set(subnetId, free - addresses);
  };

  const fullness = () =>
    ctx.mode === 'ips'
      ? `${limits.ipv4PerInterface} addresses each, ${ctx.slots} for pods`
      : `${ctx.slots} prefixes of ${ctx.prefixSize} addresses each`;

  for (let guard = 0; guard < 10_000 && tooLow(ctx, pool); guard++) {
    const want = unitsWanted(ctx, pool);

    // 1. Fill an existing interface: lowest device index with a free slot first.
    let subnetBlocked: string[] = [];
    let assigned = false;
    for (const iface of interfaces) {
      const room = ctx.slots - iface.slotsUsed;
      if (iface.isNew || room <= 0) continue;
      const fromSubnet = subnetUnits(iface.subnetId, 0);
      if (fromSubnet <= 0) {
        subnetBlocked.push(iface.subnetId);
        continue;
      }
      const count = Math.min(room, Math.max(1, want), fromSubnet);
      const last = steps.find((s) => s.kind === 'assign' && s.interfaceId === iface.interfaceId);
      if (last && last.kind === 'assign') last.request = request(ctx.mode, last.request.count + count);
      else steps.push({ kind: 'assign', interfaceId: iface.interfaceId, request: request(ctx.mode, count) });
      iface.slotsUsed += count;
      takeFromSubnet(iface.subnetId, count * unit);
      pool.total += count * unit;
      pool.available += count * unit;
      if (ctx.mode === 'prefixes') {
        pool.freePrefixes += count;
        pool.totalPrefixes += count;
      }
      assigned = true;
      break;
    }
    if (assigned) continue;
    subnetBlocked = [...new Set(subnetBlocked)].sort();

    // 2. Nothing to fill: create an interface, if allowed.
    const newWithRoom = interfaces.find((i) => i.isNew && i.slotsUsed < ctx.slots);
    if (newWithRoom) return { steps, waiting: `the interface created at device ${newWithRoom.deviceIndex} gets its remaining addresses next time` };
    if (ctx.slots <= 0) {
      return {
        steps,
        blocked: {
          limit: 'addresses-per-interface',
          message: `interfaces of this instance type hold ${limits.ipv4PerInterface} address${limits.ipv4PerInterface === 1 ? '' : 'es'} each, none left for pods beside the primary address; use an instance type with more addresses per interface`,
        },
      };
    }
    if (subnetBlocked.length > 0 && (!limits.hotAttach || attachedCount >= interfaceLimit)) {
      return {
        steps,
        blocked: {
          limit: 'subnet-addresses',
          message: `subnet ${subnetBlocked.join(', ')} has no free addresses left for the interfaces that still have room; free addresses there or attach interfaces in other subnets`,
        },
      };
    }
    if (!limits.hotAttach) {
      return {
        steps,
        blocked: {
          limit: 'no-hot-attach',
          message: `interfaces cannot be added to this running instance and its ${interfaces.length} interface${interfaces.length === 1 ? ' is' : 's are'} full (${fullness()}); add network interfaces to the VM (it must be stopped) or use a larger size`,
        },
      };
    }
    if (input.pendingInterfaces > 0) {
      return { steps, waiting: `${input.pendingInterfaces} interface${input.pendingInterfaces === 1 ? ' is' : 's are'} being created` };
    }
    if (attachedCount >= interfaceLimit) {
      const message = maxEniBinding
        ? `all ${attachedCount} interfaces are attached and full (${fullness()}) and MAX_ENI=${targets.maxEni} allows no more; raise MAX_ENI (the instance type allows ${instanceLimit})`
        : `all ${attachedCount} interfaces the instance type allows are attached and full (${fullness()}); use a larger instance type` +
          (ctx.mode === 'ips' && limits.supportsPrefixes ? ' or enable prefix delegation (ENABLE_PREFIX_DELEGATION=true)' : '') +
          (targets.maxEni > instanceLimit ? ` (MAX_ENI=${targets.maxEni} is above the instance limit)` : '');
      return { steps, blocked: { limit: maxEniBinding ? 'max-eni' : 'interfaces-per-instance', message } };
    }

    // The subnet with the most free addresses; ties go to the lowest id.
    const candidates = [...subnetFree.entries()].filter(([id]) => forNewInterfaces.has(id)).sort(([ia, fa], [ib, fb]) => (fa !== fb ? fb - fa : ia < ib ? -1 : ia > ib ? 1 : 0));
    const best = candidates[0]?.[0];
    // A new interface needs its own primary address besides the pod addresses.
    const fromSubnet = best !== undefined ? subnetUnits(best, 1) : 0;
    if (best === undefined || fromSubnet <= 0) {
      const ids = [...forNewInterfaces].sort();
      const need = ctx.mode === 'ips' ? '2 free addresses (the interface primary and one for pods)' : `${1 + ctx.prefixSize} free addresses (the interface primary and a /${32 - Math.log2(ctx.prefixSize)})`;
      return {
        steps,
        blocked: {
          limit: 'subnet-addresses',
          message:
            ids.length === 0
              ? 'no subnet is known for new interfaces; set POD_SUBNET_IDS or check that the primary interface subnet can be described'
              : `no subnet for a new interface has ${need}: ${ids.map((id) => `${id} has ${subnetFree.get(id) ?? 0}`).join(', ')}; add subnets to POD_SUBNET_IDS or free addresses in them`,
        },
      };
    }
    const count = Math.max(0, Math.min(want, ctx.slots, limits.maxAddressesOnCreate, fromSubnet));
    let deviceIndex = 1;
    while (usedIndexes.has(deviceIndex)) deviceIndex++;
    usedIndexes.add(deviceIndex);
    attachedCount++;
    steps.push({ kind: 'create-interface', subnetId: best, deviceIndex, request: request(ctx.mode, count) });
    takeFromSubnet(best, 1 + count * unit);
    interfaces.push({
      interfaceId: `(new at device ${deviceIndex})`,
      deviceIndex,
      isPrimary: false,
      subnetId: best,
      slotsUsed: count,
      isNew: true,
      busy: false,
      freeIps: [],
      freePrefixList: [],
      pool: emptyPool(),
    });
    pool.total += count * unit;
    pool.available += count * unit;
    if (ctx.mode === 'prefixes') {
      pool.freePrefixes += count;
      pool.totalPrefixes += count;
    }
  }
  return { steps };
}

interface ShrinkOutcome {
  steps: PlanStep[];
  note?: string;
}

function shrink(ctx: Context, interfaces: SimInterface[], pool: Pool): ShrinkOutcome {
  // 1. Release free addresses over the target (highest device index, then highest address, first).
  let releaseIps = 0;
  let releasePrefixes = 0;
  if (ctx.rule.kind === 'ip-targets') {
    const { over } = ipTargetState(ctx.rule, pool);
    if (ctx.mode === 'ips') releaseIps = over;
    else releasePrefixes = Math.min(pool.freePrefixes, Math.floor(over / ctx.prefixSize));
  } else if (ctx.rule.kind === 'warm-prefix' && pool.freePrefixes > ctx.rule.warm) {
    releasePrefixes = pool.freePrefixes - ctx.rule.warm;
  }

  const releases = new Map<string, { ips: string[]; prefixes: string[] }>();
  const after = { ...pool };
  const highestFirst = [...interfaces].sort((a, b) => byDeviceThenId(b, a));
  for (const iface of highestFirst) {
    if (releaseIps <= 0 && releasePrefixes <= 0) break;
    const entry = { ips: [] as string[], prefixes: [] as string[] };
    for (const ip of iface.freeIps) {
      if (releaseIps <= 0) break;
      entry.ips.push(ip);
      releaseIps--;
      after.total -= 1;
      after.available -= 1;
    }
    for (const p of iface.freePrefixList) {
      if (releasePrefixes <= 0) break;
      const trial = { ...after, total: after.total - p.size, available: after.available - p.size, freePrefixes: after.freePrefixes - 1, totalPrefixes: after.totalPrefixes - 1 };
      if (tooLow(ctx, trial)) {
        releasePrefixes = 0; // never shrink into a state the grow rule would undo
        break;
      }
      entry.prefixes.push(p.prefix);
      releasePrefixes--;
      Object.assign(after, trial);
    }
    if (entry.ips.length > 0 || entry.prefixes.length > 0) releases.set(iface.interfaceId, entry);
  }

  // 2. Free at most one whole interface: highest device index first.
  let deleted: SimInterface | undefined;
  let note: string | undefined;
  const gate = ctx.rule.kind !== 'warm-eni' || after.available >= (ctx.rule.warm + 1) * ctx.slots;
  if (gate && ctx.hotAttach) {
    for (const iface of highestFirst) {
      if (iface.isPrimary || iface.busy) continue;
      const released = releases.get(iface.interfaceId);
      const own = { ...iface.pool };
      if (released) {
        own.total -= released.ips.length;
        own.available -= released.ips.length;
        const size = (p: string) => iface.freePrefixList.find((f) => f.prefix === p)?.size ?? ctx.prefixSize;
        for (const p of released.prefixes) {
          own.total -= size(p);
          own.available -= size(p);
          own.freePrefixes -= 1;
          own.totalPrefixes -= 1;
        }
      }
      const others: Pool = {
        total: after.total - own.total,
        assigned: after.assigned - own.assigned,
        cooling: after.cooling - own.cooling,
        available: after.available - own.available,
        freePrefixes: after.freePrefixes - own.freePrefixes,
        totalPrefixes: after.totalPrefixes - own.totalPrefixes,
      };
      if (!stillMeetsTargets(ctx, others)) continue;
      deleted = iface;
      break;
    }
  }
  if (deleted) {
    releases.delete(deleted.interfaceId);
  } else if (ctx.rule.kind === 'warm-eni' && !gate && interfaces.some((i) => !i.isPrimary && !i.busy)) {
    note = `an unused interface is kept: available ${after.available} < ${(ctx.rule.warm + 1) * ctx.slots} (warm target plus one interface)`;
  }

  const steps: PlanStep[] = [];
  for (const iface of highestFirst) {
    const r = releases.get(iface.interfaceId);
    if (r) steps.push({ kind: 'release', interfaceId: iface.interfaceId, ips: r.ips, prefixes: r.prefixes });
  }
  if (deleted) steps.push({ kind: 'delete-interface', interfaceId: deleted.interfaceId });
  return note === undefined ? { steps } : { steps, note };
}

/** Whether the pool left without an interface still meets the targets (AWS getDeletableENI's isRequiredFor* checks). */
function stillMeetsTargets(ctx: Context, others: Pool): boolean {
  const roundUp = (n: number) => (ctx.mode === 'prefixes' ? Math.ceil(n / ctx.prefixSize) * ctx.prefixSize : n);
  if (ctx.rule.kind === 'ip-targets') {
    if (ctx.rule.warm > 0 && others.available < roundUp(ctx.rule.warm)) return false;
    if (ctx.rule.minimum > 0 && others.total < roundUp(ctx.rule.minimum)) return false;
  } else if (ctx.rule.kind === 'warm-prefix') {
    if (ctx.rule.warm > 0 && others.freePrefixes < ctx.rule.warm) return false;
  }
  return !tooLow(ctx, others);
}

/** Decides what the pool needs next. Pure and deterministic. */
export function planPool(input: PolicyInput): Plan {
  const { targets, limits } = input;
  const fallback = targets.mode === 'prefixes' && !limits.supportsPrefixes;
  const mode: AddressMode = fallback ? 'ips' : targets.mode;
  const rule: Rule = ipTargetsTakePrecedence(targets)
    ? { kind: 'ip-targets', warm: Math.max(0, targets.warmIpTarget), minimum: Math.max(0, targets.minimumIpTarget) }
    : mode === 'ips'
      ? { kind: 'warm-eni', warm: Math.max(0, targets.warmEniTarget) }
      : { kind: 'warm-prefix', warm: Math.max(0, targets.warmPrefixTarget) };
  const ctx: Context = {
    mode,
    rule,
    prefixSize: 2 ** (32 - limits.prefixLength),
    slots: Math.max(0, limits.ipv4PerInterface - 1),
    hotAttach: limits.hotAttach,
  };

  const interfaces = [...input.interfaces].sort(byDeviceThenId).map((i) => summarise(i, mode));
  const pool = poolOf(interfaces);
  const short = shortOf(ctx, pool);
  const excess = excessOf(ctx, pool);
  const head = `${describeRule(ctx, fallback ? ' (prefixes unsupported here)' : '')}: ${describePool(ctx, pool)}`;

  if (tooLow(ctx, pool)) {
    const outcome = grow(input, ctx, interfaces, pool);
    const did = outcome.steps.map(describeStep).join(', ');
    if (outcome.steps.length === 0 && outcome.blocked) {
      return { steps: [], short, excess, exhausted: outcome.blocked, reason: `${head}; short ${short}; exhausted (${outcome.blocked.limit}): ${outcome.blocked.message}` };
    }
    const tail = outcome.blocked ? `; then limited by ${outcome.blocked.limit}` : outcome.waiting ? `; waiting: ${outcome.waiting}` : '';
    return { steps: outcome.steps, short, excess, reason: `${head}; short ${short}; ${did === '' ? 'no change' : did}${tail}` };
  }

  const verdict = excess > 0 ? `excess ${excess}` : 'at target';
  if (input.allowShrink === false) return { steps: [], short, excess, reason: `${head}; ${verdict}; no change (shrinking waits its turn)` };
  const protectedIds = new Set(input.protectedInterfaceIds ?? []);
  const outcome = shrink(
    ctx,
    interfaces.map((iface) => (protectedIds.has(iface.interfaceId) ? { ...iface, busy: true } : iface)),
    pool,
  );
  const did = outcome.steps.map(describeStep).join(', ');
  return { steps: outcome.steps, short, excess, reason: `${head}; ${verdict}; ${did === '' ? 'no change' : did}${outcome.note ? ` (${outcome.note})` : ''}` };
}
