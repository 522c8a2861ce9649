/**
 * The torture's cloud: the emulator with one m5.large node, its realism
 * switched on or off, the mutating calls in flight (to time kills by), and
 * the cloud's books as the invariants read them.
 */
import { Emulator } from '../../emulator/cloud/emulator.ts';
import type { CallEvent } from '../../emulator/cloud/pipeline.ts';
import type { RealismInput } from '../../emulator/cloud/realism/settings.ts';
import { buildTopology, type Topology } from '../../emulator/cloud/topology.ts';
import type { CloudBooks } from './invariants.ts';

/** Calls that grow the pool, and calls that shrink it or take interfaces away. */
export const GROWTH_ACTIONS = ['CreateNetworkInterface', 'AttachNetworkInterface', 'AssignPrivateIpAddresses'] as const;
export const SHRINK_ACTIONS = ['UnassignPrivateIpAddresses', 'DetachNetworkInterface', 'DeleteNetworkInterface'] as const;
const MUTATING = [...GROWTH_ACTIONS, ...SHRINK_ACTIONS];

/** Latency of the mutating calls (ms), within the range real EC2 shows (see realisticPreset). */
const mutatingLatencyMs: Record<string, number> = {
  CreateNetworkInterface: 150,
  AttachNetworkInterface: 100,
  AssignPrivateIpAddresses: 60,
  UnassignPrivateIpAddresses: 60,
  DetachNetworkInterface: 100,
  DeleteNetworkInterface: 80,
};

/**
 * With faults, a call's latency has a long tail, past a restart (about a
 * second): a release of a killed daemon can land after its successor has
 * read the node's addresses, as it does on a real cloud.
 */
const slowMutatingLatencyMs: Record<string, number> = {
  CreateNetworkInterface: 400,
  AttachNetworkInterface: 300,
  AssignPrivateIpAddresses: 300,
  UnassignPrivateIpAddresses: 800,
  DetachNetworkInterface: 300,
  DeleteNetworkInterface: 300,
};

/**
 * Faults on: every mutating call has jittered latency and fails now and then
 * (5xx and throttling, which the SDK retries, so some fail outright), Describe
 * lags by a second, attachments and detachments take their time.
 * Faults off: the same latencies without jitter, nothing else.
 */
export function realismFor(faults: boolean): RealismInput {
  return faults
    ? { latencyMs: slowMutatingLatencyMs, latencyJitter: 0.9, defaultLatencyMs: 5, describeLagMs: 1000, attachDelayMs: 500, detachDelayMs: 400 }
    : { latencyMs: mutatingLatencyMs, latencyJitter: 0, defaultLatencyMs: 0, describeLagMs: 0, attachDelayMs: 0, detachDelayMs: 0 };
}

export const FAULT_PROBABILITY = 0.2;
const injectedFaults: Record<string, { code: string; message: string }> = {
  CreateNetworkInterface: { code: 'InternalError', message: 'An internal error has occurred' },
  AttachNetworkInterface: { code: 'InternalError', message: 'An internal error has occurred' },
  AssignPrivateIpAddresses: { code: 'InternalError', message: 'An internal error has occurred' },
  UnassignPrivateIpAddresses: { code: 'RequestLimitExceeded', message: 'Request limit exceeded.' },
  DetachNetworkInterface: { code: 'InternalError', message: 'An internal error has occurred' },
  DeleteNetworkInterface: { code: 'RequestLimitExceeded', message: 'Request limit exceeded.' },
};

export class TortureCloud {
  readonly emulator: Emulator;
  /** Mutating calls received and not answered yet, by action. */
  private readonly inFlight = new Map<string, number>();
  private topology: Topology | undefined;
  url = '';

  constructor(
    random: () => number,
    readonly faults: boolean,
  ) {
    this.emulator = new Emulator({ random, realism: realismFor(faults) });
    if (faults) for (const [action, fault] of Object.entries(injectedFaults)) this.emulator.faults.failRandomly(action, FAULT_PROBABILITY, fault);
    this.emulator.onCall((event) => this.track(event));
  }

  async start(): Promise<void> {
    this.topology = await buildTopology(this.emulator.model, { nodes: 1, instanceType: 'm5.large', clusterName: 'torture' });
    this.url = (await this.emulator.listen()).url;
  }

  get instanceId(): string {
    return this.topology?.instances[0]?.id ?? '';
  }

  get podSubnetId(): string {
    return this.topology?.podSubnets[0]?.id ?? '';
  }

  /** Hears every mutating call as it arrives and as it is answered; returns the unsubscribe. */
  onMutatingCall(listener: (event: CallEvent) => void): () => void {
    return this.emulator.onCall((event) => {
      if (MUTATING.includes(event.action as (typeof MUTATING)[number])) listener(event);
    });
  }

  /** Whether one of these calls is in flight now (received, not answered). */
  inFlightAny(actions: readonly string[]): boolean {
    return actions.some((action) => (this.inFlight.get(action) ?? 0) > 0);
  }

  /** Whether an attachment to or from the node is still under way in the cloud. */
  attachmentInTransit(): boolean {
    return this.emulator.model.listInterfaces().some((nic) => nic.attachment?.instanceId === this.instanceId && nic.attachment.status !== 'attached');
  }

  /** The truth now (no Describe lag): every interface in the VPC. */
  books(): CloudBooks {
    const instance = this.emulator.model.getInstance(this.instanceId);
    return {
      instanceId: this.instanceId,
      interfaces: this.emulator.model.listInterfaces().map((nic) => ({
        id: nic.id,
        primary: nic.id === instance.primaryInterfaceId,
        instanceId: nic.attachment?.instanceId ?? null,
        attachmentStatus: nic.attachment?.status ?? null,
        secondaryIps: [...nic.secondaryIps],
      })),
    };
  }

  async close(): Promise<void> {
    await this.emulator.close();
  }

  private track(event: CallEvent): void {
    const delta = event.stage === 'received' ? 1 : -1;
    this.inFlight.set(event.action, Math.max(0, (this.inFlight.get(event.action) ?? 0) + delta));
  }
}
