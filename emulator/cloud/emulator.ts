import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { alibabaInstanceCatalog, awsInstanceCatalog, azureVmSizeCatalog, mergeCatalogs, type CloudName, type InstanceCatalog } from '../../providers/catalogs/catalog.ts';
import { answerControl } from './control.ts';
import { ArmFace } from './faces/arm/face.ts';
import { Ec2Face } from './faces/ec2/face.ts';
import { EcsFace } from './faces/ecs/face.ts';
import { BodyTooLarge, type Face, type FaceContext, type FaceRequest, type FaceResponse } from './faces/face.ts';
import { alibabaMetadata } from './faces/metadata/alibaba-metadata.ts';
import { awsImds } from './faces/metadata/aws-imds.ts';
import { azureImds } from './faces/metadata/azure-imds.ts';
import { MetadataEndpoint } from './faces/metadata/endpoint.ts';
import type { MetadataService } from './faces/metadata/service.ts';
import { jsonAnswer, readBody } from './http.ts';
import { CloudModel, type Clock } from './model/cloud.ts';
import { answerThrough, type CallEvent, type CallRealism } from './pipeline.ts';
import { FaultInjector } from './realism/faults.ts';
import { callLatencyMs, realismSchema, type RealismInput, type RealismSettings } from './realism/settings.ts';
import { Throttler } from './realism/throttle.ts';

export interface EmulatorOptions {
  /**
   * Whose metadata service the instances see (AWS IMDS, Azure IMDS or the
   * Alibaba metadata service). Every cloud's API face is served regardless:
   * they all sit over the same model.
   */
  cloud?: CloudName;
  realism?: RealismInput;
  catalog?: InstanceCatalog;
  /** Alibaba metadata in enforced hardened mode: GETs need a token (default: tokens optional). */
  alibabaMetadataTokensRequired?: boolean;
  clock?: Clock;
  /** Random source of latency jitter and probabilistic faults (seed it for a reproducible run). */
  random?: () => number;
}

export interface ListenOptions {
  host?: string;
  port?: number;
  /** Also serve on a unix socket: the data plane's proxy forwards to it from inside the box. */
  socketPath?: string;
}

// The header the in-box proxy sets to the caller's address, so metadata knows which instance asks.
export { peerHeader } from './fabric/names.ts';

/**
 * The local cloud: one cloud-neutral model behind each cloud's wire protocol,
 * with the realism knobs (latency, throttling, eventual consistency, faults)
 * and an introspection endpoint, all on one HTTP server.
 */
export class Emulator {
  readonly cloud: CloudName;
  /** Alibaba metadata refuses GETs without a token while this is set (enforced hardened mode). */
  alibabaMetadataTokensRequired: boolean;
  readonly model: CloudModel;
  readonly faults: FaultInjector;
  readonly throttler: Throttler;
  private readonly callListeners = new Set<(event: CallEvent) => void>();
  private settings: RealismSettings;
  private readonly servers: Server[] = [];
  private socketPath: string | undefined;
  private readonly faceContext: FaceContext;
  private readonly callRealism: CallRealism;
  /** Asked in order; the first that matches a request answers it. */
  private readonly faces: Face[];

