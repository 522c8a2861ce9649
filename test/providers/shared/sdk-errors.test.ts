import { describe, expect, it } from 'vitest';
import { CloudError, unlessNotFound } from '../../../providers/errors.ts';
import { classify, codeTable, isTransientFailure, mapSdkError, notFoundBySuffix, type ThrownShape } from '../../../providers/shared/sdk-errors.ts';

describe('codeTable', () => {
  it('turns codes by meaning into a lookup, a limit giving its kind', () => {
    const table = codeTable({
      throttled: ['Slow', 'Slower'],
      'interfaces-per-instance': ['TooManyNics'],
      'addresses-per-interface': ['TooManyIps'],
      'account-quota': ['Quota'],
      'subnet-addresses': ['Full'],
      'subnet-prefixes': ['NoBlocks'],
      'not-found': ['Gone'],
    });
    expect(table).toEqual({
      Slow: { kind: 'throttled' },
      Slower: { kind: 'throttled' },
      TooManyNics: { kind: 'limit-exceeded', limit: 'interfaces-per-instance' },
      TooManyIps: { kind: 'limit-exceeded', limit: 'addresses-per-interface' },
      Quota: { kind: 'limit-exceeded', limit: 'account-quota' },
      Full: { kind: 'subnet-full', limit: 'subnet-addresses' },
      NoBlocks: { kind: 'subnet-full', limit: 'subnet-prefixes' },
      Gone: { kind: 'not-found' },
    });
  });
});

describe('classify', () => {
  it('takes the first rule that applies, in order', () => {
    expect(classify('X', 400, [undefined, false, { kind: 'throttled' }, { kind: 'unauthorized' }])).toEqual({ kind: 'throttled' });
  });

  it('falls back to the shared rule: no answer or a server error is transient, the rest invalid', () => {
    expect(classify('X', undefined, [])).toEqual({ kind: 'transient' });
    expect(classify('X', 503, [])).toEqual({ kind: 'transient' });
    expect(classify('ECONNRESET', 400, [])).toEqual({ kind: 'transient' });
    expect(classify('X', 409, [undefined])).toEqual({ kind: 'invalid-request' });
    expect(isTransientFailure('UND_ERR_SOCKET', 200)).toBe(true);
    expect(isTransientFailure('X', 499)).toBe(false);
  });

  it('knows the .NotFound suffix', () => {
    expect(notFoundBySuffix('InvalidVpcID.NotFound')).toEqual({ kind: 'not-found' });
    expect(notFoundBySuffix('NotFoundish')).toBeUndefined();
  });
});

describe('mapSdkError', () => {
  interface Shape extends ThrownShape {
    status?: number;
  }
  const read = (shape: Shape) => ({ code: shape.code ?? 'UnknownError', httpStatus: shape.status, detail: shape.message ?? 'none', class: classify(shape.code ?? '', shape.status, []) });

  it('keeps the code, status, retry hint and cause, and prefixes the operation', () => {
    const thrown = Object.assign(new Error('slow down'), { code: 'Busy', status: 429 });
    const err = mapSdkError<Shape>(thrown, 'DescribeSubnets', (shape) => ({ ...read(shape), class: { kind: 'throttled' }, retryAfterMs: 1500 }));
    expect(err).toBeInstanceOf(CloudError);
    expect(err).toMatchObject({ kind: 'throttled', code: 'Busy', httpStatus: 429, retryAfterMs: 1500, operation: 'DescribeSubnets', message: 'DescribeSubnets: slow down', limit: undefined });
    expect(err.cause).toBe(thrown);
  });

  it('passes a CloudError through untouched, and reads a non-object as an empty shape', () => {
    const original = new CloudError({ kind: 'not-found', code: 'Gone', message: 'gone' });
    expect(mapSdkError<Shape>(original, 'op', read)).toBe(original);
    expect(mapSdkError<Shape>('a string', 'op', read)).toMatchObject({ kind: 'transient', code: 'UnknownError', message: 'op: none', httpStatus: undefined });
  });
});

describe('unlessNotFound', () => {
  it('turns a not-found failure into undefined and lets others through', async () => {
    expect(await unlessNotFound(Promise.resolve(1))).toBe(1);
    expect(await unlessNotFound(Promise.reject(new CloudError({ kind: 'not-found', code: 'Gone', message: 'gone' })))).toBeUndefined();
    const throttled = new CloudError({ kind: 'throttled', code: 'Slow', message: 'slow' });
    await expect(unlessNotFound(Promise.reject(throttled))).rejects.toBe(throttled);
  });
});
