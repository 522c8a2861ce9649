import { describe, expect, it } from 'vitest';
import { connectErrorCode, settleAnswer } from '../../wire/answer.ts';
import { IpamError, isServerErrorCode } from '../../wire/errors.ts';
import { ERROR_CODES } from '../../wire/protocol.ts';

const socket = '/run/vpc-cni/ipamd.sock';

describe("reading ipamd's answer", () => {
  it('takes the result of an ok answer to request 1', () => {
    expect(settleAnswer('{"id":1,"ok":true,"result":{"ready":true}}', socket)).toStrictEqual({ result: { ready: true } });
  });

  it('turns an error answer into an IpamError with its code, message and limit', () => {
    const settled = settleAnswer('{"id":1,"ok":false,"error":{"code":"exhausted","message":"full (limit: max-eni)","limit":"max-eni"}}', socket);
    expect('failure' in settled && settled.failure).toBeInstanceOf(IpamError);
    expect(settled).toMatchObject({ failure: { name: 'IpamError', code: 'exhausted', message: 'full (limit: max-eni)', limit: 'max-eni' } });
    expect(settleAnswer('{"id":1,"ok":false,"error":{"code":"busy"}}', socket)).toMatchObject({ failure: { code: 'busy', message: 'busy', limit: undefined } });
  });

  it('calls anything else a protocol error naming the socket', () => {
    for (const line of ['HTTP/1.1 400 Bad Request', '{"id":2,"ok":true,"result":{}}', '{"id":1,"ok":"yes"}', '{"id":1,"ok":true,"result":null}', 'null']) {
      const settled = settleAnswer(line, socket);
      expect(settled, line).toMatchObject({ failure: { code: 'protocol' } });
      expect('failure' in settled ? settled.failure.message : '', line).toContain(socket);
    }
  });

  it('maps a failed connect: full listen queue is busy, no listener unreachable, the rest protocol', () => {
    expect(connectErrorCode('EAGAIN')).toBe('busy');
    for (const code of ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK']) expect(connectErrorCode(code)).toBe('unreachable');
    expect(connectErrorCode('EPIPE')).toBe('protocol');
    expect(connectErrorCode(undefined)).toBe('protocol');
  });

  it("keeps the client's own codes apart from the server's", () => {
    for (const code of ERROR_CODES) expect(isServerErrorCode(code), code).toBe(true);
    for (const code of ['unreachable', 'timeout', 'protocol'] as const) expect(isServerErrorCode(code), code).toBe(false);
  });
});
