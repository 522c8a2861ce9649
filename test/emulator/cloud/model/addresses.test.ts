import { describe, expect, it } from 'vitest';
import { addressRules } from '../../../../emulator/cloud/model/address-rules.ts';
import { SubnetAddressSpace, cidrContains, ipToNumber, numberToIp, parseCidr } from '../../../../emulator/cloud/model/addresses.ts';

describe('parseCidr and friends', () => {
  it('parses a network CIDR', () => {
    expect(parseCidr('10.0.16.0/20')).toEqual({ base: ipToNumber('10.0.16.0'), prefixLength: 20, size: 4096 });
    expect(parseCidr('0.0.0.0/0').size).toBe(2 ** 32);
    expect(numberToIp(ipToNumber('192.168.255.254') + 1)).toBe('192.168.255.255');
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '10.0.0.1/24', '256.0.0.0/16', '10.0.0/24', '10.0.0.0/-1', 'abc', '', ' 10.0.0.0/24', '10.0.0.0/24 ', '::1/128', '010.0.0.0/8x'])(
    'rejects %j',
    (cidr) => {
      expect(() => parseCidr(cidr)).toThrow();
    },
  );

  it('rejects addresses that are not dotted IPv4', () => {
    for (const ip of ['10.0.0', '10.0.0.256', '1.2.3.4/32', 'x', '', '::1']) expect(() => ipToNumber(ip), ip).toThrow();
  });

  it('tells whether a CIDR contains an address, edges included', () => {
    expect(cidrContains('10.0.16.0/20', '10.0.16.0')).toBe(true);
    expect(cidrContains('10.0.16.0/20', '10.0.31.255')).toBe(true);
    expect(cidrContains('10.0.16.0/20', '10.0.32.0')).toBe(false);
    expect(cidrContains('10.0.16.0/20', '10.0.15.255')).toBe(false);
  });
});

