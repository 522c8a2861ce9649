import type { z } from 'zod';
import { invalidRequest } from './errors.ts';

/** A JSON request body checked against its schema; ARM's InvalidRequestFormat otherwise. */
export function parseJsonBody<T>(raw: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidRequest('The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidRequest(`Property '${issue?.path.join('.') || '(body)'}': ${issue?.message ?? 'invalid'}.`);
  }
  return parsed.data;
}
