import type { CloudModel, AddressChange, CloudObserver, Instance, NetworkInterface, Subnet } from '../model/cloud.ts';
import { numberToIp, parseCidr } from '../../../lib/ipv4.ts';
import { run, runOk, type CommandResult, type RunOptions } from '../../../lib/command.ts';
import { ipBatch, namedNamespaceArgs, runInNamespace, type BatchOptions } from '../../../lib/iproute.ts';
import { boxNamespaces, deleteNamespaces, deleteNamespacesSync, trackLiveBox, untrackLiveBox } from './lifecycle.ts';
import { boxPrefix, currentOwner, newBoxId, nodeInterfaceName, portName } from './names.ts';
import { startProxy, type Endpoint, type ProxyHandle } from './proxy-process.ts';
import { compileFirewall } from '../model/firewall-plan.ts';
import { FabricFirewall, namespaceNft, type NftRunner } from './firewall.ts';

/**
 * The VPC in a box: mirrors a `CloudModel` with network namespaces. The
 * fabric namespace routes between node namespaces over one veth pair per
 * attached ENI; per-address /32 routes and permanent neighbours point at the
 * owning ENI, and strict reverse-path filtering on the ports drops packets
 * whose source the sending ENI does not own (the source/destination check).
 * Security groups are enforced on the ports with nftables (firewall.ts).
 */

export const defaultEndpoints: readonly Endpoint[] = [
  { address: '169.254.169.254', port: 80 }, // AWS and Azure metadata
  { address: '100.100.100.200', port: 80 }, // Alibaba metadata
  { address: '169.254.170.1', port: 80 }, // the emulated cloud API
];

export interface VpcBoxOptions {
  model: CloudModel;
  /** The emulator's HTTP unix socket; without it no proxy runs in the fabric. */
  apiSocketPath?: string;
  /** TCP addresses the fabric proxy serves (default `defaultEndpoints`). */
  endpoints?: readonly Endpoint[];
  /** MTU of every ENI link (EC2 uses jumbo frames inside a VPC). */
  mtu?: number;
  /** Called with data-plane failures; attach/detach failures have no other outlet. */
  onError?: (hook: string, error: Error) => void;
  /** How the firewall's transactions reach nft in the fabric (tests wrap it to inject failures). */
  nft?: (fabricNamespace: string) => NftRunner;
}

interface Port {
  name: string;
  mac: string;
  instanceId: string;
  ips: Set<string>;
  prefixes: Set<string>;
}

type Line = string[];

const inNamespace = (name: string): BatchOptions => ({ namespace: namedNamespaceArgs(name) });

// Fabric-wide settings; `default` ones are inherited by every port created later.
const fabricSysctls = [
  'net.ipv4.ip_forward=1',
  'net.ipv4.conf.all.rp_filter=1',
  'net.ipv4.conf.default.rp_filter=1',
  'net.ipv4.conf.default.proxy_arp=1',
  'net.ipv4.conf.all.send_redirects=0',
  'net.ipv4.conf.default.send_redirects=0',
];

function addressesOf(prefix: string): string[] {
  const { base, size } = parseCidr(prefix);
  return Array.from({ length: size }, (_, i) => numberToIp(base + i));
}

function prefixLength(cidr: string): number {
  return parseCidr(cidr).prefixLength;
}

export class VpcBox implements CloudObserver {
  readonly id = newBoxId();
  /** Common prefix of this box's namespace names. */
  readonly prefix: string;
  readonly fabricNamespace: string;
  readonly failures: Array<{ hook: string; error: Error }> = [];

  private readonly model: CloudModel;
  private readonly options: VpcBoxOptions;
  private readonly mtu: string;
  private readonly nodes = new Set<string>();
  private readonly ports = new Map<string, Port>();
  private readonly gateways = new Map<string, string>();
  private proxy: ProxyHandle | null = null;
  private state: 'new' | 'up' | 'destroyed' = 'new';
  /** True once the namespaces are deleted. */
  private gone = false;
  private observing = false;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly syncDestroyer = { destroySync: (): void => this.destroySync() };
  private readonly firewall: FabricFirewall;
  private firewallQueued = false;

  constructor(options: VpcBoxOptions) {
    this.options = options;
    this.model = options.model;
    this.mtu = String(options.mtu ?? 9001);
    this.prefix = boxPrefix(this.id, currentOwner());
    this.fabricNamespace = `${this.prefix}-fabric`;
    this.firewall = new FabricFirewall((options.nft ?? namespaceNft)(this.fabricNamespace));
  }

  get up(): boolean {
    return this.state === 'up';
  }

