import { describe, expect, it } from 'vitest';
import { addressesOnNode, checkAcknowledged, checkRestart, checkSettled, type CloudBooks, type CloudInterface, type DaemonBooks } from './invariants.ts';

const nic = (id: string, fields: Partial<CloudInterface> = {}): CloudInterface => ({
  id,
  primary: false,
  instanceId: 'i-1',
  attachmentStatus: 'attached',
  secondaryIps: [],
  ...fields,
});

const cloud = (...interfaces: CloudInterface[]): CloudBooks => ({ instanceId: 'i-1', interfaces });

const healthyCloud = cloud(nic('eni-0', { primary: true, secondaryIps: ['10.0.0.10', '10.0.0.11'] }), nic('eni-1', { secondaryIps: ['10.0.0.20'] }));
const healthyDaemon: DaemonBooks = {
  interfaces: [
    { interfaceId: 'eni-0', ips: ['10.0.0.10', '10.0.0.11'] },
    { interfaceId: 'eni-1', ips: ['10.0.0.20'] },
  ],
  allocations: [
    { containerId: 'a', ip: '10.0.0.10' },
    { containerId: 'b', ip: '10.0.0.20' },
  ],
};
const ledger = new Map([
  ['a', '10.0.0.10'],
  ['b', '10.0.0.20'],
]);
const checks = new Map([
  ['a', { address: '10.0.0.10/32' }],
  ['b', { address: '10.0.0.20/32' }],
]);

describe('addresses on the node', () => {
  it('counts interfaces attaching or attached to the instance, not detaching, detached or elsewhere', () => {
    const books = cloud(
      nic('eni-attaching', { attachmentStatus: 'attaching', secondaryIps: ['10.0.0.1'] }),
      nic('eni-detaching', { attachmentStatus: 'detaching', secondaryIps: ['10.0.0.2'] }),
      nic('eni-detached', { instanceId: null, attachmentStatus: null, secondaryIps: ['10.0.0.3'] }),
      nic('eni-other', { instanceId: 'i-2', secondaryIps: ['10.0.0.4'] }),
    );
    expect([...addressesOnNode(books)]).toEqual([['10.0.0.1', 'eni-attaching']]);
  });
});

describe('an acknowledged add', () => {
  it('passes when nobody else holds the address and the node has it', () => {
    expect(checkAcknowledged(ledger, 'c', '10.0.0.11', healthyCloud)).toEqual([]);
  });

  it('is a double when another live pod holds the address', () => {
    expect(checkAcknowledged(ledger, 'c', '10.0.0.10', healthyCloud)).toEqual([
      { kind: 'double', subject: '10.0.0.10', detail: '10.0.0.10 acknowledged to c while a holds it' },
    ]);
  });

  it('is a loss when the address is on no interface of the node', () => {
    const released = cloud(nic('eni-0', { primary: true, secondaryIps: ['10.0.0.10'] }));
    expect(checkAcknowledged(ledger, 'c', '10.0.0.11', released).map((v) => v.kind)).toEqual(['loss']);
  });
});

describe('the books after a restart', () => {
  it('pass when every pod is checked with its address and the node holds it', () => {
    expect(checkRestart({ ledger, checks, daemon: healthyDaemon, cloud: healthyCloud })).toEqual([]);
  });

  it('lose a pod the daemon no longer knows, or knows with another address', () => {
    const found = checkRestart({
      ledger,
      checks: new Map([
        ['a', { error: 'not-found: nothing allocated' }],
        ['b', { address: '10.0.0.11/32' }],
      ]),
      daemon: healthyDaemon,
      cloud: healthyCloud,
    });
    expect(found.map((v) => [v.kind, v.subject])).toEqual([
      ['loss', 'a'],
      ['loss', 'b'],
    ]);
  });

  it('lose a pod whose address the cloud took away (a release of a killed predecessor that landed late)', () => {
    const released = cloud(nic('eni-0', { primary: true, secondaryIps: ['10.0.0.10', '10.0.0.11'] }), nic('eni-1'));
    const found = checkRestart({ ledger, checks, daemon: healthyDaemon, cloud: released });
    expect(found).toEqual([{ kind: 'loss', subject: 'b', detail: '10.0.0.20 of b is on no interface of i-1 in the cloud' }]);
  });

  it('lose a pod not checked at all', () => {
    expect(checkRestart({ ledger, checks: new Map([['a', { address: '10.0.0.10/32' }]]), daemon: healthyDaemon, cloud: healthyCloud })).toEqual([
      { kind: 'loss', subject: 'b', detail: 'b (10.0.0.20) was not checked' },
    ]);
  });

  it('find a double in the ledger and in the daemon, each once per address', () => {
    const doubled = new Map([...ledger, ['c', '10.0.0.10']]);
    const daemon = { ...healthyDaemon, allocations: [...healthyDaemon.allocations, { containerId: 'c', ip: '10.0.0.10' }] };
    const found = checkRestart({ ledger: doubled, checks: new Map([...checks, ['c', { address: '10.0.0.10/32' }]]), daemon, cloud: healthyCloud });
    expect(found.map((v) => [v.kind, v.subject])).toEqual([
      ['double', '10.0.0.10'],
      ['double', '10.0.0.10'],
    ]);
    expect(found[0]?.detail).toBe('10.0.0.10 is held by a and c acknowledged');
  });
});

describe('the books once every pod is gone', () => {
  const emptyDaemon: DaemonBooks = { interfaces: healthyDaemon.interfaces, allocations: [] };

  it('balance when the daemon holds exactly what the node has', () => {
    expect(checkSettled({ daemon: emptyDaemon, cloud: healthyCloud })).toEqual([]);
  });

  it('leak an allocation left behind', () => {
    expect(checkSettled({ daemon: healthyDaemon, cloud: healthyCloud }).map((v) => [v.kind, v.subject])).toEqual([
      ['leak', '10.0.0.10'],
      ['leak', '10.0.0.20'],
    ]);
  });

  it('leak a detached interface (created and never attached, or detached and never deleted)', () => {
    const books = cloud(...healthyCloud.interfaces, nic('eni-9', { instanceId: null, attachmentStatus: null, secondaryIps: ['10.0.0.90'] }));
    expect(checkSettled({ daemon: emptyDaemon, cloud: books })).toEqual([{ kind: 'leak', subject: 'eni-9', detail: 'interface eni-9 is left detached (1 secondary addresses)' }]);
  });

  it('leak an interface or an address on the node that the daemon does not know', () => {
    const books = cloud(nic('eni-0', { primary: true, secondaryIps: ['10.0.0.10', '10.0.0.11', '10.0.0.12'] }), nic('eni-1', { secondaryIps: ['10.0.0.20'] }), nic('eni-2', { secondaryIps: ['10.0.0.30'] }));
    expect(checkSettled({ daemon: emptyDaemon, cloud: books }).map((v) => [v.kind, v.subject])).toEqual([
      ['leak', 'eni-2'],
      ['leak', '10.0.0.12'],
      ['leak', '10.0.0.30'],
    ]);
  });

  it("leak an address in the daemon's books that the node does not have", () => {
    const books = cloud(nic('eni-0', { primary: true, secondaryIps: ['10.0.0.10'] }), nic('eni-1', { secondaryIps: ['10.0.0.20'] }));
    expect(checkSettled({ daemon: emptyDaemon, cloud: books })).toEqual([{ kind: 'leak', subject: '10.0.0.11', detail: "10.0.0.11 is in the daemon's books but on no interface of i-1" }]);
  });
});
