import { describe, expect, it } from 'vitest';
import { randomMac } from '../../../ipamd/dataplane/pod-network.ts';
import { snatRuleset } from '../../../ipamd/dataplane/node.ts';

// The pure parts of the pod data plane (the namespace tests beside this file need root;
// the iproute2 helpers they use are tested in test/lib/iproute.test.ts).
describe('pod data plane helpers', () => {
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
