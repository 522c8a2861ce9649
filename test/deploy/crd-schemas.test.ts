/**
 * The CustomResourceDefinitions' OpenAPI v3 schemas: structural as the API
 * server requires, accepting the documented examples (README and
 * deploy/examples) and rejecting broken resources, checked with ajv.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { formats, type ValidateFunc } from '@kubernetes-models/validate';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateSpec } from '../../ipamd/k8s/node-config.ts';
import { nodeNetworkObject, type NodeNetworkStatus } from '../../ipamd/k8s/node-status.ts';
import { parseObjects, readRepoFile, type RenderedObject } from './render.ts';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; additionalProperties?: Schema | boolean };

interface AjvInstance {
  compile(schema: object): ValidateFunc<unknown>;
  addFormat(name: string, format: (typeof formats)[string]): unknown;
  addVocabulary(keywords: string[]): unknown;
}

// ajv 8, as @kubernetes-models/validate depends on it (the top-level `ajv` is another major, eslint's).
const requireFromValidate = createRequire(createRequire(import.meta.url).resolve('@kubernetes-models/validate'));
const { default: Ajv } = requireFromValidate('ajv') as { default: new (options: Record<string, unknown>) => AjvInstance };

const kubernetesKeywords = [
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
];

function newAjv(): AjvInstance {
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajv.addVocabulary(kubernetesKeywords);
  for (const [name, format] of Object.entries(formats)) ajv.addFormat(name, format);
  return ajv;
}

/**
 * The API server prunes fields a structural schema does not declare and,
 * under strict field validation (kubectl's default), rejects the request
 * naming them: an object schema with `properties` is closed unless it
 * preserves unknown fields. JSON Schema leaves it open, so close it here.
 */
function asServerValidates(schema: Schema): Schema {
  const out: Schema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, asServerValidates(v)]));
    if (schema['x-kubernetes-preserve-unknown-fields'] !== true && schema.additionalProperties === undefined) out.additionalProperties = false;
  }
  if (schema.items) out.items = asServerValidates(schema.items);
  if (typeof schema.additionalProperties === 'object') out.additionalProperties = asServerValidates(schema.additionalProperties);
  return out;
}

/** Rules of structural schemas (apiextensions.k8s.io/v1) a schema could break; returns the problems. */
function structuralProblems(schema: Schema, path: string, ajv: AjvInstance): string[] {
  const problems: string[] = [];
  const lenient = schema['x-kubernetes-int-or-string'] === true || schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (typeof schema.type !== 'string' && !lenient) problems.push(`${path}: no type`);
  if (schema.properties && schema.additionalProperties !== undefined) problems.push(`${path}: properties and additionalProperties together`);
  for (const forbidden of ['$ref', 'definitions', 'dependencies', 'patternProperties', 'additionalItems', 'id', '$schema']) {
    if (forbidden in schema) problems.push(`${path}: ${forbidden} is not allowed`);
  }
  if (schema.uniqueItems === true) problems.push(`${path}: uniqueItems: true is not allowed`);
  if (schema.type === 'array' && !schema.items) problems.push(`${path}: array without items`);
  if (schema['x-kubernetes-list-type'] === 'set' && (schema.items?.type === 'object' || schema.items?.type === 'array')) problems.push(`${path}: a set of non-scalars`);
  if ('default' in schema) {
    const validate = ajv.compile(asServerValidates({ ...schema, default: undefined }));
    if (!validate(schema.default)) problems.push(`${path}: default ${JSON.stringify(schema.default)} fails its own schema`);
  }
  for (const [name, child] of Object.entries(schema.properties ?? {})) problems.push(...structuralProblems(child, `${path}.${name}`, ajv));
  if (schema.items) problems.push(...structuralProblems(schema.items, `${path}[]`, ajv));
  if (typeof schema.additionalProperties === 'object') problems.push(...structuralProblems(schema.additionalProperties, `${path}.*`, ajv));
  return problems;
}

interface Crd {
  kind: string;
  schema: Schema;
}

function loadCrd(file: string): Crd {
  const [crd] = parseObjects(readRepoFile(file), file) as Array<RenderedObject & { spec: { names: { kind: string }; versions: Array<{ schema: { openAPIV3Schema: Schema } }> } }>;
  const schema = crd?.spec.versions[0]?.schema.openAPIV3Schema;
  if (!crd || !schema) throw new Error(`${file}: no openAPIV3Schema`);
  return { kind: crd.spec.names.kind, schema };
}

