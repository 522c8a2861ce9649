import { describe, expect, it } from 'vitest';
import { planPool } from '../../../ipamd/pool/policy.ts';
import type { InterfaceUsage, PolicyInput } from '../../../ipamd/common/types.ts';

/** m5.large: 9 pod addresses per interface. */
function iface(deviceIndex: number, states: Array<'free' | 'assigned' | 'cooling'>): InterfaceUsage {
  return {
    interfaceId: `eni-${deviceIndex}`,
    deviceIndex,
    isPrimary: deviceIndex === 0,
    subnetId: 'subnet-a',
    ips: states.map((state, i) => ({ ip: `10.0.${deviceIndex}.${10 + i}`, state })),
    prefixes: [],
  };
}

const base = (interfaces: InterfaceUsage[], extra: Partial<PolicyInput> = {}): PolicyInput => ({
  interfaces,
  targets: { mode: 'ips', warmEniTarget: 1, warmIpTarget: 0, minimumIpTarget: 0, warmPrefixTarget: 1, maxEni: 0 },
  limits: { maxInterfaces: 3, ipv4PerInterface: 10, supportsPrefixes: true, prefixLength: 28, hotAttach: true, maxAddressesOnCreate: 9 },
  subnets: [{ subnetId: 'subnet-a', freeAddresses: 100 }],
  pendingInterfaces: 0,
  usedDeviceIndexes: interfaces.map((i) => i.deviceIndex),
  ...extra,
});

describe('pool policy: when shrinking may happen', () => {
  // A pod came and went: the second interface is now surplus (18 free >= (1 + 1) x 9).
  const surplus = [iface(0, Array(9).fill('free')), iface(1, Array(9).fill('free'))];

  it('frees the surplus interface when shrinking is allowed', () => {
    expect(planPool(base(surplus)).steps).toEqual([{ kind: 'delete-interface', interfaceId: 'eni-1' }]);
  });

  it('waits while shrinking is not allowed yet', () => {
    const plan = planPool(base(surplus, { allowShrink: false }));
    expect(plan.steps).toEqual([]);
    expect(plan.reason).toMatch(/shrinking waits its turn/);
  });

  it('keeps an interface that is too young to free', () => {
    expect(planPool(base(surplus, { protectedInterfaceIds: ['eni-1'] })).steps).toEqual([]);
  });

  it('still grows at once when shrinking is not allowed', () => {
    const low = [iface(0, [...Array(5).fill('assigned'), ...Array(4).fill('free')])];
    const plan = planPool(base(low, { allowShrink: false }));
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'ips', count: 9 } }]);
  });
});
