/**
 * The node's policy-routing layout, shared by the pod, host-interface and
 * node parts of the data plane. Rules are evaluated by priority:
 *   512   `to POD lookup main`: traffic to a pod goes down its veth
 *   1024  `fwmark MARK lookup main`: pod traffic leaving the VPC, for SNAT on
 *         the primary interface (see node.ts)
 *   1536  `from ADDRESS lookup <deviceIndex + 1>`: traffic from an address of
 *         a secondary interface leaves through that interface
 */

/** Priority of the per-pod `to POD lookup main` rule. */
export const podRulePriority = 512;
/** Priority of the rule sending marked pod traffic to the main table. */
export const snatRulePriority = 1024;
/** Priority of the per-address `from` rules into an interface's table. */
export const interfaceRulePriority = 1536;

/** The route table of the interface at a device index (the primary's is main, never this). */
export const routeTableFor = (deviceIndex: number): number => deviceIndex + 1;
