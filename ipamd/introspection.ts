import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AddressStore } from './datastore/store.ts';
import type { Metrics } from './common/metrics.ts';
import type { PoolManager } from './pool/manager.ts';
import type { PoolTargets } from './common/types.ts';

export interface PoolView {
  instance: { instanceId: string; instanceType: string; zone: string; primaryIp: string } | null;
  limits: { maxInterfaces: number; ipv4PerInterface: number; supportsPrefixes: boolean } | null;
  targets: PoolTargets;
  ready: boolean;
  exhausted: { limit: string; message: string } | null;
  lastCloudError: { code: string; kind: string; message: string; at: number } | null;
  lastPlan: string | null;
  totals: { addresses: number; assigned: number; warm: number; cooldown: number; interfaces: number };
  interfaces: Array<{ interfaceId: string; deviceIndex: number; mac: string; subnetId: string; subnetCidr: string; primaryIp: string; isPrimary: boolean; free: number; assigned: number; cooling: number; ips: string[]; prefixes: string[] }>;
  allocations: Array<{ network: string; containerId: string; ifName: string; ip: string; pod: string | null; allocatedAt: string }>;
  subnets: Array<{ subnetId: string; cidr: string; freeAddresses: number }>;
  cloudCalls: Record<string, number>;
}

export async function poolView(store: AddressStore, pool: PoolManager, targets: PoolTargets, metrics: Metrics): Promise<PoolView> {
  const instance = pool.instance;
  const limits = pool.instanceLimits;
  const usage = new Map(store.usage().map((nic) => [nic.interfaceId, nic]));
  const interfaces = store.interfaces().map((nic) => {
    const u = usage.get(nic.interfaceId);
    const count = (state: string): number =>
      (u?.ips.filter((entry) => entry.state === state).length ?? 0) +
      (u?.prefixes.reduce((sum, p) => sum + (state === 'assigned' ? p.assigned : state === 'cooling' ? p.cooling : p.size - p.assigned - p.cooling), 0) ?? 0);
    return { ...nic, free: count('free'), assigned: count('assigned'), cooling: count('cooling') };
  });
  return {
    instance: instance ? { instanceId: instance.instanceId, instanceType: instance.instanceType, zone: instance.zone, primaryIp: instance.primaryIp } : null,
    limits: limits ? { maxInterfaces: limits.maxInterfaces, ipv4PerInterface: limits.ipv4PerInterface, supportsPrefixes: limits.supportsPrefixes } : null,
    targets,
    ready: pool.status.ready,
    exhausted: pool.status.exhausted ?? null,
    lastCloudError: pool.status.lastCloudError ?? null,
    lastPlan: pool.status.lastPlan ?? null,
    totals: { addresses: store.totalAddresses(), assigned: store.allocations().length, warm: store.freeCount(), cooldown: store.coolingCount(), interfaces: interfaces.length },
    interfaces,
    allocations: store.allocations().map((a) => ({
      network: a.key.network,
      containerId: a.key.containerId,
      ifName: a.key.ifName,
      ip: a.ip,
      pod: a.pod ? `${a.pod.namespace}/${a.pod.name}` : null,
      allocatedAt: new Date(a.allocatedAt).toISOString(),
    })),
    subnets: pool.status.subnets.map((s) => ({ subnetId: s.subnetId, cidr: s.cidr, freeAddresses: s.freeAddresses })),
    cloudCalls: await metrics.cloudCallCounts(),
  };
}

export interface HttpEndpoint {
  url: string;
  close(): Promise<void>;
}

/** A small JSON/text HTTP server; routes answer with [status, content type, body]. */
export async function serveHttp(host: string, port: number, routes: Record<string, () => Promise<[number, string, string]>>): Promise<HttpEndpoint> {
  const server: Server = createServer((req, res) => {
    const route = req.method === 'GET' ? routes[new URL(req.url ?? '/', 'http://local').pathname] : undefined;
    const reply = route ? route() : Promise.resolve<[number, string, string]>([404, 'application/json', JSON.stringify({ error: `no such endpoint: ${req.method} ${req.url}` })]);
    reply
      .catch((err: Error): [number, string, string] => [500, 'application/json', JSON.stringify({ error: err.message })])
      .then(([status, type, body]) => {
        res.writeHead(status, { 'content-type': type });
        res.end(body);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
