import { isIPv4 } from 'node:net';
import { z } from 'zod';
import type { CloudModel, NetworkInterface } from '../../model/cloud.ts';
import { ModelError } from '../../model/errors.ts';
import { ArmError, armModelCodes, fromModelError, invalidRequest, ipConfigurationLimitCode, maxIpConfigurationsPerNic, validResourceName } from './errors.ts';
import { armIds, nameFromId, subnetFromId } from './ids.ts';
import { applySecurity, wantedSecurity } from './nic-security.ts';
import { parseJsonBody } from './request-body.ts';
import type { ArmState } from './state.ts';

/**
 * NetworkInterfaces_CreateOrUpdate: a PUT carries the whole NIC. What changed
 * against the model (IP configurations added, removed or re-addressed, tags)
 * becomes model calls; what ARM would refuse is refused with ARM's code.
 * Running out of subnet addresses is not refused here: ARM accepts the PUT
 * and fails its long-running operation with SubnetIsFull (`failure`).
 */

const reference = z.object({ id: z.string() }).loose();

const ipConfigurationSchema = z
  .object({
    name: z.string().optional(),
    properties: z
      .object({
        privateIPAddress: z.string().optional(),
        privateIPAllocationMethod: z.string().optional(),
        subnet: reference.optional(),
        primary: z.boolean().optional(),
        privateIPAddressVersion: z.string().optional(),
        applicationSecurityGroups: z.array(reference).nullish(),
      })
      .loose()
      .optional(),
  })
  .loose();

