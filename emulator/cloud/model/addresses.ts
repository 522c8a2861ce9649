import { ipToNumber, numberToIp, parseCidr } from '../../../lib/ipv4.ts';

export { cidrContains, ipToNumber, numberToIp, parseCidr } from '../../../lib/ipv4.ts';

/**
 * The address space of one subnet: which addresses are handed out. Like AWS,
 * the network address, the next three (router, DNS, reserved) and the
 * broadcast address are never handed out.
 */
export class SubnetAddressSpace {
  readonly base: number;
  readonly size: number;
  readonly prefixLength: number;
  private readonly used: Uint8Array;
  private usedCount = 0;
  private static readonly reservedLow = 4;

  constructor(readonly cidr: string) {
    const parsed = parseCidr(cidr);
    if (parsed.prefixLength < 16 || parsed.prefixLength > 28) {
      throw new Error(`subnet size must be between /16 and /28: ${cidr}`);
    }
    this.base = parsed.base;
    this.size = parsed.size;
    this.prefixLength = parsed.prefixLength;
    this.used = new Uint8Array(this.size);
    for (let i = 0; i < SubnetAddressSpace.reservedLow; i++) this.used[i] = 1;
    this.used[this.size - 1] = 1;
  }

  get gateway(): string {
    return numberToIp(this.base + 1);
  }

  get free(): number {
    return this.size - SubnetAddressSpace.reservedLow - 1 - this.usedCount;
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
    if (offset >= SubnetAddressSpace.reservedLow && offset < this.size - 1 && this.used[offset] === 1) {
      this.used[offset] = 0;
      this.usedCount--;
    }
  }

  releasePrefix(prefix: string): void {
    const { base, size } = parseCidr(prefix);
    for (let i = 0; i < size; i++) this.release(numberToIp(base + i));
  }
}
