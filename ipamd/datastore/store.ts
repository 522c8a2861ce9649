import { ipToNumber, numberToIp, parseCidr } from '../../lib/ipv4.ts';
import type { AddressMode, AllocationKey, InterfaceUsage } from '../common/types.ts';
import { DurableLog, type JournalSink } from './journal.ts';
import type { PodRef } from '../../wire/protocol.ts';

/**
 * The allocation datastore: which pod holds which address, and which
 * addresses are cooling down after release. Allocations are durable before
 * `allocate` resolves (journal + snapshot under the state directory). The
 * interface inventory is not persisted: on start it is rebuilt from the
 * metadata service and the cloud, which are the truth.
 */

export interface InventoryInterface {
  interfaceId: string;
  mac: string;
  deviceIndex: number;
  subnetId: string;
  subnetCidr: string;
  primaryIp: string;
  isPrimary: boolean;
  /** Secondary IPs usable for pods. */
  ips: string[];
  /** Delegated prefixes; every address in them is usable for pods. */
  prefixes: string[];
}

export interface Allocation {
  key: AllocationKey;
  ip: string;
  allocatedAt: number;
  netns?: string;
  pod?: PodRef;
}

type JournalOp = { t: 'alloc'; a: Allocation } | { t: 'free'; key: AllocationKey; ip: string; until: number };

interface Snapshot {
  allocations: Allocation[];
  cooling: Array<{ ip: string; until: number }>;
}

export class NoFreeAddressError extends Error {
  constructor(readonly total: number, readonly cooling: number) {
    super(total === 0 ? 'the pool holds no addresses yet' : `all ${total} addresses of the pool are in use${cooling > 0 ? ` (${cooling} cooling down)` : ''}`);
    this.name = 'NoFreeAddressError';
  }
}

export interface StoreOptions {
  dir: string;
  mode: AddressMode;
  cooldownMs: number;
  now?: () => number;
  /** Journal records before they are folded into a snapshot (each compaction briefly holds appends back). */
  compactEvery?: number;
  /** Where journal records go (tests inject failures here). */
  sink?: JournalSink;
  onBackgroundError?: (err: Error) => void;
}

const keyString = (key: AllocationKey): string => `${key.network}\u0000${key.containerId}\u0000${key.ifName}`;

function prefixAddresses(prefix: string): string[] {
  const { base, size } = parseCidr(prefix);
  return Array.from({ length: size }, (_, i) => numberToIp(base + i));
}

export class AddressStore {
  private readonly byKey = new Map<string, Allocation>();
  private readonly byIp = new Map<string, Allocation>();
  private readonly cooling = new Map<string, number>();
  private inventory: InventoryInterface[] = [];
  /** Usable addresses per interface, ordered, derived from the inventory. */
  private candidates: Array<{ interfaceId: string; ips: string[] }> = [];
  private readonly now: () => number;
  private compacting = false;
  /** Allocations whose journal record is not durable yet, by key. */
  private readonly inflight = new Map<string, Promise<void>>();

  private constructor(
    private readonly log: DurableLog<Snapshot, JournalOp>,
    private readonly options: StoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  static async open(options: StoreOptions): Promise<{ store: AddressStore; skippedRecords: number }> {
    const { log, recovered } = await DurableLog.open<Snapshot, JournalOp>(options.dir, options.sink);
    const store = new AddressStore(log, options);
    for (const allocation of recovered.snapshot?.allocations ?? []) store.put(allocation);
    for (const entry of recovered.snapshot?.cooling ?? []) store.cooling.set(entry.ip, entry.until);
    for (const op of recovered.ops) store.apply(op);
    return { store, skippedRecords: recovered.skipped };
  }

  get mode(): AddressMode {
    return this.options.mode;
  }

  // ---- inventory -----------------------------------------------------------

  replaceInventory(interfaces: InventoryInterface[]): void {
    this.inventory = interfaces.map((nic) => ({ ...nic, ips: [...nic.ips], prefixes: [...nic.prefixes] })).sort((a, b) => a.deviceIndex - b.deviceIndex);
    this.candidates = this.inventory.map((nic) => ({
      interfaceId: nic.interfaceId,
      ips: (this.options.mode === 'prefixes' ? nic.prefixes.flatMap(prefixAddresses) : nic.ips).slice().sort((a, b) => ipToNumber(a) - ipToNumber(b)),
    }));
  }

  interfaces(): InventoryInterface[] {
    return this.inventory.map((nic) => ({ ...nic, ips: [...nic.ips], prefixes: [...nic.prefixes] }));
  }

  interfaceOf(ip: string): InventoryInterface | undefined {
    const value = ipToNumber(ip);
    return this.inventory.find((nic) =>
      this.options.mode === 'prefixes'
        ? nic.prefixes.some((prefix) => {
            const { base, size } = parseCidr(prefix);
            return value >= base && value < base + size;
          })
        : nic.ips.includes(ip),
    );
  }

  // ---- allocations ---------------------------------------------------------

  find(key: AllocationKey): Allocation | undefined {
    return this.byKey.get(keyString(key));
  }

  allocations(): Allocation[] {
    return [...this.byKey.values()];
  }

  /** Allocations whose address no interface holds any more (the cloud took it back). */
  orphans(): Allocation[] {
    return this.allocations().filter((allocation) => !this.interfaceOf(allocation.ip));
  }

  isCooling(ip: string): boolean {
    const until = this.cooling.get(ip);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.cooling.delete(ip);
      return false;
    }
    return true;
  }

