import { expect, it } from 'vitest';
import { CloudError, type CloudErrorKind, type CloudLimit } from '../../providers/errors.ts';

export type CodeCase = [code: string, status: number, kind: CloudErrorKind, limit: CloudLimit | undefined];

/**
 * One test per row of a cloud's code table: the SDK error that cloud throws
 * for (code, status) maps to the kind and limit the row names, keeps the code,
 * the status and the operation, and is retryable exactly when throttled or
 * transient.
 */
export function itMapsCodeTable(cases: CodeCase[], operation: string, mapped: (code: string, status: number, operation: string) => CloudError): void {
  it.each(cases)('maps %s (HTTP %i) to %s', (code, status, kind, limit) => {
    const err = mapped(code, status, operation);
    expect(err).toBeInstanceOf(CloudError);
    expect(err).toMatchObject({ kind, code, httpStatus: status, operation });
    expect(err.limit).toBe(limit);
    expect(err.message).toMatch(new RegExp(`^${operation}: `));
    expect(err.retryable).toBe(kind === 'throttled' || kind === 'transient');
  });
}
