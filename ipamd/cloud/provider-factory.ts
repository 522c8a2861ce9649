/**
 * The node's cloud adapter from the cloud group of the configuration. Only
 * the node's own cloud SDK is loaded: each is megabytes of code, and a node
 * runs in one cloud (the bundle evaluates dynamically imported modules lazily).
 */
import type { NodeProvider } from '../../providers/contract.ts';
import type { CloudConfig } from '../config/groups.ts';
import type { Metrics } from '../common/metrics.ts';
import { createCallGate } from './call-gate.ts';

export async function createProvider(cloud: CloudConfig, metrics: Metrics): Promise<NodeProvider> {
  const wrapCall = createCallGate({
    rate: cloud.apiRate,
    burst: cloud.apiBurst,
    onAttempt: (operation, outcome, ms) => metrics.cloudCall(operation, outcome, ms / 1000),
  });
  // Unset settings stay absent, so that each SDK applies its own default.
  const present = <T extends object>(settings: T): Partial<T> => Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined)) as Partial<T>;
  switch (cloud.name) {
    case 'aws': {
      const { AwsProvider } = await import('../../providers/aws/provider.ts');
      return new AwsProvider({ ...present(cloud.aws), wrapCall });
    }
    case 'azure': {
      const { AzureProvider } = await import('../../providers/azure/provider.ts');
      // Credentials come from @azure/identity's DefaultAzureCredential: AZURE_CLIENT_ID/AZURE_TENANT_ID with
      // AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE (workload identity), else the VM's managed identity.
      return new AzureProvider({ ...present(cloud.azure), wrapCall });
    }
    case 'alibaba': {
      const { AlibabaProvider } = await import('../../providers/alibaba/provider.ts');
      // Credentials come from @alicloud/credentials' default chain (ALIBABA_CLOUD_* variables, RRSA, the ECS RAM role).
      return new AlibabaProvider({ ...present(cloud.alibaba), wrapCall });
    }
  }
}