const nicSchema = z
  .object({
    location: z.string().optional(),
    tags: z.record(z.string(), z.string()).optional(),
    properties: z
      .object({
        ipConfigurations: z.array(ipConfigurationSchema).optional(),
        networkSecurityGroup: reference.nullable().optional(),
        virtualMachine: reference.nullable().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

type NicBody = z.infer<typeof nicSchema>;

interface WantedConfig {
  name: string;
  primary: boolean;
  /** Static addresses and addresses the caller round-trips. */
  address: string | undefined;
  allocation: 'Dynamic' | 'Static';
  subnetModelId: string;
}

export interface PutOutcome {
  created: boolean;
  /** The NIC's model id; undefined when a create failed in its operation. */
  modelId: string | undefined;
  /** The NIC's region: where its operation is served. */
  location: string;
  /** What the long-running operation ends in when it fails. */
  failure?: { code: string; message: string };
}

const configNamePattern = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,78}[A-Za-z0-9_])?$/;

const invalid = invalidRequest;

/** Azure writes locations in any case and with spaces ('East US'). */
export const normalizeLocation = (location: string): string => location.toLowerCase().replaceAll(' ', '');

export const validNicName = validResourceName;

function parseBody(raw: string): NicBody {
  return parseJsonBody(raw, nicSchema);
}

function wantedConfigs(model: CloudModel, body: NicBody, nicId: string): WantedConfig[] {
  const list = body.properties?.ipConfigurations ?? [];
  if (list.length === 0) throw invalid(`Network interface ${nicId} must have at least one IP configuration.`);
  if (list.length > maxIpConfigurationsPerNic) {
    throw new ArmError(
      400,
      ipConfigurationLimitCode,
      `Network interface ${nicId} has ${list.length} IP configurations; at most ${maxIpConfigurationsPerNic} are allowed per network interface.`,
    );
  }
  const seen = new Set<string>();
  const configs = list.map((entry, index): WantedConfig => {
    const path = `properties.ipConfigurations[${index}]`;
    const name = entry.name ?? '';
    if (!configNamePattern.test(name)) throw invalid(`Property '${path}.name' must be a valid IP configuration name, got ${JSON.stringify(name)}.`);
    if (seen.has(name.toLowerCase())) throw invalid(`IP configuration name ${name} appears twice.`);
    seen.add(name.toLowerCase());
    const props = entry.properties ?? {};
    const allocation = (props.privateIPAllocationMethod ?? 'Dynamic').toLowerCase();
    if (allocation !== 'dynamic' && allocation !== 'static') throw invalid(`Property '${path}.properties.privateIPAllocationMethod' must be Dynamic or Static.`);
    if (props.privateIPAddressVersion !== undefined && props.privateIPAddressVersion.toLowerCase() !== 'ipv4') {
      throw new ArmError(400, 'BadRequest', `IP configuration ${name}: only IPv4 addresses are emulated.`);
    }
    const address = props.privateIPAddress;
    if (address !== undefined && !isIPv4(address)) throw invalid(`Property '${path}.properties.privateIPAddress' is not an IPv4 address: ${JSON.stringify(address)}.`);
    if (allocation === 'static' && address === undefined) throw invalid(`IP configuration ${name} has Static allocation but no privateIPAddress.`);
    const subnetRef = props.subnet?.id;
    if (subnetRef === undefined) throw invalid(`Property '${path}.properties.subnet' is required.`);
    const target = subnetFromId(subnetRef);
    if (!target) {
      throw new ArmError(
        400,
        'LinkedInvalidPropertyId',
        `Property id '${subnetRef}' at path '${path}.properties.subnet.id' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.`,
      );
    }
    const subnet = model.listSubnets().find((s) => s.id === target.subnetId.toLowerCase() && s.vpcId === target.vpcId.toLowerCase());
    if (!subnet) {
      throw new ArmError(400, 'InvalidResourceReference', `Resource ${subnetRef} referenced by resource ${nicId} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`);
    }
    return { name, primary: props.primary ?? list.length === 1, address, allocation: allocation === 'static' ? 'Static' : 'Dynamic', subnetModelId: subnet.id };
  });
  if (configs.filter((config) => config.primary).length !== 1) throw invalid(`Network interface ${nicId} must have exactly one primary IP configuration.`);
  const subnets = new Set(configs.map((config) => config.subnetModelId));
  if (subnets.size > 1) {
    throw new ArmError(400, 'IpConfigurationsOnSameNicCannotUseDifferentSubnets', `IP configurations of network interface ${nicId} reference different subnets; all must use the same subnet.`);
  }
  const addresses = configs.map((config) => config.address).filter((address): address is string => address !== undefined);
  const repeated = addresses.find((address, index) => addresses.indexOf(address) !== index);
  if (repeated) throw new ArmError(400, armModelCodes.AddressInUse.code, `IP address ${repeated} is used by more than one IP configuration of network interface ${nicId}.`);
  return configs;
}

function runningVmError(nicId: string): ArmError {
  return new ArmError(
    400,
    'AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported',
    `Network interface ${nicId} cannot be added to or removed from a running virtual machine; the virtual machine must be stop-deallocated first.`,
  );
}

/** Failures ARM reports in the operation rather than on the PUT. */
function operationFailure(err: unknown): { code: string; message: string } | undefined {
  if (err instanceof ModelError && (err.code === 'SubnetFull' || err.code === 'NoFreePrefix')) {
    const armError = fromModelError(err);
    return { code: armError.code, message: err.message };
  }
  return undefined;
}

export interface PutRequest {
  name: string;
  body: string;
  ifMatch: string | undefined;
  ifNoneMatch: string | undefined;
}

export async function putNic(model: CloudModel, state: ArmState, request: PutRequest): Promise<PutOutcome> {
  validNicName(request.name);
  const modelId = state.modelIdOf(request.name);
  const existing = model.listInterfaces().find((nic) => nic.id === modelId);
  const nicId = armIds.nic(existing ? state.nicName(existing.id) : request.name);
  if (existing) {
    if (request.ifMatch !== undefined && request.ifMatch !== '*' && request.ifMatch !== state.etag(existing)) {
      throw new ArmError(412, 'PreconditionFailed', `Precondition failed: the etag ${request.ifMatch} does not match the current etag of ${nicId}.`);
    }
    if (request.ifNoneMatch === '*') throw new ArmError(412, 'PreconditionFailed', `Precondition failed: ${nicId} already exists.`);
  } else if (request.ifMatch !== undefined) {
    throw new ArmError(412, 'PreconditionFailed', `Precondition failed: ${nicId} does not exist.`);
  }
  const body = parseBody(request.body);
  const configs = wantedConfigs(model, body, nicId);
  const subnet = model.getSubnet(configs[0]?.subnetModelId ?? '');
  const security = wantedSecurity(
    { model, state },
    {
      networkSecurityGroup: body.properties?.networkSecurityGroup,
      configs: (body.properties?.ipConfigurations ?? []).map((config) => ({ name: config.name ?? '', applicationSecurityGroups: config.properties?.applicationSecurityGroups })),
    },
    existing ? state.nicName(existing.id) : request.name,
    subnet.vpcId,
  );
  const region = model.getVpc(subnet.vpcId).region;
  if (body.location === undefined && !existing) throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  if (body.location !== undefined && normalizeLocation(body.location) !== normalizeLocation(region)) {
    throw existing
      ? new ArmError(400, 'InvalidResourceLocation', `The resource '${request.name}' already exists in location '${region}'. A resource with the same name cannot be created in location '${body.location}'.`)
      : new ArmError(400, 'InvalidResourceReference', `Resource ${armIds.subnet(subnet.vpcId, subnet.id)} referenced by resource ${nicId} was not found in location '${body.location}'. Both resources must be in the same region.`);
  }
  const outcome = existing ? await update(model, state, existing, body, configs, nicId) : await create(model, state, request.name, body, configs, security.nsg, nicId);
  // The groups follow the addresses: a NIC whose operation failed keeps the groups it had.
  if (outcome.modelId && !outcome.failure) applySecurity(model, outcome.modelId, security);
  return { ...outcome, location: normalizeLocation(region) };
}

async function create(model: CloudModel, state: ArmState, name: string, body: NicBody, configs: WantedConfig[], group: string | null, nicId: string): Promise<Omit<PutOutcome, 'location'>> {
  if (body.properties?.virtualMachine) throw runningVmError(nicId);
  const primary = configs.find((config) => config.primary);
  const secondaries = configs.filter((config) => !config.primary);
  const statics = secondaries.filter((config) => config.address !== undefined);
  const dynamics = secondaries.filter((config) => config.address === undefined);
  let nic: NetworkInterface;
  try {
    nic = model.createInterface({
      subnetId: primary?.subnetModelId ?? '',
      securityGroupIds: group ? [group] : [],
      securityGroupsOptional: true,
      tags: body.tags ?? {},
      ...(primary?.address ? { primaryIp: primary.address } : {}),
      secondaryIps: statics.map((config) => config.address ?? ''),
      ...(dynamics.length > 0 ? { secondaryIpCount: dynamics.length } : {}),
    });
  } catch (err) {
    const failure = operationFailure(err);
    if (failure) return { created: true, modelId: undefined, failure };
    throw err instanceof ModelError ? fromModelError(err) : err;
  }
  state.bindName(name, nic.id);
  const names = new Map<string, string>([[nic.primaryIp, primary?.name ?? 'ipconfig1']]);
  statics.forEach((config) => names.set(config.address ?? '', config.name));
  nic.secondaryIps.slice(statics.length).forEach((ip, index) => names.set(ip, dynamics[index]?.name ?? `ipconfig-${ip}`));
  state.nameConfigs(nic.id, names);
  const allocations = new Map<string, 'Static' | 'Dynamic'>([[nic.primaryIp, primary?.allocation ?? 'Dynamic']]);
  statics.forEach((config) => allocations.set(config.address ?? '', config.allocation));
  state.setAllocations(nic.id, allocations);
  return { created: true, modelId: nic.id };
}

async function update(
  model: CloudModel,
  state: ArmState,
  nic: NetworkInterface,
  body: NicBody,
  configs: WantedConfig[],
  nicId: string,
): Promise<Omit<PutOutcome, 'location'>> {
  const properties = body.properties ?? {};
  if ('virtualMachine' in properties) {
    const wanted = properties.virtualMachine ? nameFromId(properties.virtualMachine.id, ['Microsoft.Compute', 'virtualMachines'])?.toLowerCase() ?? '(unknown)' : null;
    if (wanted !== (nic.attachment?.instanceId ?? null)) throw runningVmError(nicId);
  }
  const primary = configs.find((config) => config.primary);
  const primaryName = state.configName(nic, nic.primaryIp);
  if (!primary || primary.name.toLowerCase() !== primaryName.toLowerCase()) {
    throw new ArmError(400, 'IpConfigDeleteNotSupported', `IP Configuration ${primaryName} cannot be deleted. Deletion and renaming of primary IP Configuration is not supported`);
  }
  if (primary.address !== undefined && primary.address !== nic.primaryIp) {
    throw new ArmError(400, 'BadRequest', `Changing the primary address of ${nicId} is not supported by the emulator.`);
  }
  if (primary.subnetModelId !== nic.subnetId) {
    throw nic.attachment
      ? new ArmError(400, 'SecondaryNetworkInterfaceInUseCannotChangeSubnet', `Cannot change subnet of network interface ${nicId} while it is in use.`)
      : new ArmError(400, 'BadRequest', `Moving network interface ${nicId} to another subnet is not supported by the emulator.`);
  }

  const current = new Map(nic.secondaryIps.map((ip) => [state.configName(nic, ip).toLowerCase(), ip]));
  // The address each configuration ends up with, for its allocation method; dynamic newcomers are Dynamic.
  const allocations = new Map<string, 'Static' | 'Dynamic'>([[nic.primaryIp, primary.allocation]]);
  const release: string[] = [];
  const claim: Array<{ ip: string; name: string }> = [];
  const dynamicNames: string[] = [];
  for (const config of configs.filter((c) => !c.primary)) {
    const held = current.get(config.name.toLowerCase());
    current.delete(config.name.toLowerCase());
    if (held !== undefined) {
      if (config.address !== undefined && config.address !== held) {
        release.push(held);
        claim.push({ ip: config.address, name: config.name });
      }
      allocations.set(config.address ?? held, config.allocation);
    } else if (config.address !== undefined) {
      claim.push({ ip: config.address, name: config.name });
      allocations.set(config.address, config.allocation);
    } else {
      dynamicNames.push(config.name);
    }
  }
  release.push(...current.values());

  const adding = claim.length + dynamicNames.length;
  const assign = async (): Promise<string[]> => {
    if (adding === 0) return [];
    const change = await model.assignAddresses(nic.id, {
      ips: claim.map((c) => c.ip),
      ...(dynamicNames.length > 0 ? { ipCount: dynamicNames.length } : {}),
    });
    return change.ips;
  };
  const drop = async (): Promise<void> => {
    if (release.length > 0) await model.releaseAddresses(nic.id, { ips: release, prefixes: [] });
  };
  let assigned: string[];
  try {
    if (nic.secondaryIps.length + adding < maxIpConfigurationsPerNic) {
      // Room for both: add first, so a refusal leaves the NIC as it was.
      assigned = await assign();
      await drop();
    } else {
      await drop();
      try {
        assigned = await assign();
      } catch (err) {
        // Put back what was given up for the failed addition (best effort: another NIC may have taken it meanwhile).
        if (release.length > 0) await model.assignAddresses(nic.id, { ips: release }).catch(() => undefined);
        throw err;
      }
    }
  } catch (err) {
    const failure = operationFailure(err);
    if (failure) return { created: false, modelId: nic.id, failure };
    throw err instanceof ModelError ? fromModelError(err) : err;
  }
  state.dropConfigs(nic.id, release);
  const names = new Map<string, string>();
  claim.forEach((c) => names.set(c.ip, c.name));
  assigned.slice(claim.length).forEach((ip, index) => names.set(ip, dynamicNames[index] ?? `ipconfig-${ip}`));
  state.nameConfigs(nic.id, names);
  state.setAllocations(nic.id, allocations);
  const tags = body.tags ?? {};
  if (JSON.stringify(Object.entries(tags).sort()) !== JSON.stringify(Object.entries(nic.tags).sort())) model.setInterfaceTags(nic.id, tags);
  return { created: false, modelId: nic.id };
}
