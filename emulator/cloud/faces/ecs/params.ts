import { ipToNumber, parseCidr } from '../../../../lib/ipv4.ts';

/** A failure the ECS face answers with the code, message and HTTP status it names. */
export class RpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export const missing = (name: string): RpcError =>
  new RpcError('MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);

export const invalid = (name: string, detail = ''): RpcError =>
  new RpcError('InvalidParameter', `The specified parameter "${name}" is not valid.${detail ? ` ${detail}` : ''}`);

/**
 * Typed access to an ECS RPC request's parameters: flat names, lists as
 * `Name.1`, `Name.2`... (1-based, as the SDK flattens them), tags as
 * `Tag.N.Key` / `Tag.N.Value`.
 */
export class RpcParams {
  private readonly params: Map<string, string>;

  constructor(entries: Iterable<[string, string]>) {
    this.params = new Map();
    // The first value of a repeated name wins, as on the real gateway.
    for (const [key, value] of entries) if (!this.params.has(key)) this.params.set(key, value);
  }

  has(name: string): boolean {
    return this.params.has(name);
  }

  optional(name: string): string | undefined {
    return this.params.get(name);
  }

  required(name: string): string {
    const value = this.params.get(name);
    if (value === undefined || value === '') throw missing(name);
    return value;
  }

  int(name: string, min: number, max: number): number | undefined {
    const raw = this.params.get(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!/^-?\d{1,15}$/.test(raw) || value < min || value > max) throw invalid(name, `Expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}.`);
    return value;
  }

  bool(name: string): boolean | undefined {
    const raw = this.params.get(name);
    if (raw === undefined) return undefined;
    if (raw !== 'true' && raw !== 'false') throw invalid(name, `Expected true or false, got ${JSON.stringify(raw)}.`);
    return raw === 'true';
  }

  /** `Name.1` ... `Name.N` in order, at most `max`; a gap or an empty value is an error, not a silent stop. */
  list(name: string, max = 100): string[] {
    const out: string[] = [];
    const indexes: number[] = [];
    const pattern = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d{1,4})$`);
    for (const key of this.params.keys()) {
      const match = pattern.exec(key);
      if (match) indexes.push(Number(match[1]));
    }
    indexes.sort((a, b) => a - b);
    for (const [position, index] of indexes.entries()) {
      if (index !== position + 1) throw invalid(`${name}.${index}`, `${name}.N must be numbered from 1 without gaps.`);
      const value = this.params.get(`${name}.${index}`) ?? '';
      if (value === '') throw invalid(`${name}.${index}`, 'The value is empty.');
      out.push(value);
    }
    if (out.length > max) throw invalid(`${name}.N`, `At most ${max} values are allowed.`);
    return out;
  }

  /** The N of `Name.N.Field` parameters (structured lists such as Permissions.N.Policy), 1 to N without gaps, at most `max`. */
  structuredIndexes(name: string, max: number): number[] {
    const pattern = new RegExp(`^${name.replace(/\./g, '\\.')}\\.(\\d{1,4})\\.[A-Za-z]+$`);
    const found = new Set<number>();
    for (const key of this.params.keys()) {
      const match = pattern.exec(key);
      if (match) found.add(Number(match[1]));
    }
    const sorted = [...found].sort((a, b) => a - b);
    for (const [position, index] of sorted.entries()) {
      if (index !== position + 1) throw invalid(`${name}.${index}`, `${name}.N must be numbered from 1 without gaps.`);
    }
    if (sorted.length > max) throw invalid(`${name}.N`, `At most ${max} values are allowed.`);
    return sorted;
  }

  /** `Tag.N.Key` / `Tag.N.Value` (N from 1 to 20) as given; a value may be left out, a key may not. */
  private tagEntries(max: number): Array<{ key: string; value: string | undefined }> {
    const indexes = new Set<number>();
    for (const key of this.params.keys()) {
      const match = /^Tag\.(\d{1,4})\.(Key|Value)$/.exec(key);
      if (match) indexes.add(Number(match[1]));
    }
    const sorted = [...indexes].sort((a, b) => a - b);
    if (sorted.length > max) throw invalid('Tag.N', `At most ${max} tags are allowed.`);
    return sorted.map((index, position) => {
      if (index !== position + 1) throw invalid(`Tag.${index}`, 'Tag.N must be numbered from 1 without gaps.');
      const key = this.params.get(`Tag.${index}.Key`) ?? '';
      if (key === '' || key.length > 128) throw new RpcError('InvalidTagKey.Malformed', `The specified Tag.${index}.Key is not valid: a key has 1 to 128 characters.`);
      const value = this.params.get(`Tag.${index}.Value`);
      if (value !== undefined && value.length > 128) throw new RpcError('InvalidTagValue.Malformed', `The specified Tag.${index}.Value is not valid: a value has at most 128 characters.`);
      return { key, value };
    });
  }

  /** Tags to set: keys starting with aliyun or acs: are the cloud's own. */
  tags(max = 20): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [i, { key, value }] of this.tagEntries(max).entries()) {
      if (/^(aliyun|acs:)/i.test(key)) throw new RpcError('InvalidTagKey.Malformed', `The specified Tag.${i + 1}.Key may not start with aliyun or acs:.`);
      out[key] = value ?? '';
    }
    return out;
  }

  /** Tag filters of a Describe call: a key alone matches any value. */
  tagFilters(max = 20): Array<{ key: string; value?: string }> {
    return this.tagEntries(max).map(({ key, value }) => (value === undefined ? { key } : { key, value }));
  }

  /** An IPv4 address; InvalidParameter naming the parameter when it does not parse. */
  ip(name: string, value: string): string {
    try {
      ipToNumber(value);
    } catch {
      throw invalid(name, `${JSON.stringify(value)} is not an IPv4 address.`);
    }
    return value;
  }

  /** An IPv4 CIDR block of the given prefix length (the network address, not a host in it). */
  cidr(name: string, value: string, prefixLength: number): string {
    let parsed: { prefixLength: number };
    try {
      parsed = parseCidr(value);
    } catch {
      throw invalid(name, `${JSON.stringify(value)} is not an IPv4 CIDR block.`);
    }
    if (parsed.prefixLength !== prefixLength) throw invalid(name, `IPv4 prefixes are /${prefixLength} blocks, got ${value}.`);
    return value;
  }
}
