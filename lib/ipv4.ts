/** IPv4 and CIDR arithmetic shared by ipamd, the adapters and the emulator. */
import { Address4 } from 'ip-address';

/** Parses and validates a CIDR; throws on anything that is not IPv4 a.b.c.d/n. */
export function parseCidr(cidr: string): { base: number; prefixLength: number; size: number } {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr) || !Address4.isValid(cidr)) {
    throw new Error(`invalid IPv4 CIDR: ${cidr}`);
  }
  const address = new Address4(cidr);
  const prefixLength = address.subnetMask;
  const base = Number(address.startAddress().bigInt());
  if (Number(address.bigInt()) !== base) throw new Error(`CIDR has host bits set: ${cidr}`);
  return { base, prefixLength, size: 2 ** (32 - prefixLength) };
}

export function ipToNumber(ip: string): number {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || !Address4.isValid(ip)) throw new Error(`invalid IPv4 address: ${ip}`);
  return Number(new Address4(ip).bigInt());
}

export function numberToIp(value: number): string {
  return Address4.fromBigInt(BigInt(value)).correctForm();
}

/** The address at `offset` in a CIDR block; a negative offset counts back from the end (-1: the last address). */
export function addressAt(cidr: string, offset: number): string {
  const { base, size } = parseCidr(cidr);
  return numberToIp(base + (offset >= 0 ? offset : size + offset));
}

export function cidrContains(cidr: string, ip: string): boolean {
  const { base, size } = parseCidr(cidr);
  const value = ipToNumber(ip);
  return value >= base && value < base + size;
}

