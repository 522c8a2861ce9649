import { describe, expect, it } from 'vitest';
import { planPool } from '../../../ipamd/pool/policy.ts';
import type { InterfaceUsage, Plan, PlanStep, PolicyInput, PolicyLimits, PolicySubnet, PoolTargets } from '../../../ipamd/common/types.ts';

// Instance types of AWS's worked examples (EC2 limits: interfaces, IPv4 addresses per interface).
const t3small: PolicyLimits = { maxInterfaces: 3, ipv4PerInterface: 4, supportsPrefixes: true, prefixLength: 28, hotAttach: true, maxAddressesOnCreate: 3 };
const m5large: PolicyLimits = { maxInterfaces: 3, ipv4PerInterface: 10, supportsPrefixes: true, prefixLength: 28, hotAttach: true, maxAddressesOnCreate: 9 };
const p3dn: PolicyLimits = { maxInterfaces: 15, ipv4PerInterface: 50, supportsPrefixes: true, prefixLength: 28, hotAttach: true, maxAddressesOnCreate: 49 };

const warmEni = (n: number, extra: Partial<PoolTargets> = {}): PoolTargets => ({
  mode: 'ips',
  warmEniTarget: n,
  warmIpTarget: 0,
  minimumIpTarget: 0,
  warmPrefixTarget: 1,
  maxEni: 0,
  ...extra,
});
const ipTargets = (warm: number, minimum: number, extra: Partial<PoolTargets> = {}): PoolTargets => warmEni(1, { warmIpTarget: warm, minimumIpTarget: minimum, ...extra });
const warmPrefix = (n: number, extra: Partial<PoolTargets> = {}): PoolTargets => warmEni(1, { mode: 'prefixes', warmPrefixTarget: n, ...extra });
const prefixIpTargets = (warm: number, minimum: number): PoolTargets => warmPrefix(1, { warmIpTarget: warm, minimumIpTarget: minimum });

const bigSubnet: PolicySubnet[] = [{ subnetId: 'subnet-a', freeAddresses: 4000 }];

/** An IP-mode interface: addresses 10.0.<device>.<10+n>, assigned first, then cooling, then free. */
function eni(deviceIndex: number, spec: { assigned?: number; cooling?: number; free?: number; subnet?: string } = {}): InterfaceUsage {
  const ips: InterfaceUsage['ips'] = [];
  const add = (n: number | undefined, state: 'assigned' | 'cooling' | 'free') => {
    for (let i = 0; i < (n ?? 0); i++) ips.push({ ip: `10.0.${deviceIndex}.${10 + ips.length}`, state });
  };
  add(spec.assigned, 'assigned');
  add(spec.cooling, 'cooling');
  add(spec.free, 'free');
  return { interfaceId: `eni-${deviceIndex}`, deviceIndex, isPrimary: deviceIndex === 0, subnetId: spec.subnet ?? 'subnet-a', ips, prefixes: [] };
}

/** A prefix-mode interface: prefix k is 10.<device>.0.<16k>/28 with [assigned, cooling] addresses taken. */
function pdEni(deviceIndex: number, prefixes: Array<[number, number]>, subnet = 'subnet-a'): InterfaceUsage {
  return {
    interfaceId: `eni-${deviceIndex}`,
    deviceIndex,
    isPrimary: deviceIndex === 0,
    subnetId: subnet,
    ips: [],
    prefixes: prefixes.map(([assigned, cooling], k) => ({ prefix: `10.${deviceIndex}.0.${16 * k}/28`, size: 16, assigned, cooling })),
  };
}

function input(interfaces: InterfaceUsage[], targets: PoolTargets, limits: PolicyLimits, extra: Partial<PolicyInput> = {}): PolicyInput {
  return {
    interfaces,
    targets,
    limits,
    subnets: bigSubnet,
    pendingInterfaces: 0,
    usedDeviceIndexes: interfaces.map((i) => i.deviceIndex),
    ...extra,
  };
}

const isGrow = (s: PlanStep) => s.kind === 'assign' || s.kind === 'create-interface';

/**
 * A node that carries plans out and schedules pods (lowest device index, lowest address first),
 * to walk the rows of AWS's example tables: add pods one at a time and let the policy converge after each.
 */
class FakeNode {
  interfaces: InterfaceUsage[];
  private serial = 0;

  constructor(
    readonly targets: PoolTargets,
    readonly limits: PolicyLimits,
  ) {
    this.interfaces = [{ interfaceId: 'eni-0', deviceIndex: 0, isPrimary: true, subnetId: 'subnet-a', ips: [], prefixes: [] }];
  }

  private addAddresses(nic: InterfaceUsage, request: { kind: 'ips' | 'prefixes'; count: number }): void {
    for (let i = 0; i < request.count; i++) {
      const n = this.serial++;
      if (request.kind === 'ips') nic.ips.push({ ip: `10.0.${nic.deviceIndex}.${10 + n}`, state: 'free' });
      else nic.prefixes.push({ prefix: `10.${nic.deviceIndex}.${n}.0/28`, size: 16, assigned: 0, cooling: 0 });
    }
  }

  apply(plan: Plan): void {
    for (const step of plan.steps) {
      if (step.kind === 'assign') {
        const nic = this.interfaces.find((i) => i.interfaceId === step.interfaceId);
        if (!nic) throw new Error(`no ${step.interfaceId}`);
        this.addAddresses(nic, step.request);
      } else if (step.kind === 'create-interface') {
        const nic: InterfaceUsage = { interfaceId: `eni-${step.deviceIndex}`, deviceIndex: step.deviceIndex, isPrimary: false, subnetId: step.subnetId, ips: [], prefixes: [] };
        this.addAddresses(nic, step.request);
        this.interfaces.push(nic);
      } else if (step.kind === 'release') {
        const nic = this.interfaces.find((i) => i.interfaceId === step.interfaceId);
        if (!nic) throw new Error(`no ${step.interfaceId}`);
        nic.ips = nic.ips.filter((ip) => !step.ips.includes(ip.ip));
        nic.prefixes = nic.prefixes.filter((p) => !step.prefixes.includes(p.prefix));
      } else {
        this.interfaces = this.interfaces.filter((i) => i.interfaceId !== step.interfaceId);
      }
    }
  }

