import { describe, expect, it } from 'vitest';
import { namespaceArgs, parseBatchFailures, splitJsonOutputs } from '../../../lib/iproute.ts';
import { randomMac } from '../../../ipamd/dataplane/pod-network.ts';
import { snatRuleset } from '../../../ipamd/dataplane/node.ts';

// The pure parts of the pod data plane (the namespace tests beside this file need root).
describe('pod data plane helpers', () => {
  it('reads which batch lines failed, with their messages', () => {
    const stderr = 'RTNETLINK answers: File exists\nCommand failed -:1\nError: ipv4: Address already assigned.\nCommand failed -:4\n';
    expect([...parseBatchFailures(stderr)]).toEqual([
      [1, 'RTNETLINK answers: File exists'],
      [4, 'Error: ipv4: Address already assigned.'],
    ]);
  });

  it('pairs JSON outputs with the lines that printed them', () => {
    const outcome = { stdout: '[{"a":1}]\n[]\n', failures: new Map([[2, 'Device "x" does not exist.']]) };
    expect(splitJsonOutputs(3, outcome)).toEqual([[{ a: 1 }], undefined, []]);
  });

  it('names a namespace for ip -n, by name under /var/run/netns or by climbing to / otherwise', () => {
    expect(namespaceArgs('/var/run/netns/cni-1')).toEqual(['-n', 'cni-1']);
    expect(namespaceArgs('/run/netns/cni-2')).toEqual(['-n', 'cni-2']);
    const [, climbed = ''] = namespaceArgs('/proc/42/ns/net');
    expect(climbed).toMatch(/^(\.\.\/)+proc\/42\/ns\/net$/);
    expect(() => namespaceArgs('relative/ns')).toThrow(/absolute/);
  });

  it('makes locally administered unicast MACs', () => {
    for (let i = 0; i < 100; i++) {
      const mac = randomMac();
      expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02);
    }
  });

  it('writes one atomic nft transaction for the SNAT table', () => {
    const text = snatRuleset({ noSnatCidrs: ['10.0.0.0/16'], primaryIp: '10.0.0.10', primaryInterface: 'eth0' });
    expect(text.split('\n').slice(0, 3)).toEqual(['table ip vpc_cni', 'delete table ip vpc_cni', 'table ip vpc_cni {']);
    expect(text).toContain('elements = { 10.0.0.0/16 }');
    expect(text).toContain('oifname "eth0" meta mark & 0x80 == 0x80 ip daddr != @no_snat snat to 10.0.0.10 fully-random');
    expect(snatRuleset({ noSnatCidrs: [], primaryIp: '10.0.0.10', primaryInterface: 'eth0' })).not.toContain('elements');
  });
});
