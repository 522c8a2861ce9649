/**
 * The pure half of NodeNetworkConfig handling: label selectors, selection
 * (annotation, then selector and zones, then priority, then name), content
 * validation and the settings a config yields.
 */
import { describe, expect, it } from 'vitest';
import { selectorMatches } from '../../../ipamd/k8s/label-selector.ts';
import { effectiveSettings, selectNodeNetworkConfig, validateSpec } from '../../../ipamd/k8s/node-config.ts';
import type { NodeInfo, NodeNetworkConfigObject } from '../../../ipamd/k8s/resources.ts';
import type { PoolSettings } from '../../../ipamd/pool/manager.ts';

const node = (labels: Record<string, string> = {}, annotations: Record<string, string> = {}): NodeInfo => ({ name: 'n1', uid: 'u1', labels, annotations });
const config = (name: string, spec: Record<string, unknown>): NodeNetworkConfigObject => ({ name, uid: `uid-${name}`, resourceVersion: '1', spec });
const selected = (n: NodeInfo, configs: NodeNetworkConfigObject[], zone?: string): string => {
  const s = selectNodeNetworkConfig(n, configs, zone);
  return s.kind === 'selected' ? `${s.config.name} by ${s.by}` : s.kind === 'missing' ? `missing ${s.name}` : 'none';
};

describe('label selectors', () => {
  const labels = { pool: 'gpu', tier: 'a' };
  it.each([
    [undefined, true],
    [{}, true],
    [{ matchLabels: { pool: 'gpu' } }, true],
    [{ matchLabels: { pool: 'cpu' } }, false],
    [{ matchLabels: { pool: 'gpu', tier: 'b' } }, false],
    [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['cpu', 'gpu'] }] }, true],
    [{ matchExpressions: [{ key: 'pool', operator: 'NotIn', values: ['gpu'] }] }, false],
    [{ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['x'] }] }, true],
    [{ matchExpressions: [{ key: 'missing', operator: 'In', values: ['x'] }] }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
    [{ matchLabels: { pool: 'gpu' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
  ] as const)('%j -> %s', (selector, expected) => {
    expect(selectorMatches(selector as Parameters<typeof selectorMatches>[0], labels)).toBe(expected);
  });
});

describe('selectNodeNetworkConfig', () => {
  const everyNode = config('b-every', {});
  const gpu = config('gpu', { nodeSelector: { matchLabels: { pool: 'gpu' } }, priority: 10 });
  const gpuLow = config('gpu-low', { nodeSelector: { matchLabels: { pool: 'gpu' } }, priority: 1 });
  const zoneA = config('zone-a', { zones: ['us-east-1a'], priority: 5 });

  it('picks the highest priority among the configs that select the node', () => {
    expect(selected(node({ pool: 'gpu' }), [everyNode, gpuLow, gpu])).toBe('gpu by selector');
    expect(selected(node({ pool: 'cpu' }), [everyNode, gpuLow, gpu])).toBe('b-every by selector');
    expect(selected(node(), [gpu])).toBe('none');
  });

  it('breaks ties by name', () => {
    expect(selected(node(), [config('b', {}), config('a', {}), config('c', {})])).toBe('a by selector');
    expect(selected(node(), [config('b', { priority: 3 }), config('c', { priority: 3 }), config('a', { priority: 2 })])).toBe('b by selector');
  });

  it('honours zones: the node label first, else the instance zone', () => {
    expect(selected(node({ 'topology.kubernetes.io/zone': 'us-east-1a' }), [everyNode, zoneA])).toBe('zone-a by selector');
    expect(selected(node({ 'topology.kubernetes.io/zone': 'us-east-1b' }), [everyNode, zoneA])).toBe('b-every by selector');
    expect(selected(node(), [everyNode, zoneA], 'us-east-1a')).toBe('zone-a by selector');
    expect(selected(node(), [everyNode, zoneA])).toBe('b-every by selector');
  });

  it('lets the annotation win over selectors and priorities, and says when it names nothing', () => {
    const n = node({ pool: 'gpu' }, { 'vpc-cni.io/node-network-config': 'b-every' });
    expect(selected(n, [everyNode, gpu])).toBe('b-every by annotation');
    // Named explicitly: chosen even though its own selector does not match.
    expect(selected(node({}, { 'vpc-cni.io/node-network-config': 'gpu' }), [everyNode, gpu])).toBe('gpu by annotation');
    expect(selected(node({}, { 'vpc-cni.io/node-network-config': 'nope' }), [everyNode, gpu])).toBe('missing nope');
  });

  it('never selects by a selector it cannot read', () => {
    const broken = config('a-broken', { nodeSelector: { matchExpressions: [{ key: 'pool', operator: 'Near' }] }, priority: 100 });
    expect(selected(node({ pool: 'gpu' }), [broken, gpu])).toBe('gpu by selector');
  });
});