  converge(): void {
    for (let i = 0; i < 20; i++) {
      const plan = planPool(input(this.interfaces, this.targets, this.limits));
      if (plan.steps.length === 0) return;
      this.apply(plan);
    }
    throw new Error('the policy did not converge in 20 plans');
  }

  addPod(): void {
    const sorted = [...this.interfaces].sort((a, b) => a.deviceIndex - b.deviceIndex);
    for (const nic of sorted) {
      if (this.targets.mode === 'ips') {
        const free = nic.ips.find((ip) => ip.state === 'free');
        if (free) {
          free.state = 'assigned';
          return;
        }
      } else {
        const prefix = nic.prefixes.find((p) => p.assigned + p.cooling < p.size);
        if (prefix) {
          prefix.assigned++;
          return;
        }
      }
    }
    throw new Error('no free address for a pod');
  }

  /** Boots, then runs `pods` pods, converging after each. */
  run(pods: number): this {
    this.converge();
    for (let i = 0; i < pods; i++) {
      this.addPod();
      this.converge();
    }
    return this;
  }

  get ipsPerEni(): number[] {
    return [...this.interfaces].sort((a, b) => a.deviceIndex - b.deviceIndex).map((i) => i.ips.length);
  }

  get prefixesPerEni(): number[] {
    return [...this.interfaces].sort((a, b) => a.deviceIndex - b.deviceIndex).map((i) => i.prefixes.length);
  }

  get unusedIps(): number {
    let n = 0;
    for (const i of this.interfaces) {
      n += i.ips.filter((ip) => ip.state === 'free').length;
      for (const p of i.prefixes) n += p.size - p.assigned - p.cooling;
    }
    return n;
  }
}

describe("AWS's worked examples: docs/eni-and-ip-target.md (IP mode)", () => {
  // Each row is one row of the table in amazon-vpc-cni-k8s docs/eni-and-ip-target.md:
  // instance type, targets, pods running, then the expected IPs per attached ENI (the
  // "IPs per ENI" column; its length is the "Attached ENIs" column, its sum "Attached Secondary IPs").
  const rows: Array<{ name: string; limits: PolicyLimits; targets: PoolTargets; pods: number; ipsPerEni: number[]; unused: number }> = [
    // t3.small, WARM_ENI_TARGET=1: a full warm ENI of 3 addresses.
    { name: 't3.small warm-eni=1, 0 pods', limits: t3small, targets: warmEni(1), pods: 0, ipsPerEni: [3], unused: 3 },
    { name: 't3.small warm-eni=1, 5 pods', limits: t3small, targets: warmEni(1), pods: 5, ipsPerEni: [3, 3, 3], unused: 4 },
    { name: 't3.small warm-eni=1, 9 pods', limits: t3small, targets: warmEni(1), pods: 9, ipsPerEni: [3, 3, 3], unused: 0 },
    // t3.small, WARM_IP_TARGET=1, MINIMUM_IP_TARGET=1.
    { name: 't3.small warm-ip=1 min-ip=1, 0 pods', limits: t3small, targets: ipTargets(1, 1), pods: 0, ipsPerEni: [1], unused: 1 },
    { name: 't3.small warm-ip=1 min-ip=1, 5 pods', limits: t3small, targets: ipTargets(1, 1), pods: 5, ipsPerEni: [3, 3], unused: 1 },
    { name: 't3.small warm-ip=1 min-ip=1, 9 pods', limits: t3small, targets: ipTargets(1, 1), pods: 9, ipsPerEni: [3, 3, 3], unused: 0 },
    // t3.small, WARM_IP_TARGET=2, MINIMUM_IP_TARGET=5 (the docs list the 0-pod ENIs as "2,3": the same 5 IPs on 2 ENIs;
    // the primary is filled first, as tryAssignIPs does before tryAllocateENI).
    { name: 't3.small warm-ip=2 min-ip=5, 0 pods', limits: t3small, targets: ipTargets(2, 5), pods: 0, ipsPerEni: [3, 2], unused: 5 },
    { name: 't3.small warm-ip=2 min-ip=5, 5 pods', limits: t3small, targets: ipTargets(2, 5), pods: 5, ipsPerEni: [3, 3, 1], unused: 2 },
    { name: 't3.small warm-ip=2 min-ip=5, 9 pods', limits: t3small, targets: ipTargets(2, 5), pods: 9, ipsPerEni: [3, 3, 3], unused: 0 },
    // p3dn.24xlarge (49 secondaries per ENI), WARM_ENI_TARGET=1.
    { name: 'p3dn warm-eni=1, 0 pods', limits: p3dn, targets: warmEni(1), pods: 0, ipsPerEni: [49], unused: 49 },
    { name: 'p3dn warm-eni=1, 3 pods', limits: p3dn, targets: warmEni(1), pods: 3, ipsPerEni: [49, 49], unused: 95 },
    { name: 'p3dn warm-eni=1, 95 pods', limits: p3dn, targets: warmEni(1), pods: 95, ipsPerEni: [49, 49, 49], unused: 52 },
    // p3dn.24xlarge, WARM_IP_TARGET=5, MINIMUM_IP_TARGET=10.
    { name: 'p3dn warm-ip=5 min-ip=10, 0 pods', limits: p3dn, targets: ipTargets(5, 10), pods: 0, ipsPerEni: [10], unused: 10 },
    { name: 'p3dn warm-ip=5 min-ip=10, 7 pods', limits: p3dn, targets: ipTargets(5, 10), pods: 7, ipsPerEni: [12], unused: 5 },
    { name: 'p3dn warm-ip=5 min-ip=10, 15 pods', limits: p3dn, targets: ipTargets(5, 10), pods: 15, ipsPerEni: [20], unused: 5 },
    { name: 'p3dn warm-ip=5 min-ip=10, 45 pods', limits: p3dn, targets: ipTargets(5, 10), pods: 45, ipsPerEni: [49, 1], unused: 5 },
  ];

  it.each(rows)('$name', ({ limits, targets, pods, ipsPerEni, unused }) => {
    const node = new FakeNode(targets, limits).run(pods);
    expect(node.ipsPerEni).toEqual(ipsPerEni);
    expect(node.unusedIps).toBe(unused);
  });
});

