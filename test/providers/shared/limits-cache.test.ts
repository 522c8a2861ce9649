import { describe, expect, it } from 'vitest';
import type { InstanceLimits } from '../../../providers/contract.ts';
import { InstanceLimitsCache } from '../../../providers/shared/limits-cache.ts';

const limitsOf = (instanceType: string): InstanceLimits => ({ instanceType, maxInterfaces: 3, ipv4PerInterface: 10, supportsPrefixes: true, prefixLength: 28, hotAttach: true, maxAddressesOnCreate: 9 });

/** A cloud lookup that answers only when told to, and counts its calls. */
function controlledLookup(): { lookup: (instanceType: string) => Promise<InstanceLimits>; calls: string[]; answer(): void; fail(err: Error): void } {
  const calls: string[] = [];
  const pending: Array<{ type: string; resolve: (limits: InstanceLimits) => void; reject: (err: Error) => void }> = [];
  return {
    calls,
    lookup: (instanceType) =>
      new Promise((resolve, reject) => {
        calls.push(instanceType);
        pending.push({ type: instanceType, resolve, reject });
      }),
    answer: () => {
      for (const call of pending.splice(0)) call.resolve(limitsOf(call.type));
    },
    fail: (err) => {
      for (const call of pending.splice(0)) call.reject(err);
    },
  };
}

describe('InstanceLimitsCache', () => {
  it('makes one cloud call for lookups of the same type that start together', async () => {
    const cloud = controlledLookup();
    const cache = new InstanceLimitsCache(cloud.lookup);
    const together = [cache.get('m5.large'), cache.get('m5.large'), cache.get('m5.large')];
    const other = cache.get('t3.small');
    expect(cloud.calls).toEqual(['m5.large', 't3.small']);
    cloud.answer();
    const answers = await Promise.all(together);
    expect(answers.every((limits) => limits === answers[0])).toBe(true);
    expect((await other).instanceType).toBe('t3.small');
  });

  it('answers later lookups from the cache', async () => {
    const cloud = controlledLookup();
    const cache = new InstanceLimitsCache(cloud.lookup);
    const first = cache.get('m5.large');
    cloud.answer();
    await first;
    expect(await cache.get('m5.large')).toBe(await first);
    expect(cloud.calls).toEqual(['m5.large']);
  });

  it('forgets a failed lookup, so the next one asks the cloud again', async () => {
    const cloud = controlledLookup();
    const cache = new InstanceLimitsCache(cloud.lookup);
    const first = cache.get('m5.large');
    const sharing = cache.get('m5.large');
    cloud.fail(new Error('throttled'));
    await expect(first).rejects.toThrow('throttled');
    await expect(sharing).rejects.toThrow('throttled');
    const again = cache.get('m5.large');
    cloud.answer();
    expect((await again).instanceType).toBe('m5.large');
    expect(cloud.calls).toEqual(['m5.large', 'm5.large']);
  });

  it('tells case apart unless told not to', async () => {
    const strict = controlledLookup();
    const exact = new InstanceLimitsCache(strict.lookup);
    void exact.get('M5.large');
    void exact.get('m5.large');
    expect(strict.calls).toEqual(['M5.large', 'm5.large']);
    strict.answer();

    const azure = controlledLookup();
    const folded = new InstanceLimitsCache(azure.lookup, { caseInsensitive: true });
    const upper = folded.get('Standard_D4s_v5');
    const lower = folded.get('standard_d4s_v5');
    azure.answer();
    expect(await lower).toBe(await upper);
    expect(azure.calls).toEqual(['Standard_D4s_v5']);
  });
});
