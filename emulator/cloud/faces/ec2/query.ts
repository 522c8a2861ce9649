/** A refusal of the face's own (a parse failure, a rule of EC2's the model does not know) that it answers with the code it names. */
export class QueryError extends Error {
  constructor(
    readonly code:
      | 'MissingParameter'
      | 'InvalidParameterValue'
      | 'InvalidParameterCombination'
      | 'InvalidPermission.Malformed'
      | 'InvalidGroupId.Malformed'
      | 'InvalidGroup.Reserved'
      | 'InvalidSecurityGroupRuleId.NotFound'
      | 'CannotDelete'
      | 'VPCIdNotSpecified',
    message: string,
  ) {
    super(message);
  }
}

export interface Filter {
  name: string;
  values: string[];
}

/** Typed access to an EC2 Query request's flattened, 1-based parameters. */
export class QueryParams {
  private readonly params: Map<string, string>;

  constructor(body: string) {
    this.params = new Map(new URLSearchParams(body));
  }

  get action(): string {
    return this.params.get('Action') ?? '';
  }

  names(): string[] {
    return [...this.params.keys()];
  }

  optional(name: string): string | undefined {
    return this.params.get(name);
  }

  required(name: string): string {
    const value = this.params.get(name);
    if (value === undefined || value === '') throw new QueryError('MissingParameter', `The request must contain the parameter ${name}`);
    return value;
  }

  int(name: string, min: number, max: number): number | undefined {
    const raw = this.params.get(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      throw new QueryError('InvalidParameterValue', `Value (${raw}) for parameter ${name} is invalid. Expected an integer from ${min} to ${max}.`);
    }
    return value;
  }

  requiredInt(name: string, min: number, max: number): number {
    const value = this.int(name, min, max);
    if (value === undefined) throw new QueryError('MissingParameter', `The request must contain the parameter ${name}`);
    return value;
  }

  bool(name: string): boolean | undefined {
    const raw = this.params.get(name);
    if (raw === undefined) return undefined;
    if (raw !== 'true' && raw !== 'false') throw new QueryError('InvalidParameterValue', `Value (${raw}) for parameter ${name} is invalid. Expected true or false.`);
    return raw === 'true';
  }

  /** `Name.1`, `Name.2`, ... in order, stopping at the first gap. */
  list(name: string): string[] {
    const out: string[] = [];
    for (let i = 1; ; i++) {
      const value = this.params.get(`${name}.${i}`);
      if (value === undefined) return out;
      out.push(value);
    }
  }

  filters(): Filter[] {
    const out: Filter[] = [];
    for (let i = 1; ; i++) {
      const name = this.params.get(`Filter.${i}.Name`);
      if (name === undefined) return out;
      const values = this.list(`Filter.${i}.Value`);
      if (values.length === 0) throw new QueryError('InvalidParameterValue', `The filter '${name}' has no values`);
      out.push({ name, values });
    }
  }

  /** Tags from `Tag.N.Key` / `Tag.N.Value` under an optional prefix. */
  tags(prefix = ''): Record<string, string> {
    const out: Record<string, string> = {};
    for (let i = 1; ; i++) {
      const key = this.params.get(`${prefix}Tag.${i}.Key`);
      if (key === undefined) return out;
      out[key] = this.params.get(`${prefix}Tag.${i}.Value`) ?? '';
    }
  }
}

/** EC2 filter values accept `*` and `?` wildcards. */
export function filterMatches(values: string[], actual: string | undefined): boolean {
  if (actual === undefined) return false;
  return values.some((pattern) => {
    if (!/[*?]/.test(pattern)) return pattern === actual;
    const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return regex.test(actual);
  });
}
