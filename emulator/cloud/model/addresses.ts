import { ipToNumber, numberToIp, parseCidr } from '../../../lib/ipv4.ts';
import { addressRules, type AddressRules } from './address-rules.ts';

export { cidrContains, ipToNumber, numberToIp, parseCidr } from '../../../lib/ipv4.ts';

/** Why a specific address or prefix could not be claimed. */
export type ClaimRefusal = 'taken' | 'reserved' | 'outside';

/**
 * The address space of one subnet: which addresses are handed out. The
 * cloud's rules say which addresses at either end are reserved and never
 * handed out, and where the gateway sits.
 */
export class SubnetAddressSpace {
  readonly base: number;
  readonly size: number;
  readonly prefixLength: number;
  private readonly used: Uint8Array;
  private usedCount = 0;
  private readonly reservedLow: number;
  private readonly reservedHigh: number;
  private readonly gatewayOffset: number;

  constructor(
    readonly cidr: string,
    rules: Pick<AddressRules, 'reservedLow' | 'reservedHigh' | 'gatewayOffset'> = addressRules.aws,
  ) {
    const parsed = parseCidr(cidr);
    if (parsed.prefixLength < 16 || parsed.prefixLength > 28) {
      throw new Error(`subnet size must be between /16 and /28: ${cidr}`);
    }
    this.base = parsed.base;
    this.size = parsed.size;
    this.prefixLength = parsed.prefixLength;
    this.reservedLow = rules.reservedLow;
    this.reservedHigh = rules.reservedHigh;
    this.gatewayOffset = rules.gatewayOffset(this.size);
    this.used = new Uint8Array(this.size);
    this.used.fill(1, 0, this.reservedLow);
    this.used.fill(1, this.size - this.reservedHigh, this.size);
  }

  get gateway(): string {
    return numberToIp(this.base + this.gatewayOffset);
  }

  /** Addresses a fresh subnet can hand out. */
  get usable(): number {
    return this.size - this.reservedLow - this.reservedHigh;
  }

  get free(): number {
    return this.usable - this.usedCount;
  }

  /** Why `ip` cannot be claimed now, or undefined when it can. */
  refusal(ip: string): ClaimRefusal | undefined {
    const offset = ipToNumber(ip) - this.base;
    if (offset < 0 || offset >= this.size) return 'outside';
    if (this.isReserved(offset)) return 'reserved';
    return this.used[offset] === 0 ? undefined : 'taken';
  }

  /** Why `prefix` cannot be claimed now, or undefined when it can. */
  prefixRefusal(prefix: string): ClaimRefusal | undefined {
    const { base, size } = parseCidr(prefix);
    const start = base - this.base;
    if (start < 0 || start + size > this.size) return 'outside';
    let refusal: ClaimRefusal | undefined;
    for (let i = start; i < start + size; i++) {
      if (this.isReserved(i)) return 'reserved';
      if (this.used[i] !== 0) refusal = 'taken';
    }
    return refusal;
  }

  private isReserved(offset: number): boolean {
    return offset < this.reservedLow || offset >= this.size - this.reservedHigh;
  }

  contains(ip: string): boolean {
    const offset = ipToNumber(ip) - this.base;
    return offset >= 0 && offset < this.size;
  }

  /** Takes `count` free addresses, lowest first; null when there are not enough. */
  allocate(count: number): string[] | null {
    if (count > this.free) return null;
    const out: string[] = [];
    for (let i = 0; i < this.size && out.length < count; i++) {
      if (this.used[i] === 0) {
        this.used[i] = 1;
        out.push(numberToIp(this.base + i));
      }
    }
    this.usedCount += out.length;
    return out;
  }

  /** Takes one specific address; false when it is taken, reserved or outside. */
  claim(ip: string): boolean {
    const offset = ipToNumber(ip) - this.base;
    if (offset < 0 || offset >= this.size || this.used[offset] !== 0) return false;
    this.used[offset] = 1;
    this.usedCount++;
    return true;
  }

  /** Takes `count` whole aligned free blocks of the given prefix length. */
  allocatePrefixes(count: number, prefixLength: number): string[] | null {
    const block = 2 ** (32 - prefixLength);
    const found: number[] = [];
    for (let start = 0; start + block <= this.size && found.length < count; start += block) {
      let clear = true;
      for (let i = start; i < start + block; i++) {
        if (this.used[i] !== 0) {
          clear = false;
          break;
        }
      }
      if (clear) found.push(start);
    }
    if (found.length < count) return null;
    for (const start of found) this.used.fill(1, start, start + block);
    this.usedCount += found.length * block;
    return found.map((start) => `${numberToIp(this.base + start)}/${prefixLength}`);
  }

  claimPrefix(prefix: string): boolean {
    const { base, size } = parseCidr(prefix);
    const start = base - this.base;
    if (start < 0 || start + size > this.size) return false;
    for (let i = start; i < start + size; i++) if (this.used[i] !== 0) return false;
    this.used.fill(1, start, start + size);
    this.usedCount += size;
    return true;
  }

  release(ip: string): void {
    const offset = ipToNumber(ip) - this.base;
    if (offset >= 0 && offset < this.size && !this.isReserved(offset) && this.used[offset] === 1) {
      this.used[offset] = 0;
      this.usedCount--;
    }
  }

  releasePrefix(prefix: string): void {
    const { base, size } = parseCidr(prefix);
    for (let i = 0; i < size; i++) this.release(numberToIp(base + i));
  }
}
