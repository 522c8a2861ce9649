import { addressAt } from '../../lib/ipv4.ts';
import { randomBytes } from 'node:crypto';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient, type NetworkInterface as ArmNic, type NetworkInterfaceIPConfiguration } from '@azure/arm-network';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { AddressRequest, AssignedAddresses, CallWrapper, CloudInterface, CreateInterfaceRequest, InstanceLimits, InstanceMetadata, MetadataInterface, NodeProvider, SecurityGroupInfo, SubnetInfo } from '../contract.ts';
import { CloudError, isCloudError, unlessNotFound } from '../errors.ts';
import { InstanceLimitsCache } from '../shared/limits-cache.ts';
import { SdkCaller } from '../shared/sdk-call.ts';
import { toCloudError } from './errors.ts';
import { AzureImdsClient, linuxMac, type AzureInstanceDocument } from './imds.ts';
import { ifMatchOnWritesPolicy, plainHttpBearerPolicy, sdkBearerPolicyName } from './pipeline.ts';

export interface AzureProviderOptions {
  /** ARM endpoint (default https://management.azure.com). */
  armEndpoint?: string;
  /**
   * Allow an http:// ARM endpoint, signed by a bearer policy that does not
   * insist on TLS. For the emulator only; an http endpoint without it is refused.
   */
  allowInsecureHttp?: boolean;
  /** Instance metadata base URL (Azure: http://169.254.169.254). */
  imdsEndpoint?: string;
  /** Default: the VM's subscription, from instance metadata. */
  subscriptionId?: string;
  /** Resource group of the node's NICs; default: the VM's, from instance metadata. */
  resourceGroup?: string;
  /** Default: DefaultAzureCredential (managed identity on a VM, workload identity, service principal env vars). */
  credential?: TokenCredential;
  /** SDK retries per request, throttling included (SDK default 3). */
  maxRetries?: number;
  /** Poll interval of long-running operations when ARM names none (SDK default 2000 ms). */
  lroPollIntervalMs?: number;
  /** Read-modify-write rounds of one NIC change before giving up on racing writers. */
  maxWriteAttempts?: number;
  wrapCall?: CallWrapper;
}

/** What instance metadata says about the VM, read once: it does not change while the VM runs. */
interface Node {
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  zone: string;
  vmName: string;
  vmSize: string;
  vmResourceId: string;
}

/** The two ARM clients every call runs with. */
interface ArmClients {
  network: NetworkManagementClient;
  compute: ComputeManagementClient;
}

/** The static facts of one of the VM's NICs, learnt from ARM once. */
interface KnownNic {
  id: string;
  primaryIp: string;
  subnetId: string;
  securityGroupIds: string[];
}

