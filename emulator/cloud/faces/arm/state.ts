import { randomUUID } from 'node:crypto';
import type { Clock, NetworkInterface } from '../../model/cloud.ts';
import { ArmSecurityState } from './security-state.ts';

/** A long-running operation as its Azure-AsyncOperation URL reports it. */
export interface AsyncOperation {
  id: string;
  startedAt: number;
  /** When it stops being InProgress. */
  doneAt: number;
  error?: { code: string; message: string };
}

const maxOperations = 10_000;

/**
 * What ARM shows that the cloud-neutral model does not keep: NIC names given
 * through ARM, the names of IP configurations, etags, and long-running
 * operations. All of it is keyed by the model's interface id; what ARM
 * keeps of security groups is in `security`.
 */
export class ArmState {
  /** NSG and ASG names and the security rules as ARM shows them. */
  readonly security = new ArmSecurityState();
  private readonly modelIdByName = new Map<string, string>();
  private readonly nameByModelId = new Map<string, string>();
  private readonly configNames = new Map<string, Map<string, string>>();
  /** Addresses whose IP configuration asked for Static allocation; the others read back as Dynamic. */
  private readonly staticIps = new Map<string, Set<string>>();
  private readonly etags = new Map<string, { etag: string; signature: string }>();
  private readonly busyUntil = new Map<string, number>();
  private readonly operations = new Map<string, AsyncOperation>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly clock: Clock) {}

  /** A NIC's ARM name: the one it was created under, or its model id. */
  nicName(modelId: string): string {
    return this.nameByModelId.get(modelId) ?? modelId;
  }

  /** The model id behind an ARM name (names are case-insensitive); the name itself when it was never mapped. */
  modelIdOf(name: string): string {
    return this.modelIdByName.get(name.toLowerCase()) ?? name.toLowerCase();
  }

  nameTaken(name: string): boolean {
    return this.modelIdByName.has(name.toLowerCase());
  }

  bindName(name: string, modelId: string): void {
    this.modelIdByName.set(name.toLowerCase(), modelId);
    this.nameByModelId.set(modelId, name);
  }

  /** The IP configuration holding an address; addresses assigned elsewhere get a derived name. */
  configName(nic: NetworkInterface, ip: string): string {
    const named = this.configNames.get(nic.id)?.get(ip);
    if (named) return named;
    return ip === nic.primaryIp ? 'ipconfig1' : `ipconfig-${ip.replaceAll('.', '-')}`;
  }

  nameConfigs(modelId: string, names: Map<string, string>): void {
    const current = this.configNames.get(modelId) ?? new Map<string, string>();
    for (const [ip, name] of names) current.set(ip, name);
    this.configNames.set(modelId, current);
  }

  dropConfigs(modelId: string, ips: string[]): void {
    const current = this.configNames.get(modelId);
    const statics = this.staticIps.get(modelId);
    for (const ip of ips) {
      current?.delete(ip);
      statics?.delete(ip);
    }
  }

  /** How the IP configuration holding `ip` was allocated, as its PUT said. */
  allocation(modelId: string, ip: string): 'Static' | 'Dynamic' {
    return this.staticIps.get(modelId)?.has(ip) ? 'Static' : 'Dynamic';
  }

  setAllocations(modelId: string, allocations: Map<string, 'Static' | 'Dynamic'>): void {
    const statics = this.staticIps.get(modelId) ?? new Set<string>();
    for (const [ip, allocation] of allocations) {
      if (allocation === 'Static') statics.add(ip);
      else statics.delete(ip);
    }
    this.staticIps.set(modelId, statics);
  }

  /** A new etag whenever what ARM shows of the NIC changed, however it changed. */
  etag(nic: NetworkInterface): string {
    const signature = JSON.stringify([
      nic.primaryIp,
      [nic.primaryIp, ...nic.secondaryIps].map((ip) => [ip, this.configName(nic, ip), this.allocation(nic.id, ip)]),
      nic.tags,
      nic.securityGroupIds,
      nic.applicationGroups,
      nic.attachment?.instanceId ?? null,
    ]);
    const stored = this.etags.get(nic.id);
    if (stored?.signature === signature) return stored.etag;
    const etag = `W/"${randomUUID()}"`;
    this.etags.set(nic.id, { etag, signature });
    return etag;
  }

  forget(modelId: string): void {
    const name = this.nameByModelId.get(modelId);
    if (name) this.modelIdByName.delete(name.toLowerCase());
    this.nameByModelId.delete(modelId);
    this.configNames.delete(modelId);
    this.staticIps.delete(modelId);
    this.etags.delete(modelId);
    this.busyUntil.delete(modelId);
  }

  /** Updating while an operation on it runs, Succeeded otherwise. */
  provisioningState(modelId: string): 'Updating' | 'Succeeded' {
    return (this.busyUntil.get(modelId) ?? 0) > this.clock.now() ? 'Updating' : 'Succeeded';
  }

  startOperation(durationMs: number, modelId?: string, error?: { code: string; message: string }): AsyncOperation {
    const now = this.clock.now();
    if (this.operations.size >= maxOperations) {
      // Oldest first (Map keeps insertion order): nobody polls an operation that old.
      const oldest = this.operations.keys().next().value;
      if (oldest !== undefined) this.operations.delete(oldest);
    }
    const operation: AsyncOperation = { id: randomUUID(), startedAt: now, doneAt: now + durationMs, ...(error ? { error } : {}) };
    this.operations.set(operation.id, operation);
    if (modelId && !error) this.busyUntil.set(modelId, Math.max(this.busyUntil.get(modelId) ?? 0, operation.doneAt));
    return operation;
  }

  operation(id: string): AsyncOperation | undefined {
    return this.operations.get(id.toLowerCase());
  }

  /** Runs writes to one NIC one after the other, so an etag check and the change it guards are one step. */
  async exclusive<T>(key: string, run: () => Promise<T>): Promise<T> {
    const lockKey = key.toLowerCase();
    const previous = this.locks.get(lockKey) ?? Promise.resolve();
    const next = previous.then(run, run);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(lockKey, settled);
    try {
      return await next;
    } finally {
      if (this.locks.get(lockKey) === settled) this.locks.delete(lockKey);
    }
  }
}
