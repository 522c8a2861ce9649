import type { BucketSpec } from '../../realism/throttle.ts';
import type { QueryParams } from './query.ts';

/**
 * EC2's documented token buckets (capacity, refill per second). Each action
 * in the action table names the bucket class it draws from: `other` is the
 * page's "mutating actions", `resource-intensive` its list of the same name
 * (Authorize/RevokeSecurityGroup*), `interface-mutation` and `tagging` the
 * uncategorized actions with their own sizes.
 */
export type Ec2BucketClass = 'describe' | 'interface-mutation' | 'tagging' | 'resource-intensive' | 'other';

const sizes: Record<Exclude<Ec2BucketClass, 'describe'>, BucketSpec> = {
  'interface-mutation': { capacity: 100, refillPerSecond: 5 },
  tagging: { capacity: 100, refillPerSecond: 10 },
  'resource-intensive': { capacity: 50, refillPerSecond: 5 },
  other: { capacity: 50, refillPerSecond: 5 },
};

export function ec2Bucket(bucketClass: Ec2BucketClass, params: QueryParams): BucketSpec {
  if (bucketClass !== 'describe') return sizes[bucketClass];
  // A Describe with nothing but Action and Version lists everything: EC2 gives those a smaller bucket.
  const unfiltered = params.names().every((name) => name === 'Action' || name === 'Version');
  return unfiltered ? { capacity: 50, refillPerSecond: 10 } : { capacity: 100, refillPerSecond: 20 };
}
