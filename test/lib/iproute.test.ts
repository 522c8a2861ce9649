import { describe, expect, it } from 'vitest';
import { batchText, IpBatchError, namedNamespaceArgs, namespaceArgs, parseBatchFailures, splitJsonOutputs } from '../../lib/iproute.ts';

// The parts of driving iproute2 that run no command.
describe('ip -batch', () => {
  it('writes one line per command and refuses a token that could smuggle in another', () => {
    expect(batchText([{ tokens: ['link', 'set', 'eth1', 'up'] }, { tokens: ['route', 'add', '10.0.0.0/16', 'dev', 'eth1'] }])).toBe(
      'link set eth1 up\nroute add 10.0.0.0/16 dev eth1\n',
    );
    for (const token of ['a b', 'x;y', '"quoted"', '#comment', 'line\nbreak', '']) {
      expect(() => batchText([{ tokens: ['link', 'del', token] }]), JSON.stringify(token)).toThrow(/unsafe token for ip -batch/);
    }
  });

  it('reads which batch lines failed, with their messages', () => {
    const stderr = 'RTNETLINK answers: File exists\nCommand failed -:1\nError: ipv4: Address already assigned.\nCommand failed -:4\n';
    expect([...parseBatchFailures(stderr)]).toEqual([
      [1, 'RTNETLINK answers: File exists'],
      [4, 'Error: ipv4: Address already assigned.'],
    ]);
    expect(parseBatchFailures('').size).toBe(0);
  });

  it('pairs JSON outputs with the lines that printed them', () => {
    const outcome = { stdout: '[{"a":1}]\n[]\n', failures: new Map([[2, 'Device "x" does not exist.']]) };
    expect(splitJsonOutputs(3, outcome)).toEqual([[{ a: 1 }], undefined, []]);
  });

  it('names the first line that failed and did not tolerate it', () => {
    const lines = [
      { tokens: ['link', 'del', 'gone0'], tolerate: /Cannot find device/ },
      { tokens: ['addr', 'add', '10.0.0.5/32', 'dev', 'eth1'] },
    ];
    const failures = new Map([
      [1, 'Cannot find device "gone0"'],
      [2, 'Error: ipv4: Address already assigned.'],
    ]);
    const err = new IpBatchError(['-force', '-batch', '-'], lines, failures, { code: 1, signal: null, stdout: '', stderr: '' });
    expect(err.message).toBe('ip -force -batch -: line 2 (addr add 10.0.0.5/32 dev eth1): Error: ipv4: Address already assigned.');
    expect(err.firstFailedLine).toBe(1);
    const early = new IpBatchError(['-n', 'x', '-batch', '-'], lines, new Map(), { code: 1, signal: null, stdout: '', stderr: 'Cannot open network namespace "x"\n' });
    expect(early.message).toBe('ip -n x -batch -: Cannot open network namespace "x"');
    expect(early.firstFailedLine).toBe(0);
  });
});

describe('namespace arguments', () => {
  it('names a namespace for ip -n by name under /var/run/netns or /run/netns', () => {
    expect(namespaceArgs('/var/run/netns/cni-1')).toEqual(['-n', 'cni-1']);
    expect(namespaceArgs('/run/netns/cni-2')).toEqual(['-n', 'cni-2']);
    expect(() => namespaceArgs('relative/ns')).toThrow(/absolute/);
    expect(namedNamespaceArgs('cni-3')).toEqual(['-n', 'cni-3']);
    expect(namedNamespaceArgs(null)).toEqual([]);
  });

  // Climbing needs /var/run/netns to exist (namespaceArgs makes it, as `ip netns` does): run as root, or on a host that has it.
  it('reaches any other path by climbing to / from /var/run/netns', () => {
    const [flag, climbed = ''] = namespaceArgs('/proc/42/ns/net');
    expect(flag).toBe('-n');
    expect(climbed).toMatch(/^(\.\.\/)+proc\/42\/ns\/net$/);
  });
});
