import { describe, expect, it } from 'vitest';
import type { CallWrapper } from '../../../providers/contract.ts';
import { CloudError } from '../../../providers/errors.ts';
import { SdkCaller, type SdkErrorMapper } from '../../../providers/shared/sdk-call.ts';

interface FakeClient {
  name: string;
}

/** Maps anything to an invalid-request CloudError that names the context it got. */
const mapError: SdkErrorMapper<{ addresses: 'ips' | 'prefixes' }> = (err, operation, context) =>
  new CloudError({ kind: 'invalid-request', code: context?.addresses ?? 'none', message: `${operation}: ${String(err)}`, operation, cause: err });

describe('SdkCaller', () => {
  it('runs the call with the client inside the wrapper, under the operation name', async () => {
    const seen: string[] = [];
    const wrap: CallWrapper = async (operation, call) => {
      seen.push(`before ${operation}`);
      const result = await call();
      seen.push(`after ${operation}`);
      return result;
    };
    const caller = new SdkCaller<FakeClient, { addresses: 'ips' | 'prefixes' }>(async () => ({ name: 'ec2' }), mapError, wrap);
    expect(await caller.call('DescribeSubnets', async (client) => `${client.name} answered`)).toBe('ec2 answered');
    expect(seen).toEqual(['before DescribeSubnets', 'after DescribeSubnets']);
  });

  it('lets the wrapper see the mapped CloudError, with the call’s context', async () => {
    const kinds: string[] = [];
    const wrap: CallWrapper = async (_operation, call) => {
      try {
        return await call();
      } catch (err) {
        kinds.push(err instanceof CloudError ? `${err.kind}/${err.code}` : 'raw');
        throw err;
      }
    };
    const caller = new SdkCaller<FakeClient, { addresses: 'ips' | 'prefixes' }>(async () => ({ name: 'ecs' }), mapError, wrap);
    const failing = async (): Promise<never> => {
      throw new Error('IpNotEnough');
    };
    await expect(caller.call('AssignPrivateIpAddresses', failing, { addresses: 'prefixes' })).rejects.toMatchObject({ code: 'prefixes', message: 'AssignPrivateIpAddresses: Error: IpNotEnough' });
    await expect(caller.call('AssignPrivateIpAddresses', failing)).rejects.toMatchObject({ code: 'none' });
    expect(kinds).toEqual(['invalid-request/prefixes', 'invalid-request/none']);
  });

  it('gets the client outside the wrapper: failing to build it is not a cloud call', async () => {
    const operations: string[] = [];
    const wrap: CallWrapper = (operation, call) => {
      operations.push(operation);
      return call();
    };
    const noClient = new Error('no region in metadata');
    const caller = new SdkCaller<FakeClient>(() => Promise.reject(noClient), mapError, wrap);
    await expect(caller.call('DescribeSubnets', async () => 'never')).rejects.toBe(noClient);
    expect(operations).toEqual([]);
  });

  it('runs calls directly without a wrapper, and exposes the wrapper for calls without the SDK', async () => {
    const caller = new SdkCaller<FakeClient>(async () => ({ name: 'arm' }), mapError, undefined);
    expect(await caller.call('GetSubnet', async (client) => client.name)).toBe('arm');
    expect(await caller.wrap('IMDS', async () => 'document')).toBe('document');
  });
});
