import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callIpamd } from '../../../wire/client.ts';
import { MAX_LINE_BYTES } from '../../../wire/protocol.ts';
import { startFakeIpamd, type FakeIpamd } from '../../fakes/ipamd.ts';
import type { FakeIpamService } from '../../fakes/ipam-service.ts';
import { captureLogger } from '../../fakes/logger.ts';
import { addLine, KEY, rawExchange, sleep } from './helpers.ts';

let ipamd: FakeIpamd;
let socketPath: string;
let service: FakeIpamService;
const log = captureLogger();

beforeAll(async () => {
  ipamd = await startFakeIpamd({ logger: log, idleTimeoutMs: 500 });
  ({ socketPath, service } = ipamd);
});

afterAll(async () => {
  await ipamd.close();
});

/** The server is still fine: a valid request through the real client works. */
async function stillServes(): Promise<void> {
  expect(await callIpamd(socketPath, 'status', {}, { timeoutMs: 2000 })).toMatchObject({ ready: true });
}

const line = (value: unknown): string => JSON.stringify(value) + '\n';
const add = (key: unknown, extra: Record<string, unknown> = {}): string =>
  line({ id: 3, op: 'add', params: { key, netns: '/var/run/netns/cni-1', ...extra } });

/** Each case: what is sent, and what the one invalid-request answer must say. */
const cases: Array<[string, string | Buffer, RegExp, number | null]> = [
  ['not JSON', 'hello ipamd\n', /not valid JSON/, null],
  ['truncated JSON', '{"id":1,"op":"add"\n', /not valid JSON/, null],
  ['an array', '[1,2,3]\n', /must be a JSON object, got an array/, null],
  ['null', 'null\n', /got null/, null],
  ['a number', '42\n', /got a number/, null],
  ['a string', '"add"\n', /got a string/, null],
  ['no id', line({ op: 'status', params: {} }), /"id" must be a non-negative integer/, null],
  ['a string id', line({ id: '1', op: 'status', params: {} }), /"id"/, null],
  ['a fractional id', line({ id: 1.5, op: 'status', params: {} }), /"id"/, null],
  ['unknown op', line({ id: 1, op: 'frobnicate', params: {} }), /unknown op "frobnicate"; expected one of add, del, check, status, gc/, 1],
  ['op not a string', line({ id: 1, op: 7, params: {} }), /unknown op a number/, 1],
  ['unknown envelope field', line({ id: 1, op: 'status', params: {}, extra: true }), /unknown request field\(s\) "extra"/, 1],
  ['params not an object', line({ id: 1, op: 'add', params: 'x' }), /invalid add request: params: must be an object/, 1],
  ['missing key', line({ id: 1, op: 'add', params: { netns: '/n' } }), /params\.key: must be an object/, 1],
  ['missing containerId', add({ network: 'n', ifName: 'eth0' }), /params\.key\.containerId: must be a string/, 3],
  ['containerId ../etc', add({ ...KEY, containerId: '../etc' }), /params\.key\.containerId: must start with a letter or digit/, 3],
  ['containerId -x', add({ ...KEY, containerId: '-x' }), /params\.key\.containerId: must start/, 3],
  ['containerId with a slash', add({ ...KEY, containerId: 'ab/cd' }), /params\.key\.containerId/, 3],
  ['containerId of 300 chars', add({ ...KEY, containerId: 'a'.repeat(300) }), /params\.key\.containerId: must be at most 256 characters/, 3],
  ['empty containerId', add({ ...KEY, containerId: '' }), /params\.key\.containerId: must not be empty/, 3],
  ['containerId a number', add({ ...KEY, containerId: 12345 }), /params\.key\.containerId: must be a string/, 3],
  ['containerId with an escaped NUL', add({ ...KEY, containerId: 'abc\u0000def' }), /params\.key\.containerId/, 3],
  ['ifName with /', add({ ...KEY, ifName: 'eth/0' }), /params\.key\.ifName: must not contain '\/'/, 3],
  ['ifName with a space', add({ ...KEY, ifName: 'eth 0' }), /params\.key\.ifName: must not contain whitespace/, 3],
  ['ifName ..', add({ ...KEY, ifName: '..' }), /params\.key\.ifName: must not be "\.\."/, 3],
  ['ifName .', add({ ...KEY, ifName: '.' }), /params\.key\.ifName: must not be "\."/, 3],
  ['ifName of 16 bytes', add({ ...KEY, ifName: 'a'.repeat(16) }), /params\.key\.ifName: must be at most 15 bytes/, 3],
  ['ifName of 8 chars but 16 bytes', add({ ...KEY, ifName: 'éééééééé' }), /at most 15 bytes/, 3],
  ['empty ifName', add({ ...KEY, ifName: '' }), /params\.key\.ifName: must not be empty/, 3],
  ['ifName with a colon', add({ ...KEY, ifName: 'eth0:1' }), /must not contain ':'/, 3],
  ['empty network', add({ ...KEY, network: '' }), /params\.key\.network: must not be empty/, 3],
  ['network of 129 chars', add({ ...KEY, network: 'n'.repeat(129) }), /params\.key\.network: must be at most 128/, 3],
  ['network with a newline', add({ ...KEY, network: 'a\nb' }), /params\.key\.network: must contain only printable/, 3],
  ['unknown key field', add({ ...KEY, extra: 1 }), /params\.key: unknown field\(s\) "extra"/, 3],
  ['relative netns', add(KEY, { netns: 'var/run/netns/x' }), /params\.netns: must be an absolute path/, 3],
  ['empty netns on add', add(KEY, { netns: '' }), /params\.netns: must be an absolute path/, 3],
  ['relative netns on del', line({ id: 4, op: 'del', params: { key: KEY, netns: 'x' } }), /params\.netns: must be an absolute path or empty/, 4],
  ['pod name of 300 chars', add(KEY, { pod: { namespace: 'default', name: 'p'.repeat(300), uid: 'u' } }), /params\.pod\.name: must be at most 253/, 3],
  ['pod without uid', add(KEY, { pod: { namespace: 'default', name: 'p' } }), /params\.pod\.uid/, 3],
  ['unknown params field', add(KEY, { ip: '10.0.0.1' }), /params: unknown field\(s\) "ip"/, 3],
  ['gc attachments not an array', line({ id: 5, op: 'gc', params: { network: 'n', validAttachments: 'all' } }), /params\.validAttachments: must be an array/, 5],
  ['gc attachment with a bad id', line({ id: 5, op: 'gc', params: { network: 'n', validAttachments: [{ containerId: '-', ifName: 'eth0' }] } }), /params\.validAttachments\.0\.containerId/, 5],
  ['NUL bytes', Buffer.from([0, 0, 0, 0x0a]), /not valid JSON/, null],
  ['a raw NUL inside a JSON string', `{"id":1,"op":"add","params":{"key":{"network":"n","containerId":"a\u0000b","ifName":"eth0"},"netns":"/n"}}\n`, /not valid JSON/, null],
  ['invalid UTF-8', Buffer.concat([Buffer.from('{"id":1,"op":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]), /not valid UTF-8/, null],
  ['a UTF-16 BOM line', Buffer.from([0xfe, 0xff, 0x00, 0x7b, 0x0a]), /not valid UTF-8|not valid JSON/, null],
];

describe('ipamd API: malformed requests', () => {
  it.each(cases)('%s gets invalid-request naming the problem', async (_name, payload, message, id) => {
    const { responses, rest } = await rawExchange(socketPath, [payload]);
    expect(rest).toBe('');
    expect(responses).toHaveLength(1);
    const [response] = responses;
    expect(response).toMatchObject({ id, ok: false, error: { code: 'invalid-request' } });
    expect((response?.error as { message: string }).message).toMatch(message);
    await stillServes();
  });

  it('several errors in one request are all named', async () => {
    const { responses } = await rawExchange(socketPath, [add({ network: '', containerId: '-x', ifName: 'a/b' })]);
    const message = (responses[0]?.error as { message: string }).message;
    expect(message).toMatch(/params\.key\.network/);
    expect(message).toMatch(/params\.key\.containerId/);
    expect(message).toMatch(/params\.key\.ifName/);
  });

  it('accepts the limits themselves: 256-char containerId, 15-byte ifName, 128-char network', async () => {
    const key = { network: 'n'.repeat(128), containerId: 'a'.repeat(256), ifName: 'x'.repeat(15) };
    const { responses } = await rawExchange(socketPath, [add(key)]);
    expect(responses[0]).toMatchObject({ id: 3, ok: true });
    const del = await rawExchange(socketPath, [line({ id: 9, op: 'del', params: { key, netns: '' } })]);
    expect(del.responses[0]).toMatchObject({ id: 9, ok: true, result: {} });
  });

  it('a line longer than 64 KiB is refused and the connection closed', async () => {
    const big = JSON.stringify({ id: 1, op: 'status', params: {}, pad: 'x'.repeat(MAX_LINE_BYTES) }) + '\n';
    const withNewline = await rawExchange(socketPath, [big], { after: 'keep' });
    expect(withNewline.responses).toEqual([
      { id: null, ok: false, error: { code: 'invalid-request', message: `request line longer than ${MAX_LINE_BYTES} bytes; closing the connection` } },
    ]);
    // Without any newline, streamed in small pieces: refused as soon as the limit is passed.
    const pieces = Array.from({ length: 80 }, () => 'y'.repeat(1024));
    const streamed = await rawExchange(socketPath, pieces, { after: 'keep' });
    expect(streamed.responses).toHaveLength(1);
    expect(streamed.responses[0]).toMatchObject({ error: { code: 'invalid-request', message: expect.stringMatching(/longer than 65536 bytes/) } });
    await stillServes();
  });

  it('a line just under 64 KiB is read', async () => {
    const base = JSON.stringify({ id: 1, op: 'gc', params: { network: 'n', validAttachments: [] } });
    const attachment = JSON.stringify({ containerId: 'c'.repeat(64), ifName: 'eth0' });
    const n = Math.floor((MAX_LINE_BYTES - base.length - 2) / (attachment.length + 1));
    const attachments = Array.from({ length: n }, (_, i) => ({ containerId: `${i}`.padStart(64, 'c'), ifName: 'eth0' }));
    const text = JSON.stringify({ id: 1, op: 'gc', params: { network: 'n', validAttachments: attachments } }) + '\n';
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_LINE_BYTES - 200);
    const { responses } = await rawExchange(socketPath, [text]);
    expect(responses[0]).toMatchObject({ id: 1, ok: true, result: { released: expect.any(Number) } });
    console.log(`gc fits ${n} attachments with 64-char container ids in one ${MAX_LINE_BYTES}-byte line`);
  });

  it('a request split over several writes is served', async () => {
    const text = addLine(11, { ...KEY, containerId: 'split1' });
    const parts = [text.slice(0, 5), text.slice(5, 30), text.slice(30, 31), text.slice(31)];
    const { responses } = await rawExchange(socketPath, parts, { pauseMs: 20 });
    expect(responses).toEqual([{ id: 11, ok: true, result: expect.objectContaining({ interfaceId: 'eni-0a1b2c3d' }) }]);
    // Split in the middle of a multi-byte character too (an ifName may hold UTF-8 within its 15 bytes).
    const withE = Buffer.from(add({ ...KEY, containerId: 'split2', ifName: 'vé0' }));
    const cut = withE.indexOf(Buffer.from('é')) + 1;
    const r2 = await rawExchange(socketPath, [withE.subarray(0, cut), withE.subarray(cut)], { pauseMs: 20 });
    expect(r2.responses).toEqual([{ id: 3, ok: true, result: expect.objectContaining({ ip: expect.any(String) }) }]);
    expect(service.calls.at(-1)).toMatchObject({ op: 'add', containerId: 'split2' });
  });

  it('half a line then a half-close gets invalid-request; then a disconnect mid-line breaks nothing', async () => {
    const half = await rawExchange(socketPath, ['{"id":1,"op":"sta'], { after: 'end' });
    expect(half.responses).toEqual([
      { id: null, ok: false, error: { code: 'invalid-request', message: 'connection ended in the middle of a request line (no newline)' } },
    ]);
    await rawExchange(socketPath, ['{"id":1,"op":"add","params":{"key":'], { after: 'destroy' });
    await stillServes();
  });

  it('half a line then silence is answered and closed after the idle timeout', async () => {
    const t0 = performance.now();
    const idle = await rawExchange(socketPath, ['{"id":1'], { after: 'keep', waitMs: 3000 });
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(idle.responses[0]).toMatchObject({ error: { code: 'invalid-request', message: expect.stringMatching(/incomplete request line/) } });
  });

  it('blank lines are ignored; a bad line does not spoil the good ones around it', async () => {
    const { responses } = await rawExchange(socketPath, ['\n\r\n' + line({ id: 1, op: 'status' }) + 'garbage\n' + line({ id: 2, op: 'status', params: {} })], {
      expect: 3,
    });
    expect(responses).toHaveLength(3);
    expect(responses.filter((r) => r.ok === true).map((r) => r.id).sort()).toEqual([1, 2]);
    expect(responses.find((r) => r.ok === false)).toMatchObject({ id: null, error: { code: 'invalid-request' } });
  });

  it('binary garbage gets invalid-request', async () => {
    for (let i = 0; i < 20; i++) {
      const bytes = randomBytes(200).filter((b) => b !== 0x0a);
      const { responses } = await rawExchange(socketPath, [Buffer.concat([Buffer.from(bytes), Buffer.from('\n')])]);
      expect(responses).toHaveLength(1);
      expect(responses[0]).toMatchObject({ ok: false, error: { code: 'invalid-request' } });
    }
    await stillServes();
  });

  it('survives 1,000 garbage connections in a row and a flood of bad lines nobody reads', async () => {
    const before = service.calls.length;
    for (let i = 0; i < 1000; i++) {
      await new Promise<void>((resolve) => {
        const s = net.createConnection(socketPath);
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.on('connect', () => {
          const kind = i % 4;
          if (kind === 0) s.end(randomBytes(64));
          else if (kind === 1) s.end(Buffer.concat([randomBytes(32), Buffer.from('\n')]));
          else if (kind === 2) s.destroy();
          else {
            s.write('{"id":' + i);
            s.destroy();
          }
        });
        s.resume();
      });
    }
    // One client writes 20,000 bad lines and never reads the answers.
    const flood = net.createConnection(socketPath);
    flood.on('error', () => {});
    flood.on('connect', () => flood.end('x\n'.repeat(20_000)));
    await sleep(300);
    await stillServes();
    flood.destroy();
    expect(service.calls.length).toBe(before + 1); // the status of stillServes, nothing else
    expect(log.entries.filter((e) => e.level === 'error')).toEqual([]);
  });
});
