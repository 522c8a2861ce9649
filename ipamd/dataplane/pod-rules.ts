import { ipJson } from '../../lib/iproute.ts';
import { interfaceRulePriority, podRulePriority } from './routing.ts';

/**
 * Which pod addresses have their policy rules in this namespace: `to IP
 * lookup main` at 512 and `from IP lookup <table>` at 1536. Knowing it lets
 * ADD and DEL delete only rules that exist instead of running deletes whose
 * failure is the normal case (which made every ADD's `ip -batch` exit 1).
 *
 * Learnt from the kernel once (`ip -j rule show`, on first use, so whatever a
 * crashed predecessor left is known), then kept by this process's own adds
 * and deletes. After a batch that failed part-way, what it did is unknown:
 * `forget` makes the next use read the kernel again.
 *
 * Operations on one address never overlap (one per container at a time, and
 * an address belongs to one container), so per-address updates need no lock;
 * each applies to whichever snapshot is current when it is made, which was
 * read from the kernel before or after that operation's change, never during.
 */
export type PodRuleKind = 'to' | 'from';

/** A rule as `ip -j rule show` prints it. */
export interface RuleJson {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  table?: string;
}

const ruleKey = (kind: PodRuleKind, ip: string): string => `${kind} ${ip}`;

/** The pod rules among all rules: a /32 destination at 512 or a /32 source at 1536. */
export function podRuleKeys(rules: RuleJson[]): Set<string> {
  const keys = new Set<string>();
  for (const rule of rules) {
    if (rule.priority === podRulePriority && rule.dst && (rule.dstlen ?? 32) === 32) keys.add(ruleKey('to', rule.dst));
    if (rule.priority === interfaceRulePriority && rule.src && rule.src !== 'all' && (rule.srclen ?? 32) === 32 && !rule.dst) keys.add(ruleKey('from', rule.src));
  }
  return keys;
}

export class PodRuleIndex {
  private snapshot: Promise<Set<string>> | undefined;

  private current(): Promise<Set<string>> {
    if (!this.snapshot) {
      const reading = ipJson<RuleJson[]>([], ['-4', 'rule', 'show']).then(podRuleKeys);
      // A failed read is not cached: the next use tries again.
      reading.catch(() => {
        if (this.snapshot === reading) this.snapshot = undefined;
      });
      this.snapshot = reading;
    }
    return this.snapshot;
  }

  async has(kind: PodRuleKind, ip: string): Promise<boolean> {
    return (await this.current()).has(ruleKey(kind, ip));
  }

  async added(kind: PodRuleKind, ip: string): Promise<void> {
    (await this.current()).add(ruleKey(kind, ip));
  }

  async removed(kind: PodRuleKind, ip: string): Promise<void> {
    (await this.current()).delete(ruleKey(kind, ip));
  }

  /** What the kernel holds is no longer known (a batch failed part-way): read it again on next use. */
  forget(): void {
    this.snapshot = undefined;
  }
}