  constructor(options: EmulatorOptions = {}) {
    const clock = options.clock ?? { now: () => Date.now() };
    const random = options.random ?? Math.random;
    this.faults = new FaultInjector(random);
    this.cloud = options.cloud ?? 'aws';
    this.alibabaMetadataTokensRequired = options.alibabaMetadataTokensRequired ?? false;
    this.settings = realismSchema.parse(options.realism ?? {});
    this.model = new CloudModel({
      catalog: options.catalog ?? mergeCatalogs(awsInstanceCatalog(), alibabaInstanceCatalog(), azureVmSizeCatalog()),
      clock,
      cloud: this.cloud,
      // An Azure NIC holds up to 256 IP configurations, attached or not.
      ...(this.cloud === 'azure' ? { maxAddressesOnCreate: 255 } : {}),
    });
    this.throttler = new Throttler(clock);
    this.applySettings(this.settings);
    this.faceContext = {
      model: this.model,
      clock,
      remainingTokens: (key, bucket) => this.throttler.remaining(key, bucket),
    };
    this.callRealism = {
      latencyMs: (action) => callLatencyMs(this.settings, action, random),
      throttler: this.throttler,
      faults: this.faults,
      observe: (event) => {
        for (const listener of this.callListeners) listener(event);
      },
    };
    this.faces = [
      new MetadataEndpoint(this.metadataService(clock)),
      new ArmFace(clock),
      // Before EC2: both are served at /, and ECS names its action outside the body.
      new EcsFace(),
      new Ec2Face(),
    ];
  }

  /** Whose metadata service the instances see: that of `this.cloud`. */
  private metadataService(clock: Clock): MetadataService {
    switch (this.cloud) {
      case 'aws':
        return awsImds(clock);
      case 'azure':
        return azureImds;
      case 'alibaba':
        return alibabaMetadata(clock, () => this.alibabaMetadataTokensRequired);
    }
  }

  /** Hears every accepted API call as it arrives and as it is answered; returns the unsubscribe. */
  onCall(listener: (event: CallEvent) => void): () => void {
    this.callListeners.add(listener);
    return () => this.callListeners.delete(listener);
  }

  get realism(): RealismSettings {
    return structuredClone(this.settings);
  }

  /** Changes some knobs; the rest keep their values. Throws a ZodError on bad input. */
  configure(partial: RealismInput): RealismSettings {
    const merged = realismSchema.parse({ ...this.settings, ...partial });
    this.applySettings(merged);
    return this.realism;
  }

  private applySettings(settings: RealismSettings): void {
    this.settings = settings;
    this.throttler.enabled = settings.throttling;
    if (!settings.throttling) this.throttler.reset();
    this.model.describeLagMs = settings.describeLagMs;
    this.model.attachDelayMs = settings.attachDelayMs;
    this.model.detachDelayMs = settings.detachDelayMs;
  }

  async listen(options: ListenOptions = {}): Promise<{ url: string; socketPath?: string }> {
    const tcp = createServer((req, res) => void this.serve(req, res));
    tcp.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    this.servers.push(tcp);
    const address = tcp.address() as AddressInfo;
    const url = `http://${address.address}:${address.port}`;
    if (!options.socketPath) return { url };
    await rm(options.socketPath, { force: true });
    const unix = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      unix.listen(options.socketPath, () => resolve());
    });
    this.servers.push(unix);
    this.socketPath = options.socketPath;
    return { url, socketPath: options.socketPath };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
    if (this.socketPath) await rm(this.socketPath, { force: true });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let response: FaceResponse;
    try {
      response = await this.route(req);
    } catch (err) {
      response = err instanceof BodyTooLarge ? jsonAnswer(413, { error: 'request body too large' }) : jsonAnswer(500, { error: 'internal error' });
    }
    if (res.destroyed) return;
    res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(response.body) });
    res.end(req.method === 'HEAD' ? undefined : response.body);
  }

  /** Finds who answers: the introspection endpoint, or the face that owns the request, behind the shared pipeline. */
  private async route(req: IncomingMessage): Promise<FaceResponse> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://emulator');
    } catch {
      return jsonAnswer(400, { error: 'malformed request URL' });
    }
    let body: Promise<string> | undefined;
    const request: FaceRequest = { method: req.method ?? 'GET', url, headers: req.headers, body: () => (body ??= readBody(req)) };
    if (url.pathname.startsWith('/_emulator/')) return answerControl(this, request);
    const face = this.faces.find((candidate) => candidate.matches(request));
    if (!face) return jsonAnswer(404, { error: `no such endpoint: ${req.method} ${url.pathname}` });
    return answerThrough(face, request, this.faceContext, this.callRealism);
  }
}
