/**
 * What users deploy, run where users run it: the image `npm run image`
 * builds (the Dockerfile's, without a registry), started on every node by
 * the node's containerd with the DaemonSet of deploy/overlays/<cloud> (host
 * network, privileges, hostPath mounts, environment, the init container that
 * installs the plugin), then pods on two nodes reaching each other through
 * it. Needs root, containerd, runc, busybox-static, mmdebstrap, umoci and
 * skopeo (test/host-setup.sh); fails loudly without them. The image is built
 * once and cached by its inputs' hash under node_modules/.cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from '../../../../image/build.ts';
import { EmulatedCluster, inNetns } from '../../../../emulator/cluster/cluster.ts';
import { assertContainerdInstalled, type NodeContainerd } from '../../../../emulator/cluster/containerd.ts';
import { startDaemonSet, type DaemonSetNode } from '../../../../emulator/cluster/daemonset.ts';
import { bytesOf, ctrRunArgs, processArgs, type CtrRunRequest } from '../../../../emulator/cluster/daemonset-ctr.ts';
import { overlayDaemonSet, type DaemonSetPodSpec } from '../../../../emulator/cluster/daemonset-manifest.ts';
import { e2eClouds } from './clouds.ts';
import { expectReachAcrossNodesAndRelease } from './containers.ts';

let image: BuiltImage;

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the end-to-end suite needs root (network namespaces, containerd)');
  assertContainerdInstalled();
  image = await buildImage({ log: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write(`daemonset-image: ${image.ref} ${image.imageId} (${image.cached ? 'cached' : `built in ${image.seconds.toFixed(1)} s`})\n`);
}, 900_000);

describe.sequential.each(e2eClouds)("the DaemonSet's image under containerd (%s)", (cloud) => {
  let cluster: EmulatedCluster;
  let nodes: DaemonSetNode[];
  let spec: DaemonSetPodSpec;

  beforeAll(async () => {
    spec = await overlayDaemonSet(cloud);
    cluster = new EmulatedCluster({ cloud, nodes: 2, startIpamd: false });
    await cluster.start();
    nodes = await startDaemonSet(cluster, { image, spec });
  }, 300_000);

  afterAll(() => cluster?.teardown(), 120_000);

  it('the init container installed the image’s plugin, and ipamd wrote its conflist where the runtime reads it', async () => {
    for (const { containerd } of nodes) {
      const installed = await containerd.ctr(['run', '--rm', '--read-only', spec.containers[0]!.image, `check-${containerd.node.index}`, 'sh', '-c', 'sha256sum /opt/vpc-cni/vpc-cni']);
      expect(installed.code, installed.stderr).toBe(0);
      const [inImage] = installed.stdout.split(/\s+/);
      const [file, ...args] = containerd.inNode(['sha256sum', '/opt/cni/bin/vpc-cni']);
      const onNode = (await inNetns(containerd.node.namespace, [file!, ...args])).stdout.split(/\s+/)[0];
      expect(onNode).toBe(inImage);
      expect(containerd.conflist.plugins[0]?.type).toBe('vpc-cni');
    }
  }, 60_000);

  it('ipamd runs on the image’s Node, as root, with the manifest’s command', async () => {
    const [first] = nodes;
    const id = first!.containerIds.get('ipamd')!;
    const version = await first!.containerd.ctrOk(['tasks', 'exec', '--exec-id', 'version', id, 'node', '--version']);
    expect(version.stdout.trim()).toBe(`v${image.nodeVersion}`);
    const pid = (await first!.containerd.tasks()).get(id)!.pid;
    const cmdline = (await inNetns(first!.node.namespace, ['cat', `/proc/${pid}/cmdline`])).stdout.split('\0').filter(Boolean);
    expect(cmdline).toEqual(spec.containers[0]!.command);
  }, 60_000);

  it('ipamd changes pod links through the image’s plugin as its netlink helper, not through ip execs', async () => {
    const [first] = nodes;
    const pid = (await first!.containerd.tasks()).get(first!.containerIds.get('ipamd')!)!.pid;
    // NETLINK_HELPER=auto: the executable beside ipamd.mjs, started and probed when ipamd starts.
    const children = (await inNetns(first!.node.namespace, ['ps', '-o', 'args=', '--ppid', String(pid)])).stdout;
    expect(children).toContain('/opt/vpc-cni/vpc-cni netlink-helper');
  }, 60_000);

  it('pods on two nodes reach each other by VPC address through the DaemonSet’s ipamd, and deleting one releases its address', async () => {
    const [first, second] = nodes.map((node) => node.containerd) as [NodeContainerd, NodeContainerd];
    await expectReachAcrossNodesAndRelease(cluster, first, second);
  }, 120_000);
});

describe('the DaemonSet as ctr run arguments', () => {
  let spec: DaemonSetPodSpec;
  const request = (container: 'ipamd' | 'install-cni-plugin', overrides: Partial<CtrRunRequest> = {}): CtrRunRequest => ({
    spec,
    container: [...(spec.initContainers ?? []), ...spec.containers].find((c) => c.name === container)!,
    id: 'x',
    imageRef: 'registry.example.com/vpc-cni:0.1.0',
    imageConfig: { entrypoint: ['node', '/opt/vpc-cni/ipamd.mjs'], cmd: ['run'] },
    fields: { 'spec.nodeName': 'i-1', 'metadata.name': 'p', 'metadata.namespace': 'kube-system', 'spec.serviceAccountName': 'vpc-cni', 'status.podIP': '10.0.0.5', 'status.hostIP': '10.0.0.5' },
    addedEnv: { CLOUD: 'emulated', AWS_REGION: 'us-east-1' },
    logPath: '/tmp/x.log',
    mode: 'detach',
    ...overrides,
  });
  const pairs = (args: string[], flag: string): string[] => args.flatMap((arg, i) => (args[i - 1] === flag ? [arg] : []));

  beforeAll(async () => {
    spec = await overlayDaemonSet('aws');
  });

  it("gives ipamd the host's network and PID namespace, privileges, a read-only root and the memory limit", () => {
    const args = ctrRunArgs(request('ipamd'));
    expect(args).toEqual(expect.arrayContaining(['--net-host', '--privileged', '--read-only', '--allow-new-privs']));
    expect(pairs(args, '--with-ns')).toEqual(['pid:/proc/self/ns/pid']);
    expect(pairs(args, '--memory-limit')).toEqual([String(512 * 2 ** 20)]);
  });

  it("mounts each hostPath at the manifest's path, HostToContainer as rslave", () => {
    const mounts = pairs(ctrRunArgs(request('ipamd')), '--mount');
    for (const mount of spec.containers[0]!.volumeMounts ?? []) {
      const volume = spec.volumes!.find((v) => v.name === mount.name)!;
      const options = mount.mountPropagation === 'HostToContainer' ? 'rbind:rw:rslave' : 'rbind:rw:rprivate';
      expect(mounts).toContain(`type=bind,src=${volume.hostPath.path},dst=${mount.mountPath},options=${options}`);
    }
  });

  it("sets the manifest's environment, the downward API, and what the emulator adds only where the manifest is silent", () => {
    const env = pairs(ctrRunArgs(request('ipamd')), '--env');
    expect(env).toContain('CLOUD=aws');
    expect(env).not.toContain('CLOUD=emulated');
    expect(env).toContain('NODE_NAME=i-1');
    expect(env).toContain('AWS_REGION=us-east-1');
  });

  it('runs the init container with every capability dropped and no privilege escalation', () => {
    const args = ctrRunArgs(request('install-cni-plugin', { mode: 'rm' }));
    expect(args[0]).toBe('--rm');
    expect(args).not.toContain('--allow-new-privs');
    expect(args).not.toContain('--privileged');
    expect(pairs(args, '--cap-drop')).toEqual(expect.arrayContaining(['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN']));
    expect(args.slice(args.indexOf('x') + 1)).toEqual(spec.initContainers![0]!.command);
  });

  it("follows Kubernetes' command and args over the image's entrypoint and cmd", () => {
    const image = { entrypoint: ['node', 'a.mjs'], cmd: ['run'] };
    expect(processArgs({ name: 'c', image: 'i' }, image)).toEqual(['node', 'a.mjs', 'run']);
    expect(processArgs({ name: 'c', image: 'i', args: ['status'] }, image)).toEqual(['node', 'a.mjs', 'status']);
    expect(processArgs({ name: 'c', image: 'i', command: ['sh'] }, image)).toEqual(['sh']);
    expect(processArgs({ name: 'c', image: 'i', command: ['sh'], args: ['-c', 'x'] }, image)).toEqual(['sh', '-c', 'x']);
  });

  it('refuses what it cannot run as written', () => {
    expect(() => ctrRunArgs(request('ipamd', { spec: { ...spec, hostNetwork: false } }))).toThrow(/host network/);
    const unknownField = { ...spec.containers[0]!, env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } }] };
    expect(() => ctrRunArgs(request('ipamd', { container: unknownField }))).toThrow(/metadata.uid/);
    const noVolume = { ...spec.containers[0]!, volumeMounts: [{ name: 'nope', mountPath: '/x' }] };
    expect(() => ctrRunArgs(request('ipamd', { container: noVolume }))).toThrow(/names no volume/);
    expect(bytesOf('512Mi')).toBe(536_870_912);
    expect(() => bytesOf('lots')).toThrow();
  });
});

describe.sequential('a wrong mount in deploy/ fails the DaemonSet', () => {
  let cluster: EmulatedCluster | undefined;
  afterAll(() => cluster?.teardown(), 120_000);

  it("the conflist directory mounted elsewhere: ipamd's conflist never reaches the runtime's /etc/cni/net.d, and the node never becomes ready", async () => {
    const cloud = e2eClouds[0]!;
    const spec = await overlayDaemonSet(cloud);
    const ipamd = spec.containers[0]!;
    const broken: DaemonSetPodSpec = {
      ...spec,
      containers: [{ ...ipamd, volumeMounts: ipamd.volumeMounts!.map((m) => (m.name === 'cni-net-dir' ? { ...m, mountPath: '/etc/cni/conf.d' } : m)) }],
    };
    cluster = new EmulatedCluster({ cloud, nodes: 1, startIpamd: false });
    await cluster.start();
    await expect(startDaemonSet(cluster, { image, spec: broken, readyTimeoutMs: 30_000 })).rejects.toThrow(/ipamd on i-/);
  }, 240_000);
});