describe("AWS's worked examples: docs/prefix-and-ip-target.md (prefix mode)", () => {
  // Rows of the table in amazon-vpc-cni-k8s docs/prefix-and-ip-target.md. t3.small has 3 prefix slots per ENI.
  const rows: Array<{ name: string; limits: PolicyLimits; targets: PoolTargets; pods: number; prefixesPerEni?: number[]; prefixes: number; unused: number }> = [
    // t3.small, WARM_PREFIX_TARGET=1.
    { name: 't3.small warm-prefix=1, 0 pods', limits: t3small, targets: warmPrefix(1), pods: 0, prefixesPerEni: [1], prefixes: 1, unused: 16 },
    { name: 't3.small warm-prefix=1, 5 pods', limits: t3small, targets: warmPrefix(1), pods: 5, prefixesPerEni: [2], prefixes: 2, unused: 27 },
    { name: 't3.small warm-prefix=1, 16 pods', limits: t3small, targets: warmPrefix(1), pods: 16, prefixesPerEni: [2], prefixes: 2, unused: 16 },
    { name: 't3.small warm-prefix=1, 17 pods', limits: t3small, targets: warmPrefix(1), pods: 17, prefixesPerEni: [3], prefixes: 3, unused: 31 },
    { name: 't3.small warm-prefix=1, 58 pods', limits: t3small, targets: warmPrefix(1), pods: 58, prefixesPerEni: [3, 2], prefixes: 5, unused: 22 },
    // t3.small, WARM_IP_TARGET=1, MINIMUM_IP_TARGET=1.
    { name: 't3.small warm-ip=1 min-ip=1, 0 pods', limits: t3small, targets: prefixIpTargets(1, 1), pods: 0, prefixesPerEni: [1], prefixes: 1, unused: 16 },
    { name: 't3.small warm-ip=1 min-ip=1, 5 pods', limits: t3small, targets: prefixIpTargets(1, 1), pods: 5, prefixesPerEni: [1], prefixes: 1, unused: 11 },
    { name: 't3.small warm-ip=1 min-ip=1, 17 pods', limits: t3small, targets: prefixIpTargets(1, 1), pods: 17, prefixesPerEni: [2], prefixes: 2, unused: 15 },
    { name: 't3.small warm-ip=1 min-ip=1, 58 pods', limits: t3small, targets: prefixIpTargets(1, 1), pods: 58, prefixesPerEni: [3, 1], prefixes: 4, unused: 6 },
    // t3.small, WARM_IP_TARGET=7, MINIMUM_IP_TARGET=20. The docs' 0-pod row contradicts itself (1 attached prefix
    // but "0,0" and 2 per ENI); datastoreTargetState gives short = max(7-0, 20-0) = 20 IPs = ceil(20/16) = 2 prefixes,
    // which is also what its 5-pod row shows (2 prefixes, 27 unused).
    { name: 't3.small warm-ip=7 min-ip=20, 0 pods', limits: t3small, targets: prefixIpTargets(7, 20), pods: 0, prefixesPerEni: [2], prefixes: 2, unused: 32 },
    { name: 't3.small warm-ip=7 min-ip=20, 5 pods', limits: t3small, targets: prefixIpTargets(7, 20), pods: 5, prefixesPerEni: [2], prefixes: 2, unused: 27 },
    { name: 't3.small warm-ip=7 min-ip=20, 17 pods', limits: t3small, targets: prefixIpTargets(7, 20), pods: 17, prefixesPerEni: [2], prefixes: 2, unused: 15 },
    { name: 't3.small warm-ip=7 min-ip=20, 58 pods', limits: t3small, targets: prefixIpTargets(7, 20), pods: 58, prefixesPerEni: [3, 2], prefixes: 5, unused: 22 },
    // p3dn.24xlarge (49 prefix slots per ENI): the docs' ENI column counts ENIs without prefixes that this
    // policy never creates, so only the prefix and unused-IP columns are compared.
    { name: 'p3dn warm-prefix=1, 0 pods', limits: p3dn, targets: warmPrefix(1), pods: 0, prefixes: 1, unused: 16 },
    { name: 'p3dn warm-prefix=1, 3 pods', limits: p3dn, targets: warmPrefix(1), pods: 3, prefixes: 2, unused: 29 },
    { name: 'p3dn warm-prefix=1, 95 pods', limits: p3dn, targets: warmPrefix(1), pods: 95, prefixes: 7, unused: 17 },
    { name: 'p3dn warm-ip=5 min-ip=10, 0 pods', limits: p3dn, targets: prefixIpTargets(5, 10), pods: 0, prefixes: 1, unused: 16 },
    { name: 'p3dn warm-ip=5 min-ip=10, 7 pods', limits: p3dn, targets: prefixIpTargets(5, 10), pods: 7, prefixes: 1, unused: 9 },
    { name: 'p3dn warm-ip=5 min-ip=10, 15 pods', limits: p3dn, targets: prefixIpTargets(5, 10), pods: 15, prefixes: 2, unused: 17 },
    { name: 'p3dn warm-ip=5 min-ip=10, 45 pods', limits: p3dn, targets: prefixIpTargets(5, 10), pods: 45, prefixes: 4, unused: 19 },
  ];

  it.each(rows)('$name', ({ limits, targets, pods, prefixesPerEni, prefixes, unused }) => {
    const node = new FakeNode(targets, limits).run(pods);
    if (prefixesPerEni) expect(node.prefixesPerEni).toEqual(prefixesPerEni);
    expect(node.prefixesPerEni.reduce((a, b) => a + b, 0)).toBe(prefixes);
    expect(node.unusedIps).toBe(unused);
  });
});

