import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findProgram } from '../../../lib/command.ts';
import { Agent, attachment, ipJson, Lab, primaryIp, primaryPodIp, sh, useLab, vpcCidr, type RuleJson } from './helpers.ts';

/**
 * The data plane runs no command whose failure is the normal case: every
 * `ip` of a normal ADD, DEL, repeated ADD, node preparation and interface
 * configuration exits 0. The agent runs with a wrapper `ip` first on its PATH
 * that records each exit status. Leftovers of a crashed predecessor are still
 * cleaned up.
 */

const spec = { noSnatCidrs: [vpcCidr], primaryIp, primaryInterface: 'eth0' };
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An agent whose `ip` is a wrapper logging "<exit status> <arguments>" a line. */
async function recordingAgent(lab: Lab): Promise<{ agent: Agent; calls: () => string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'ip-wrapper-'));
  dirs.push(dir);
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  writeFileSync(join(dir, 'ip'), `#!/bin/sh\n${findProgram('ip', '')} "$@"\nrc=$?\necho "$rc $*" >> ${log}\nexit $rc\n`);
  chmodSync(join(dir, 'ip'), 0o755);
  lab.agent?.stop();
  const agent = await Agent.start(lab.host, { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` });
  lab.agent = agent;
  return { agent, calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

const failed = (calls: string[]): string[] => calls.filter((line) => !line.startsWith('0 '));

describe('the data plane runs no command that normally fails', () => {
  let lab!: Lab;
  useLab((made) => (lab = made));

  it('ADD, DEL, a repeated ADD and node preparation: every ip exits 0', { timeout: 60_000 }, async () => {
    await lab.build();
    const { agent, calls } = await recordingAgent(lab);
    await agent.call('prepareNode', spec);
    // A restart prepares the node again.
    await agent.call('prepareNode', spec);
    const a = attachment(lab, 0, lab.addPod('a'));
    const b = attachment(lab, 1, lab.addPod('b'), true);
    await agent.setUp(a);
    await agent.setUp(b);
    expect(await agent.verify(a)).toEqual([]);
    expect(await agent.verify(b)).toEqual([]);
    // A runtime repeating an ADD: ipamd tears the half-made network down and sets it up again.
    await agent.tearDown(b);
    await agent.setUp(b);
    expect(await agent.verify(b)).toEqual([]);
    await agent.tearDown(a);
    // Without the address (found from the route on the veth).
    await agent.tearDown({ network: b.network, containerId: b.containerId, ifName: b.ifName });
    // Another pod gets a's address.
    const c = { ...attachment(lab, 0, lab.addPod('c')), ip: a.ip };
    await agent.setUp(c);
    await agent.tearDown(c);
    await agent.call('cleanUpNode');
    expect(calls().length).toBeGreaterThan(10);
    expect(failed(calls())).toEqual([]);
  });

  it("configuring a secondary interface, again, removing it and configuring it once more: every ip exits 0", { timeout: 60_000 }, async () => {
    await lab.build();
    const { agent, calls } = await recordingAgent(lab);
    const [eth1] = ipJson<Array<{ address: string }>>(lab.host, ['link', 'show', 'dev', 'eth1']);
    const nic = { mac: eth1?.address ?? '', deviceIndex: 1, primaryIp: '10.0.1.10', subnetCidr: '10.0.1.0/24', gateway: '10.0.1.1', mtu: 9001 };
    const state = (): unknown => [ipJson(lab.host, ['-4', 'rule', 'show']), ipJson(lab.host, ['-4', 'route', 'show', 'table', 'all'])];
    await agent.call('removeInterface', nic);
    await agent.call('configureInterface', nic);
    const configured = state();
    await agent.call('configureInterface', nic);
    expect(state()).toEqual(configured);
    await agent.call('removeInterface', nic);
    expect(ipJson<RuleJson[]>(lab.host, ['-4', 'rule', 'show']).filter((rule) => rule.src === nic.primaryIp)).toEqual([]);
    await agent.call('configureInterface', nic);
    expect(state()).toEqual(configured);
    expect(calls().length).toBeGreaterThan(5);
    expect(failed(calls())).toEqual([]);
  });

  it("a crashed predecessor's rules for an address are removed when a pod gets it", { timeout: 60_000 }, async () => {
    await lab.build();
    const ip = primaryPodIp(3);
    // Left by an earlier ipamd: the address was on a secondary interface then.
    sh(['ip', '-n', lab.host, 'rule', 'add', 'from', `${ip}/32`, 'lookup', '2', 'priority', '1536']);
    sh(['ip', '-n', lab.host, 'rule', 'add', 'to', `${ip}/32`, 'lookup', 'main', 'priority', '512']);
    const { agent } = await recordingAgent(lab);
    const a = { ...attachment(lab, 3, lab.addPod('a')), ip };
    await agent.setUp(a);
    expect(await agent.verify(a)).toEqual([]);
    const rulesOf = (): RuleJson[] => ipJson<RuleJson[]>(lab.host, ['-4', 'rule', 'show']).filter((rule) => rule.src === ip || rule.dst === ip);
    expect(rulesOf()).toEqual([expect.objectContaining({ priority: 512, dst: ip, table: 'main' })]);
    await agent.tearDown(a);
    expect(rulesOf()).toEqual([]);
  });
});