describe('SubnetAddressSpace', () => {
  it('never hands out the network address, the three after it or the broadcast address', () => {
    const space = new SubnetAddressSpace('10.0.250.0/28');
    expect(space.free).toBe(11);
    expect(space.gateway).toBe('10.0.250.1');
    const all = space.allocate(11);
    expect(all).toEqual(Array.from({ length: 11 }, (_, i) => `10.0.250.${i + 4}`));
    expect(space.free).toBe(0);
    expect(space.allocate(1)).toBeNull();
    for (const reserved of ['10.0.250.0', '10.0.250.1', '10.0.250.2', '10.0.250.3', '10.0.250.15']) {
      expect(space.claim(reserved), reserved).toBe(false);
      space.release(reserved); // releasing a reserved address must not make it allocatable
    }
    expect(space.free).toBe(0);
    expect(space.allocate(1)).toBeNull();
  });

  it('keeps what each cloud reserves: AWS and Azure the first four and the last, ECS the first and the last three', () => {
    const aws = new SubnetAddressSpace('10.0.16.0/20', addressRules.aws);
    const azure = new SubnetAddressSpace('10.0.16.0/20', addressRules.azure);
    const ecs = new SubnetAddressSpace('10.0.16.0/20', addressRules.alibaba);
    expect([aws.free, azure.free, ecs.free]).toEqual([4091, 4091, 4092]);
    expect([aws.usable, ecs.usable]).toEqual([4091, 4092]);
    expect([aws.gateway, azure.gateway, ecs.gateway]).toEqual(['10.0.16.1', '10.0.16.1', '10.0.31.253']);
    expect(new SubnetAddressSpace('192.168.1.0/24', addressRules.alibaba).gateway).toBe('192.168.1.253');
    for (const space of [aws, azure]) {
      expect(['10.0.16.0', '10.0.16.3', '10.0.31.255'].map((ip) => space.refusal(ip))).toEqual(['reserved', 'reserved', 'reserved']);
      expect([space.refusal('10.0.16.4'), space.refusal('10.0.31.254')]).toEqual([undefined, undefined]);
    }
    expect(['10.0.16.0', '10.0.31.253', '10.0.31.254', '10.0.31.255'].map((ip) => ecs.refusal(ip))).toEqual(['reserved', 'reserved', 'reserved', 'reserved']);
    expect([ecs.refusal('10.0.16.1'), ecs.refusal('10.0.16.2'), ecs.refusal('10.0.31.252')]).toEqual([undefined, undefined, undefined]);
    expect(ecs.allocate(2)).toEqual(['10.0.16.1', '10.0.16.2']);
    expect([ecs.refusal('10.0.16.2'), ecs.refusal('10.0.32.1')]).toEqual(['taken', 'outside']);
    // A prefix touching a reserved address is refused as reserved; one over a taken address as taken.
    expect([ecs.prefixRefusal('10.0.16.0/28'), ecs.prefixRefusal('10.0.31.240/28'), ecs.prefixRefusal('10.0.17.0/28')]).toEqual(['reserved', 'reserved', undefined]);
    expect(aws.prefixRefusal('10.0.16.0/28')).toBe('reserved');
  });

  it('hands out the lowest free addresses first, reusing released ones', () => {
    const space = new SubnetAddressSpace('10.0.0.0/24');
    expect(space.allocate(3)).toEqual(['10.0.0.4', '10.0.0.5', '10.0.0.6']);
    space.release('10.0.0.5');
    expect(space.claim('10.0.0.9')).toBe(true);
    expect(space.allocate(3)).toEqual(['10.0.0.5', '10.0.0.7', '10.0.0.8']);
    expect(space.allocate(1)).toEqual(['10.0.0.10']);
  });

  it('is all or nothing when there are not enough addresses', () => {
    const space = new SubnetAddressSpace('10.0.250.0/28');
    expect(space.allocate(3)).toHaveLength(3);
    expect(space.allocate(9)).toBeNull();
    expect(space.free).toBe(8);
    expect(space.allocate(8)).toHaveLength(8);
    expect(space.allocate(0)).toEqual([]);
  });

  it('claims and releases single addresses, keeping the free count exact', () => {
    const space = new SubnetAddressSpace('10.0.0.0/24');
    expect(space.free).toBe(251);
    expect(space.claim('10.0.0.100')).toBe(true);
    expect(space.claim('10.0.0.100')).toBe(false);
    expect(space.free).toBe(250);
    expect(space.claim('10.0.1.4')).toBe(false);
    expect(space.claim('9.255.255.255')).toBe(false);
    space.release('10.0.0.100');
    space.release('10.0.0.100'); // twice: counted once
    space.release('10.0.0.50'); // never taken
    space.release('10.0.1.50'); // outside
    expect(space.free).toBe(251);
    expect(space.contains('10.0.0.255')).toBe(true);
    expect(space.contains('10.0.1.0')).toBe(false);
  });

  it('delegates aligned prefixes clear of reserved and used addresses', () => {
    const space = new SubnetAddressSpace('10.0.16.0/24');
    // 10.0.16.0/28 holds the reserved addresses.
    expect(space.allocatePrefixes(1, 28)).toEqual(['10.0.16.16/28']);
    expect(space.claim('10.0.16.40')).toBe(true);
    expect(space.allocatePrefixes(2, 28)).toEqual(['10.0.16.48/28', '10.0.16.64/28']);
    expect(space.free).toBe(251 - 3 * 16 - 1);
    // Single addresses still come from below the prefixes.
    expect(space.allocate(2)).toEqual(['10.0.16.4', '10.0.16.5']);
    // Left: 10.0.16.80 to .224; the block at .32 holds .40 and the last one the broadcast address.
    expect(space.allocatePrefixes(11, 28)).toBeNull();
    const rest = space.allocatePrefixes(10, 28);
    expect(rest).toHaveLength(10);
    expect(rest?.[0]).toBe('10.0.16.80/28');
    expect(rest).not.toContain('10.0.16.32/28');
    expect(rest).not.toContain('10.0.16.240/28');
    expect(space.allocatePrefixes(1, 28)).toBeNull();
  });

  it('delegates prefixes all or nothing', () => {
    const space = new SubnetAddressSpace('10.0.16.0/26');
    const free = space.free;
    expect(space.allocatePrefixes(3, 28)).toBeNull();
    expect(space.free).toBe(free);
    expect(space.allocatePrefixes(2, 28)).toEqual(['10.0.16.16/28', '10.0.16.32/28']);
    expect(new SubnetAddressSpace('10.0.16.0/28').allocatePrefixes(1, 28)).toBeNull();
  });

  it('claims and releases given prefixes', () => {
    const space = new SubnetAddressSpace('10.0.16.0/24');
    expect(space.claimPrefix('10.0.16.128/28')).toBe(true);
    expect(space.claimPrefix('10.0.16.128/28')).toBe(false);
    expect(space.claimPrefix('10.0.16.0/28')).toBe(false); // reserved addresses inside
    expect(space.claimPrefix('10.0.17.0/28')).toBe(false); // outside
    expect(space.claim('10.0.16.200')).toBe(true);
    expect(space.claimPrefix('10.0.16.192/28')).toBe(false); // one address in use
    expect(space.free).toBe(251 - 16 - 1);
    space.releasePrefix('10.0.16.128/28');
    expect(space.free).toBe(251 - 1);
    expect(space.claim('10.0.16.130')).toBe(true);
  });

  it('accepts /16 to /28 only, and valid network CIDRs only', () => {
    expect(new SubnetAddressSpace('10.0.0.0/16').free).toBe(65536 - 5);
    expect(new SubnetAddressSpace('10.0.0.0/28').free).toBe(11);
    for (const cidr of ['10.0.0.0/15', '10.0.0.0/29', '10.0.0.0/32', '10.0.0.1/24', 'nope', '10.0.0.0']) {
      expect(() => new SubnetAddressSpace(cidr), cidr).toThrow();
    }
  });
});