describe('a node at m5.large defaults (WARM_ENI_TARGET=1) booting from only its primary interface', () => {
  it('assigns the primary interface its 9 secondaries first, and that is the warm pool', () => {
    const plan = planPool(input([eni(0)], warmEni(1), m5large));
    expect(plan).toEqual({
      steps: [{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'ips', count: 9 } }],
      short: 9,
      excess: 0,
      reason: 'ip-mode warm-eni=1 (9 per interface): available 0 < 9 needed, total 0, assigned 0, cooling 0; short 9; assign 9 ips on eni-0',
    });
    // With 9 free addresses the pool is at target: AWS (isDatastorePoolTooLow: 9 < 1*9 is false) attaches no second
    // ENI until a pod takes one of them (docs/eni-and-ip-target.md, t3.small 0 pods: 1 ENI).
    expect(planPool(input([eni(0, { free: 9 })], warmEni(1), m5large)).steps).toEqual([]);
  });

  it('attaches one whole warm interface once the first pod runs', () => {
    const plan = planPool(input([eni(0, { assigned: 1, free: 8 })], warmEni(1), m5large));
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'ips', count: 9 } }]);
    expect(plan.short).toBe(1);
    expect(plan.reason).toBe(
      'ip-mode warm-eni=1 (9 per interface): available 8 < 9 needed, total 9, assigned 1, cooling 0; short 1; create an interface at device 1 in subnet-a with 9 ips',
    );
  });

  it('with WARM_ENI_TARGET=2 fills the primary and creates one warm interface in the same plan', () => {
    const plan = planPool(input([eni(0)], warmEni(2), m5large));
    expect(plan.steps).toEqual([
      { kind: 'assign', interfaceId: 'eni-0', request: { kind: 'ips', count: 9 } },
      { kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'ips', count: 9 } },
    ]);
    expect(plan.short).toBe(18);
  });
});

describe('target combinations (exact plans)', () => {
  it.each([
    {
      name: 'warm-eni=0 keeps nothing warm while an address is free',
      in: input([eni(0, { assigned: 3, free: 1 })], warmEni(0), m5large),
      steps: [],
      short: 0,
      excess: 1,
    },
    {
      name: 'warm-eni=0 grows a whole interface once nothing is free',
      in: input([eni(0, { assigned: 4 })], warmEni(0), m5large),
      steps: [{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'ips', count: 5 } }],
      short: 1,
      excess: 0,
    },
    {
      name: 'warm-ip only: assigns exactly the shortfall',
      in: input([eni(0, { assigned: 2, free: 1 })], ipTargets(4, 0), m5large),
      steps: [{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'ips', count: 3 } }],
      short: 3,
      excess: 0,
    },
    {
      name: 'minimum-ip only: fills up to the minimum and no further',
      in: input([eni(0, { free: 2 })], ipTargets(0, 12), m5large),
      steps: [
        { kind: 'assign', interfaceId: 'eni-0', request: { kind: 'ips', count: 7 } },
        { kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'ips', count: 3 } },
      ],
      short: 10,
      excess: 0,
    },
    {
      name: 'minimum-ip only: all in use is not short (the minimum caps the pool, as in AWS)',
      in: input([eni(0, { assigned: 9 }), eni(1, { assigned: 3 })], ipTargets(0, 12), m5large),
      steps: [],
      short: 0,
      excess: 0,
    },
    {
      name: 'warm-ip and minimum-ip: the larger shortfall wins (minimum)',
      in: input([eni(0, { assigned: 1, free: 2 })], ipTargets(2, 6), m5large),
      steps: [{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'ips', count: 3 } }],
      short: 3,
      excess: 0,
    },
    {
      name: 'ip targets ignore WARM_ENI_TARGET: no whole warm interface',
      in: input([eni(0, { assigned: 9 }), eni(1, { assigned: 1, free: 2 })], ipTargets(2, 0, { warmEniTarget: 3 }), m5large),
      steps: [],
      short: 0,
      excess: 0,
    },
  ])('$name', (row) => {
    const plan = planPool(row.in);
    expect(plan.steps).toEqual(row.steps);
    expect(plan.short).toBe(row.short);
    expect(plan.excess).toBe(row.excess);
    expect(plan.exhausted).toBeUndefined();
  });
});