/** Every vpc-cni.io resource in the ```yaml blocks of README.md (other documents, such as kustomizations, are skipped). */
function readmeExamples(): RenderedObject[] {
  const readme = readRepoFile('docs/kubernetes.md');
  const blocks = [...readme.matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks.flatMap((block, i) =>
    parseAllDocuments(block).flatMap((doc) => {
      const value = doc.toJS() as { apiVersion?: unknown } | null;
      if (typeof value?.apiVersion !== 'string' || !value.apiVersion.startsWith('vpc-cni.io/')) return [];
      // One of ours: it must parse, and be a whole object.
      return parseObjects(doc.toString(), `docs/kubernetes.md yaml block ${i + 1}`);
    }),
  );
}

function exampleFiles(): RenderedObject[] {
  const dir = new URL('../../deploy/examples/', import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseObjects(readRepoFile(`deploy/examples/${f}`), `deploy/examples/${f}`));
}

const crdFiles = { NodeNetworkConfig: 'deploy/base/crd-nodenetworkconfigs.yaml', NodeNetwork: 'deploy/base/crd-nodenetworks.yaml' } as const;
type Kind = keyof typeof crdFiles;

let validators: Record<Kind, ValidateFunc<unknown>>;
let crds: Record<Kind, Crd>;

beforeAll(() => {
  const ajv = newAjv();
  crds = { NodeNetworkConfig: loadCrd(crdFiles.NodeNetworkConfig), NodeNetwork: loadCrd(crdFiles.NodeNetwork) };
  validators = {
    NodeNetworkConfig: ajv.compile(asServerValidates(crds.NodeNetworkConfig.schema)),
    NodeNetwork: ajv.compile(asServerValidates(crds.NodeNetwork.schema)),
  };
});

function errorsOf(kind: Kind, object: unknown): string[] {
  const validate = validators[kind];
  return validate(object) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}

describe('the schemas', () => {
  it.each(Object.keys(crdFiles) as Kind[])('%s is a structural schema', (kind) => {
    expect(crds[kind].kind).toBe(kind);
    expect(structuralProblems(crds[kind].schema, kind, newAjv())).toEqual([]);
    // metadata may only be described as an object at the root.
    expect(crds[kind].schema.properties?.metadata).toEqual({ type: 'object' });
  });
});

describe('documented examples', () => {
  const examples = [...readmeExamples().map((o) => ({ source: 'docs/kubernetes.md', object: o })), ...exampleFiles().map((o) => ({ source: 'deploy/examples', object: o }))];

  it('cover both kinds', () => {
    const kinds = new Set(examples.map((e) => e.object.kind));
    expect(kinds).toEqual(new Set(['NodeNetworkConfig', 'NodeNetwork']));
  });

  it.each(examples.map((e) => [`${e.source}: ${e.object.kind} ${e.object.metadata.name}`, e.object] as const))('%s is accepted', (_name, object) => {
    expect(object.apiVersion).toBe('vpc-cni.io/v1alpha1');
    expect(Object.keys(crdFiles)).toContain(object.kind);
    expect(errorsOf(object.kind as Kind, object)).toEqual([]);
    // Documented configs are ones ipamd applies, not ones it reports as invalid.
    if (object.kind === 'NodeNetworkConfig') expect(validateSpec(object.spec)).toMatchObject({ ok: true });
  });
});

describe('what ipamd writes', () => {
  const status: NodeNetworkStatus = {
    provider: 'azure',
    instanceId: 'aks-nodes-12345678-0',
    instanceType: 'Standard_D4s_v5',
    zone: 'westeurope-1',
    maxPods: 250,
    config: '',
    configError: 'NodeNetworkConfig dense: set warmIPTarget or warmPrefixTarget, not both',
    targets: { warmIPTarget: 0, minimumIPTarget: 0, warmENITarget: 1, warmPrefixTarget: 1, maxENI: 0 },
    interfaces: [{ id: '/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic0', deviceIndex: 0, subnetId: 'subnet', primaryIp: '10.1.0.4', addresses: 30, prefixes: 0 }],
    addresses: { total: 30, assigned: 3, warm: 27, cooldown: 0 },
    subnets: [{ id: 'subnet', freeAddresses: 200 }],
    lastCloudError: { code: 'SubscriptionRequestsThrottled', message: 'throttled', time: new Date(0).toISOString() },
    updatedAt: new Date().toISOString(),
  };

  it('a NodeNetwork from ipamd/k8s/node-status.ts passes the schema, with and without lastCloudError', () => {
    expect(errorsOf('NodeNetwork', nodeNetworkObject({ name: 'aks-nodes-12345678-0', uid: '6f1c3c52-54a7-4d42-9b6c-2f3ad1b7a0e1' }, status))).toEqual([]);
    const { lastCloudError: _none, ...healthy } = status;
    expect(errorsOf('NodeNetwork', nodeNetworkObject({ name: 'n', uid: 'u' }, healthy))).toEqual([]);
  });
});

describe('broken resources are rejected', () => {
  const base = (kind: Kind): Record<string, unknown> => {
    const example = exampleFiles().find((o) => o.kind === kind && (kind === 'NodeNetwork' || o.metadata.name === 'workers-us-east-1a'));
    if (!example) throw new Error(`no ${kind} example in deploy/examples`);
    return structuredClone(example) as Record<string, unknown>;
  };
  const spec = (o: Record<string, unknown>) => o.spec as Record<string, unknown>;
  const status = (o: Record<string, unknown>) => o.status as Record<string, unknown>;

  const cases: Array<[string, Kind, (o: Record<string, unknown>) => void, string]> = [
    ['a NodeNetworkConfig without spec', 'NodeNetworkConfig', (o) => delete o.spec, '/ must have required property \'spec\''],
    ['a priority as text', 'NodeNetworkConfig', (o) => (spec(o).priority = 'high'), '/spec/priority must be integer'],
    ['a fractional target', 'NodeNetworkConfig', (o) => (spec(o).warmIPTarget = 1.5), '/spec/warmIPTarget must be integer'],
    ['a negative warmIPTarget', 'NodeNetworkConfig', (o) => (spec(o).warmIPTarget = -1), '/spec/warmIPTarget must be >= 0'],
    ['a negative maxENI', 'NodeNetworkConfig', (o) => (spec(o).maxENI = -2), '/spec/maxENI must be >= 0'],
    ['a misspelt target (unknown field)', 'NodeNetworkConfig', (o) => (spec(o).warmIpTarget = 5), '/spec must NOT have additional properties'],
    ['an unknown top-level field', 'NodeNetworkConfig', (o) => (o.specs = {}), '/ must NOT have additional properties'],
    ['subnets as one string', 'NodeNetworkConfig', (o) => (spec(o).subnetIds = 'subnet-1,subnet-2'), '/spec/subnetIds must be array'],
    ['a subnet id with a blank', 'NodeNetworkConfig', (o) => (spec(o).subnetIds = ['subnet 1']), '/spec/subnetIds/0 must match pattern'],
    ['17 security groups', 'NodeNetworkConfig', (o) => (spec(o).securityGroupIds = Array.from({ length: 17 }, (_, i) => `sg-${i}`)), '/spec/securityGroupIds must NOT have more than 16 items'],
    ['an unknown selector operator', 'NodeNetworkConfig', (o) => (spec(o).nodeSelector = { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }), '/spec/nodeSelector/matchExpressions/0/operator must be equal to one of the allowed values'],
    ['a label value that is not a string', 'NodeNetworkConfig', (o) => (spec(o).nodeSelector = { matchLabels: { pool: 3 } }), '/spec/nodeSelector/matchLabels/pool must be string'],
    ['an empty zone', 'NodeNetworkConfig', (o) => (spec(o).zones = ['']), '/spec/zones/0 must NOT have fewer than 1 characters'],
    ['an unknown provider', 'NodeNetwork', (o) => (status(o).provider = 'gcp'), '/status/provider must be equal to one of the allowed values'],
    ['a negative address count', 'NodeNetwork', (o) => ((status(o).addresses as Record<string, unknown>).total = -1), '/status/addresses/total must be >= 0'],
    ['maxPods as text', 'NodeNetwork', (o) => (status(o).maxPods = '29'), '/status/maxPods must be integer'],
    ['an interface without id', 'NodeNetwork', (o) => (status(o).interfaces = [{ deviceIndex: 1 }]), '/status/interfaces/0 must have required property \'id\''],
    ['an unknown status field', 'NodeNetwork', (o) => (status(o).warmPool = 3), '/status must NOT have additional properties'],
    ['a spec (NodeNetwork has none)', 'NodeNetwork', (o) => (o.spec = {}), '/ must NOT have additional properties'],
    ['a time that is not a date-time', 'NodeNetwork', (o) => (status(o).updatedAt = 'yesterday'), '/status/updatedAt must match format "date-time"'],
  ];

  it.each(cases)('%s', (_name, kind, mutate, expected) => {
    const object = base(kind);
    expect(errorsOf(kind, object)).toEqual([]);
    mutate(object);
    expect(errorsOf(kind, object).join('\n')).toContain(expected);
  });

  it('accepts a cleared lastCloudError (null), as a merge patch leaves it', () => {
    const object = base('NodeNetwork');
    status(object).lastCloudError = null;
    expect(errorsOf('NodeNetwork', object)).toEqual([]);
  });
});
