import type { PoolView } from './introspection.ts';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The node's pool as a person reads it: `vpc-cni-ipamd status`. */
/** Azure ids are resource paths; their last segment (the NIC's name) is what an operator recognises. */
function shortId(id: string): string {
  return id.includes('/') ? (id.split('/').pop() ?? id) : id;
}

export function renderStatus(view: PoolView): string {
  const t = view.targets;
  const targets =
    t.warmIpTarget > 0 || t.minimumIpTarget > 0
      ? `WARM_IP_TARGET=${t.warmIpTarget} MINIMUM_IP_TARGET=${t.minimumIpTarget}`
      : t.mode === 'prefixes'
        ? `WARM_PREFIX_TARGET=${t.warmPrefixTarget}`
        : `WARM_ENI_TARGET=${t.warmEniTarget}`;
  const head = view.instance
    ? `Node ${view.instance.instanceId} (${view.instance.instanceType}, ${view.instance.zone}, ${view.instance.primaryIp})`
    : 'Node (metadata not read yet)';
  const limits = view.limits ? `${view.limits.maxInterfaces} interfaces x ${view.limits.ipv4PerInterface} IPv4` : '-';
  const lines = [
    `${head}  ${view.ready ? 'READY' : 'WARMING'}`,
    `mode ${t.mode}, ${targets}${t.maxEni ? ` MAX_ENI=${t.maxEni}` : ''}; limits ${limits}`,
    '',
    table(
      ['INTERFACE', 'DEV', 'SUBNET', 'PRIMARY IP', 'ADDRESSES', 'FREE', 'ASSIGNED', 'COOLING'],
      view.interfaces.map((nic) => [
        shortId(nic.interfaceId) + (nic.isPrimary ? ' (primary)' : ''),
        String(nic.deviceIndex),
        nic.subnetCidr,
        nic.primaryIp,
        String(nic.free + nic.assigned + nic.cooling),
        String(nic.free),
        String(nic.assigned),
        String(nic.cooling),
      ]),
    ),
    '',
    `total ${view.totals.addresses} addresses on ${view.totals.interfaces} interfaces: ${view.totals.assigned} assigned, ${view.totals.warm} warm, ${view.totals.cooldown} cooling down`,
  ];
  if (view.subnets.length > 0) lines.push(`subnets: ${view.subnets.map((s) => `${s.subnetId} ${s.cidr} (${s.freeAddresses} free)`).join(', ')}`);
  lines.push(`exhausted: ${view.exhausted ? `${view.exhausted.limit}: ${view.exhausted.message}` : 'no'}`);
  lines.push(`last cloud error: ${view.lastCloudError ? `${view.lastCloudError.code} (${view.lastCloudError.kind}) at ${new Date(view.lastCloudError.at).toISOString()}: ${view.lastCloudError.message}` : 'none'}`);
  if (view.allocations.length > 0) {
    lines.push('', table(['POD', 'CONTAINER', 'IF', 'IP', 'SINCE'], view.allocations.map((a) => [a.pod ?? '-', a.containerId.slice(0, 12), a.ifName, a.ip, a.allocatedAt])));
  }
  return lines.join('\n');
}
