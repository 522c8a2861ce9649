/**
 * Per-node-group configuration (NodeNetworkConfig): which one applies to a
 * node, whether its content is valid, and the pool settings it yields. All
 * pure; the controller (config-controller.ts) feeds it the watched objects.
 *
 * Selection: the node's annotation vpc-cni.io/node-network-config names its
 * config and wins; otherwise, among the configs whose nodeSelector matches the
 * node's labels and whose zones (when set) include the node's zone, the
 * highest priority wins, ties going to the first name in alphabetical order.
 */
import { z } from 'zod';
import { cloudIdPattern } from '../config/ids.ts';
import type { PoolSettings } from '../pool/manager.ts';
import { ipTargetsTakePrecedence } from '../config/targets.ts';
import { labelSelectorSchema, selectorMatches } from './label-selector.ts';
import { configAnnotation, zoneLabel, type NodeInfo, type NodeNetworkConfigObject } from './resources.ts';

const idList = (what: string) =>
  z
    .array(z.string().regex(cloudIdPattern, { error: `${what} ids are letters, digits and . _ : / - (at most 512)` }))
    .max(16, { error: `at most 16 ${what}s` })
    .refine((ids) => new Set(ids).size === ids.length, { error: `${what} ids must not repeat` });

const count = (name: string) => z.number({ error: `${name} must be a number` }).int({ error: `${name} must be a whole number` }).min(0, { error: `${name} must be >= 0` });

export const nodeNetworkConfigSpecSchema = z
  .object({
    nodeSelector: labelSelectorSchema.optional(),
    zones: z.array(z.string().min(1)).optional(),
    priority: z.number().int({ error: 'priority must be a whole number' }).optional(),
    subnetIds: idList('subnet').optional(),
    securityGroupIds: idList('security group').optional(),
    warmIPTarget: count('warmIPTarget').optional(),
    minimumIPTarget: count('minimumIPTarget').optional(),
    warmENITarget: count('warmENITarget').optional(),
    warmPrefixTarget: count('warmPrefixTarget').optional(),
    maxENI: count('maxENI').optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.warmIPTarget !== undefined && spec.warmPrefixTarget !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'set warmIPTarget or warmPrefixTarget, not both (warmIPTarget would override warmPrefixTarget)' });
    }
  });

export type NodeNetworkConfigSpec = z.infer<typeof nodeNetworkConfigSpecSchema>;

export type SpecValidation = { ok: true; spec: NodeNetworkConfigSpec } | { ok: false; problems: string[] };

export function validateSpec(raw: unknown): SpecValidation {
  const result = nodeNetworkConfigSpecSchema.safeParse(raw ?? {});
  if (result.success) return { ok: true, spec: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => (issue.path.length > 0 ? `spec.${issue.path.map(String).join('.')}: ${issue.message}` : issue.message)),
  };
}

export type Selection =
  | { kind: 'none' }
  /** The node's annotation names a config that does not exist. */
  | { kind: 'missing'; name: string }
  | { kind: 'selected'; config: NodeNetworkConfigObject; by: 'annotation' | 'selector' };

/** Only what selection needs; a config whose selection fields do not parse selects no node by selector. */
const selectionSchema = z.object({
  nodeSelector: labelSelectorSchema.optional(),
  zones: z.array(z.string()).optional(),
  priority: z.number().int().optional(),
});

/** The node's zone: its topology label, else the zone the instance metadata gives. */
export function nodeZone(node: NodeInfo, instanceZone: string | undefined): string | undefined {
  return node.labels[zoneLabel] ?? instanceZone;
}

export function selectNodeNetworkConfig(node: NodeInfo, configs: readonly NodeNetworkConfigObject[], instanceZone?: string): Selection {
  const named = node.annotations[configAnnotation]?.trim();
  if (named) {
    const config = configs.find((c) => c.name === named);
    return config ? { kind: 'selected', config, by: 'annotation' } : { kind: 'missing', name: named };
  }
  const zone = nodeZone(node, instanceZone);
  const candidates: Array<{ config: NodeNetworkConfigObject; priority: number }> = [];
  for (const config of configs) {
    const parsed = selectionSchema.safeParse(config.spec ?? {});
    if (!parsed.success) continue;
    const { nodeSelector, zones, priority } = parsed.data;
    if (!selectorMatches(nodeSelector, node.labels)) continue;
    if (zones && zones.length > 0 && (zone === undefined || !zones.includes(zone))) continue;
    candidates.push({ config, priority: priority ?? 0 });
  }
  candidates.sort((a, b) => b.priority - a.priority || (a.config.name < b.config.name ? -1 : a.config.name > b.config.name ? 1 : 0));
  const best = candidates[0];
  return best ? { kind: 'selected', config: best.config, by: 'selector' } : { kind: 'none' };
}

/**
 * The pool settings with a config in force: what the config sets, the
 * environment's values for the rest. The IP targets (warmIPTarget,
 * minimumIPTarget) override the others, so they go as a pair: a config that
 * sets one sets both (the other is unset), and a config that sets only
 * warmENITarget or warmPrefixTarget unsets the environment's IP targets, or
 * they would silently override what the config asks for.
 */
export function effectiveSettings(base: PoolSettings, spec: NodeNetworkConfigSpec | undefined): PoolSettings {
  if (!spec) return { targets: { ...base.targets }, podSubnetIds: [...base.podSubnetIds], podSecurityGroupIds: [...base.podSecurityGroupIds] };
  const setsIpTargets = spec.warmIPTarget !== undefined || spec.minimumIPTarget !== undefined;
  const setsWarmTargets = spec.warmENITarget !== undefined || spec.warmPrefixTarget !== undefined;
  // The environment's IP targets would take precedence over the config's warm targets: they go.
  const baseIpTargetsOverride = setsWarmTargets && ipTargetsTakePrecedence(base.targets);
  const ipTarget = (fromSpec: number | undefined, fromBase: number): number => (setsIpTargets ? (fromSpec ?? 0) : baseIpTargetsOverride ? 0 : fromBase);
  return {
    targets: {
      mode: base.targets.mode,
      warmIpTarget: ipTarget(spec.warmIPTarget, base.targets.warmIpTarget),
      minimumIpTarget: ipTarget(spec.minimumIPTarget, base.targets.minimumIpTarget),
      warmEniTarget: spec.warmENITarget ?? base.targets.warmEniTarget,
      warmPrefixTarget: spec.warmPrefixTarget ?? base.targets.warmPrefixTarget,
      maxEni: spec.maxENI ?? base.targets.maxEni,
    },
    podSubnetIds: spec.subnetIds && spec.subnetIds.length > 0 ? [...spec.subnetIds] : [...base.podSubnetIds],
    podSecurityGroupIds: spec.securityGroupIds && spec.securityGroupIds.length > 0 ? [...spec.securityGroupIds] : [...base.podSecurityGroupIds],
  };
}
