/**
 * Every overlay renders with `kubectl kustomize` into a complete install
 * whose objects pass the Kubernetes schemas (kubernetes-models), and whose
 * DaemonSet matches what ipamd really reads, listens on and writes.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CustomResourceDefinition, type ICustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { DaemonSet, type IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ClusterRole, type IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding, type IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { ServiceAccount, type IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { configVariables, loadConfig } from '../../ipamd/config/index.ts';
import { configDefault, overlays, portOf, readRepoFile, render, renderDirectory, repoRoot, type Overlay, type RenderedObject } from './render.ts';

const namespace = 'kube-system';

/** The schema each kind is checked against; the PodMonitor (not in kubernetes-models) is checked by shape below. */
const validators: Record<string, ((object: RenderedObject) => void) | undefined> = {
  'apps/v1/DaemonSet': (o) => new DaemonSet(o as unknown as IDaemonSet).validate(),
  'v1/ServiceAccount': (o) => new ServiceAccount(o as unknown as IServiceAccount).validate(),
  'rbac.authorization.k8s.io/v1/ClusterRole': (o) => new ClusterRole(o as unknown as IClusterRole).validate(),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': (o) => new ClusterRoleBinding(o as unknown as IClusterRoleBinding).validate(),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': (o) => new CustomResourceDefinition(o as unknown as ICustomResourceDefinition).validate(),
  'monitoring.coreos.com/v1/PodMonitor': () => undefined,
};

function validateAgainstSchema(object: RenderedObject): void {
  const id = `${object.apiVersion}/${object.kind}`;
  const validate = validators[id];
  if (!validate) throw new Error(`unexpected object ${id} ${object.metadata.name}: no schema to check it against`);
  validate(object);
}

function one<T extends RenderedObject>(objects: RenderedObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as T;
}

interface Rendered {
  objects: RenderedObject[];
  daemonSet: IDaemonSet;
  ipamd: IContainer;
  init: IContainer;
  serviceAccount: IServiceAccount;
}

function pick(objects: RenderedObject[]): Rendered {
  const daemonSet = one<RenderedObject & IDaemonSet>(objects, 'DaemonSet', 'vpc-cni');
  const pod = daemonSet.spec?.template.spec;
  const ipamd = pod?.containers.find((c) => c.name === 'ipamd');
  const init = pod?.initContainers?.find((c) => c.name === 'install-cni-plugin');
  if (!ipamd || !init) throw new Error('the DaemonSet has no ipamd container or no install-cni-plugin init container');
  return { objects, daemonSet, ipamd, init, serviceAccount: one<RenderedObject & IServiceAccount>(objects, 'ServiceAccount', 'vpc-cni') };
}

/** The value ipamd will see for a variable: the DaemonSet's literal value, else ipamd's default. */
function effective(container: IContainer, name: string): string {
  const entry = container.env?.find((e) => e.name === name);
  if (entry?.valueFrom) throw new Error(`${name} comes from valueFrom: no literal to check`);
  return entry?.value ?? configDefault(name);
}

function hostPathOf(daemonSet: IDaemonSet, volumeName: string): string | undefined {
  return daemonSet.spec?.template.spec?.volumes?.find((v) => v.name === volumeName)?.hostPath?.path;
}

/** The host directory a container path lives in, through the container's hostPath mounts (undefined: not on the host). */
function hostDirectoryOf(daemonSet: IDaemonSet, container: IContainer, path: string): string | undefined {
  for (const mount of container.volumeMounts ?? []) {
    const relative = posix.relative(mount.mountPath, path);
    if (relative.startsWith('..') || posix.isAbsolute(relative)) continue;
    const host = hostPathOf(daemonSet, mount.name);
    if (host !== undefined) return posix.join(host, relative);
  }
  return undefined;
}

function httpGetOf(probe: IProbe | undefined): { host?: string; path?: string; port: number | string } {
  if (!probe?.httpGet) throw new Error('probe without httpGet');
  return probe.httpGet;
}

const credentials: Record<Overlay, { annotation: string; podLabel?: [string, string] }> = {
  aws: { annotation: 'eks.amazonaws.com/role-arn' },
  azure: { annotation: 'azure.workload.identity/client-id', podLabel: ['azure.workload.identity/use', 'true'] },
  alibaba: { annotation: 'pod-identity.alibabacloud.com/role-name', podLabel: ['pod-identity.alibabacloud.com/injection', 'on'] },
};

