import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../ipamd/config/index.ts';

function problems(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('Azure configuration', () => {
  it('reads the endpoints, subscription and resource group', () => {
    expect(
      loadConfig({
        CLOUD: 'azure',
        AZURE_ARM_ENDPOINT: 'http://169.254.170.1/',
        AZURE_ARM_ALLOW_INSECURE_HTTP: 'true',
        AZURE_IMDS_ENDPOINT: 'http://127.0.0.1:8080/_instance/i-1',
        AZURE_SUBSCRIPTION_ID: '6D3F2C1A-0B5E-4C8D-9A7F-2E1B0C9D8E7F',
        AZURE_RESOURCE_GROUP: 'MC_rg_cluster_eastus',
      }),
    ).toMatchObject({
      cloud: {
        name: 'azure',
        azure: {
          armEndpoint: 'http://169.254.170.1',
          allowInsecureHttp: true,
          imdsEndpoint: 'http://127.0.0.1:8080/_instance/i-1',
          subscriptionId: '6D3F2C1A-0B5E-4C8D-9A7F-2E1B0C9D8E7F',
          resourceGroup: 'MC_rg_cluster_eastus',
        },
      },
    });
  });

  it('refuses plain http for ARM unless allowed, naming the variable', () => {
    const err = problems({ CLOUD: 'azure', AZURE_ARM_ENDPOINT: 'http://169.254.170.1' });
    expect(err.problems).toEqual([expect.objectContaining({ variable: 'AZURE_ARM_ENDPOINT', value: 'http://169.254.170.1' })]);
    expect(err.message).toMatch(/AZURE_ARM_ALLOW_INSECURE_HTTP=true/);
    // Another cloud does not use it.
    expect(loadConfig({ CLOUD: 'aws', AZURE_ARM_ENDPOINT: 'http://169.254.170.1' }).cloud.name).toBe('aws');
  });

  it.each([
    ['AZURE_ARM_ENDPOINT', 'management.azure.com'],
    ['AZURE_ARM_ALLOW_INSECURE_HTTP', 'yes'],
    ['AZURE_IMDS_ENDPOINT', 'ftp://169.254.169.254'],
    ['AZURE_SUBSCRIPTION_ID', 'my-subscription'],
    ['AZURE_RESOURCE_GROUP', 'ends-with-dot.'],
    ['AZURE_RESOURCE_GROUP', 'has space'],
  ])('names %s=%s', (variable, value) => {
    const err = problems({ CLOUD: 'azure', [variable]: value });
    expect(err.problems.map((p) => p.variable)).toEqual([variable]);
  });
});
