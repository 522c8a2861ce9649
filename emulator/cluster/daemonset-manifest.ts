/**
 * The DaemonSet users apply, as the emulated cluster runs it: rendered from
 * deploy/overlays/<cloud> by `kubectl kustomize` (what `kubectl apply -k`
 * sends), parsed with the yaml package, and checked against the part of the
 * pod spec the emulated kubelet (daemonset.ts) understands. A field outside
 * that part is an error, not silently dropped: the test must run what users
 * run, or say it cannot.
 */
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import type { CloudName } from '../../providers/contract.ts';
import { run } from './cluster.ts';

const deployDir = fileURLToPath(new URL('../../deploy', import.meta.url));

const envVar = z.strictObject({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z.strictObject({ fieldRef: z.strictObject({ fieldPath: z.string(), apiVersion: z.string().optional() }) }).optional(),
});

const volumeMount = z.strictObject({
  name: z.string(),
  mountPath: z.string(),
  readOnly: z.boolean().optional(),
  mountPropagation: z.enum(['None', 'HostToContainer', 'Bidirectional']).optional(),
});

const httpProbe = z.object({
  httpGet: z.strictObject({ host: z.string().optional(), path: z.string(), port: z.union([z.number(), z.string()]), scheme: z.literal('HTTP').optional() }),
  periodSeconds: z.number().optional(),
  timeoutSeconds: z.number().optional(),
  failureThreshold: z.number().optional(),
});

const securityContext = z.strictObject({
  privileged: z.boolean().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  capabilities: z.strictObject({ add: z.array(z.string()).optional(), drop: z.array(z.string()).optional() }).optional(),
});

const container = z.strictObject({
  name: z.string(),
  image: z.string(),
  imagePullPolicy: z.string().optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(envVar).optional(),
  ports: z.array(z.object({ name: z.string().optional(), containerPort: z.number(), protocol: z.string().optional() })).optional(),
  startupProbe: httpProbe.optional(),
  livenessProbe: httpProbe.optional(),
  readinessProbe: httpProbe.optional(),
  resources: z
    .strictObject({
      requests: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      limits: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    })
    .optional(),
  securityContext: securityContext.optional(),
  volumeMounts: z.array(volumeMount).optional(),
});

const volume = z.strictObject({
  name: z.string(),
  hostPath: z.strictObject({ path: z.string(), type: z.enum(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File']).optional() }),
});

/** The pod template's spec: what a kubelet would run on each node. */
const podSpec = z.strictObject({
  serviceAccountName: z.string().optional(),
  priorityClassName: z.string().optional(),
  hostNetwork: z.boolean().optional(),
  hostPID: z.boolean().optional(),
  dnsPolicy: z.string().optional(),
  tolerations: z.array(z.unknown()).optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  terminationGracePeriodSeconds: z.number().optional(),
  initContainers: z.array(container).optional(),
  containers: z.array(container).min(1),
  volumes: z.array(volume).optional(),
});

export type DaemonSetContainer = z.infer<typeof container>;
export type DaemonSetPodSpec = z.infer<typeof podSpec>;
export type HttpProbe = z.infer<typeof httpProbe>;

/** Parses a rendered install (all its documents) and returns the DaemonSet's pod spec. */
export function daemonSetPodSpec(rendered: string, name = 'vpc-cni'): DaemonSetPodSpec {
  const documents = parseAllDocuments(rendered).map((document) => {
    if (document.errors.length > 0) throw new Error(`the rendered install is not valid YAML: ${document.errors[0]!.message}`);
    return document.toJS() as unknown;
  });
  const daemonSets = documents.filter((doc): doc is { kind: string; metadata: { name: string }; spec: { template: { spec: unknown } } } => {
    const object = doc as { kind?: unknown; metadata?: { name?: unknown } } | null;
    return object?.kind === 'DaemonSet' && object.metadata?.name === name;
  });
  if (daemonSets.length !== 1) throw new Error(`the rendered install has ${daemonSets.length} DaemonSets named ${name}, expected one`);
  const parsed = podSpec.safeParse(daemonSets[0]!.spec.template.spec);
  if (!parsed.success) throw new Error(`the DaemonSet's pod spec has fields the emulated kubelet does not run: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** `kubectl kustomize deploy/overlays/<cloud>`: the install users apply. */
export async function renderOverlay(cloud: CloudName): Promise<string> {
  const rendered = await run('kubectl', ['kustomize', `${deployDir}/overlays/${cloud}`], { timeoutMs: 60_000 });
  if (rendered.code !== 0) throw new Error(`kubectl kustomize deploy/overlays/${cloud} failed: ${rendered.stderr}`);
  return rendered.stdout;
}

export async function overlayDaemonSet(cloud: CloudName): Promise<DaemonSetPodSpec> {
  return daemonSetPodSpec(await renderOverlay(cloud));
}
