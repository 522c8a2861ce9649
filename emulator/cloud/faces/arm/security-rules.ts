import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { parseCidr } from '../../../../lib/ipv4.ts';
import type { Peer, PortRange, Protocol, RuleInput, SecurityRule, ServiceTag } from '../../model/security-types.ts';
import { ArmError, invalidRequest, validResourceName } from './errors.ts';
import type { ArmRuleDocument, ArmRuleProperties } from './security-state.ts';

/**
 * ARM security rules to and from the model's rules, with ARM's refusals
 * (docs/fidelity/arm.md gives each code's source). An Inbound rule's source
 * is the model's `remote` and its destination `local`; an Outbound rule's
 * the other way round. Protocol `*` with ports becomes a tcp and a udp rule
 * (the model's ports belong to one protocol); the udp one's id is
 * `{name}:udp`, which no ARM name can be.
 */

const reference = z.object({ id: z.string() }).loose();
const text = z.string().nullish();
const texts = z.array(z.string()).nullish();

const rulePropertiesSchema = z
  .object({
    description: text,
    protocol: text,
    sourcePortRange: text,
    destinationPortRange: text,
    sourceAddressPrefix: text,
    destinationAddressPrefix: text,
    sourcePortRanges: texts,
    destinationPortRanges: texts,
    sourceAddressPrefixes: texts,
    destinationAddressPrefixes: texts,
    sourceApplicationSecurityGroups: z.array(reference).nullish(),
    destinationApplicationSecurityGroups: z.array(reference).nullish(),
    access: text,
    priority: z.number().nullish(),
    direction: text,
  })
  .loose();

export const securityRuleSchema = z.object({ name: z.string().nullish(), properties: rulePropertiesSchema.nullish() }).loose();
export type SecurityRuleBody = z.infer<typeof securityRuleSchema>;
type RuleProperties = z.infer<typeof rulePropertiesSchema>;

/** Resolves an ASG reference to its model id and canonical ARM id (throws InvalidResourceReference). */
export type AsgResolver = (id: string, path: string) => { modelId: string; id: string };

export const minPriority = 100;
export const maxPriority = 4096;
export const maxRulesPerGroup = 1000;
/** Application security groups one side of a rule may name. */
export const maxAsgsPerRuleSide = 10;

const serviceTags: readonly ServiceTag[] = ['VirtualNetwork', 'Internet', 'AzureLoadBalancer'];
const udpSuffix = ':udp';

function pick<T extends string>(value: string | null | undefined, allowed: readonly T[], path: string): T {
  const found = allowed.find((candidate) => candidate.toLowerCase() === (value ?? '').toLowerCase());
  if (found === undefined) throw invalidRequest(`Property '${path}' must be one of ${allowed.join(', ')}; got ${JSON.stringify(value ?? null)}.`);
  return found;
}

function exactlyOne(ruleId: string, names: string[], present: boolean[]): void {
  if (present.filter(Boolean).length !== 1) {
    throw new ArmError(400, 'BadRequest', `Security rule with Id ${ruleId} must specify a non empty value for exactly one of: ${names.join(', ')}.`);
  }
}

const capital = (side: 'source' | 'destination'): string => (side === 'source' ? 'Source' : 'Destination');

/** '*', a service tag, an IP or a CIDR; tags and '*' only in the singular field. */
function parsePrefix(ruleId: string, value: string, singular: boolean, field: string): Peer {
  if (value === '*' || serviceTags.some((tag) => tag.toLowerCase() === value.toLowerCase())) {
    if (!singular) {
      throw new ArmError(
        400,
        'SecurityRuleParameterContainsUnsupportedValue',
        `Security rule parameter ${field} for rule with Id ${ruleId} cannot specify existing VIRTUALNETWORK, INTERNET, AZURELOADBALANCER, '*' or system tags. Unsupported value used: ${value}.`,
      );
    }
    if (value === '*') return { kind: 'any' };
    return { kind: 'tag', tag: serviceTags.find((tag) => tag.toLowerCase() === value.toLowerCase()) ?? 'VirtualNetwork' };
  }
  const cidr = isIPv4(value) ? `${value}/32` : value;
  try {
    parseCidr(cidr);
  } catch {
    throw new ArmError(400, 'SecurityRuleInvalidAddressPrefix', `Security rule ${ruleId} has invalid Address prefix. Value provided: ${value}.`);
  }
  return { kind: 'cidr', cidr };
}