/** Azure caps a NIC at 256 IP configurations, the primary's included. */
const ipConfigurationsPerNic = 256;
const defaultArmEndpoint = 'https://management.azure.com';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const same = (a: string | undefined, b: string | undefined): boolean => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{child}/{name}]`. */
function parseId(id: string, what: string): { subscriptionId: string; resourceGroup: string; names: string[] } {
  const parts = id.split('/');
  if (parts.length < 9 || parts[0] !== '' || !same(parts[1], 'subscriptions') || !same(parts[3], 'resourceGroups') || !same(parts[5], 'providers') || parts.some((p, i) => i > 0 && p === '')) {
    throw new CloudError({ kind: 'invalid-request', code: 'InvalidResourceId', message: `${JSON.stringify(id)} is not an Azure ${what} resource id`, operation: 'ParseResourceId' });
  }
  // names: the values after each type segment (…/{type}/{name}/{type}/{name}).
  const names = parts.slice(7).filter((_part, index) => index % 2 === 1);
  return { subscriptionId: parts[2] ?? '', resourceGroup: parts[4] ?? '', names };
}

/** The VNet id of a subnet id. */
const vnetOf = (subnetId: string): string => subnetId.replace(/\/subnets\/[^/]+$/i, '');

const primaryConfig = (nic: ArmNic): NetworkInterfaceIPConfiguration | undefined =>
  (nic.ipConfigurations ?? []).find((config) => config.primary) ?? nic.ipConfigurations?.[0];

/**
 * The Azure adapter: ARM through @azure/arm-network and @azure/arm-compute,
 * the VM through IMDS. Azure attaches no NIC to a running VM, so the pool
 * grows and shrinks by IP configurations on the NICs the VM was created
 * with: read the NIC, change the list, write it back under its etag.
 */
export class AzureProvider implements NodeProvider {
  readonly cloud = 'azure' as const;
  private readonly imds: AzureImdsClient;
  /** Every ARM call: through the injected wrapper, failures mapped to CloudErrors. */
  private readonly api: SdkCaller<ArmClients>;
  private readonly credential: TokenCredential;
  private readonly armEndpoint: string;
  private node: Node | undefined;
  private nodeReading: Promise<Node> | undefined;
  private clients: ArmClients | undefined;
  /** By Linux-style MAC. */
  private readonly knownNics = new Map<string, KnownNic>();
  /** NIC id (lower case) to its place in the VM's NIC list, as IMDS last showed it. */
  private readonly deviceIndexes = new Map<string, number>();
  private readonly vnetCidrs = new Map<string, string[]>();
  /** VM sizes are case-insensitive on Azure. */
  private readonly limits = new InstanceLimitsCache((vmSize) => this.resourceSkuLimits(vmSize), { caseInsensitive: true });

  constructor(private readonly options: AzureProviderOptions = {}) {
    this.armEndpoint = (options.armEndpoint ?? defaultArmEndpoint).replace(/\/+$/, '');
    if (this.armEndpoint.toLowerCase().startsWith('http://') && !options.allowInsecureHttp) {
      throw new CloudError({
        kind: 'invalid-request',
        code: 'InsecureEndpoint',
        message: `ARM endpoint ${this.armEndpoint} is plain http: bearer tokens would travel unencrypted; allow it explicitly (AZURE_ARM_ALLOW_INSECURE_HTTP=true) only for the emulator`,
      });
    }
    this.imds = new AzureImdsClient({ endpoint: options.imdsEndpoint ?? 'http://169.254.169.254' });
    this.api = new SdkCaller(() => this.sdk(), toCloudError, options.wrapCall);
    this.credential = options.credential ?? new DefaultAzureCredential();
  }

  // ---- the node ------------------------------------------------------------

  async instanceMetadata(): Promise<InstanceMetadata> {
    const doc = await this.api.wrap('IMDS', () => this.imds.instance());
    const node = this.nodeFrom(doc);
    const seen = doc.network.interface.map((entry) => linuxMac(entry.macAddress));
    if (seen.some((mac) => !this.knownNics.has(mac))) await this.learnNics(node);
    const interfaces: MetadataInterface[] = [];
    doc.network.interface.forEach((entry, deviceIndex) => {
      const mac = linuxMac(entry.macAddress);
      const known = this.knownNics.get(mac);
      // A NIC ARM does not show (yet) cannot be used: it has no id to change it by.
      if (!known) return;
      this.deviceIndexes.set(known.id.toLowerCase(), deviceIndex);
      const ips = entry.ipv4.ipAddress.map((address) => address.privateIpAddress);
      const subnet = entry.ipv4.subnet[0];
      interfaces.push({
        mac,
        interfaceId: known.id,
        deviceIndex,
        subnetId: known.subnetId,
        subnetCidr: subnet ? `${subnet.address}/${subnet.prefix}` : '',
        securityGroupIds: known.securityGroupIds,
        primaryIp: known.primaryIp,
        secondaryIps: ips.filter((ip) => ip !== known.primaryIp),
        prefixes: [],
      });
    });
    const primary = interfaces.find((nic) => nic.deviceIndex === 0);
    if (!primary) {
      throw new CloudError({ kind: 'not-found', code: 'MetadataNotFound', message: `the primary NIC of VM ${node.vmName} (${seen[0] ?? 'none'}) is not among the NICs of resource group ${node.resourceGroup}`, operation: 'IMDS' });
    }
    const vpcId = vnetOf(primary.subnetId);
    return {
      cloud: 'azure',
      instanceId: node.vmName,
      instanceType: node.vmSize,
      region: node.location,
      zone: node.zone,
      vpcId,
      vpcCidrs: await this.vnetAddressSpace(vpcId),
      primaryMac: primary.mac,
      primaryIp: primary.primaryIp,
      interfaces,
    };
  }

  private nodeFrom(doc: AzureInstanceDocument): Node {
    if (this.node) return this.node;
    const { compute } = doc;
    const subscriptionId = this.options.subscriptionId ?? compute.subscriptionId;
    this.node = {
      subscriptionId,
      resourceGroup: this.options.resourceGroup ?? compute.resourceGroupName,
      location: compute.location,
      zone: compute.zone,
      vmName: compute.name,
      vmSize: compute.vmSize,
      vmResourceId: compute.resourceId ?? `/subscriptions/${compute.subscriptionId}/resourceGroups/${compute.resourceGroupName}/providers/Microsoft.Compute/virtualMachines/${compute.name}`,
    };
    return this.node;
  }

  /** The node, read once; calls racing at start-up share one metadata read. */
  private requireNode(): Promise<Node> {
    if (this.node) return Promise.resolve(this.node);
    this.nodeReading ??= this.api.wrap('IMDS', () => this.imds.instance())
      .then((doc) => this.nodeFrom(doc))
      .finally(() => {
        this.nodeReading = undefined;
      });
    return this.nodeReading;
  }

  /** The VM's NICs by MAC, from ARM: IMDS shows addresses but no resource ids. */
  private async learnNics(node: Node): Promise<void> {
    for (const nic of await this.vmNics(node.vmResourceId)) {
      const config = primaryConfig(nic);
      if (!nic.macAddress || !nic.id || !config?.privateIPAddress || !config.subnet?.id) continue;
      this.knownNics.set(linuxMac(nic.macAddress), {
        id: nic.id,
        primaryIp: config.privateIPAddress,
        subnetId: config.subnet.id,
        securityGroupIds: nic.networkSecurityGroup?.id ? [nic.networkSecurityGroup.id] : [],
      });
    }
  }

  private async vnetAddressSpace(vnetId: string): Promise<string[]> {
    const cached = this.vnetCidrs.get(vnetId.toLowerCase());
    if (cached) return cached;
    const { resourceGroup, names } = parseId(vnetId, 'virtual network');
    const vnet = await this.api.call('GetVirtualNetwork', ({ network }) => network.virtualNetworks.get(resourceGroup, names[0] ?? ''));
    const cidrs = vnet.addressSpace?.addressPrefixes ?? [];
    this.vnetCidrs.set(vnetId.toLowerCase(), cidrs);
    return cidrs;
  }

  subnetGateway(subnetCidr: string): string {
    // Azure's default gateway is the subnet's second address.
    return addressAt(subnetCidr, 1);
  }

  instanceLimits(instanceType: string): Promise<InstanceLimits> {
    return this.limits.get(instanceType);
  }

  private async resourceSkuLimits(instanceType: string): Promise<InstanceLimits> {
    const node = await this.requireNode();
    const filter = `location eq '${node.location}'`;
    const maxNics = await this.api.call('ListResourceSkus', async ({ compute }) => {
      for await (const sku of compute.resourceSkus.list({ filter })) {
        if (sku.resourceType !== 'virtualMachines' || !same(sku.name, instanceType)) continue;
        const value = sku.capabilities?.find((capability) => capability.name === 'MaxNetworkInterfaces')?.value;
        return value === undefined ? undefined : Number(value);
      }
      return undefined;
    });
    if (maxNics === undefined || !Number.isInteger(maxNics) || maxNics < 1) {
      throw new CloudError({ kind: 'invalid-request', code: 'SkuNotAvailable', message: `VM size ${instanceType} is not offered in ${node.location} (no MaxNetworkInterfaces in its resource SKU)`, operation: 'ListResourceSkus' });
    }
    return {
      instanceType,
      maxInterfaces: maxNics,
      ipv4PerInterface: ipConfigurationsPerNic,
      supportsPrefixes: false,
      // No delegated prefixes on Azure: a "prefix" would be one address.
      prefixLength: 32,
      hotAttach: false,
      maxAddressesOnCreate: 0,
    };
  }

  // ---- interfaces ----------------------------------------------------------

  private async listNics(): Promise<ArmNic[]> {
    const node = await this.requireNode();
    return this.api.call('ListNetworkInterfaces', async ({ network }) => {
      const out: ArmNic[] = [];
      for await (const nic of network.networkInterfaces.list(node.resourceGroup)) out.push(nic);
      return out;
    });
  }

  private async vmNics(vmResourceId: string): Promise<ArmNic[]> {
    return (await this.listNics()).filter((nic) => same(nic.virtualMachine?.id, vmResourceId));
  }

  async describeInstanceInterfaces(instanceId: string): Promise<CloudInterface[]> {
    const node = await this.requireNode();
    const vmResourceId = same(instanceId, node.vmName) ? node.vmResourceId : `/subscriptions/${node.subscriptionId}/resourceGroups/${node.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${instanceId}`;
    const nics = await this.vmNics(vmResourceId);
    const indexes = this.deviceIndexesOf(nics);
    return nics.map((nic, i) => this.toCloudInterface(nic, { instanceId: instanceId, deviceIndex: indexes[i] ?? 0 }));
  }

  /** ARM has no device index: the VM's NIC order as IMDS showed it, else primary first and the rest in listing order. */
  private deviceIndexesOf(nics: ArmNic[]): number[] {
    let next = Math.max(0, ...this.deviceIndexes.values()) + 1;
    return nics.map((nic) => this.deviceIndexes.get((nic.id ?? '').toLowerCase()) ?? (nic.primary ? 0 : next++));
  }

  async findInterfacesByTags(tags: Record<string, string>): Promise<CloudInterface[]> {
    if (Object.keys(tags).length === 0) throw new CloudError({ kind: 'invalid-request', code: 'MissingTags', message: 'findInterfacesByTags needs at least one tag', operation: 'ListNetworkInterfaces' });
    const nics = (await this.listNics()).filter((nic) => Object.entries(tags).every(([key, value]) => nic.tags?.[key] === value));
    const indexes = this.deviceIndexesOf(nics);
    return nics.map((nic, i) => this.toCloudInterface(nic, nic.virtualMachine?.id ? { instanceId: nic.virtualMachine.id.split('/').pop() ?? '', deviceIndex: indexes[i] ?? 0 } : undefined));
  }

  private toCloudInterface(nic: ArmNic, attachment: { instanceId: string; deviceIndex: number } | undefined): CloudInterface {
    const configs = nic.ipConfigurations ?? [];
    const primary = primaryConfig(nic);
    const subnetId = primary?.subnet?.id ?? '';
    const attached = attachment && nic.virtualMachine?.id;
    return {
      interfaceId: nic.id ?? '',
      mac: nic.macAddress ? linuxMac(nic.macAddress) : '',
      subnetId,
      vpcId: vnetOf(subnetId),
      // Subnets and NICs are regional on Azure: no zone to tell.
      zone: '',
      description: '',
      status: nic.virtualMachine?.id ? 'in-use' : 'available',
      primaryIp: primary?.privateIPAddress ?? '',
      secondaryIps: configs.filter((config) => config !== primary && config.privateIPAddress).map((config) => config.privateIPAddress as string),
      prefixes: [],
      securityGroupIds: nic.networkSecurityGroup?.id ? [nic.networkSecurityGroup.id] : [],
      tags: { ...(nic.tags ?? {}) },
      ...(attached
        ? {
            attachment: {
              attachmentId: `${nic.virtualMachine?.id ?? ''}/networkInterfaces/${nic.name ?? ''}`,
              instanceId: attachment.instanceId,
              deviceIndex: attachment.deviceIndex,
              // Whether the VM deletes the NIC is the VM's deleteOption, which the NIC does not show.
              deleteOnTermination: false,
              status: 'attached' as const,
            },
          }
        : {}),
    };
  }

  /** Azure attaches NICs only to a stopped VM: say so instead of pretending. */
  createInterface(request: CreateInterfaceRequest): Promise<CloudInterface> {
    return Promise.reject(
      new CloudError({
        kind: 'limit-exceeded',
        limit: 'interfaces-per-instance',
        code: 'AddingOrDeletingNetworkInterfacesOnARunningVirtualMachineNotSupported',
        message: `Azure cannot hot-attach network interfaces: VM ${request.instanceId} keeps the NICs it was created with (add NICs to the VM while it is stopped, or use a larger size); the pool grows by IP configurations on those NICs`,
        operation: 'CreateInterface',
      }),
    );
  }

  async assignAddresses(interfaceId: string, request: AddressRequest): Promise<AssignedAddresses> {
    if (request.kind === 'prefixes') throw this.noPrefixes('AssignAddresses');
    if (!Number.isInteger(request.count) || request.count < 1) {
      throw new CloudError({ kind: 'invalid-request', code: 'InvalidParameterValue', message: `cannot assign ${request.count} addresses`, operation: 'AssignAddresses' });
    }
    const names = Array.from({ length: request.count }, () => `vpc-cni-${randomBytes(6).toString('hex')}`);
    const result = await this.changeNic(interfaceId, (nic) => {
      const primary = primaryConfig(nic);
      const subnet = primary?.subnet?.id;
      if (!subnet) throw new CloudError({ kind: 'invalid-request', code: 'NoPrimaryIpConfiguration', message: `NIC ${interfaceId} has no primary IP configuration with a subnet`, operation: 'AssignAddresses' });
      // ARM refuses a NIC whose IP configurations name different application security groups.
      const asgs = primary?.applicationSecurityGroups?.length ? { applicationSecurityGroups: primary.applicationSecurityGroups.map((asg) => ({ id: asg.id })) } : {};
      return {
        ...nic,
        ipConfigurations: [...(nic.ipConfigurations ?? []), ...names.map((name) => ({ name, primary: false, privateIPAllocationMethod: 'Dynamic', subnet: { id: subnet }, ...asgs }))],
      };
    });
    const byName = new Map((result?.ipConfigurations ?? []).map((config) => [config.name ?? '', config.privateIPAddress]));
    const ips = names.map((name) => byName.get(name));
    if (ips.some((ip) => !ip)) {
      throw new CloudError({ kind: 'transient', code: 'MissingAddress', message: `NIC ${interfaceId} was updated but shows no address for some of the new IP configurations`, operation: 'AssignAddresses' });
    }
    return { ips: ips as string[], prefixes: [] };
  }

  async releaseAddresses(interfaceId: string, addresses: AssignedAddresses): Promise<void> {
    if (addresses.prefixes.length > 0) throw this.noPrefixes('ReleaseAddresses');
    if (addresses.ips.length === 0) return;
    const unwanted = new Set(addresses.ips);
    await this.changeNic(interfaceId, (nic) => {
      const primary = primaryConfig(nic);
      if (primary?.privateIPAddress && unwanted.has(primary.privateIPAddress)) {
        throw new CloudError({ kind: 'invalid-request', code: 'IpConfigDeleteNotSupported', message: `${primary.privateIPAddress} is the primary address of NIC ${interfaceId} and cannot be released`, operation: 'ReleaseAddresses' });
      }
      const kept = (nic.ipConfigurations ?? []).filter((config) => !(config.privateIPAddress && unwanted.has(config.privateIPAddress)));
      // Addresses already gone need no write: releasing is idempotent.
      if (kept.length === (nic.ipConfigurations ?? []).length) return undefined;
      return { ...nic, ipConfigurations: kept };
    });
  }

  /**
   * Read, change, write back under the etag read; when another writer got
   * there first (412), read again and redo the change on what it wrote.
   */
  private async changeNic(interfaceId: string, change: (nic: ArmNic) => ArmNic | undefined): Promise<ArmNic | undefined> {
    const { resourceGroup, names } = parseId(interfaceId, 'network interface');
    const name = names[0] ?? '';
    const attempts = this.options.maxWriteAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      const current = await this.api.call('GetNetworkInterface', ({ network }) => network.networkInterfaces.get(resourceGroup, name));
      const wanted = change(current);
      if (!wanted) return current;
      try {
        return await this.api.call('PutNetworkInterface', ({ network }) =>
          network.networkInterfaces.beginCreateOrUpdateAndWait(resourceGroup, name, wanted, {
            ...(this.options.lroPollIntervalMs === undefined ? {} : { updateIntervalInMs: this.options.lroPollIntervalMs }),
            requestOptions: { customHeaders: current.etag ? { 'If-Match': current.etag } : {} },
          }),
        );
      } catch (err) {
        if (!(isCloudError(err) && err.code === 'PreconditionFailed') || attempt >= attempts) throw err;
        // Another writer changed the NIC between our read and our write: back off a little, jittered.
        await sleep(Math.random() * 20 * attempt);
      }
    }
  }

  async deleteInterface(interfaceId: string): Promise<boolean> {
    const { resourceGroup, names } = parseId(interfaceId, 'network interface');
    // ARM answers a DELETE of a NIC that is not there with 204 (the first response; polls come after it).
    let firstStatus: number | undefined;
    const onResponse = (response: { status: number }): void => {
      firstStatus ??= response.status;
    };
    try {
      await this.api.call('DeleteNetworkInterface', ({ network }) =>
        network.networkInterfaces.beginDeleteAndWait(resourceGroup, names[0] ?? '', {
          onResponse,
          ...(this.options.lroPollIntervalMs === undefined ? {} : { updateIntervalInMs: this.options.lroPollIntervalMs }),
        }),
      );
      return firstStatus !== 204;
    } catch (err) {
      if (isCloudError(err, 'not-found')) return false;
      throw err;
    }
  }

  private noPrefixes(operation: string): CloudError {
    return new CloudError({ kind: 'invalid-request', code: 'PrefixDelegationNotSupported', message: 'Azure delegates no IP prefixes to NICs: use secondary IP configurations (ENABLE_PREFIX_DELEGATION=false)', operation });
  }

  // ---- subnets ---------------------------------------------------------------

  async describeSubnets(vpcId: string, subnetIds: string[]): Promise<SubnetInfo[]> {
    const usage = new Map<string, Map<string, number>>();
    const freeIn = async (vnetId: string, subnetId: string): Promise<number> => {
      let byId = usage.get(vnetId.toLowerCase());
      if (!byId) {
        const { resourceGroup, names } = parseId(vnetId, 'virtual network');
        const entries = await this.api.call('ListVirtualNetworkUsage', async ({ network }) => {
          const out: Array<[string, number]> = [];
          for await (const entry of network.virtualNetworks.listUsage(resourceGroup, names[0] ?? '')) {
            if (entry.id) out.push([entry.id.toLowerCase(), (entry.limit ?? 0) - (entry.currentValue ?? 0)]);
          }
          return out;
        });
        byId = new Map(entries);
        usage.set(vnetId.toLowerCase(), byId);
      }
      return Math.max(0, byId.get(subnetId.toLowerCase()) ?? 0);
    };
    const info = async (vnetId: string, subnet: { id?: string; addressPrefix?: string; addressPrefixes?: string[] }): Promise<SubnetInfo> => ({
      subnetId: subnet.id ?? '',
      vpcId: vnetId,
      zone: '',
      cidr: subnet.addressPrefix ?? subnet.addressPrefixes?.[0] ?? '',
      freeAddresses: await freeIn(vnetId, subnet.id ?? ''),
      // Azure subnets carry no tags.
      tags: {},
    });
    if (subnetIds.length === 0) {
      const { resourceGroup, names } = parseId(vpcId, 'virtual network');
      const vnet = await this.api.call('GetVirtualNetwork', ({ network }) => network.virtualNetworks.get(resourceGroup, names[0] ?? ''));
      const out: SubnetInfo[] = [];
      for (const subnet of vnet.subnets ?? []) out.push(await info(vnet.id ?? vpcId, subnet));
      return out;
    }
    const out: SubnetInfo[] = [];
    for (const subnetId of subnetIds) {
      const { resourceGroup, names } = parseId(subnetId, 'subnet');
      const subnet = await this.api.call('GetSubnet', ({ network }) => network.subnets.get(resourceGroup, names[0] ?? '', names[1] ?? ''));
      out.push(await info(vnetOf(subnet.id ?? subnetId), subnet));
    }
    return out;
  }

  // ---- network security groups ----------------------------------------------

  /**
   * NSGs by ARM id. An NSG belongs to no virtual network (vpcId ""): a NIC can
   * use any NSG of its own subscription and region, whatever its resource
   * group, so those two are what is checked here; another subscription or
   * region is an invalid-request error, a missing NSG is absent.
   */
  async describeSecurityGroups(_vpcId: string, ids: string[]): Promise<SecurityGroupInfo[]> {
    if (ids.length === 0) return [];
    const node = await this.requireNode();
    const out: SecurityGroupInfo[] = [];
    for (const id of ids) {
      const invalid = (message: string): CloudError => new CloudError({ kind: 'invalid-request', code: 'InvalidResourceId', message, operation: 'GetNetworkSecurityGroup' });
      const { subscriptionId, resourceGroup, names } = parseId(id, 'network security group');
      const parts = id.split('/');
      if (parts.length !== 9 || !same(parts[6], 'Microsoft.Network') || !same(parts[7], 'networkSecurityGroups')) throw invalid(`${JSON.stringify(id)} is not an Azure network security group resource id`);
      if (!same(subscriptionId, node.subscriptionId)) throw invalid(`network security group ${id} is in subscription ${subscriptionId}: a NIC of this node (subscription ${node.subscriptionId}) cannot use it`);
      const nsg = await unlessNotFound(this.api.call('GetNetworkSecurityGroup', ({ network }) => network.networkSecurityGroups.get(resourceGroup, names[0] ?? '')));
      if (!nsg) continue;
      if (nsg.location && node.location && !same(nsg.location.replaceAll(' ', ''), node.location.replaceAll(' ', ''))) {
        throw invalid(`network security group ${id} is in ${nsg.location}: a NIC of this node (${node.location}) cannot use it`);
      }
      // The id as asked (ARM may answer in another case), so callers can match it.
      out.push({ id, vpcId: '', name: nsg.name ?? names[0] ?? '' });
    }
    return out;
  }

  // ---- plumbing --------------------------------------------------------------

  private async sdk(): Promise<ArmClients> {
    if (this.clients) return this.clients;
    const node = await this.requireNode();
    const insecure = this.armEndpoint.toLowerCase().startsWith('http://');
    const common = {
      endpoint: this.armEndpoint,
      $host: this.armEndpoint,
      ...(insecure ? { allowInsecureConnection: true } : {}),
      ...(this.options.maxRetries === undefined ? {} : { retryOptions: { maxRetries: this.options.maxRetries } }),
      userAgentOptions: { userAgentPrefix: 'vpc-cni' },
    };
    const network = new NetworkManagementClient(this.credential, node.subscriptionId, common);
    const compute = new ComputeManagementClient(this.credential, node.subscriptionId, common);
    network.pipeline.addPolicy(ifMatchOnWritesPolicy);
    if (insecure) {
      const scope = `${this.armEndpoint}/.default`;
      for (const client of [network, compute]) {
        client.pipeline.removePolicy({ name: sdkBearerPolicyName });
        client.pipeline.addPolicy(plainHttpBearerPolicy(this.credential, scope), { phase: 'Sign' });
      }
    }
    this.clients ??= { network, compute };
    return this.clients;
  }
}
