/** Combinations of variables that are valid but do not do what a reader of them may expect. */
import { ipTargetsTakePrecedence } from './targets.ts';
import type { IpamdConfig } from './groups.ts';
import type { Specs } from './variables.ts';

export function crossFieldWarnings(c: IpamdConfig, isSet: (key: keyof Specs) => boolean): string[] {
  const warnings: string[] = [];
  const t = c.pool.targets;
  const prefixes = t.mode === 'prefixes';
  const ipTargets = ipTargetsTakePrecedence(t);
  const ipTargetNames = [t.warmIpTarget > 0 ? `WARM_IP_TARGET=${t.warmIpTarget}` : '', t.minimumIpTarget > 0 ? `MINIMUM_IP_TARGET=${t.minimumIpTarget}` : '']
    .filter((s) => s !== '')
    .join(' and ');

  if (prefixes && isSet('WARM_ENI_TARGET') && t.warmEniTarget > 0) {
    warnings.push(
      `WARM_ENI_TARGET=${t.warmEniTarget} is ignored because ENABLE_PREFIX_DELEGATION=true: the warm pool is sized by ` +
        (ipTargets ? ipTargetNames : `WARM_PREFIX_TARGET=${t.warmPrefixTarget}`),
    );
  } else if (!prefixes && ipTargets && isSet('WARM_ENI_TARGET') && t.warmEniTarget > 0) {
    warnings.push(`WARM_ENI_TARGET=${t.warmEniTarget} is ignored because ${ipTargetNames} take precedence`);
  }
  if (prefixes && ipTargets && isSet('WARM_PREFIX_TARGET')) {
    warnings.push(`WARM_PREFIX_TARGET=${t.warmPrefixTarget} is ignored because ${ipTargetNames} take precedence`);
  }
  if (!prefixes && isSet('WARM_PREFIX_TARGET')) {
    warnings.push(`WARM_PREFIX_TARGET=${t.warmPrefixTarget} has no effect without ENABLE_PREFIX_DELEGATION=true`);
  }
  if (prefixes && !ipTargets && t.warmPrefixTarget === 0) {
    warnings.push(
      'ENABLE_PREFIX_DELEGATION=true with WARM_PREFIX_TARGET=0 keeps no warm prefix: a prefix is added only once every address is taken, so pods wait for it; set WARM_PREFIX_TARGET or WARM_IP_TARGET',
    );
  }
  if (c.cloud.name === 'azure' && !ipTargets && !prefixes && t.warmEniTarget > 0) {
    warnings.push(
      `WARM_ENI_TARGET=${t.warmEniTarget} on Azure keeps ${t.warmEniTarget} whole NIC's worth of addresses free (up to 255 each) and NICs cannot be added to a running VM; WARM_IP_TARGET is the usual choice there`,
    );
  }
  if (t.minimumIpTarget > 0 && t.warmIpTarget === 0) {
    warnings.push(
      `MINIMUM_IP_TARGET=${t.minimumIpTarget} without WARM_IP_TARGET: the pool holds ${t.minimumIpTarget} addresses and does not grow once they are all in use; set WARM_IP_TARGET to keep free addresses beyond them`,
    );
  }
  return warnings;
}
