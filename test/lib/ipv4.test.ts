import { describe, expect, it } from 'vitest';
import { cidrContains, ipToNumber, numberToIp, parseCidr } from '../../lib/ipv4.ts';

describe('IPv4 arithmetic', () => {
  it('reads a CIDR as its base, prefix length and size', () => {
    expect(parseCidr('10.0.16.0/20')).toEqual({ base: ipToNumber('10.0.16.0'), prefixLength: 20, size: 4096 });
    expect(parseCidr('10.0.0.5/32')).toEqual({ base: ipToNumber('10.0.0.5'), prefixLength: 32, size: 1 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ base: 0, prefixLength: 0, size: 2 ** 32 });
  });

  it('refuses what is not an IPv4 network, naming it', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '256.0.0.0/8', '010.0.0.0/8', ' 10.0.0.0/8', '10.0.0.0/8 ', '::/0', '']) {
      expect(() => parseCidr(bad), JSON.stringify(bad)).toThrow(`invalid IPv4 CIDR: ${bad}`);
    }
    expect(() => parseCidr('10.0.0.1/24')).toThrow('CIDR has host bits set: 10.0.0.1/24');
  });

  it('turns addresses into numbers and back', () => {
    for (const [ip, value] of [
      ['0.0.0.0', 0],
      ['10.0.16.5', 167776261],
      ['255.255.255.255', 2 ** 32 - 1],
    ] as const) {
      expect(ipToNumber(ip)).toBe(value);
      expect(numberToIp(value)).toBe(ip);
    }
    for (const bad of ['256.1.1.1', '10.0.0', '10.0.0.1/32', '01.2.3.4', '']) {
      expect(() => ipToNumber(bad), JSON.stringify(bad)).toThrow(`invalid IPv4 address: ${bad}`);
    }
  });

  it('tells whether a network holds an address, edges included', () => {
    expect(cidrContains('10.0.16.0/20', '10.0.16.0')).toBe(true);
    expect(cidrContains('10.0.16.0/20', '10.0.31.255')).toBe(true);
    expect(cidrContains('10.0.16.0/20', '10.0.15.255')).toBe(false);
    expect(cidrContains('10.0.16.0/20', '10.0.32.0')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '255.255.255.255')).toBe(true);
  });
});
