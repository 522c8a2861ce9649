import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { peerHeader } from '../../../../emulator/cloud/fabric/index.ts';
import { pidsInNamespaces } from '../../../../emulator/cloud/fabric/lifecycle.ts';
import { processStartTicks } from '../../../../emulator/cloud/fabric/names.ts';
import { buildWorld, inNode, requireHost, type World } from './helpers.ts';

interface Echo {
  method: string;
  url: string;
  peer: string;
  body: string;
}

/** Requests from inside a node; prints the JSON the echo server answered. */
const clientScript = `
const [url, method, body] = process.argv.slice(1);
const req = require('node:http').request(url, { method, headers: { '${peerHeader}': '6.6.6.6' } }, (res) => {
  let text = '';
  res.on('data', (c) => (text += c)).on('end', () => console.log(text));
});
req.on('error', (e) => { console.error(e.message); process.exit(1); });
req.end(body);
`;

describe('VPC in a box: metadata and API proxy', () => {
  let world: World | undefined;
  let server: http.Server | undefined;
  let dir: string | undefined;

  beforeAll(requireHost);

  afterEach(async () => {
    await world?.box.destroy();
    world = undefined;
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('forwards requests from a node to the unix socket, tagged with the node address', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vpcbox-'));
    const socketPath = join(dir, 'api.sock');
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString())).on('end', () => {
        const echo: Echo = { method: req.method ?? '', url: req.url ?? '', peer: String(req.headers[peerHeader]), body };
        res.end(JSON.stringify(echo));
      });
    });
    await new Promise<void>((resolve) => server?.listen(socketPath, resolve));

    world = await buildWorld({ apiSocketPath: socketPath });
    const node = await world.launch();
    const ip = world.model.getInterface(node.primaryInterfaceId).primaryIp;
    const ask = async (url: string, method = 'GET', body = ''): Promise<Echo> =>
      JSON.parse(await inNode(world!.box, node.id, [process.execPath, '-e', clientScript, url, method, body])) as Echo;

    const [imds, alibaba, api] = await Promise.all([
      ask('http://169.254.169.254/anything'),
      ask('http://100.100.100.200/latest/meta-data/instance-id'),
      ask('http://169.254.170.1/?Action=DescribeNetworkInterfaces', 'POST', 'Version=2016-11-15'),
    ]);
    expect(imds).toEqual({ method: 'GET', url: '/anything', peer: ip, body: '' });
    expect(alibaba).toMatchObject({ url: '/latest/meta-data/instance-id', peer: ip });
    expect(api).toEqual({ method: 'POST', url: '/?Action=DescribeNetworkInterfaces', peer: ip, body: 'Version=2016-11-15' });

    // The proxy lives in the fabric and dies with the box.
    const [proxyPid, ...others] = pidsInNamespaces([world.box.fabricNamespace]);
    expect(proxyPid).toBeDefined();
    expect(others).toEqual([]);
    await world.box.destroy();
    expect(processStartTicks(proxyPid ?? -1)).toBeNull();
  });
});