describe('validateSpec', () => {
  it('accepts a full config', () => {
    const result = validateSpec({
      nodeSelector: { matchLabels: { pool: 'a' } },
      zones: ['us-east-1a'],
      priority: 1,
      subnetIds: ['subnet-1', 'subnet-2'],
      securityGroupIds: ['sg-1'],
      warmIPTarget: 5,
      minimumIPTarget: 10,
      warmENITarget: 0,
      maxENI: 3,
    });
    expect(result).toMatchObject({ ok: true, spec: { subnetIds: ['subnet-1', 'subnet-2'], warmIPTarget: 5 } });
  });

  it.each([
    [{ warmIPTarget: 1, warmPrefixTarget: 1 }, 'set warmIPTarget or warmPrefixTarget, not both'],
    [{ warmIPTarget: -1 }, 'spec.warmIPTarget: warmIPTarget must be >= 0'],
    [{ maxENI: 1.5 }, 'spec.maxENI: maxENI must be a whole number'],
    [{ subnetIds: ['subnet a'] }, 'spec.subnetIds.0: subnet ids are letters'],
    [{ subnetIds: ['subnet-1', 'subnet-1'] }, 'subnet ids must not repeat'],
    [{ nodeSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } }, 'In needs at least one value'],
    [{ nodeSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } }, 'Exists takes no values'],
  ])('rejects %j', (spec, problem) => {
    const result = validateSpec(spec);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join('; ')).toContain(problem);
  });
});

describe('effectiveSettings', () => {
  const base: PoolSettings = {
    targets: { mode: 'ips', warmEniTarget: 1, warmIpTarget: 5, minimumIpTarget: 10, warmPrefixTarget: 1, maxEni: 0 },
    podSubnetIds: ['subnet-env'],
    podSecurityGroupIds: ['sg-env'],
  };

  it('is the environment without a config, and the environment under what a config leaves unset', () => {
    expect(effectiveSettings(base, undefined)).toEqual(base);
    expect(effectiveSettings(base, { maxENI: 2 })).toEqual({ ...base, targets: { ...base.targets, maxEni: 2 } });
    expect(effectiveSettings(base, { subnetIds: ['subnet-a'], securityGroupIds: ['sg-a'] })).toMatchObject({ podSubnetIds: ['subnet-a'], podSecurityGroupIds: ['sg-a'] });
  });

  it('takes the IP targets as a pair, and unsets the environment ones when the config picks the ENI or prefix targets', () => {
    expect(effectiveSettings(base, { warmIPTarget: 3 }).targets).toMatchObject({ warmIpTarget: 3, minimumIpTarget: 0 });
    expect(effectiveSettings(base, { warmENITarget: 2 }).targets).toMatchObject({ warmIpTarget: 0, minimumIpTarget: 0, warmEniTarget: 2 });
    expect(effectiveSettings({ ...base, targets: { ...base.targets, mode: 'prefixes' } }, { warmPrefixTarget: 2 }).targets).toMatchObject({ mode: 'prefixes', warmIpTarget: 0, warmPrefixTarget: 2 });
  });
});
