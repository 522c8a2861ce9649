import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { Logger } from '../../../ipamd/common/logger.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../../ipamd/common/metrics.ts';
import { linkOpsFor } from '../../../ipamd/dataplane/link-ops-choice.ts';
import { builtPlugin, requireRoot } from './helpers.ts';

/** NETLINK_HELPER made real: which executor ipamd gets, what it logs, and the metrics an operator reads. */

const scratch = mkdtempSync(join(tmpdir(), 'link-ops-choice-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function capture(): { logger: Logger; lines: Array<{ level: number; msg?: string }> } {
  const lines: Array<{ level: number; msg?: string }> = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg?: string }) });
  return { logger, lines };
}

async function metric(metrics: Metrics, name: string): Promise<string> {
  return metrics.registry.getSingleMetricAsString(name);
}

describe('NETLINK_HELPER', () => {
  beforeAll(requireRoot);

  it('off: ip execs, and the metric says so', async () => {
    const metrics = new Metrics(false);
    const ops = await linkOpsFor('off', pathToFileURL(builtPlugin), capture().logger, metrics);
    expect(ops.kind).toBe('ip');
    expect(await metric(metrics, 'vpccni_pod_link_executor')).toMatch(/kind="ip"} 1/);
  });

  it('auto: the executable beside the bundle, started and probed; without one, ip and a warning', async () => {
    const metrics = new Metrics(false);
    const found = await linkOpsFor('auto', pathToFileURL(builtPlugin), capture().logger, metrics);
    expect(found.kind).toBe('netlink');
    expect(await metric(metrics, 'vpccni_pod_link_executor')).toMatch(/kind="netlink"} 1/);
    await found.close();

    const { logger, lines } = capture();
    const missing = await linkOpsFor('auto', pathToFileURL(join(scratch, 'vpc-cni')), logger, new Metrics(false));
    expect(missing.kind).toBe('ip');
    expect(lines.some((line) => line.level === 40 && /no netlink helper beside ipamd/.test(line.msg ?? ''))).toBe(true);
  });

  it('an explicit path that is not a working helper is a configuration error naming the variable', async () => {
    await expect(linkOpsFor(join(scratch, 'nothing'), new URL('file:///unused'), capture().logger, new Metrics(false))).rejects.toThrow(
      /^NETLINK_HELPER=".*nothing" is invalid: .*nothing is not an executable file$/,
    );
    const notHelper = join(scratch, 'not-a-helper.sh');
    writeFileSync(notHelper, '#!/bin/sh\nexit 3\n');
    chmodSync(notHelper, 0o755);
    await expect(linkOpsFor(notHelper, new URL('file:///unused'), capture().logger, new Metrics(false))).rejects.toThrow(/is invalid: .* does not answer as a netlink helper: .*exited \(exit 3\)/);
  });

  it('a helper that dies is counted and logged as unexpected; one ipamd ends is counted as asked', async () => {
    const pidFile = join(scratch, 'pids');
    const wrapper = join(scratch, 'helper.sh');
    writeFileSync(wrapper, `#!/bin/sh\necho $$ >> ${pidFile}\nexec ${builtPlugin} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const metrics = new Metrics(false);
    const { logger, lines } = capture();
    const ops = await linkOpsFor(wrapper, new URL('file:///unused'), logger, metrics);
    const [pid] = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    process.kill(pid!, 'SIGKILL');
    const deadline = Date.now() + 5_000;
    while (!/reason="unexpected"} 1/.test(await metric(metrics, 'vpccni_netlink_helper_exits_total')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await metric(metrics, 'vpccni_netlink_helper_exits_total')).toMatch(/reason="unexpected"} 1/);
    expect(lines.some((line) => line.level === 40 && /a netlink helper died/.test(line.msg ?? ''))).toBe(true);
    // The next request starts another helper (in a namespace of the test's own); ipamd's stop ends it.
    const ns = `pn-${process.pid}-choice`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      await ops.run([{ netns: `/var/run/netns/${ns}`, lines: [{ op: { kind: 'link-up', dev: 'lo' } }] }]);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
    await ops.close();
    expect(await metric(metrics, 'vpccni_netlink_helper_exits_total')).toMatch(/reason="asked"} 1/);
  });
});

