import { describe, expect, it } from 'vitest';
import { QueryError, QueryParams, filterMatches } from '../../../../emulator/cloud/faces/ec2/query.ts';

function queryError(fn: () => unknown): QueryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(QueryError);
    return err as QueryError;
  }
  throw new Error('expected a QueryError');
}

describe('QueryParams', () => {
  it('reads the action, names and plain values, form-decoded', () => {
    const params = new QueryParams('Action=DescribeSubnets&Version=2016-11-15&Description=a+b%26c&Empty=');
    expect(params.action).toBe('DescribeSubnets');
    expect(params.names()).toEqual(['Action', 'Version', 'Description', 'Empty']);
    expect(params.optional('Description')).toBe('a b&c');
    expect(params.optional('Empty')).toBe('');
    expect(params.optional('Missing')).toBeUndefined();
    expect(new QueryParams('').action).toBe('');
  });

  it('requires non-empty values', () => {
    const params = new QueryParams('SubnetId=subnet-1&Empty=');
    expect(params.required('SubnetId')).toBe('subnet-1');
    for (const name of ['Empty', 'Missing']) {
      const err = queryError(() => params.required(name));
      expect(err.code).toBe('MissingParameter');
      expect(err.message).toContain(name);
    }
  });

  it('parses integers strictly within bounds', () => {
    const params = (value: string): QueryParams => new QueryParams(new URLSearchParams({ N: value }).toString());
    expect(params('5').int('N', 5, 1000)).toBe(5);
    expect(params('1000').int('N', 5, 1000)).toBe(1000);
    expect(params('-3').int('N', -5, 5)).toBe(-3);
    expect(new QueryParams('').int('N', 0, 1)).toBeUndefined();
    for (const bad of ['4', '1001', '1.0', '1e2', '0x10', ' 7', '7 ', '', 'seven', '+7']) {
      const err = queryError(() => params(bad).int('N', 5, 1000));
      expect(err.code, bad).toBe('InvalidParameterValue');
      expect(err.message).toContain('N');
    }
    expect(queryError(() => new QueryParams('').requiredInt('N', 0, 1)).code).toBe('MissingParameter');
    expect(params('1').requiredInt('N', 0, 1)).toBe(1);
  });

  it('parses booleans as exactly true or false', () => {
    expect(new QueryParams('B=true').bool('B')).toBe(true);
    expect(new QueryParams('B=false').bool('B')).toBe(false);
    expect(new QueryParams('').bool('B')).toBeUndefined();
    for (const bad of ['True', '1', 'yes', '']) expect(queryError(() => new QueryParams(`B=${bad}`).bool('B')).code).toBe('InvalidParameterValue');
  });

  it('reads 1-based lists in order, stopping at the first gap', () => {
    const params = new QueryParams('Id.2=b&Id.1=a&Id.3=c&Id.5=e&Other.1=x');
    expect(params.list('Id')).toEqual(['a', 'b', 'c']);
    expect(params.list('None')).toEqual([]);
    expect(new QueryParams('Id.0=z&Id.2=b').list('Id')).toEqual([]);
  });

  it('reads filters with their values', () => {
    const params = new QueryParams(
      new URLSearchParams({
        'Filter.1.Name': 'tag:Name',
        'Filter.1.Value.1': 'a*',
        'Filter.1.Value.2': 'b',
        'Filter.2.Name': 'vpc-id',
        'Filter.2.Value.1': 'vpc-1',
        'Filter.4.Name': 'ignored',
        'Filter.4.Value.1': 'x',
      }).toString(),
    );
    expect(params.filters()).toEqual([
      { name: 'tag:Name', values: ['a*', 'b'] },
      { name: 'vpc-id', values: ['vpc-1'] },
    ]);
    const err = queryError(() => new QueryParams('Filter.1.Name=vpc-id&Filter.1.Value.2=x').filters());
    expect(err.code).toBe('InvalidParameterValue');
    expect(err.message).toContain('vpc-id');
  });

  it('reads tags under a prefix, a missing value being empty', () => {
    const params = new QueryParams(
      new URLSearchParams({
        'Tag.1.Key': 'plain',
        'Tag.1.Value': 'p',
        'TagSpecification.1.Tag.1.Key': 'k1',
        'TagSpecification.1.Tag.1.Value': 'v1',
        'TagSpecification.1.Tag.2.Key': 'k2',
      }).toString(),
    );
    expect(params.tags()).toEqual({ plain: 'p' });
    expect(params.tags('TagSpecification.1.')).toEqual({ k1: 'v1', k2: '' });
    expect(params.tags('TagSpecification.2.')).toEqual({});
  });
});

describe('filterMatches', () => {
  it('matches exact values without wildcards', () => {
    expect(filterMatches(['abc'], 'abc')).toBe(true);
    expect(filterMatches(['abc'], 'ABC')).toBe(false);
    expect(filterMatches(['abc'], 'abcd')).toBe(false);
    expect(filterMatches(['a.c'], 'abc')).toBe(false);
  });

  it('treats * as any run of characters and ? as exactly one', () => {
    expect(filterMatches(['demo-*'], 'demo-')).toBe(true);
    expect(filterMatches(['demo-*'], 'demo-pods-1')).toBe(true);
    expect(filterMatches(['*-1'], 'demo-pods-1')).toBe(true);
    expect(filterMatches(['*pods*'], 'demo-pods-1')).toBe(true);
    expect(filterMatches(['demo-?'], 'demo-1')).toBe(true);
    expect(filterMatches(['demo-?'], 'demo-')).toBe(false);
    expect(filterMatches(['demo-?'], 'demo-12')).toBe(false);
    expect(filterMatches(['*'], '')).toBe(true);
    expect(filterMatches(['d*'], 'xdemo')).toBe(false);
  });

  it('takes every other character literally in a wildcard pattern', () => {
    expect(filterMatches(['a.c*'], 'abcd')).toBe(false);
    expect(filterMatches(['a.c*'], 'a.cd')).toBe(true);
    expect(filterMatches(['[ab]*'], 'a')).toBe(false);
    expect(filterMatches(['[ab]*'], '[ab]x')).toBe(true);
    expect(filterMatches(['(x|y)*'], 'x')).toBe(false);
    expect(filterMatches(['$^+{1}\\*'], '$^+{1}\\z')).toBe(true);
    expect(filterMatches(['10.0.*.0/20'], '10.0.16.0/20')).toBe(true);
    expect(filterMatches(['10.0.*.0/20'], '10.0.16.0/200')).toBe(false);
  });

  it('matches when any value matches, and never an absent field', () => {
    expect(filterMatches(['x', 'y*'], 'yes')).toBe(true);
    expect(filterMatches([], 'yes')).toBe(false);
    expect(filterMatches(['*'], undefined)).toBe(false);
  });
});