describe('limits', () => {
  const full = () => [eni(0, { assigned: 9 }), eni(1, { assigned: 9 })];

  it('MAX_ENI below the instance limit stops growth with an actionable message', () => {
    const plan = planPool(input(full(), warmEni(1, { maxEni: 2 }), m5large));
    expect(plan.steps).toEqual([]);
    expect(plan.short).toBe(9);
    expect(plan.exhausted).toEqual({
      limit: 'max-eni',
      message: 'all 2 interfaces are attached and full (10 addresses each, 9 for pods) and MAX_ENI=2 allows no more; raise MAX_ENI (the instance type allows 3)',
    });
    expect(plan.reason).toContain('exhausted (max-eni)');
  });

  it('the instance interface limit stops growth', () => {
    const plan = planPool(input([...full(), eni(2, { assigned: 9 })], warmEni(1), m5large));
    expect(plan.exhausted).toEqual({
      limit: 'interfaces-per-instance',
      message:
        'all 3 interfaces the instance type allows are attached and full (10 addresses each, 9 for pods); use a larger instance type or enable prefix delegation (ENABLE_PREFIX_DELEGATION=true)',
    });
  });

  it('MAX_ENI at or above the instance limit is the instance limit', () => {
    const plan = planPool(input([...full(), eni(2, { assigned: 9 })], warmEni(1, { maxEni: 5 }), m5large));
    expect(plan.exhausted?.limit).toBe('interfaces-per-instance');
    expect(plan.exhausted?.message).toContain('(MAX_ENI=5 is above the instance limit)');
  });

  it('interfaces ipamd does not manage count against the limit through their device index', () => {
    const plan = planPool(input(full(), warmEni(1), m5large, { usedDeviceIndexes: [0, 1, 2] }));
    expect(plan.exhausted?.limit).toBe('interfaces-per-instance');
  });

  it('fills the free slots of an interface before creating one, then creates with the rest', () => {
    // eni-1 holds 7 of its 9 slots: 2 more fit; the other 3 go to a new interface.
    const plan = planPool(input([eni(0, { assigned: 9 }), eni(1, { assigned: 7 })], ipTargets(5, 0), m5large));
    expect(plan.steps).toEqual([
      { kind: 'assign', interfaceId: 'eni-1', request: { kind: 'ips', count: 2 } },
      { kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 2, request: { kind: 'ips', count: 3 } },
    ]);
  });

  it('each prefix takes one slot, like a secondary IP', () => {
    const mixed: InterfaceUsage = { ...eni(1, { assigned: 7 }), prefixes: [{ prefix: '10.9.0.0/28', size: 16, assigned: 0, cooling: 0 }] };
    const plan = planPool(input([eni(0, { assigned: 9 }), mixed], ipTargets(5, 0), m5large));
    expect(plan.steps[0]).toEqual({ kind: 'assign', interfaceId: 'eni-1', request: { kind: 'ips', count: 1 } });
  });

  it('picks the lowest unused device index', () => {
    const plan = planPool(input([eni(0, { assigned: 49 }), eni(2, { assigned: 49 })], warmEni(1), p3dn, { usedDeviceIndexes: [0, 2, 3] }));
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'ips', count: 49 } }]);
  });

  it('asks for no more than maxAddressesOnCreate, and fills the new interface in a later plan', () => {
    const limits = { ...m5large, maxAddressesOnCreate: 4 };
    const plan = planPool(input([eni(0, { assigned: 9 })], warmEni(1), limits));
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'ips', count: 4 } }]);
    expect(plan.exhausted).toBeUndefined();
    expect(plan.reason).toContain('waiting: the interface created at device 1 gets its remaining addresses next time');
    const next = planPool(input([eni(0, { assigned: 9 }), eni(1, { free: 4 })], warmEni(1), limits));
    expect(next.steps).toEqual([{ kind: 'assign', interfaceId: 'eni-1', request: { kind: 'ips', count: 5 } }]);
  });

  it('pending interfaces count against the limits and are waited for, not reported as exhaustion', () => {
    const plan = planPool(input(full(), warmEni(1), m5large, { pendingInterfaces: 1, usedDeviceIndexes: [0, 1, 2] }));
    expect(plan.steps).toEqual([]);
    expect(plan.exhausted).toBeUndefined();
    expect(plan.reason).toContain('waiting: 1 interface is being created');
  });

  it('does not create a second interface while one is pending, but still fills existing ones', () => {
    const plan = planPool(input([eni(0, { assigned: 5 })], warmEni(2), p3dn, { pendingInterfaces: 1, usedDeviceIndexes: [0, 1] }));
    expect(plan.steps).toEqual([{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'ips', count: 44 } }]);
    expect(plan.exhausted).toBeUndefined();
  });

  it('an instance type without addresses for pods is exhausted at addresses-per-interface', () => {
    const plan = planPool(input([eni(0)], ipTargets(1, 0), { ...m5large, ipv4PerInterface: 1 }));
    expect(plan.exhausted?.limit).toBe('addresses-per-interface');
    expect(plan.exhausted?.message).toContain('hold 1 address each');
  });

  it('reports the limit it will run into after the steps it can take', () => {
    const plan = planPool(input([eni(0, { assigned: 9 }), eni(1, { assigned: 5 })], ipTargets(0, 30), m5large));
    expect(plan.steps).toEqual([
      { kind: 'assign', interfaceId: 'eni-1', request: { kind: 'ips', count: 4 } },
      { kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 2, request: { kind: 'ips', count: 9 } },
    ]);
    expect(plan.exhausted).toBeUndefined();
    expect(plan.reason).toMatch(/; then limited by interfaces-per-instance$/);
  });
});

describe('cooldown', () => {
  it('cooling addresses are held but not available, so the pool grows past them', () => {
    // AWS counts them as available (issues #1700, #2896); here a pod cannot use them, so they do not count.
    const plan = planPool(input([eni(0, { cooling: 1, free: 8 })], warmEni(1), m5large));
    expect(plan.short).toBe(1);
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'ips', count: 9 } }]);
    expect(plan.reason).toContain('available 8 < 9 needed, total 9, assigned 0, cooling 1');
  });

  it('cooling addresses are never released', () => {
    const plan = planPool(input([eni(0, { assigned: 2, cooling: 3, free: 1 }), eni(1, { cooling: 2, free: 2 })], ipTargets(1, 0), m5large));
    expect(plan.excess).toBe(2);
    expect(plan.steps).toEqual([{ kind: 'release', interfaceId: 'eni-1', ips: ['10.0.1.13', '10.0.1.12'], prefixes: [] }]);
  });

  it('an interface with an address in cooldown is not freed; the next one down is', () => {
    const nics = [eni(0, { free: 9 }), eni(1, { free: 9 }), eni(2, { cooling: 1, free: 8 })];
    const plan = planPool(input(nics, warmEni(1), m5large));
    expect(plan.steps).toEqual([{ kind: 'delete-interface', interfaceId: 'eni-1' }]);
  });

  it('no interface is freed while every candidate holds a pod or a cooling address', () => {
    const nics = [eni(0, { free: 9 }), eni(1, { assigned: 1, free: 8 }), eni(2, { cooling: 1, free: 8 })];
    expect(planPool(input(nics, warmEni(1), m5large)).steps).toEqual([]);
  });

  it('a prefix with a cooling address is neither free nor released', () => {
    const plan = planPool(input([pdEni(0, [[16, 0], [0, 1], [0, 0], [0, 0]])], warmPrefix(1), p3dn));
    expect(plan.steps).toEqual([{ kind: 'release', interfaceId: 'eni-0', ips: [], prefixes: ['10.0.0.48/28'] }]);
  });
});

