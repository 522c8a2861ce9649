/**
 * The integration's mode from the environment (read in ipamd/config/
 * only): standalone, a kubeconfig, or the pod's service account.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../ipamd/config/index.ts';
import { loadKubeConfig } from '../../../ipamd/k8s/client.ts';

describe('Kubernetes integration configuration', () => {
  it('is off without KUBECONFIG and KUBERNETES_SERVICE_HOST: ipamd runs standalone, NODE_NAME optional', () => {
    expect(loadConfig({}).kubernetes).toBeUndefined();
  });

  it('needs NODE_NAME when on, and says why', () => {
    for (const env of [{ KUBECONFIG: '/etc/kube/config' }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }]) {
      let error: unknown;
      try {
        loadConfig(env);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([expect.objectContaining({ variable: 'NODE_NAME', message: expect.stringContaining('NODE_NAME is required when the Kubernetes integration is on') })]);
    }
  });

  it("uses the pod's service account in the cluster: its CA, its token file (re-read as it rotates)", () => {
    const config = loadConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443', NODE_NAME: 'ip-10-0-0-4.ec2.internal' });
    expect(config.kubernetes?.connection).toEqual({ mode: 'in-cluster', server: 'https://10.96.0.1:443' });
    if (!config.kubernetes) throw new Error('unreachable');
    const kc = loadKubeConfig(config.kubernetes.connection, 1000);
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://10.96.0.1:443', caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', skipTLSVerify: false });
    expect(kc.getCurrentUser()).toMatchObject({ authProvider: { name: 'tokenFile', config: { tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' } } });
  });

  it('fails clearly on a kubeconfig that does not exist', () => {
    expect(() => loadKubeConfig({ mode: 'kubeconfig', path: '/nonexistent/kubeconfig' }, 1000)).toThrow(/nonexistent\/kubeconfig/);
  });
});
