import { describe, expect, it } from 'vitest';
import type { CloudInterface } from '../../../providers/contract.ts';
import { cleanLeakedInterfaces, type LeakCleanupOptions } from '../../../ipamd/cloud/leaks.ts';
import { createLogger } from '../../../ipamd/common/logger.ts';
import { ownedTags } from '../../../ipamd/pool/manager.ts';

const hourAgo = new Date(Date.now() - 3_600_000).toISOString();

function leaked(id: string): CloudInterface {
  return {
    interfaceId: id,
    mac: '02:00:00:00:00:01',
    subnetId: 'subnet-a',
    vpcId: 'vpc-a',
    zone: 'z',
    description: '',
    status: 'available',
    primaryIp: '10.0.0.9',
    secondaryIps: [],
    prefixes: [],
    securityGroupIds: [],
    tags: { [ownedTags.cluster]: 'test', [ownedTags.createdAt]: hourAgo },
  };
}

describe('cleanLeakedInterfaces', () => {
  it('counts only what this sweep deleted: an interface another node deleted first is not reported', async () => {
    const gone = new Set(['eni-b']); // deleted by another node's sweep between the search and the delete
    const asked: string[] = [];
    const provider = {
      findInterfacesByTags: () => Promise.resolve([leaked('eni-a'), leaked('eni-b')]),
      deleteInterface: (id: string) => {
        asked.push(id);
        return Promise.resolve(!gone.has(id));
      },
    } satisfies LeakCleanupOptions['provider'];
    const deleted = await cleanLeakedInterfaces({ provider, clusterName: 'test', graceMs: 60_000, now: () => Date.now(), logger: createLogger('error') });
    expect(asked).toEqual(['eni-a', 'eni-b']);
    expect(deleted).toEqual(['eni-a']);
  });
});
