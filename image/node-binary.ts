/**
 * Prints the path of the image's Node binary, fetching it first if needed:
 *   export VPC_CNI_IPAMD_NODE="$(npx tsx image/node-binary.ts)"
 * runs the daemon suites' ipamd on the shipped Node major (.ci/run does).
 */
import { fetchNode } from './node-dist.ts';

const node = await fetchNode();
process.stdout.write(`${node.binary}\n`);
