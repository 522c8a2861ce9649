/**
 * metav1.LabelSelector: its schema and whether it selects a set of labels,
 * with Kubernetes' semantics (matchLabels and every matchExpression must
 * hold; an empty selector selects everything).
 */
import { z } from 'zod';

const labelValue = z.string().max(63, { error: 'label values are at most 63 characters' });

const requirement = z
  .object({
    key: z.string().min(1, { error: 'a matchExpression needs a key' }),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist'], { error: 'operator must be In, NotIn, Exists or DoesNotExist' }),
    values: z.array(labelValue).optional(),
  })
  .superRefine((r, ctx) => {
    const count = r.values?.length ?? 0;
    if ((r.operator === 'In' || r.operator === 'NotIn') && count === 0) ctx.addIssue({ code: 'custom', message: `matchExpression on ${r.key}: ${r.operator} needs at least one value` });
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && count > 0) ctx.addIssue({ code: 'custom', message: `matchExpression on ${r.key}: ${r.operator} takes no values` });
  });

export const labelSelectorSchema = z.object({
  matchLabels: z.record(z.string(), labelValue).optional(),
  matchExpressions: z.array(requirement).optional(),
});

export type LabelSelector = z.infer<typeof labelSelectorSchema>;

export function selectorMatches(selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    const ok =
      r.operator === 'Exists'
        ? has
        : r.operator === 'DoesNotExist'
          ? !has
          : r.operator === 'In'
            ? has && (r.values ?? []).includes(value ?? '')
            : !has || !(r.values ?? []).includes(value ?? '');
    if (!ok) return false;
  }
  return true;
}