/** '*' (all: null), 'N' or 'N-M' within 0–65535. */
function parsePort(value: string): PortRange | null {
  if (value === '*') return null;
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value);
  const from = Number(match?.[1]);
  const to = Number(match?.[2] ?? match?.[1]);
  if (!match || from > 65535 || to > 65535 || from > to) {
    throw new ArmError(400, 'SecurityRuleInvalidPortRange', `Security rule has invalid Port range. Value provided: ${value}. Value should be an integer OR integer range with '-' delimiter. Valid range 0-65535.`);
  }
  return { from, to };
}

interface Side {
  peers: Peer[];
  ports: PortRange[] | null;
  shown: ArmRuleProperties;
}

function parseSide(ruleId: string, props: RuleProperties, side: 'source' | 'destination', resolveAsg: AsgResolver, path: string): Side {
  const Side = capital(side);
  const prefix = props[`${side}AddressPrefix`] ?? '';
  const prefixes = props[`${side}AddressPrefixes`] ?? [];
  const groups = props[`${side}ApplicationSecurityGroups`] ?? [];
  exactlyOne(ruleId, [`${Side}AddressPrefixes`, `${Side}AddressPrefix`, `${Side}ApplicationSecurityGroups`], [prefix !== '', prefixes.length > 0, groups.length > 0]);
  if (groups.length > maxAsgsPerRuleSide) {
    throw new ArmError(
      400,
      'NumberOfApplicationSecurityGroupsReferencedInSecurityRuleLimitReached',
      `A security rule may have up to ${maxAsgsPerRuleSide} Application Security Groups in the source or destination fields. The requested configuration has ${groups.length} in the ${Side}ApplicationSecurityGroups field.`,
    );
  }
  const resolved = groups.map((group, index) => resolveAsg(group.id, `${path}.${side}ApplicationSecurityGroups[${index}]`));
  const peers: Peer[] =
    prefix !== ''
      ? [parsePrefix(ruleId, prefix, true, `${Side}AddressPrefix`)]
      : prefixes.length > 0
        ? prefixes.map((value) => parsePrefix(ruleId, value, false, `${Side}AddressPrefixes`))
        : resolved.map((group): Peer => ({ kind: 'group', groupId: group.modelId }));

  const range = props[`${side}PortRange`] ?? '';
  const ranges = props[`${side}PortRanges`] ?? [];
  exactlyOne(ruleId, [`${Side}PortRanges`, `${Side}PortRange`], [range !== '', ranges.length > 0]);
  const parsed = (range !== '' ? [range] : ranges).map(parsePort);
  const ports = parsed.some((entry) => entry === null) ? null : (parsed as PortRange[]);

  const shown: ArmRuleProperties = {
    ...(range !== '' ? { [`${side}PortRange`]: range } : {}),
    [`${side}PortRanges`]: [...ranges],
    ...(prefix !== '' ? { [`${side}AddressPrefix`]: prefix } : {}),
    [`${side}AddressPrefixes`]: [...prefixes],
    ...(resolved.length > 0 ? { [`${side}ApplicationSecurityGroups`]: resolved.map((group) => ({ id: group.id })) } : {}),
  };
  return { peers, ports, shown };
}

/** One ARM rule: what ARM shows of it, and the model rules it stands for. */
export function parseRule(body: SecurityRuleBody, ruleId: (name: string) => string, resolveAsg: AsgResolver, path: string): { document: ArmRuleDocument; inputs: RuleInput[] } {
  const name = body.name ?? '';
  validResourceName(name);
  const id = ruleId(name);
  const props = body.properties ?? {};
  const priority = props.priority ?? 0;
  if (!Number.isInteger(priority) || priority < minPriority || priority > maxPriority) {
    throw new ArmError(400, 'SecurityRuleInvalidPriority', `Security rule has invalid Priority. Value provided: ${priority} Allowed range ${minPriority}-${maxPriority}.`);
  }
  const access = pick(props.access, ['Allow', 'Deny'] as const, `${path}.properties.access`);
  const direction = pick(props.direction, ['Inbound', 'Outbound'] as const, `${path}.properties.direction`);
  const protocol = pick(props.protocol, ['Tcp', 'Udp', 'Icmp', '*', 'Esp', 'Ah'] as const, `${path}.properties.protocol`);
  if (protocol === 'Esp' || protocol === 'Ah') throw new ArmError(400, 'BadRequest', `Security rule ${id}: protocol ${protocol} is not emulated.`);
  const source = parseSide(id, props, 'source', resolveAsg, `${path}.properties`);
  const destination = parseSide(id, props, 'destination', resolveAsg, `${path}.properties`);
  const inbound = direction === 'Inbound';
  const base = {
    direction: inbound ? 'ingress' : 'egress',
    action: access === 'Allow' ? 'allow' : 'deny',
    priority,
    icmpType: -1,
    icmpCode: -1,
    remote: inbound ? source.peers : destination.peers,
    local: inbound ? destination.peers : source.peers,
    description: props.description ?? '',
  } as const;
  const ported = (model: Protocol, suffix = ''): RuleInput => ({ ...base, id: `${name}${suffix}`, protocol: model, ports: destination.ports, sourcePorts: source.ports });
  const portless = (model: Protocol): RuleInput => ({ ...base, id: name, protocol: model, ports: null, sourcePorts: null });
  const restricted = destination.ports !== null || source.ports !== null;
  // ICMP has no ports: ARM keeps what was written, the model matches all ICMP.
  const inputs =
    protocol === 'Tcp' ? [ported('tcp')] : protocol === 'Udp' ? [ported('udp')] : protocol === 'Icmp' ? [portless('icmp')] : restricted ? [ported('tcp'), ported('udp', udpSuffix)] : [portless('all')];
  const properties: ArmRuleProperties = {
    ...(props.description ? { description: props.description } : {}),
    protocol,
    ...source.shown,
    ...destination.shown,
    access,
    priority,
    direction,
  };
  return { document: { name, properties }, inputs };
}