describe('shrinking', () => {
  it('with ip targets releases `over` free addresses, highest device index then highest address first', () => {
    const nics = [eni(0, { assigned: 3, free: 6 }), eni(1, { assigned: 1, free: 3 })];
    const plan = planPool(input(nics, ipTargets(2, 0), m5large));
    expect(plan.excess).toBe(7);
    expect(plan.steps).toEqual([
      { kind: 'release', interfaceId: 'eni-1', ips: ['10.0.1.13', '10.0.1.12', '10.0.1.11'], prefixes: [] },
      { kind: 'release', interfaceId: 'eni-0', ips: ['10.0.0.18', '10.0.0.17', '10.0.0.16', '10.0.0.15'], prefixes: [] },
    ]);
  });

  it('the minimum target bounds what is released', () => {
    const plan = planPool(input([eni(0, { assigned: 2, free: 7 })], ipTargets(1, 6), m5large));
    expect(plan.excess).toBe(3);
    expect(plan.steps).toEqual([{ kind: 'release', interfaceId: 'eni-0', ips: ['10.0.0.18', '10.0.0.17', '10.0.0.16'], prefixes: [] }]);
  });

  it('frees a whole unused interface instead of releasing its addresses one by one', () => {
    const nics = [eni(0, { assigned: 4, free: 5 }), eni(1, { free: 9 })];
    const plan = planPool(input(nics, ipTargets(3, 0), m5large));
    expect(plan.excess).toBe(11);
    expect(plan.steps).toEqual([
      { kind: 'release', interfaceId: 'eni-0', ips: ['10.0.0.18', '10.0.0.17'], prefixes: [] },
      { kind: 'delete-interface', interfaceId: 'eni-1' },
    ]);
    expect(plan.reason).toBe(
      'ip-mode warm-ip=3 minimum-ip=0: available 14 (warm 3), total 18 (minimum 0), assigned 4, cooling 0; excess 11; release 2 ips from eni-0, delete eni-1',
    );
  });

  it('keeps an unused interface the warm ip target needs (isRequiredForWarmIPTarget)', () => {
    const nics = [eni(0, { assigned: 9 }), eni(1, { free: 3 })];
    const plan = planPool(input(nics, ipTargets(3, 0), m5large));
    expect(plan.steps).toEqual([]);
  });

  it('keeps an unused interface the minimum target needs (isRequiredForMinimumIPTarget)', () => {
    const nics = [eni(0, { assigned: 9 }), eni(1, { free: 3 })];
    expect(planPool(input(nics, ipTargets(0, 12), m5large)).steps).toEqual([]);
    expect(planPool(input(nics, ipTargets(0, 9), m5large)).steps).toEqual([{ kind: 'delete-interface', interfaceId: 'eni-1' }]);
  });

  it('with WARM_ENI_TARGET frees an interface only when a whole extra interface is free (available >= (warm + 1) * 9)', () => {
    expect(planPool(input([eni(0, { assigned: 1, free: 8 }), eni(1, { free: 9 })], warmEni(1), m5large)).steps).toEqual([]);
    const plan = planPool(input([eni(0, { free: 9 }), eni(1, { free: 9 })], warmEni(1), m5large));
    expect(plan.steps).toEqual([{ kind: 'delete-interface', interfaceId: 'eni-1' }]);
    expect(plan.excess).toBe(9);
  });

  it('with WARM_ENI_TARGET never releases single addresses', () => {
    const plan = planPool(input([eni(0, { assigned: 1, free: 8 }), eni(1, { assigned: 1, free: 8 })], warmEni(1), m5large));
    expect(plan.steps).toEqual([]);
    expect(plan.excess).toBe(7);
  });

  it('frees at most one interface per plan, the highest device index', () => {
    const nics = [eni(0, { free: 9 }), eni(1, { free: 9 }), eni(2, { free: 9 })];
    const plan = planPool(input(nics, warmEni(0), m5large));
    expect(plan.steps).toEqual([{ kind: 'delete-interface', interfaceId: 'eni-2' }]);
  });

  it('never frees the primary interface', () => {
    expect(planPool(input([eni(0, { free: 9 })], warmEni(0), m5large)).steps).toEqual([]);
  });

  it('never frees the interface holding the last free address with WARM_ENI_TARGET=0 (that would grow again)', () => {
    expect(planPool(input([eni(0, { assigned: 9 }), eni(1, { free: 9 })], warmEni(0), m5large)).steps).toEqual([]);
  });
});

describe('prefix mode', () => {
  it('boots with one prefix on the primary interface (WARM_PREFIX_TARGET=1)', () => {
    const plan = planPool(input([pdEni(0, [])], warmPrefix(1), m5large));
    expect(plan.steps).toEqual([{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'prefixes', count: 1 } }]);
    expect(plan.short).toBe(16);
  });

  it('WARM_PREFIX_TARGET=2 asks for the free prefixes it lacks in one call', () => {
    const plan = planPool(input([pdEni(0, [[3, 0]])], warmPrefix(2), m5large));
    expect(plan.steps).toEqual([{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'prefixes', count: 2 } }]);
  });

  it('grows once fewer than warmPrefix * 16 addresses are available, even with a partly used prefix', () => {
    // 16 + 1 addresses used: 15 available < 16 (docs: t3.small warm-prefix=1, 17 pods -> 3 prefixes).
    const plan = planPool(input([pdEni(0, [[16, 0], [1, 0]])], warmPrefix(1), t3small));
    expect(plan.steps).toEqual([{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'prefixes', count: 1 } }]);
  });

  it('creates an interface with its prefixes when the slots are full', () => {
    const plan = planPool(input([pdEni(0, [[16, 0], [16, 0], [16, 0]])], warmPrefix(2), t3small));
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'prefixes', count: 2 } }]);
  });

  it('ip targets round the shortfall up to whole prefixes', () => {
    const plan = planPool(input([pdEni(0, [[14, 0]])], prefixIpTargets(20, 0), m5large));
    expect(plan.short).toBe(18);
    expect(plan.steps).toEqual([{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'prefixes', count: 2 } }]);
  });

  it('ip targets release only whole free prefixes: over rounded down', () => {
    // 3 prefixes, 5 used: available 43, over = 43 - 5 = 38 addresses = 2 whole prefixes.
    const plan = planPool(input([pdEni(0, [[5, 0], [0, 0], [0, 0]])], prefixIpTargets(5, 0), m5large));
    expect(plan.excess).toBe(38);
    expect(plan.steps).toEqual([{ kind: 'release', interfaceId: 'eni-0', ips: [], prefixes: ['10.0.0.32/28', '10.0.0.16/28'] }]);
    // over = 27 - 5 = 22: one prefix.
    const one = planPool(input([pdEni(0, [[5, 0], [0, 0]])], prefixIpTargets(5, 0), m5large));
    expect(one.steps).toEqual([{ kind: 'release', interfaceId: 'eni-0', ips: [], prefixes: ['10.0.0.16/28'] }]);
    // over = 11 - 5 = 6 < 16: nothing.
    expect(planPool(input([pdEni(0, [[5, 0]])], prefixIpTargets(5, 0), m5large)).steps).toEqual([]);
  });

  it('WARM_PREFIX_TARGET releases the free prefixes beyond it, highest first', () => {
    const plan = planPool(input([pdEni(0, [[3, 0], [0, 0], [0, 0], [0, 0]])], warmPrefix(1), p3dn));
    expect(plan.steps).toEqual([{ kind: 'release', interfaceId: 'eni-0', ips: [], prefixes: ['10.0.0.48/28', '10.0.0.32/28'] }]);
  });

  it('frees an unused interface when other interfaces hold the warm prefixes (isRequiredForWarmPrefixTarget)', () => {
    const nics = [pdEni(0, [[16, 0], [0, 0]]), pdEni(1, [[0, 0], [0, 0]])];
    const plan = planPool(input(nics, warmPrefix(1), t3small));
    expect(plan.steps).toEqual([{ kind: 'delete-interface', interfaceId: 'eni-1' }]);
  });

  it('keeps an unused interface that holds the only warm prefix', () => {
    const nics = [pdEni(0, [[16, 0], [16, 0], [16, 0]]), pdEni(1, [[0, 0]])];
    expect(planPool(input(nics, warmPrefix(1), t3small)).steps).toEqual([]);
  });

  it('WARM_PREFIX_TARGET=0 never releases the last free addresses (that would grow again)', () => {
    expect(planPool(input([pdEni(0, [[16, 0], [0, 0]])], warmPrefix(0), m5large)).steps).toEqual([]);
    expect(planPool(input([pdEni(0, [[16, 0], [0, 0], [0, 0]])], warmPrefix(0), m5large)).steps).toEqual([
      { kind: 'release', interfaceId: 'eni-0', ips: [], prefixes: ['10.0.0.32/28'] },
    ]);
  });

  it('falls back to IP mode where prefixes are not supported (as AWS on non-Nitro instances)', () => {
    const plan = planPool(input([eni(0)], warmPrefix(1), { ...m5large, supportsPrefixes: false }));
    expect(plan.steps).toEqual([{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'ips', count: 9 } }]);
    expect(plan.reason).toMatch(/^ip-mode \(prefixes unsupported here\) warm-eni=1/);
  });

  it('secondary IPs left from IP mode take slots but are not counted', () => {
    const leftover: InterfaceUsage = { ...pdEni(0, [[2, 0]]), ips: [{ ip: '10.0.0.200', state: 'free' }] };
    const plan = planPool(input([leftover], warmPrefix(1), t3small));
    expect(plan.reason).toContain('available 14 < 16 needed, total 16');
    expect(plan.steps).toEqual([{ kind: 'assign', interfaceId: 'eni-0', request: { kind: 'prefixes', count: 1 } }]);
  });
});

