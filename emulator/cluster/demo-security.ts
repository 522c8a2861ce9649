import type { CloudModel } from '../cloud/model/cloud.ts';
import { ruleInput } from '../cloud/model/security-limits.ts';
import type { RuleInput } from '../cloud/model/security-types.ts';

/**
 * The demo's security-group step: the cluster's group stops admitting ICMP,
 * in each cloud's own terms, and can be put back as it was.
 * EC2 has no deny: its "members reach each other" rule is narrowed to TCP
 * and UDP. An NSG gets a deny at priority 100; an ECS group a drop at 1.
 */
export interface SecurityChange {
  description: string;
  restore(): void;
}

export function stopAdmittingPing(model: CloudModel, groupId: string): SecurityChange {
  const group = model.getSecurityGroup(groupId);
  if (group.kind === 'aws') {
    const open = group.rules.filter((rule) => rule.direction === 'ingress' && rule.protocol === 'all');
    const narrowed = (protocol: RuleInput['protocol']): RuleInput => ruleInput({ direction: 'ingress', action: 'allow', protocol, remote: [{ kind: 'group', groupId }], description: 'members reach each other (no ICMP)' });
    model.security.removeRules(groupId, open.map((rule) => rule.id));
    const added = model.security.addRules(groupId, [narrowed('tcp'), narrowed('udp')]);
    return {
      description: `revoked ${group.name}'s all-protocol rule from its members, authorized TCP and UDP only`,
      restore: () => {
        model.security.removeRules(groupId, added.map((rule) => rule.id));
        model.security.addRules(groupId, open);
      },
    };
  }
  const deny = ruleInput({
    id: 'demo-deny-icmp',
    direction: 'ingress',
    action: 'deny',
    priority: group.kind === 'nsg' ? 100 : 1,
    protocol: 'icmp',
    remote: [group.kind === 'nsg' ? { kind: 'tag', tag: 'VirtualNetwork' } : { kind: 'cidr', cidr: '0.0.0.0/0' }],
  });
  const [added] = model.security.addRules(groupId, [deny]);
  return {
    description: group.kind === 'nsg' ? `added to ${group.name}: Deny ICMP inbound from VirtualNetwork at priority 100` : `added to ${group.name}: Drop ICMP inbound at priority 1`,
    restore: () => model.security.removeRules(groupId, added ? [added.id] : []),
  };
}