  /**
   * The address for this key: the one it already holds (a repeated ADD), or
   * the first free one, lowest device index first so that higher interfaces
   * drain and can be freed. Durable before it resolves.
   */
  async allocate(key: AllocationKey, extra: { netns?: string; pod?: PodRef } = {}): Promise<{ allocation: Allocation; existing: boolean }> {
    const existing = this.find(key);
    if (existing) {
      // A repeated ADD while the first is still being written: answer once it is durable (or rolled back).
      const durable = this.inflight.get(keyString(key));
      if (!durable) return { allocation: existing, existing: true };
      await durable.catch(() => undefined);
      return this.allocate(key, extra);
    }
    const ip = this.firstFree();
    if (!ip) throw new NoFreeAddressError(this.totalAddresses(), this.coolingCount());
    const allocation: Allocation = { key: { ...key }, ip, allocatedAt: this.now(), ...extra };
    // Reserve in memory first so that concurrent adds never pick the same address.
    this.put(allocation);
    const id = keyString(key);
    const durable = this.log.append({ t: 'alloc', a: allocation });
    this.inflight.set(id, durable);
    try {
      await durable;
    } catch (err) {
      this.remove(allocation);
      throw err;
    } finally {
      if (this.inflight.get(id) === durable) this.inflight.delete(id);
    }
    this.maybeCompact();
    return { allocation, existing: false };
  }

  /** Releases the key's address into cooldown; undefined when the key holds none. Durable before it resolves. */
  async release(key: AllocationKey, options: { cooldown?: boolean } = {}): Promise<Allocation | undefined> {
    const allocation = this.find(key);
    if (!allocation) return undefined;
    // An address no pod ever used (its network set-up failed) needs no cooldown.
    const until = this.now() + (options.cooldown === false ? 0 : this.options.cooldownMs);
    this.remove(allocation);
    this.cooling.set(allocation.ip, until);
    await this.log.append({ t: 'free', key: allocation.key, ip: allocation.ip, until });
    this.maybeCompact();
    return allocation;
  }

  // ---- what the policy sees ------------------------------------------------

  usage(): InterfaceUsage[] {
    return this.inventory.map((nic) => {
      const state = (ip: string): 'free' | 'assigned' | 'cooling' => (this.byIp.has(ip) ? 'assigned' : this.isCooling(ip) ? 'cooling' : 'free');
      return {
        interfaceId: nic.interfaceId,
        deviceIndex: nic.deviceIndex,
        isPrimary: nic.isPrimary,
        subnetId: nic.subnetId,
        ips: this.options.mode === 'ips' ? nic.ips.map((ip) => ({ ip, state: state(ip) })) : [],
        prefixes:
          this.options.mode === 'prefixes'
            ? nic.prefixes.map((prefix) => {
                const states = prefixAddresses(prefix).map(state);
                return { prefix, size: states.length, assigned: states.filter((s) => s === 'assigned').length, cooling: states.filter((s) => s === 'cooling').length };
              })
            : [],
      };
    });
  }

  totalAddresses(): number {
    return this.candidates.reduce((sum, nic) => sum + nic.ips.length, 0);
  }

  coolingCount(): number {
    let count = 0;
    for (const ip of [...this.cooling.keys()]) if (this.isCooling(ip)) count++;
    return count;
  }

  freeCount(): number {
    let count = 0;
    for (const nic of this.candidates) for (const ip of nic.ips) if (!this.byIp.has(ip) && !this.isCooling(ip)) count++;
    return count;
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  // ---- internals -----------------------------------------------------------

  private firstFree(): string | undefined {
    for (const nic of this.candidates) for (const ip of nic.ips) if (!this.byIp.has(ip) && !this.isCooling(ip)) return ip;
    return undefined;
  }

  private apply(op: JournalOp): void {
    if (op.t === 'alloc') {
      // A record whose append was reported failed can still be on disk: the later record wins.
      const sameKey = this.find(op.a.key);
      if (sameKey) this.remove(sameKey);
      const sameIp = this.byIp.get(op.a.ip);
      if (sameIp) this.remove(sameIp);
      this.put(op.a);
      this.cooling.delete(op.a.ip);
    } else {
      const current = this.find(op.key);
      if (current && current.ip === op.ip) this.remove(current);
      this.cooling.set(op.ip, op.until);
    }
  }

  private put(allocation: Allocation): void {
    this.byKey.set(keyString(allocation.key), allocation);
    this.byIp.set(allocation.ip, allocation);
  }

  private remove(allocation: Allocation): void {
    this.byKey.delete(keyString(allocation.key));
    if (this.byIp.get(allocation.ip) === allocation) this.byIp.delete(allocation.ip);
  }

  private snapshot(): Snapshot {
    const now = this.now();
    return {
      allocations: this.allocations(),
      cooling: [...this.cooling].filter(([, until]) => until > now).map(([ip, until]) => ({ ip, until })),
    };
  }

  private maybeCompact(): void {
    if (this.compacting || this.log.pending < (this.options.compactEvery ?? 10_000)) return;
    this.compacting = true;
    this.log
      .compact(this.snapshot())
      .catch((err: Error) => this.options.onBackgroundError?.(err))
      .finally(() => {
        this.compacting = false;
      });
  }
}