describe.each(overlays)('deploy/overlays/%s', (overlay) => {
  let r: Rendered;
  beforeAll(() => {
    r = pick(render(overlay));
  });

  it('renders the complete install and nothing else', () => {
    const names = r.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names).toEqual(
      [
        'ClusterRole/vpc-cni',
        'ClusterRoleBinding/vpc-cni',
        'CustomResourceDefinition/nodenetworkconfigs.vpc-cni.io',
        'CustomResourceDefinition/nodenetworks.vpc-cni.io',
        'DaemonSet/vpc-cni',
        'PodMonitor/vpc-cni',
        'ServiceAccount/vpc-cni',
      ].sort(),
    );
    // ipamd writes the conflist itself, once ready: none is shipped.
    expect(r.objects.filter((o) => o.kind === 'ConfigMap')).toEqual([]);
  });

  it('every object passes the Kubernetes schema of its kind', () => {
    for (const object of r.objects) {
      expect(() => validateAgainstSchema(object), `${object.kind} ${object.metadata.name}`).not.toThrow();
    }
  });

  it('puts namespaced objects in kube-system and leaves cluster-scoped ones without a namespace', () => {
    const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);
    for (const object of r.objects) {
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe(clusterScoped.has(object.kind) ? undefined : namespace);
    }
  });

  it('runs on every node, first, in the node network', () => {
    const pod = r.daemonSet.spec?.template.spec;
    expect(pod?.hostNetwork).toBe(true);
    expect(pod?.priorityClassName).toBe('system-node-critical');
    expect(pod?.tolerations).toEqual([{ operator: 'Exists' }]);
    // Cluster DNS needs this CNI to run: never depend on it.
    expect(pod?.dnsPolicy).toBe('Default');
    expect(r.daemonSet.spec?.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } });
    expect(pod?.serviceAccountName).toBe(r.serviceAccount.metadata?.name);
    // The selector picks the pods the template makes.
    const selector = r.daemonSet.spec?.selector.matchLabels ?? {};
    expect(Object.keys(selector).length).toBeGreaterThan(0);
    expect(r.daemonSet.spec?.template.metadata?.labels).toMatchObject(selector);
  });

  it('sets CLOUD for its cloud and NODE_NAME from the downward API, and only real ipamd variables', () => {
    const known = new Set(configVariables.map((v) => v.name));
    const env = r.ipamd.env ?? [];
    for (const entry of env) expect(known.has(entry.name), `${entry.name} is not an ipamd configuration variable`).toBe(true);
    expect(new Set(env.map((e) => e.name)).size).toBe(env.length);
    expect(env.find((e) => e.name === 'CLOUD')).toEqual({ name: 'CLOUD', value: overlay });
    expect(env.find((e) => e.name === 'NODE_NAME')).toEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    // EC2 carries 9001-byte frames, Azure and Alibaba Cloud networks 1500: ipamd's default follows CLOUD.
    const literal = Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    expect(loadConfig({ ...literal, NODE_NAME: 'node-1' }).dataPlane.mtu).toBe(overlay === 'aws' ? 9001 : 1500);
  });

  it("annotates the ServiceAccount (and labels the pod) for the cloud's workload identity", () => {
    const expected = credentials[overlay];
    expect(r.serviceAccount.metadata?.annotations?.[expected.annotation]).toMatch(/\S/);
    const otherAnnotations = Object.values(credentials)
      .map((c) => c.annotation)
      .filter((a) => a !== expected.annotation);
    for (const annotation of otherAnnotations) expect(r.serviceAccount.metadata?.annotations?.[annotation]).toBeUndefined();
    const labels = r.daemonSet.spec?.template.metadata?.labels ?? {};
    if (expected.podLabel) expect(labels[expected.podLabel[0]]).toBe(expected.podLabel[1]);
    for (const other of Object.values(credentials)) {
      if (other.podLabel && other !== expected) expect(labels[other.podLabel[0]]).toBeUndefined();
    }
  });

  it('installs the plugin into /opt/cni/bin (CNI_BIN_DIR) by copy and rename', () => {
    const script = (r.init.command ?? []).concat(r.init.args ?? []).join(' ');
    const installed = /mv -f (\S+) (\S+\/vpc-cni)\b/.exec(script);
    expect(installed, script).not.toBeNull();
    const [, temporary = '', target = ''] = installed ?? [];
    // Same directory, so the rename is atomic.
    expect(posix.dirname(temporary)).toBe(posix.dirname(target));
    expect(hostDirectoryOf(r.daemonSet, r.init, target)).toBe(posix.join(configDefault('CNI_BIN_DIR'), 'vpc-cni'));
    expect(r.init.image).toBe(r.ipamd.image);
    // Writing a root-owned directory as root needs no capability.
    expect(r.init.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(r.init.securityContext?.privileged).not.toBe(true);
  });

  it("mounts ipamd's directories at their host paths, and no other host path", () => {
    const pod = r.daemonSet.spec?.template.spec;
    const hostPaths = (pod?.volumes ?? []).map((v) => v.hostPath?.path).sort();
    expect(hostPaths).toEqual(['/etc/cni/net.d', '/opt/cni/bin', '/var/run/netns', '/var/run/vpc-cni']);
    // The conflist names the socket and pending-del paths as ipamd sees
    // them, and the plugin uses them on the host: they must be the same.
    for (const mount of r.ipamd.volumeMounts ?? []) expect(hostPathOf(r.daemonSet, mount.name), mount.name).toBe(mount.mountPath);
    const stateDir = effective(r.ipamd, 'STATE_DIR');
    const socket = r.ipamd.env?.some((e) => e.name === 'IPAMD_SOCKET') ? effective(r.ipamd, 'IPAMD_SOCKET') : posix.join(stateDir, 'ipamd.sock');
    for (const dir of [stateDir, posix.dirname(socket), effective(r.ipamd, 'CNI_CONF_DIR'), '/var/run/netns']) {
      expect(hostDirectoryOf(r.daemonSet, r.ipamd, dir), `${dir} is on the host`).toBe(dir);
    }
    // Pod namespaces are bind mounts the runtime makes after ipamd started.
    const netns = r.ipamd.volumeMounts?.find((m) => m.mountPath === '/var/run/netns');
    expect(netns?.mountPropagation).toBe('HostToContainer');
    expect(pod?.hostPID).toBe(true);
  });

  it("probes ipamd's introspection endpoint on loopback and exposes the metrics port", () => {
    const introspectionPort = portOf(effective(r.ipamd, 'INTROSPECTION_BIND_ADDRESS'));
    const probes = { startup: r.ipamd.startupProbe, liveness: r.ipamd.livenessProbe, readiness: r.ipamd.readinessProbe };
    for (const [kind, probe] of Object.entries(probes)) {
      const get = httpGetOf(probe);
      expect(get.host, kind).toBe('127.0.0.1');
      expect(get.port, kind).toBe(introspectionPort);
    }
    expect(httpGetOf(probes.liveness).path).toBe('/healthz');
    expect(httpGetOf(probes.startup).path).toBe('/healthz');
    expect(httpGetOf(probes.readiness).path).toBe('/readyz');
    const metrics = r.ipamd.ports?.find((p) => p.name === 'metrics');
    expect(metrics?.containerPort).toBe(portOf(effective(r.ipamd, 'METRICS_BIND_ADDRESS')));
    // Nothing else is published on the node.
    expect(r.ipamd.ports).toHaveLength(1);
  });

  it('requests resources for every container and runs ipamd with what it needs', () => {
    for (const container of [r.init, r.ipamd]) {
      expect(container.resources?.requests?.cpu, container.name).toBeDefined();
      expect(container.resources?.requests?.memory, container.name).toBeDefined();
    }
    // privileged: per-pod sysctl writes need a writable /proc/sys (daemonset.yaml says why).
    expect(r.ipamd.securityContext?.privileged).toBe(true);
    expect(r.ipamd.command?.slice(-2)).toEqual(['/opt/vpc-cni/ipamd.mjs', 'run']);
  });

  it('binds exactly the ClusterRole to the ServiceAccount', () => {
    const binding = one<RenderedObject & IClusterRoleBinding>(r.objects, 'ClusterRoleBinding', 'vpc-cni');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'vpc-cni' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: r.serviceAccount.metadata?.name, namespace: r.serviceAccount.metadata?.namespace }]);
  });

  it("has a PodMonitor that scrapes the DaemonSet's metrics port", () => {
    const monitor = one(r.objects, 'PodMonitor', 'vpc-cni') as RenderedObject & {
      spec?: { selector?: { matchLabels?: Record<string, string> }; podMetricsEndpoints?: Array<{ port?: string; path?: string; interval?: string }> };
    };
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.namespace).toBe(r.daemonSet.metadata?.namespace);
    const selector = monitor.spec?.selector?.matchLabels;
    expect(selector && Object.keys(selector).length).toBeGreaterThan(0);
    expect(r.daemonSet.spec?.template.metadata?.labels).toMatchObject(selector ?? {});
    const endpoints = monitor.spec?.podMetricsEndpoints ?? [];
    expect(endpoints.length).toBeGreaterThan(0);
    const portNames = new Set((r.ipamd.ports ?? []).map((p) => p.name));
    for (const endpoint of endpoints) {
      expect(portNames.has(endpoint.port), `port ${endpoint.port}`).toBe(true);
      expect(endpoint.path).toBe('/metrics');
      expect(endpoint.interval).toMatch(/^\d+(ms|s|m|h)$/);
    }
  });
});

