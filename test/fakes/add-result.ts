/**
 * The one AddResult of the tests: what a fake ipamd answers an ADD with.
 * The host veth is named as ipamd names it (from the key), and the host and
 * pod MACs differ so a test sees which end went where.
 */
import { hostVethName } from '../../wire/names.ts';
import type { AddResult, AllocationKey } from '../../wire/protocol.ts';

/** The key fixtures use when a test does not care whose attachment it is. */
export const fakeKey: AllocationKey = { network: 'vpc-cni', containerId: 'c0ffee1234', ifName: 'eth0' };

export interface FakeAddResultOptions {
  key?: AllocationKey;
  /** The pod's address, bare; the result carries it as a /32. */
  ip?: string;
}

export function fakeAddResult({ key = fakeKey, ip = '10.0.16.5' }: FakeAddResultOptions = {}): AddResult {
  return {
    address: `${ip}/32`,
    ip,
    interfaceId: 'eni-0a1b2c3d',
    deviceIndex: 1,
    mac: '02:00:0a:00:10:01',
    subnetCidr: '10.0.16.0/20',
    gateway: '10.0.16.1',
    hostInterface: { name: hostVethName(key.network, key.containerId, key.ifName), mac: '02:aa:00:00:00:01' },
    podInterface: { name: key.ifName, mac: '02:bb:00:00:00:02' },
    mtu: 9001,
    podGateway: '169.254.1.1',
  };
}