/** Refuses two rules of one NSG with one name, or with the same priority and direction. */
export function checkRuleSet(documents: ArmRuleDocument[]): void {
  if (documents.length > maxRulesPerGroup) {
    throw new ArmError(400, 'SecurityRuleCountLimitReached', `A security group cannot have more than ${maxRulesPerGroup} security rules.`);
  }
  const names = new Set<string>();
  const slots = new Map<string, string>();
  for (const document of documents) {
    if (names.has(document.name.toLowerCase())) throw invalidRequest(`Security rule ${document.name} appears twice.`);
    names.add(document.name.toLowerCase());
    const slot = `${String(document.properties.direction)}:${String(document.properties.priority)}`;
    const other = slots.get(slot);
    if (other !== undefined) {
      throw new ArmError(400, 'SecurityRuleConflict', `Security rule ${other} conflicts with rule ${document.name}. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.`);
    }
    slots.set(slot, document.name);
  }
}

/** A model rule ARM did not write (the default rules, rules set on the model directly), as ARM shows it. */
export function documentFromModel(rule: SecurityRule, asgId: (modelId: string) => string): ArmRuleDocument {
  const inbound = rule.direction === 'ingress';
  const side = (peers: Peer[], ports: PortRange[] | null, name: 'source' | 'destination'): ArmRuleProperties => {
    const groups = peers.filter((peer) => peer.kind === 'group').map((peer) => ({ id: asgId(peer.groupId) }));
    const prefixes = peers.flatMap((peer) => (peer.kind === 'any' ? ['*'] : peer.kind === 'tag' ? [peer.tag] : peer.kind === 'cidr' ? [peer.cidr] : []));
    const portTexts = ports === null ? ['*'] : ports.map((range) => (range.from === range.to ? String(range.from) : `${range.from}-${range.to}`));
    return {
      ...(portTexts.length === 1 ? { [`${name}PortRange`]: portTexts[0] } : {}),
      [`${name}PortRanges`]: portTexts.length === 1 ? [] : portTexts,
      ...(prefixes.length === 1 ? { [`${name}AddressPrefix`]: prefixes[0] } : {}),
      [`${name}AddressPrefixes`]: prefixes.length === 1 ? [] : prefixes,
      ...(groups.length > 0 ? { [`${name}ApplicationSecurityGroups`]: groups } : {}),
    };
  };
  const protocols: Record<Protocol, string> = { all: '*', tcp: 'Tcp', udp: 'Udp', icmp: 'Icmp' };
  return {
    name: rule.id,
    properties: {
      ...(rule.description ? { description: rule.description } : {}),
      protocol: protocols[rule.protocol],
      ...side(inbound ? rule.remote : rule.local, rule.sourcePorts, 'source'),
      ...side(inbound ? rule.local : rule.remote, rule.ports, 'destination'),
      access: rule.action === 'allow' ? 'Allow' : 'Deny',
      priority: rule.priority,
      direction: inbound ? 'Inbound' : 'Outbound',
    },
  };
}

/** Whether a model rule is the udp half of an ARM rule with protocol '*' and ports. */
export const isCompanionRule = (rule: SecurityRule): boolean => rule.id.endsWith(udpSuffix);
