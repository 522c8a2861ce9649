import * as actions from './actions.ts';
import * as security from './security-groups.ts';
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

/** A Microsoft.Network resource served with GET, PUT and DELETE; `operation` is its operation-id prefix. */
function readWriteDelete(pattern: string[], operation: string, run: { get: ArmAction; put: ArmAction; remove: ArmAction }): ArmRoute {
  return {
    pattern,
    apiVersions: networkApiVersions,
    methods: {
      GET: { action: `${operation}_Get`, run: run.get },
      PUT: { action: `${operation}_CreateOrUpdate`, run: run.put },
      DELETE: { action: `${operation}_Delete`, run: run.remove },
    },
  };
}

/** The operations the ARM face serves: a new one is an entry here (and its function in ./actions.ts). */
export const armRoutes: ArmRoute[] = [
  { pattern: [...network, 'networkInterfaces'], apiVersions: networkApiVersions, methods: { GET: { action: 'NetworkInterfaces_List', run: actions.listNics } } },
  readWriteDelete([...network, 'networkInterfaces', '*'], 'NetworkInterfaces', { get: actions.getNic, put: actions.putNic, remove: actions.deleteNic }),
  { pattern: [...network, 'networkSecurityGroups'], apiVersions: networkApiVersions, methods: { GET: { action: 'NetworkSecurityGroups_List', run: security.listNsgs } } },
  { pattern: ['providers', 'Microsoft.Network', 'networkSecurityGroups'], apiVersions: networkApiVersions, methods: { GET: { action: 'NetworkSecurityGroups_ListAll', run: security.listNsgs } } },
  readWriteDelete([...network, 'networkSecurityGroups', '*'], 'NetworkSecurityGroups', { get: security.getNsg, put: security.putNsg, remove: security.deleteNsg }),
  { pattern: [...network, 'networkSecurityGroups', '*', 'securityRules'], apiVersions: networkApiVersions, methods: { GET: { action: 'SecurityRules_List', run: security.listRules } } },
  readWriteDelete([...network, 'networkSecurityGroups', '*', 'securityRules', '*'], 'SecurityRules', { get: security.getRule, put: security.putRule, remove: security.deleteRule }),
  { pattern: [...network, 'networkSecurityGroups', '*', 'defaultSecurityRules'], apiVersions: networkApiVersions, methods: { GET: { action: 'DefaultSecurityRules_List', run: security.listDefaultRules } } },
  { pattern: [...network, 'networkSecurityGroups', '*', 'defaultSecurityRules', '*'], apiVersions: networkApiVersions, methods: { GET: { action: 'DefaultSecurityRules_Get', run: security.getDefaultRule } } },
  { pattern: [...network, 'applicationSecurityGroups'], apiVersions: networkApiVersions, methods: { GET: { action: 'ApplicationSecurityGroups_List', run: security.listAsgs } } },
  { pattern: ['providers', 'Microsoft.Network', 'applicationSecurityGroups'], apiVersions: networkApiVersions, methods: { GET: { action: 'ApplicationSecurityGroups_ListAll', run: security.listAsgs } } },
  readWriteDelete([...network, 'applicationSecurityGroups', '*'], 'ApplicationSecurityGroups', { get: security.getAsg, put: security.putAsg, remove: security.deleteAsg }),
  { pattern: [...network, 'virtualNetworks', '*'], apiVersions: networkApiVersions, methods: { GET: { action: 'VirtualNetworks_Get', run: actions.getVnet } } },
  { pattern: [...network, 'virtualNetworks', '*', 'subnets'], apiVersions: networkApiVersions, methods: { GET: { action: 'Subnets_List', run: actions.listSubnets } } },
  {
    pattern: [...network, 'virtualNetworks', '*', 'subnets', '*'],
    apiVersions: networkApiVersions,
    methods: { GET: { action: 'Subnets_Get', run: actions.getSubnet }, PUT: { action: 'Subnets_CreateOrUpdate', run: security.putSubnet } },
  },
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
