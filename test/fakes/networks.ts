/**
 * The no-op data plane, for tests of the control plane alone: pods and the
 * node's interfaces are "wired" without touching the host.
 */
import { hostVethName } from '../../wire/names.ts';
import type { HostNetwork, PodNetwork } from '../../ipamd/dataplane/index.ts';

/** For a daemon whose pods someone else wires. */
export const noPodNetwork: PodNetwork = {
  prepareNode: async () => undefined,
  // Pods of a control-plane test have no namespaces to look for.
  hasNamespace: () => true,
  setUp: async (a) => ({
    hostInterface: { name: hostVethName(a.network, a.containerId, a.ifName), mac: '02:00:00:00:00:01' },
    podInterface: { name: a.ifName, mac: '02:00:00:00:00:02' },
  }),
  tearDown: async () => undefined,
  verify: async () => [],
};

/** For a node whose secondary interfaces someone else configures. */
export const noHostNetwork: HostNetwork = {
  configureInterface: async () => undefined,
  removeInterface: async () => undefined,
  linkName: async () => 'eth0',
};