describe('the CustomResourceDefinitions', () => {
  let crds: Map<string, ICustomResourceDefinition>;
  beforeAll(() => {
    crds = new Map(render('aws').filter((o) => o.kind === 'CustomResourceDefinition').map((o) => [o.metadata.name, o as unknown as ICustomResourceDefinition]));
  });

  it('are cluster-scoped vpc-cni.io/v1alpha1 kinds with the contract names', () => {
    const expected = [
      { name: 'nodenetworkconfigs.vpc-cni.io', kind: 'NodeNetworkConfig', plural: 'nodenetworkconfigs', short: 'nnc' },
      { name: 'nodenetworks.vpc-cni.io', kind: 'NodeNetwork', plural: 'nodenetworks', short: 'nn' },
    ];
    for (const e of expected) {
      const crd = crds.get(e.name);
      expect(crd?.spec.group).toBe('vpc-cni.io');
      expect(crd?.spec.scope).toBe('Cluster');
      expect(crd?.spec.names).toMatchObject({ kind: e.kind, plural: e.plural, shortNames: [e.short] });
      expect(crd?.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([['v1alpha1', true, true]]);
      // Everything under status is written with the object itself: no status subresource.
      expect(crd?.spec.versions[0]?.subresources).toBeUndefined();
    }
  });

  it("NodeNetwork's printer columns are the contract's, each pointing at a field of the schema", () => {
    const version = crds.get('nodenetworks.vpc-cni.io')?.spec.versions[0];
    expect(version?.additionalPrinterColumns?.map((c) => [c.name, c.jsonPath])).toEqual([
      ['Provider', '.status.provider'],
      ['Type', '.status.instanceType'],
      ['Total', '.status.addresses.total'],
      ['Assigned', '.status.addresses.assigned'],
      ['Warm', '.status.addresses.warm'],
      ['Cooldown', '.status.addresses.cooldown'],
      ['MaxPods', '.status.maxPods'],
      ['Config', '.status.config'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
  });

  it("every printer column's path exists in the schema with the column's type", () => {
    for (const crd of crds.values()) {
      const version = crd.spec.versions[0];
      for (const column of version?.additionalPrinterColumns ?? []) {
        if (column.jsonPath === '.metadata.creationTimestamp') {
          expect(column.type).toBe('date');
          continue;
        }
        let node = version?.schema?.openAPIV3Schema;
        for (const step of column.jsonPath.split('.').slice(1)) node = node?.properties?.[step];
        expect(node, `${crd.metadata?.name} ${column.name} ${column.jsonPath}`).toBeDefined();
        const expectedType = node?.type === 'array' ? 'string' : node?.type;
        expect(column.type, `${crd.metadata?.name} ${column.name}`).toBe(expectedType);
      }
    }
  });
});

describe("the README's own-overlay example", () => {
  it('renders on top of an overlay with the image and identity it names', () => {
    // The ```yaml blocks whose first line names a file under deploy/overlays/.
    const files = [...readRepoFile('docs/deploy.md').matchAll(/```yaml\n# (deploy\/overlays\/[\w./-]+)\n([\s\S]*?)```/g)].map((m) => ({ path: m[1] ?? '', text: m[2] ?? '' }));
    expect(files.map((f) => posix.basename(f.path)).sort()).toEqual(['identity.yaml', 'kustomization.yaml']);
    const root = mkdtempSync(join(tmpdir(), 'vpc-cni-readme-overlay-'));
    try {
      cpSync(join(repoRoot, 'deploy'), join(root, 'deploy'), { recursive: true });
      for (const file of files) {
        mkdirSync(join(root, posix.dirname(file.path)), { recursive: true });
        writeFileSync(join(root, file.path), file.text);
      }
      const objects = renderDirectory(posix.dirname(files[0]?.path ?? ''), root);
      const { daemonSet, ipamd, init, serviceAccount } = pick(objects);
      const base = pick(render('aws'));
      expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(base.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort());
      const identity = /role-arn: (\S+)/.exec(files.find((f) => f.path.endsWith('identity.yaml'))?.text ?? '')?.[1];
      expect(serviceAccount.metadata?.annotations?.['eks.amazonaws.com/role-arn']).toBe(identity);
      const image = /newName: (\S+)\n\s+newTag: (\S+)/.exec(files.find((f) => f.path.endsWith('kustomization.yaml'))?.text ?? '');
      expect(ipamd.image).toBe(`${image?.[1]}:${image?.[2]}`);
      expect(init.image).toBe(ipamd.image);
      expect(daemonSet.spec?.template.spec?.containers[0]?.env).toEqual(base.ipamd.env);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
