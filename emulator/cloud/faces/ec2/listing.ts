import { QueryError, filterMatches, type Filter, type QueryParams } from './query.ts';

/** Matches `tag:Key`, `tag-key` and the named fields each resource exposes; an unknown filter name is refused. */
export function matchesFilters(filters: Filter[], fields: (name: string) => string[] | undefined, tags: Record<string, string>): boolean {
  return filters.every((filter) => {
    if (filter.name.startsWith('tag:')) return filterMatches(filter.values, tags[filter.name.slice(4)]);
    if (filter.name === 'tag-key') return Object.keys(tags).some((key) => filterMatches(filter.values, key));
    const actual = fields(filter.name);
    // Not just undefined: field tables are object literals, so `constructor` would find a function.
    if (!Array.isArray(actual)) throw new QueryError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
    return actual.some((value) => filterMatches(filter.values, value));
  });
}

/** Paging with an opaque token that carries the offset; `defaultPage` where the action pages without MaxResults. */
export function page<T>(items: T[], params: QueryParams, maxResultsRange: [number, number], defaultPage?: number): { items: T[]; nextToken?: string } {
  const maxResults = params.int('MaxResults', maxResultsRange[0], maxResultsRange[1]) ?? defaultPage;
  const token = params.optional('NextToken');
  let start = 0;
  if (token !== undefined) {
    const decoded = /^o(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
    if (!decoded) throw new QueryError('InvalidParameterValue', `The token '${token}' is invalid`);
    start = Number(decoded[1]);
  }
  if (maxResults === undefined) return { items: items.slice(start) };
  const end = start + maxResults;
  return {
    items: items.slice(start, end),
    ...(end < items.length ? { nextToken: Buffer.from(`o${end}`).toString('base64url') } : {}),
  };
}
