import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { peerHeader } from './fabric/names.ts';
import { handleAlibabaMetadata } from './faces/alibaba-metadata.ts';
import { ArmFace } from './faces/arm/face.ts';
import { handleAwsImds, ImdsTokens } from './faces/aws-imds.ts';
import { handleAzureImds } from './faces/azure-imds.ts';
import { handleEc2, type FaceContext, type FaceResponse } from './faces/ec2/face.ts';
import { handleEcs, isEcsRequest } from './faces/ecs/face.ts';
import { alibabaInstanceCatalog, awsInstanceCatalog, azureVmSizeCatalog, mergeCatalogs, type CloudName, type InstanceCatalog } from '../../providers/catalogs/catalog.ts';
import { CloudModel, type Clock } from './model/cloud.ts';
import { FaultInjector } from './realism/faults.ts';
import { faultSchema, realismSchema, type RealismInput, type RealismSettings } from './realism/settings.ts';
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
}

export interface ListenOptions {
  host?: string;
  port?: number;
  /** Also serve on a unix socket: the data plane's proxy forwards to it from inside the box. */
  socketPath?: string;
}

// The header the in-box proxy sets to the caller's address, so metadata knows which instance asks.
export { peerHeader };

const maxBodyBytes = 1024 * 1024;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        // Keep draining instead of destroying the socket, so the client gets the 413.
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const json = (status: number, value: unknown): FaceResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value, null, 2),
});

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
  readonly faults = new FaultInjector();
  readonly throttler: Throttler;
  private readonly tokens: ImdsTokens;
  private settings: RealismSettings;
  private readonly servers: Server[] = [];
  private socketPath: string | undefined;
  private readonly faceContext: FaceContext;
  private readonly arm: ArmFace;
  private readonly clock: Clock;

  constructor(options: EmulatorOptions = {}) {
    const clock = options.clock ?? { now: () => Date.now() };
    this.clock = clock;
    this.cloud = options.cloud ?? 'aws';
    this.alibabaMetadataTokensRequired = options.alibabaMetadataTokensRequired ?? false;
    this.settings = realismSchema.parse(options.realism ?? {});
    this.model = new CloudModel({
      catalog: options.catalog ?? mergeCatalogs(awsInstanceCatalog(), alibabaInstanceCatalog(), azureVmSizeCatalog()),
      clock,
      // An Azure NIC holds up to 256 IP configurations, attached or not.
      ...(this.cloud === 'azure' ? { maxAddressesOnCreate: 255 } : {}),
    });
    this.throttler = new Throttler(clock);
    this.tokens = new ImdsTokens(clock);
    this.applySettings(this.settings);
    this.faceContext = {
      model: this.model,
      throttler: this.throttler,
      faults: this.faults,
      latencyMs: (action) => this.settings.latencyMs[action] ?? this.settings.defaultLatencyMs,
    };
    this.arm = new ArmFace(this.faceContext, clock);
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
      response = err instanceof BodyTooLarge ? json(413, { error: 'request body too large' }) : json(500, { error: 'internal error' });
    }
    if (res.destroyed) return;
    res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(response.body) });
    res.end(req.method === 'HEAD' ? undefined : response.body);
  }

  /** Dispatches by path and protocol; every branch answers, none throws on bad input. */
  private async route(req: IncomingMessage): Promise<FaceResponse> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://emulator');
    } catch {
      return json(400, { error: 'malformed request URL' });
    }
    const path = url.pathname;
    if (path.startsWith('/_emulator/')) return this.control(req, path);
    const scoped = /^\/_instance\/([^/]+)(\/.*)$/.exec(path);
    if (scoped) {
      let instanceId: string;
      try {
        instanceId = decodeURIComponent(scoped[1] ?? '');
      } catch {
        return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' };
      }
      return this.metadata(req, instanceId, scoped[2] ?? '/', url.searchParams);
    }
    if (path.startsWith('/latest/') || path.startsWith('/metadata/')) {
      const peer = req.headers[peerHeader];
      const instanceId = typeof peer === 'string' ? this.instanceByAddress(peer) : undefined;
      if (!instanceId) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' };
      return this.metadata(req, instanceId, path, url.searchParams);
    }
    if (/^\/subscriptions\//i.test(path)) {
      return this.arm.handle({
        method: req.method ?? 'GET',
        url,
        headers: req.headers,
        body: () => readBody(req).catch((err: unknown) => (err instanceof BodyTooLarge ? null : Promise.reject(err))),
      });
    }
    // ECS RPC names its action in x-acs-action or the query; EC2 Query only in its form body.
    if (path === '/' && isEcsRequest(req.headers, url.searchParams)) {
      return handleEcs(this.faceContext, { method: req.method ?? 'GET', headers: req.headers, query: url.searchParams, body: await readBody(req) });
    }
    if (req.method === 'POST' && path === '/') return handleEc2(this.faceContext, await readBody(req));
    return json(404, { error: `no such endpoint: ${req.method} ${path}` });
  }

  /** The metadata service of `this.cloud`, as the instance sees it at its link-local address. */
  private metadata(req: IncomingMessage, instanceId: string, path: string, query: URLSearchParams): FaceResponse {
    const request = { method: req.method ?? 'GET', path, headers: req.headers };
    switch (this.cloud) {
      case 'aws':
        return handleAwsImds(this.model, this.tokens, instanceId, request);
      case 'azure':
        return handleAzureImds(this.model, instanceId, { ...request, query }, this.clock);
      case 'alibaba':
        return handleAlibabaMetadata(this.model, this.tokens, instanceId, request, { tokensRequired: this.alibabaMetadataTokensRequired });
      default:
        return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' };
    }
  }

  private instanceByAddress(address: string): string | undefined {
    return this.model.attachedInterfaceWithPrimaryIp(address)?.attachment?.instanceId;
  }

  private async control(req: IncomingMessage, path: string): Promise<FaceResponse> {
    const parseJson = async (): Promise<unknown> => {
      try {
        return JSON.parse((await readBody(req)) || '{}');
      } catch {
        throw new z.ZodError([{ code: 'custom', path: [], message: 'body is not valid JSON', input: undefined }]);
      }
    };
    try {
      if (path === '/_emulator/state' && req.method === 'GET') {
        return json(200, { ...this.model.snapshot(), realism: this.settings, pendingFaults: this.faults.pending() });
      }
      if (path === '/_emulator/settings' && req.method === 'GET') return json(200, this.settings);
      if (path === '/_emulator/settings' && (req.method === 'PUT' || req.method === 'POST')) {
        const body = await parseJson();
        const parsed = realismSchema.partial().parse(body);
        // partial() still fills in defaults: keep only the knobs the caller named.
        const given = Object.fromEntries(Object.entries(parsed).filter(([key]) => Object.hasOwn(body as object, key)));
        return json(200, this.configure(given as RealismInput));
      }
      if (path === '/_emulator/faults' && req.method === 'POST') {
        const fault = faultSchema.parse(await parseJson());
        this.faults.failNext(fault.action, fault.count, { code: fault.code, message: fault.message, ...(fault.status ? { status: fault.status } : {}) });
        return json(200, this.faults.pending());
      }
      if (path === '/_emulator/faults' && req.method === 'DELETE') {
        this.faults.clear();
        return json(200, {});
      }
    } catch (err) {
      if (err instanceof z.ZodError) return json(400, { error: 'invalid request', issues: err.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`) });
      throw err;
    }
    return json(404, { error: `no such endpoint: ${req.method} ${path}` });
  }
}