describe('subnet choice', () => {
  const primaryFull = [eni(0, { assigned: 9 })];

  it('creates the interface in the subnet with the most free addresses', () => {
    const subnets = [
      { subnetId: 'subnet-a', freeAddresses: 10 },
      { subnetId: 'subnet-b', freeAddresses: 200 },
      { subnetId: 'subnet-c', freeAddresses: 50 },
    ];
    const plan = planPool(input(primaryFull, warmEni(1), m5large, { subnets }));
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-b', deviceIndex: 1, request: { kind: 'ips', count: 9 } }]);
  });

  it('breaks ties by the lowest subnet id', () => {
    const subnets = [
      { subnetId: 'subnet-z', freeAddresses: 100 },
      { subnetId: 'subnet-m', freeAddresses: 100 },
      { subnetId: 'subnet-q', freeAddresses: 100 },
    ];
    const plan = planPool(input(primaryFull, warmEni(1), m5large, { subnets }));
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-m', deviceIndex: 1, request: { kind: 'ips', count: 9 } }]);
  });

  it('counts what earlier steps of the plan take from a subnet', () => {
    const subnets = [
      { subnetId: 'subnet-a', freeAddresses: 12 },
      { subnetId: 'subnet-b', freeAddresses: 11 },
    ];
    const plan = planPool(input(primaryFull, warmEni(2), m5large, { subnets }));
    expect(plan.steps).toEqual([
      { kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'ips', count: 9 } },
      { kind: 'create-interface', subnetId: 'subnet-b', deviceIndex: 2, request: { kind: 'ips', count: 9 } },
    ]);
  });

  it('asks a nearly full subnet only for what it has', () => {
    const plan = planPool(input(primaryFull, warmEni(1), m5large, { subnets: [{ subnetId: 'subnet-a', freeAddresses: 5 }] }));
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-a', deviceIndex: 1, request: { kind: 'ips', count: 4 } }]);
  });

  it('creates elsewhere when the subnet of the interface with room is full', () => {
    const subnets = [
      { subnetId: 'subnet-a', freeAddresses: 0 },
      { subnetId: 'subnet-b', freeAddresses: 30 },
    ];
    const plan = planPool(input([eni(0, { assigned: 4 })], warmEni(1), m5large, { subnets }));
    expect(plan.steps).toEqual([{ kind: 'create-interface', subnetId: 'subnet-b', deviceIndex: 1, request: { kind: 'ips', count: 9 } }]);
  });

  it('is exhausted at subnet-addresses when no subnet has room', () => {
    const subnets = [
      { subnetId: 'subnet-b', freeAddresses: 1 },
      { subnetId: 'subnet-a', freeAddresses: 0 },
    ];
    const plan = planPool(input(primaryFull, warmEni(1), m5large, { subnets }));
    expect(plan.steps).toEqual([]);
    expect(plan.exhausted).toEqual({
      limit: 'subnet-addresses',
      message:
        'no subnet for a new interface has 2 free addresses (the interface primary and one for pods): subnet-a has 0, subnet-b has 1; add subnets to POD_SUBNET_IDS or free addresses in them',
    });
  });

  it('is exhausted at subnet-addresses when the interface with room sits in a full subnet and none may be created', () => {
    const plan = planPool(
      input([eni(0, { assigned: 9 }), eni(1, { assigned: 9 }), eni(2, { assigned: 4 })], warmEni(1), m5large, { subnets: [{ subnetId: 'subnet-a', freeAddresses: 0 }] }),
    );
    expect(plan.exhausted?.limit).toBe('subnet-addresses');
    expect(plan.exhausted?.message).toContain('subnet subnet-a has no free addresses left');
  });

  it('a prefix needs a whole prefix of free addresses besides the interface primary', () => {
    const plan = planPool(input([pdEni(0, [[16, 0], [16, 0], [16, 0]])], warmPrefix(1), t3small, { subnets: [{ subnetId: 'subnet-a', freeAddresses: 16 }] }));
    expect(plan.exhausted?.limit).toBe('subnet-addresses');
    expect(plan.exhausted?.message).toContain('has 17 free addresses (the interface primary and a /28)');
  });
});

