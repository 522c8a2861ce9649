/**
 * Each overlay's policy document grants exactly the cloud API calls its
 * adapter makes, read from the adapter's source: a new call without its
 * permission (or a permission nothing uses) fails here, not in a cluster.
 */
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readRepoFile } from './render.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
}

/** The TypeScript sources of one adapter, concatenated. */
function adapterSource(cloud: string): string {
  const dir = new URL(`../../providers/${cloud}/`, import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readRepoFile(`providers/${cloud}/${f}`))
    .join('\n');
}

const unique = (values: string[]): string[] => [...new Set(values)].sort();

describe('AWS: deploy/overlays/aws/iam-policy.json', () => {
  const policy = JSON.parse(readRepoFile('deploy/overlays/aws/iam-policy.json')) as { Version: string; Statement: Statement[] };
  const source = adapterSource('aws');

  it('is an IAM policy document of Allow statements', () => {
    expect(policy.Version).toBe('2012-10-17');
    for (const statement of policy.Statement) expect(statement.Effect).toBe('Allow');
  });

  it('grants exactly the EC2 calls providers/aws makes, plus CreateTags for the tags given at creation', () => {
    const calls = [...source.matchAll(/new (\w+)Command\(/g)].map((m) => `ec2:${m[1]}`);
    expect(calls.length).toBeGreaterThan(5);
    const expected = unique([...calls, ...(source.includes('TagSpecifications') ? ['ec2:CreateTags'] : [])]);
    expect(unique(actionsOf(policy.Statement))).toEqual(expected);
    expect(actionsOf(policy.Statement)).toHaveLength(expected.length);
  });

  it('allows CreateTags only on network interfaces being created', () => {
    const tagging = policy.Statement.filter((s) => actionsOf([s]).includes('ec2:CreateTags'));
    expect(tagging).toEqual([
      {
        Sid: expect.any(String),
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: 'arn:aws:ec2:*:*:network-interface/*',
        Condition: { StringEquals: { 'ec2:CreateAction': 'CreateNetworkInterface' } },
      },
    ]);
  });

  it('matches the list of IAM permissions in the README', () => {
    const readme = readRepoFile('docs/clouds.md');
    const paragraph = /IAM permissions the adapter uses:([\s\S]*?)\n\n/.exec(readme)?.[1] ?? '';
    const documented = unique([...paragraph.matchAll(/`(ec2:\w+)`/g)].map((m) => m[1] ?? ''));
    expect(documented).toEqual(unique(actionsOf(policy.Statement)));
  });
});

describe('Alibaba Cloud: deploy/overlays/alibaba/ram-policy.json', () => {
  const policy = JSON.parse(readRepoFile('deploy/overlays/alibaba/ram-policy.json')) as { Version: string; Statement: Statement[] };

  it('is a RAM policy document of Allow statements', () => {
    expect(policy.Version).toBe('1');
    for (const statement of policy.Statement) expect(statement.Effect).toBe('Allow');
  });

  it('grants exactly the ECS calls providers/alibaba makes, plus TagResources for the tags given at creation', () => {
    const source = adapterSource('alibaba');
    const calls = [...source.matchAll(/\.(\w+)WithOptions\(/g)].map((m) => {
      const name = m[1] ?? '';
      return `ecs:${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    });
    expect(calls.length).toBeGreaterThan(5);
    const expected = unique([...calls, ...(source.includes('CreateNetworkInterfaceRequestTag') ? ['ecs:TagResources'] : [])]);
    expect(unique(actionsOf(policy.Statement))).toEqual(expected);
    expect(actionsOf(policy.Statement)).toHaveLength(expected.length);
  });

  it('matches the README', () => {
    expect(readmeRow('alibaba', /`(ecs:\w+)`/g)).toEqual(unique(actionsOf(policy.Statement)));
  });
});

/** The backticked permissions in the README's "Cloud permissions" row of an overlay. */
function readmeRow(overlay: string, pattern: RegExp): string[] {
  const row = readRepoFile('docs/deploy.md')
    .split('\n')
    .find((line) => line.startsWith(`| \`${overlay}\` |`));
  if (!row) throw new Error(`README has no Cloud permissions row for ${overlay}`);
  return unique([...row.matchAll(pattern)].map((m) => m[1] ?? ''));
}

describe('Azure: deploy/overlays/azure/role-definition.json', () => {
  const role = JSON.parse(readRepoFile('deploy/overlays/azure/role-definition.json')) as {
    Name: string;
    IsCustom: boolean;
    Actions: string[];
    NotActions: string[];
    DataActions: string[];
    NotDataActions: string[];
    AssignableScopes: string[];
  };

  it('is a custom role definition (az role definition create --role-definition @role-definition.json)', () => {
    expect(role.Name).toMatch(/\S/);
    expect(role.IsCustom).toBe(true);
    expect(role.NotActions).toEqual([]);
    expect(role.DataActions).toEqual([]);
    expect(role.NotDataActions).toEqual([]);
    expect(role.AssignableScopes.length).toBeGreaterThan(0);
    for (const scope of role.AssignableScopes) expect(scope).toMatch(/^\/subscriptions\/[0-9a-f-]{36}(\/resourceGroups\/[^/]+)?$/);
    expect(unique(role.Actions)).toHaveLength(role.Actions.length);
  });

  it('grants exactly the ARM operations providers/azure performs', () => {
    expect(existsSync(new URL('../../providers/azure/', import.meta.url)), 'providers/azure exists').toBe(true);
    const source = adapterSource('azure');
    const expected = unique(azurePermissions(source));
    expect(expected.length).toBeGreaterThan(0);
    expect(unique(role.Actions)).toEqual(expected);
  });

  it('matches the README', () => {
    expect(readmeRow('azure', /`(Microsoft\.[\w./]+)`/g)).toEqual(unique(role.Actions));
  });
});

/**
 * ARM permissions of the SDK operations the Azure adapter calls, by the
 * operation group and method its source names. ARM derives the action from
 * the request path and method, so each operation needs exactly these.
 */
function azurePermissions(source: string): string[] {
  const table: Array<[RegExp, string[]]> = [
    [/networkInterfaces\.(get|list\w*)\(/, ['Microsoft.Network/networkInterfaces/read']],
    // Adding or removing IP configurations rewrites the NIC; each new configuration joins its subnet, and
    // ARM's linked access check re-verifies the NIC's network security group on every write.
    [
      /networkInterfaces\.beginCreateOrUpdate\w*\(/,
      ['Microsoft.Network/networkInterfaces/write', 'Microsoft.Network/virtualNetworks/subnets/join/action', 'Microsoft.Network/networkSecurityGroups/join/action'],
    ],
    [/networkInterfaces\.beginDelete\w*\(/, ['Microsoft.Network/networkInterfaces/delete']],
    // Long-running network operations are polled at the subscription's location (Azure-AsyncOperation, then Location).
    [/network\.\w+\.begin\w+\(/, ['Microsoft.Network/locations/operations/read', 'Microsoft.Network/locations/operationResults/read']],
    [/subnets\.(get|list)\(/, ['Microsoft.Network/virtualNetworks/subnets/read']],
    [/networkSecurityGroups\.get\(/, ['Microsoft.Network/networkSecurityGroups/read']],
    [/virtualNetworks\.(get|list)\(/, ['Microsoft.Network/virtualNetworks/read']],
    [/virtualNetworks\.listUsage\(/, ['Microsoft.Network/virtualNetworks/usages/read']],
    [/virtualMachines\.get\(/, ['Microsoft.Compute/virtualMachines/read']],
    [/resourceSkus\.list\(/, ['Microsoft.Compute/skus/read']],
  ];
  return table.filter(([pattern]) => pattern.test(source)).flatMap(([, permissions]) => permissions);
}
