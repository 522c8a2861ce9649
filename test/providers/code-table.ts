import { expect, it } from 'vitest';
import { CloudError } from '../../providers/errors.ts';

/**
 * One test per row of a cloud's code table, written as text: `code status
 * kind [limit]` a line. The SDK error that cloud throws for (code, status)
 * maps to the kind and limit the row names, keeps the code, the status and
 * the operation, and is retryable exactly when throttled or transient.
 */
export function itMapsCodeTable(table: string, operation: string, mapped: (code: string, status: number, operation: string) => CloudError): void {
  const rows = table
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map(([code = '', status = '', kind = '', limit]) => [code, Number(status), kind, limit] as const);
  it.each(rows)('maps %s (HTTP %i) to %s', (code, status, kind, limit) => {
    expect(Number.isInteger(status), `${code}: status`).toBe(true);
    const err = mapped(code, status, operation);
    expect(err).toBeInstanceOf(CloudError);
    expect(err).toMatchObject({ kind, code, httpStatus: status, operation });
    expect(err.limit).toBe(limit);
    expect(err.message).toMatch(new RegExp(`^${operation}: `));
    expect(err.retryable).toBe(kind === 'throttled' || kind === 'transient');
  });
}