describe('subnets of the interfaces it has', () => {
  it('limit what is assigned on them, and are never where new interfaces go', () => {
    // The node subnet has room, the pod subnet none: a new interface must not land in the node subnet.
    const plan = planPool(
      input([eni(0, { assigned: 9, subnet: 'subnet-node' })], warmEni(1), m5large, {
        subnets: [{ subnetId: 'subnet-pods', freeAddresses: 0 }],
        interfaceSubnets: [{ subnetId: 'subnet-node', freeAddresses: 200 }],
      }),
    );
    expect(plan.steps).toEqual([]);
    expect(plan.exhausted?.limit).toBe('subnet-addresses');
    expect(plan.exhausted?.message).toContain('subnet-pods has 0');
    expect(plan.exhausted?.message).not.toContain('subnet-node');
  });
});

describe('no hot attach (Azure)', () => {
  const azure: PolicyLimits = { ...m5large, hotAttach: false, supportsPrefixes: false };

  it('grows only by assigning on the interfaces it has', () => {
    const plan = planPool(input([eni(0, { assigned: 9 }), eni(1, { assigned: 2 })], warmEni(1), azure));
    expect(plan.steps).toEqual([{ kind: 'assign', interfaceId: 'eni-1', request: { kind: 'ips', count: 7 } }]);
  });

  it('never creates an interface, and says why growth stopped', () => {
    const plan = planPool(input([eni(0, { assigned: 9 }), eni(1, { assigned: 9 })], ipTargets(5, 0), azure));
    expect(plan.steps).toEqual([]);
    expect(plan.short).toBe(5);
    expect(plan.exhausted).toEqual({
      limit: 'no-hot-attach',
      message:
        'interfaces cannot be added to this running instance and its 2 interfaces are full (10 addresses each, 9 for pods); add network interfaces to the VM (it must be stopped) or use a larger size',
    });
  });

  it("takes from each NIC's own subnet no more than it has free, then moves on to the next NIC", () => {
    // The primary NIC sits in a small node subnet with 3 free addresses; the second NIC in the pod subnet.
    const nics = [eni(0, { subnet: 'subnet-node' }), eni(1, { subnet: 'subnet-pods' })];
    const plan = planPool(input(nics, ipTargets(10, 0), azure, { subnets: [{ subnetId: 'subnet-pods', freeAddresses: 100 }], interfaceSubnets: [{ subnetId: 'subnet-node', freeAddresses: 3 }, { subnetId: 'subnet-pods', freeAddresses: 100 }] }));
    expect(plan.steps).toEqual([
      { kind: 'assign', interfaceId: 'eni-0', request: { kind: 'ips', count: 3 } },
      { kind: 'assign', interfaceId: 'eni-1', request: { kind: 'ips', count: 7 } },
    ]);
  });

  it('releases idle addresses but never deletes an interface it could not get back', () => {
    // The same pool on AWS frees eni-1 whole; on Azure the NIC stays and only its addresses go.
    const nics = [eni(0, { assigned: 3, free: 6 }), eni(1, { free: 9 })];
    expect(planPool(input(nics, ipTargets(0, 9), m5large)).steps).toEqual([{ kind: 'delete-interface', interfaceId: 'eni-1' }]);
    const plan = planPool(input(nics, ipTargets(0, 9), azure));
    expect(plan.steps.some((step) => step.kind === 'delete-interface')).toBe(false);
    expect(plan.steps).toEqual([{ kind: 'release', interfaceId: 'eni-1', ips: expect.any(Array), prefixes: [] }]);
  });
});

describe('determinism', () => {
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }
  function shuffle<T>(items: T[], random: () => number): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
  function shuffled(base: PolicyInput, random: () => number): PolicyInput {
    return {
      ...base,
      interfaces: shuffle(
        base.interfaces.map((i) => ({ ...i, ips: shuffle(i.ips, random), prefixes: shuffle(i.prefixes, random) })),
        random,
      ),
      subnets: shuffle(base.subnets, random),
      usedDeviceIndexes: shuffle(base.usedDeviceIndexes, random),
    };
  }

  const subnets = [
    { subnetId: 'subnet-b', freeAddresses: 40 },
    { subnetId: 'subnet-a', freeAddresses: 40 },
    { subnetId: 'subnet-c', freeAddresses: 12 },
    { subnetId: 'subnet-c', freeAddresses: 45 }, // listed twice: the larger count counts, whatever the order
  ];
  const scenarios: Array<[string, PolicyInput]> = [
    ['grow across interfaces', input([eni(0, { assigned: 9 }), eni(3, { assigned: 2, free: 1 }), eni(1, { assigned: 9 })], ipTargets(15, 0), p3dn, { subnets })],
    ['release', input([eni(0, { assigned: 3, free: 6 }), eni(2, { free: 4, cooling: 1 }), eni(1, { assigned: 1, free: 5 })], ipTargets(2, 0), m5large)],
    ['free an interface', input([eni(0, { free: 9 }), eni(2, { free: 9 }), eni(1, { free: 9 })], warmEni(1), m5large)],
    ['prefix release', input([pdEni(0, [[4, 0], [0, 0], [0, 0]]), pdEni(1, [[0, 0], [0, 1], [0, 0]])], warmPrefix(1), t3small)],
    ['exhausted', input([eni(0, { assigned: 9 }), eni(1, { assigned: 9 }), eni(2, { assigned: 9 })], warmEni(1), m5large)],
  ];

  it.each(scenarios)('%s: shuffled input gives the same plan', (_name, base) => {
    const expected = planPool(base);
    const random = rng(42);
    for (let i = 0; i < 25; i++) expect(planPool(shuffled(base, random))).toEqual(expected);
  });

  it.each(scenarios)('%s: never grows and shrinks in one plan, and leaves its input alone', (_name, base) => {
    const copy = structuredClone(base);
    const plan = planPool(base);
    expect(base).toEqual(copy);
    const grows = plan.steps.filter(isGrow).length;
    expect(grows === 0 || grows === plan.steps.length).toBe(true);
    expect(plan.steps.filter((s) => s.kind === 'delete-interface').length).toBeLessThanOrEqual(1);
  });
});
