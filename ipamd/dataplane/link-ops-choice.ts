import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NetlinkHelperClient } from '../../lib/netlink/client.ts';
import type { Logger } from '../common/logger.ts';
import type { Metrics } from '../common/metrics.ts';
import { IpLinkOps, NetlinkLinkOps, type LinkOps } from './link-ops.ts';

/**
 * NETLINK_HELPER made real. `auto` takes the plugin executable beside ipamd's
 * bundle (the image and dist/ put them side by side) and falls back to `ip`
 * with a warning when it is missing or does not answer; an explicit path
 * that does not work is a configuration error (rejected, naming the
 * variable). The helper is started and probed with an empty batch at start,
 * so the first pod does not wait for it.
 */
export async function linkOpsFor(choice: string, besideBundle: URL, logger: Logger, metrics: Metrics): Promise<LinkOps> {
  const chosen = await choose(choice, besideBundle, logger, metrics);
  metrics.podLinkExecutor(chosen.kind);
  return chosen;
}

async function choose(choice: string, besideBundle: URL, logger: Logger, metrics: Metrics): Promise<LinkOps> {
  if (choice === 'off') {
    logger.info('pod links through ip (NETLINK_HELPER=off)');
    return new IpLinkOps();
  }
  const path = choice === 'auto' ? fileURLToPath(besideBundle) : choice;
  const client = helperClient(path, logger, metrics);
  const problem = await probe(path, client);
  if (problem === undefined) {
    logger.info({ helper: path }, 'pod links through the netlink helper');
    return new NetlinkLinkOps(client);
  }
  await client.close();
  if (choice !== 'auto') throw new Error(`NETLINK_HELPER="${choice}" is invalid: ${problem}`);
  logger.warn({ helper: path, problem }, 'no netlink helper beside ipamd: pod links through ip (one exec per namespace and pod)');
  return new IpLinkOps();
}

function helperClient(path: string, logger: Logger, metrics: Metrics): NetlinkHelperClient {
  return new NetlinkHelperClient(path, {
    onStderr: (line) => logger.warn({ helper: path, line }, 'netlink helper'),
    onExit: (how, asked) => {
      metrics.netlinkHelperExited(asked ? 'asked' : 'unexpected');
      if (asked) logger.debug({ helper: path, how }, 'netlink helper ended');
      else logger.warn({ helper: path, how }, 'a netlink helper died; the next request starts another');
    },
  });
}

/** Why the helper at `path` cannot serve (undefined: it answered an empty batch, and stays started). */
async function probe(path: string, client: NetlinkHelperClient): Promise<string | undefined> {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `${path} is not an executable file`;
  }
  try {
    await client.run([]);
    return undefined;
  } catch (err) {
    return `${path} does not answer as a netlink helper: ${(err as Error).message}`;
  }
}
