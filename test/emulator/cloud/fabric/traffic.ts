import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { VpcBox } from '../../../../emulator/cloud/fabric/index.ts';
import { inNode } from './helpers.ts';

/**
 * Traffic for the security-group tests beyond helpers.ts's TCP probe: UDP,
 * ICMP, and a long-lived TCP connection that can be poked after a rule
 * changes. Every probe says 'ok' or 'timeout' (a filtered packet is dropped,
 * never refused).
 */

const udpServerScript = `
const [host, port] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(Number(port), host, () => console.log('ready'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

const udpProbeScript = `
const [host, port, timeout] = process.argv.slice(1);
const s = require('node:dgram').createSocket('udp4');
const done = (what) => { console.log(what); process.exit(0); };
setTimeout(() => done('timeout'), Number(timeout));
s.on('message', () => done('ok'));
s.send('ping', Number(port), host);
`;

async function started(child: ChildProcessWithoutNullStreams): Promise<{ close(): void }> {
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}): ${err}`)));
  });
  return { close: () => child.kill('SIGKILL') };
}

function inNamespace(box: VpcBox, instanceId: string, script: string, args: string[]): ChildProcessWithoutNullStreams {
  return spawn('ip', ['netns', 'exec', box.nodeNamespace(instanceId), process.execPath, '-e', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

export function udpServer(box: VpcBox, instanceId: string, host: string, port: number): Promise<{ close(): void }> {
  return started(inNamespace(box, instanceId, udpServerScript, [host, String(port)]));
}

export async function udpProbe(box: VpcBox, instanceId: string, host: string, port: number, timeoutMs = 1000): Promise<string> {
  return (await inNode(box, instanceId, [process.execPath, '-e', udpProbeScript, host, String(port), String(timeoutMs)])).trim();
}

/** One echo request; 'ok' or 'timeout'. */
export async function ping(box: VpcBox, instanceId: string, host: string, timeoutMs = 1000): Promise<string> {
  const result = await box.execInNode(instanceId, ['ping', '-c', '1', '-W', String(timeoutMs / 1000), host]);
  return result.code === 0 ? 'ok' : 'timeout';
}

const echoServerScript = `
const [host, port] = process.argv.slice(1);
require('node:net').createServer((s) => s.on('data', (d) => s.write(d))).listen(Number(port), host, () => console.log('ready'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

export function echoServer(box: VpcBox, instanceId: string, host: string, port: number): Promise<{ close(): void }> {
  return started(inNamespace(box, instanceId, echoServerScript, [host, String(port)]));
}

const sessionScript = `
const [host, port] = process.argv.slice(1);
const socket = require('node:net').connect({ host, port: Number(port) }, () => console.log('ready'));
let waiting = null;
socket.on('data', () => { if (waiting) { clearTimeout(waiting); waiting = null; console.log('ok'); } });
socket.on('error', (e) => console.log('error ' + e.code));
require('node:readline').createInterface({ input: process.stdin }).on('line', () => {
  waiting = setTimeout(() => { waiting = null; console.log('timeout'); }, 1000);
  socket.write('ping');
});
`;

/** A TCP connection held open: each exchange() sends a line and says whether the echo came back. */
export async function tcpSession(box: VpcBox, instanceId: string, host: string, port: number): Promise<{ exchange(): Promise<string>; close(): void }> {
  const child = inNamespace(box, instanceId, sessionScript, [host, String(port)]);
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let at: number;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  const next = (): Promise<string> => {
    const line = lines.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => waiters.push(resolve));
  };
  const first = await next();
  if (first !== 'ready') throw new Error(`session did not connect: ${first}`);
  return {
    exchange: async () => {
      child.stdin.write('\n');
      return next();
    },
    close: () => child.kill('SIGKILL'),
  };
}

/** Polls a probe until it says `want`; the time that took, or throws after `withinMs`. */
export async function until(probe: () => Promise<string>, want: string, withinMs = 1000): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started <= withinMs) {
    last = await probe();
    if (last === want) return Date.now() - started;
  }
  throw new Error(`still '${last}' after ${withinMs} ms (wanted '${want}')`);
}

/**
 * How long the fabric takes to commit the firewall change just made in the
 * model (the latency the clouds' one second is about); the traffic check
 * follows it, so a loaded machine's slow probes do not count against it.
 */
export async function committed(box: VpcBox): Promise<number> {
  const started = Date.now();
  await box.idle();
  return Date.now() - started;
}
