/**
 * The one executable the image ships besides ipamd's bundle (bun-compiled):
 * the CNI plugin, as runtimes exec it; or, with `netlink-helper`, ipamd's
 * long-lived netlink helper (one bun runtime in the image serves both).
 * The branch costs the plugin nothing: each side is a chunk loaded on demand.
 */
import { helperArgument } from '../lib/netlink/protocol.ts';

if (process.argv[2] === helperArgument) {
  const { serveNetlinkHelper } = await import('../lib/netlink/helper.ts');
  await serveNetlinkHelper();
} else {
  await import('../cni/main.ts');
}
