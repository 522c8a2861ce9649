/**
 * The rule that decides which targets size the warm pool, written once: the
 * policy plans by it, the configuration warns by it and a NodeNetworkConfig
 * merges its targets with the environment's by it.
 */
import type { PoolTargets } from '../common/types.ts';

/** WARM_IP_TARGET / MINIMUM_IP_TARGET (either > 0) take precedence over WARM_ENI_TARGET and WARM_PREFIX_TARGET. */
export function ipTargetsTakePrecedence(targets: Pick<PoolTargets, 'warmIpTarget' | 'minimumIpTarget'>): boolean {
  return targets.warmIpTarget > 0 || targets.minimumIpTarget > 0;
}
