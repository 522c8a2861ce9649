import { expect } from 'vitest';
import type { EmulatedCluster } from '../../../../emulator/cluster/cluster.ts';
import type { Container, NodeContainerd } from '../../../../emulator/cluster/containerd.ts';

/** A container command that runs until it is deleted. */
export const forever = ['sleep', '3600'];

/** Ping from inside a container with its own busybox; the first packet may wait for neighbour resolution. */
export async function reaches(on: NodeContainerd, from: Container, to: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) if ((await on.exec(from, ['ping', '-c', '1', '-W', '2', to])).code === 0) return true;
  return false;
}

/**
 * One container on each node: both get VPC addresses, reach each other and
 * the other node, and deleting them gives the addresses back and removes
 * their veths (containerd's go-cni runs DEL once the task is gone).
 */
export async function expectReachAcrossNodesAndRelease(cluster: EmulatedCluster, first: NodeContainerd, second: NodeContainerd): Promise<void> {
  const inVpc = (ip: string): boolean => cluster.emulator.model.listInterfaces().some((nic) => nic.primaryIp === ip || nic.secondaryIps.includes(ip));
  const before = [await first.assigned(), await second.assigned()];
  const a = await first.runContainer('reach-a', forever);
  const b = await second.runContainer('reach-b', forever);
  expect(inVpc(a.ip), a.ip).toBe(true);
  expect(inVpc(b.ip), b.ip).toBe(true);
  expect([await first.assigned(), await second.assigned()]).toEqual([before[0]! + 1, before[1]! + 1]);
  expect(await reaches(first, a, b.ip), `${a.ip} -> ${b.ip}`).toBe(true);
  expect(await reaches(second, b, a.ip), `${b.ip} -> ${a.ip}`).toBe(true);
  expect(await reaches(first, a, second.node.primaryIp), `${a.ip} -> node ${second.node.primaryIp}`).toBe(true);

  await first.deleteContainer(a);
  await second.deleteContainer(b);
  expect([await first.assigned(), await second.assigned()]).toEqual(before);
  expect(await first.hostVethExists(a)).toBe(false);
  expect(await second.hostVethExists(b)).toBe(false);
  expect((await first.tasks()).has(a.name)).toBe(false);
}
