import * as actions from './actions.ts';
import type { ArmAction } from './actions.ts';
import { networkApiVersions, skuApiVersions } from './api-versions.ts';

/** An ARM resource path and the operations it serves, per HTTP method. */
export interface ArmRoute {
  /** Segments after /subscriptions/{sub}/; '*' matches one name. Compared case-insensitively. */
  pattern: string[];
  /** The operation id (what latency and faults are keyed by) and its action, per method. */
  methods: Partial<Record<string, { action: string; run: ArmAction }>>;
  apiVersions: string[];
}

const network = ['resourceGroups', '*', 'providers', 'Microsoft.Network'];

/** The operations the ARM face serves: a new one is an entry here (and its function in ./actions.ts). */
export const armRoutes: ArmRoute[] = [
  { pattern: [...network, 'networkInterfaces'], apiVersions: networkApiVersions, methods: { GET: { action: 'NetworkInterfaces_List', run: actions.listNics } } },
  {
    pattern: [...network, 'networkInterfaces', '*'],
    apiVersions: networkApiVersions,
    methods: {
      GET: { action: 'NetworkInterfaces_Get', run: actions.getNic },
      PUT: { action: 'NetworkInterfaces_CreateOrUpdate', run: actions.putNic },
      DELETE: { action: 'NetworkInterfaces_Delete', run: actions.deleteNic },
    },
  },
  { pattern: [...network, 'networkSecurityGroups', '*'], apiVersions: networkApiVersions, methods: { GET: { action: 'NetworkSecurityGroups_Get', run: actions.getNsg } } },
  { pattern: [...network, 'virtualNetworks', '*'], apiVersions: networkApiVersions, methods: { GET: { action: 'VirtualNetworks_Get', run: actions.getVnet } } },
  { pattern: [...network, 'virtualNetworks', '*', 'subnets'], apiVersions: networkApiVersions, methods: { GET: { action: 'Subnets_List', run: actions.listSubnets } } },
  { pattern: [...network, 'virtualNetworks', '*', 'subnets', '*'], apiVersions: networkApiVersions, methods: { GET: { action: 'Subnets_Get', run: actions.getSubnet } } },
  { pattern: [...network, 'virtualNetworks', '*', 'usages'], apiVersions: networkApiVersions, methods: { GET: { action: 'VirtualNetworks_ListUsage', run: actions.listUsage } } },
  {
    pattern: ['providers', 'Microsoft.Network', 'locations', '*', 'operations', '*'],
    apiVersions: networkApiVersions,
    methods: { GET: { action: 'AsyncOperations_Get', run: actions.operationStatus } },
  },
  {
    pattern: ['providers', 'Microsoft.Network', 'locations', '*', 'operationResults', '*'],
    apiVersions: networkApiVersions,
    methods: { GET: { action: 'AsyncOperations_GetResult', run: actions.operationResult } },
  },
  { pattern: ['providers', 'Microsoft.Compute', 'skus'], apiVersions: skuApiVersions, methods: { GET: { action: 'ResourceSkus_List', run: actions.listSkus } } },
];

/** The route a path (after /subscriptions/{sub}/) falls on, with its '*' segments after the resource group. */
export function matchRoute(rest: string[]): { route: ArmRoute; params: string[] } | undefined {
  for (const route of armRoutes) {
    if (route.pattern.length !== rest.length) continue;
    const params: string[] = [];
    const ok = route.pattern.every((part, index) => {
      const segment = rest[index] ?? '';
      if (part === '*') {
        params.push(segment);
        return segment !== '';
      }
      return part.toLowerCase() === segment.toLowerCase();
    });
    if (ok) return { route, params: params.slice(route.pattern[0] === 'resourceGroups' ? 1 : 0) };
  }
  return undefined;
}
