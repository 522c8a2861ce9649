import http from 'node:http';
import { parseArgs } from 'node:util';
import { peerHeader } from './names.ts';

/**
 * Runs inside the fabric namespace: listens on the metadata/API addresses
 * (TCP) and forwards every request to the emulator's unix socket, which is
 * reachable from any namespace. The header `x-emulator-peer` tells the server
 * which instance asks, as a real IMDS knows from the hypervisor.
 *
 *   proxy.ts --socket PATH --listen 169.254.169.254:80 [--listen IP:PORT ...]
 *
 * Prints `ready` once every address listens. Exits when stdin closes, i.e.
 * when the owning process dies, however it dies.
 */

// Hop-by-hop headers belong to one connection, not to the request.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name)) out[name] = value;
  }
  return out;
}

function parseListen(value: string): { host: string; port: number } {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(value);
  if (!match) throw new Error(`--listen wants IPv4:PORT, got ${value}`);
  return { host: match[1] ?? '', port: Number(match[2]) };
}

function main(): void {
  const { values } = parseArgs({
    options: { socket: { type: 'string' }, listen: { type: 'string', multiple: true } },
  });
  const socketPath = values.socket;
  const listen = (values.listen ?? []).map(parseListen);
  if (!socketPath || listen.length === 0) throw new Error('usage: proxy.ts --socket PATH --listen IP:PORT [...]');

  const agent = new http.Agent({ keepAlive: true });
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const headers = endToEnd(req.headers);
    headers[peerHeader] = peer; // overwrites whatever the client claimed
    const upstream = http.request({ agent, socketPath, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
      answer.pipe(res);
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`emulator unreachable: ${err.message}\n`);
    });
    req.pipe(upstream);
  };

  let pending = listen.length;
  for (const { host, port } of listen) {
    const server = http.createServer(handler);
    server.on('error', (err) => {
      process.stderr.write(`proxy: ${host}:${port}: ${err.message}\n`);
      process.exit(1);
    });
    server.listen(port, host, () => {
      if (--pending === 0) process.stdout.write('ready\n');
    });
  }

  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}

main();