  nodeNamespace(instanceId: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(instanceId)) throw new Error(`invalid instance id ${JSON.stringify(instanceId)}`);
    return `${this.prefix}-${instanceId}`;
  }

  /** The fabric port of an ENI (also its name for `ip -n FABRIC`). */
  portName(interfaceId: string): string {
    return portName(interfaceId);
  }

  execInNode(instanceId: string, argv: string[], options?: RunOptions): Promise<CommandResult> {
    return runInNamespace(this.nodeNamespace(instanceId), argv, options);
  }

  execInFabric(argv: string[], options?: RunOptions): Promise<CommandResult> {
    return runInNamespace(this.fabricNamespace, argv, options);
  }

  /** Resolves once every queued data-plane operation has run. */
  async idle(): Promise<void> {
    await this.tail.catch(() => undefined);
  }

  /**
   * Builds the fabric (and its proxy), starts observing the model and mirrors
   * what the model already holds. Throws (after cleaning up) when not root or
   * `ip` is missing.
   */
  async create(): Promise<void> {
    if (this.state !== 'new') throw new Error(`box ${this.id} is ${this.state}`);
    await preflight();
    this.state = 'up';
    trackLiveBox(this.syncDestroyer);
    if (!this.observing) {
      this.model.observe(this);
      this.observing = true;
    }
    try {
      await this.enqueue(async () => {
        await this.buildFabric();
        await this.mirrorModel();
        await this.syncFirewall();
      });
    } catch (err) {
      await this.destroy();
      throw err;
    }
  }

  /** Kills the proxy and every process in the box, deletes its namespaces. Idempotent. */
  async destroy(): Promise<void> {
    if (this.state === 'destroyed') return;
    const wasUp = this.state === 'up';
    this.state = 'destroyed';
    if (wasUp) await this.idle();
    await this.proxy?.stop();
    this.proxy = null;
    await deleteNamespaces(boxNamespaces(this.prefix));
    this.gone = true;
    this.forget();
  }

  /**
   * For exit handlers, where only synchronous work runs. Also runs while an
   * async destroy() is under way: the process may die before that finishes.
   */
  destroySync(): void {
    if (this.gone) return;
    this.gone = true;
    this.state = 'destroyed';
    this.proxy?.kill();
    this.proxy = null;
    deleteNamespacesSync(boxNamespaces(this.prefix));
    this.forget();
  }

  // ---- CloudObserver -----------------------------------------------------

  instanceLaunched(instance: Instance, primary: NetworkInterface, subnet: Subnet): Promise<void> {
    return this.hook('instanceLaunched', true, this.thenFirewall(() => this.launch(instance, primary, subnet)));
  }

  instanceTerminated(instance: Instance): Promise<void> {
    return this.hook('instanceTerminated', true, this.thenFirewall(() => this.terminate(instance.id)));
  }

  // The model runs attach/detach hooks detached from any caller: a rejection
  // would go unhandled, so these report through `onError` only.
  interfaceAttached(nic: NetworkInterface, instance: Instance): Promise<void> {
    return this.hook('interfaceAttached', false, this.thenFirewall(() => this.attach(nic, instance.id)));
  }

  interfaceDetached(nic: NetworkInterface, _instanceId: string): Promise<void> {
    return this.hook('interfaceDetached', false, this.thenFirewall(() => this.detach(nic.id)));
  }

  addressesAssigned(nic: NetworkInterface, change: AddressChange): Promise<void> {
    return this.hook('addressesAssigned', true, this.thenFirewall(() => this.assign(nic.id, change)));
  }

  addressesReleased(nic: NetworkInterface, change: AddressChange): Promise<void> {
    return this.hook('addressesReleased', true, this.thenFirewall(() => this.release(nic.id, change)));
  }

  /** Rules or memberships changed: one recompute for however many changes queue up meanwhile. */
  securityChanged(): Promise<void> {
    if (this.firewallQueued) return Promise.resolve();
    this.firewallQueued = true;
    return this.hook('securityChanged', false, () => {
      this.firewallQueued = false;
      return this.syncFirewall();
    });
  }

  // ---- operations (run one at a time, in hook order) ---------------------

  private async buildFabric(): Promise<void> {
    const fabric = this.fabricNamespace;
    await ipBatch([['netns', 'add', fabric]]);
    const endpoints = this.options.endpoints ?? defaultEndpoints;
    const addresses = [...new Set(endpoints.map((e) => e.address))];
    await Promise.all([
      runOk('ip', ['netns', 'exec', fabric, 'sysctl', '-q', '-w', ...fabricSysctls]),
      (async () => {
        await ipBatch([['link', 'set', 'lo', 'up'], ...addresses.map((a) => ['addr', 'add', `${a}/32`, 'dev', 'lo'])], inNamespace(fabric));
        if (this.options.apiSocketPath) {
          this.proxy = await startProxy({ namespace: fabric, socketPath: this.options.apiSocketPath, endpoints });
        }
      })(),
    ]);
  }

  private async mirrorModel(): Promise<void> {
    for (const instance of this.model.listInstances()) {
      if (instance.state !== 'running') continue;
      const primary = this.model.getInterface(instance.primaryInterfaceId);
      await this.launch(instance, primary, this.model.getSubnet(instance.subnetId));
      for (const nic of this.model.attachedInterfaces(instance.id)) {
        if (nic.id !== primary.id) await this.attach(nic, instance.id);
      }
    }
  }

  private async launch(instance: Instance, primary: NetworkInterface, subnet: Subnet): Promise<void> {
    if (this.nodes.has(instance.id)) return;
    const ns = this.nodeNamespace(instance.id);
    this.gateways.set(subnet.id, subnet.gateway);
    await ipBatch([['netns', 'add', ns]]);
    this.nodes.add(instance.id);
    await this.attach(primary, instance.id);
    const eth0 = nodeInterfaceName(0);
    await ipBatch(
      [
        ['link', 'set', 'lo', 'up'],
        ['addr', 'add', `${primary.primaryIp}/${prefixLength(subnet.cidr)}`, 'dev', eth0],
        ['link', 'set', eth0, 'up'],
        ['route', 'add', 'default', 'via', subnet.gateway, 'dev', eth0],
      ],
      inNamespace(ns),
    );
  }

  private async terminate(instanceId: string): Promise<void> {
    if (!this.nodes.has(instanceId)) return;
    // Delete the ports explicitly: the node namespace (and its veth ends)
    // lingers until its processes are gone, and a surviving ENI may be
    // attached elsewhere under the same port name.
    const mine = [...this.ports].filter(([, port]) => port.instanceId === instanceId);
    await ipBatch(mine.map(([, port]) => ['link', 'del', port.name]), { ...inNamespace(this.fabricNamespace), force: true });
    for (const [eniId] of mine) this.ports.delete(eniId);
    await deleteNamespaces([this.nodeNamespace(instanceId)]);
    this.nodes.delete(instanceId);
  }

  /** Hot-plugs an ENI: a veth whose node end is `eth<device index>` with the ENI's MAC, left down. */
  private async attach(nic: NetworkInterface, instanceId: string): Promise<void> {
    if (this.ports.has(nic.id) || !this.nodes.has(instanceId) || !nic.attachment) return;
    const name = portName(nic.id);
    for (const [otherId, other] of this.ports) {
      if (other.name === name) throw new Error(`port name ${name} of ${nic.id} collides with ${otherId}`);
    }
    const port: Port = { name, mac: nic.mac, instanceId, ips: new Set(), prefixes: new Set() };
    const ips = [nic.primaryIp, ...nic.secondaryIps];
    await ipBatch(
      [
        ['link', 'add', name, 'mtu', this.mtu, 'type', 'veth', 'peer', 'name', nodeInterfaceName(nic.attachment.deviceIndex),
          'netns', this.nodeNamespace(instanceId), 'address', nic.mac, 'mtu', this.mtu],
        // Proxy ARP answers wait up to 0.8 s by default; the VPC router answers at once.
        // (Per port: a namespace other than the host's has no `neigh.default` to inherit.)
        ['ntable', 'change', 'name', 'arp_cache', 'dev', name, 'proxy_delay', '0'],
        ['link', 'set', name, 'up'],
        ['addr', 'add', `${this.gateway(nic.subnetId)}/32`, 'dev', name],
        ...this.addressLines('add', port, ips, nic.prefixes),
      ],
      inNamespace(this.fabricNamespace),
    );
    this.ports.set(nic.id, port);
    this.remember(port, ips, nic.prefixes, true);
  }

  private async detach(interfaceId: string): Promise<void> {
    const port = this.ports.get(interfaceId);
    if (!port) return;
    // Deleting one end of a veth deletes the other: the NIC leaves the node.
    await ipBatch([['link', 'del', port.name]], inNamespace(this.fabricNamespace));
    this.ports.delete(interfaceId);
  }

  private async assign(interfaceId: string, change: AddressChange): Promise<void> {
    const port = this.ports.get(interfaceId);
    if (!port) return; // not attached: installed when it attaches
    const ips = change.ips.filter((ip) => !port.ips.has(ip));
    const prefixes = change.prefixes.filter((prefix) => !port.prefixes.has(prefix));
    await ipBatch(this.addressLines('add', port, ips, prefixes), inNamespace(this.fabricNamespace));
    this.remember(port, ips, prefixes, true);
  }

  private async release(interfaceId: string, change: AddressChange): Promise<void> {
    const port = this.ports.get(interfaceId);
    if (!port) return;
    const ips = change.ips.filter((ip) => port.ips.has(ip));
    const prefixes = change.prefixes.filter((prefix) => port.prefixes.has(prefix));
    await ipBatch(this.addressLines('del', port, ips, prefixes), inNamespace(this.fabricNamespace));
    this.remember(port, ips, prefixes, false);
  }

  // ---- firewall ----------------------------------------------------------

  /** Moves the fabric's nftables to the model's current groups and memberships; the model hears how it went. */
  private async syncFirewall(): Promise<void> {
    const plan = compileFirewall(this.model.securityView());
    const ports = new Map([...this.ports].map(([interfaceId, port]) => [interfaceId, port.name]));
    try {
      const outcome = await this.firewall.apply(plan, ports);
      this.model.recordFirewall({ generation: outcome.generation, lastApplyMs: outcome.ms, error: null });
    } catch (err) {
      this.model.recordFirewall({ generation: this.firewall.committed, lastApplyMs: null, error: (err as Error).message });
      throw err;
    }
  }

  /** A port or address change, then the firewall brought in step: its failure is reported, never turned into a failed cloud call. */
  private thenFirewall(op: () => Promise<void>): () => Promise<void> {
    return async () => {
      await op();
      await this.syncFirewall().catch((err: unknown) => this.report('firewall', err));
    };
  }

  // ---- helpers -----------------------------------------------------------

  /** A /32 route plus a permanent neighbour per address; one route per prefix plus a neighbour per address in it. */
  private addressLines(op: 'add' | 'del', port: Port, ips: string[], prefixes: string[]): Line[] {
    const lines: Line[] = [];
    const route = (dest: string): Line => (op === 'add' ? ['route', 'replace', dest, 'dev', port.name] : ['route', 'del', dest, 'dev', port.name]);
    const neigh = (ip: string): Line =>
      op === 'add' ? ['neigh', 'replace', ip, 'lladdr', port.mac, 'dev', port.name, 'nud', 'permanent'] : ['neigh', 'del', ip, 'dev', port.name];
    for (const ip of ips) lines.push(route(`${ip}/32`), neigh(ip));
    for (const prefix of prefixes) lines.push(route(prefix), ...addressesOf(prefix).map(neigh));
    return lines;
  }

  private remember(port: Port, ips: string[], prefixes: string[], present: boolean): void {
    for (const ip of ips) {
      if (present) port.ips.add(ip);
      else port.ips.delete(ip);
    }
    for (const prefix of prefixes) {
      if (present) port.prefixes.add(prefix);
      else port.prefixes.delete(prefix);
    }
  }

  private gateway(subnetId: string): string {
    let gateway = this.gateways.get(subnetId);
    if (!gateway) {
      gateway = this.model.getSubnet(subnetId).gateway;
      this.gateways.set(subnetId, gateway);
    }
    return gateway;
  }

  private report(hook: string, err: unknown): Error {
    const error = err instanceof Error ? err : new Error(String(err));
    this.failures.push({ hook, error });
    (this.options.onError ?? defaultOnError)(hook, error);
    return error;
  }

  /** Runs an operation after every earlier one, skipping it once the box is down. */
  private async hook(name: string, rethrow: boolean, op: () => Promise<void>): Promise<void> {
    if (this.state !== 'up') return;
    try {
      await this.enqueue(async () => {
        if (this.state === 'up') await op();
      });
    } catch (err) {
      const error = this.report(name, err);
      if (rethrow) throw error;
    }
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(op, op);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private forget(): void {
    this.nodes.clear();
    this.ports.clear();
    untrackLiveBox(this.syncDestroyer);
  }
}

function defaultOnError(hook: string, error: Error): void {
  process.stderr.write(`vpc box: ${hook}: ${error.message}\n`);
}

let preflightDone: Promise<void> | null = null;

/** Fails loudly (never skips) when the box cannot work here. */
function preflight(): Promise<void> {
  preflightDone ??= checkHost().catch((err: unknown) => {
    preflightDone = null;
    throw err;
  });
  return preflightDone;
}

async function checkHost(): Promise<void> {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`the VPC box needs root (network namespaces, veths): running as uid ${uid ?? 'unknown'}`);
  try {
    await runOk('ip', ['-V']);
  } catch (err) {
    throw new Error(`the VPC box needs iproute2's \`ip\` on PATH: ${(err as Error).message}`);
  }
  const probe = await run('sysctl', ['-V']).catch((err: Error) => ({ code: -1, stderr: err.message }));
  if (probe.code !== 0) throw new Error(`the VPC box needs procps' \`sysctl\` on PATH: ${probe.stderr}`);
  const nft = await run('nft', ['--version']).catch((err: Error) => ({ code: -1, stderr: err.message }));
  if (nft.code !== 0) throw new Error(`the VPC box needs nftables' \`nft\` on PATH (security groups): ${nft.stderr}`);
}
