/**
 * The host audit's metric families (--host-audit): every audited domain, agent or not, with its
 * evidence source, and for the guests without an agent the judge's status and checks. Pure:
 * audited guests in, exposition text out; written like metrics-agents.ts (one pass, no
 * prom-client per series). Nothing is written when the host audit is off.
 *
 * The series are keyed by `domain_uuid` (not `agent`: a guest without an agent has no agent id);
 * `clockwatch_host_audit_info` carries the domain name, the evidence source ('host audit': no
 * agent; 'both': an agent reports this UUID too, and its verdict is in clockwatch_agent_*) and the
 * joined agent, so
 *   clockwatch_host_audit_rtc_offset_seconds * on(instance, domain_uuid) group_left(domain, evidence) clockwatch_host_audit_info
 * names each reading. Status and check series exist only for guests without an agent: the agent's
 * own series say it for the others, and a series per source would count a guest twice.
 */
import { AGENT_STATUSES } from '@clockwatch/shared';
import { escapeLabelValue } from './metrics-agents.js';
import type { AuditedGuest } from './libvirt/agentless.js';

export function renderHostAuditMetrics(guests: readonly AuditedGuest[] | null): string {
  if (guests === null) return '';
  const fams: { name: string; help: string; lines: string[] }[] = [];
  const fam = (name: string, help: string) => {
    const f = { name, help, lines: [] as string[] };
    fams.push(f);
    return f.lines;
  };
  const info = fam('clockwatch_host_audit_info', "A domain the host audit read (value 1): its name, evidence source (host audit: no agent; both: an agent too) and joined agent");
  const status = fam('clockwatch_host_audit_status', 'Status of a guest without an agent, judged from the host audit (value 1, status in the label)');
  const check = fam('clockwatch_host_audit_check_status', 'Each check of a guest without an agent, judged from the host audit (value 1; clocksource and ntp are unknown: no agent in this guest)');
  const rtc = fam('clockwatch_host_audit_rtc_offset_seconds', "QEMU's RTC (read as UTC) minus host UTC, read by the host (qom-get rtc-time)");
  const rtcUnc = fam('clockwatch_host_audit_rtc_offset_uncertainty_seconds', 'Bound of the RTC offset error (half the host bracket plus half the RTC second)');
  const off = fam('clockwatch_host_audit_guest_offset_seconds', 'Guest system time minus host time through qemu-guest-agent (whole seconds, bracketed)');
  const offUnc = fam('clockwatch_host_audit_guest_offset_uncertainty_seconds', 'Bound of the guest agent offset error');
  const zone = fam('clockwatch_host_audit_guest_zone_offset_seconds', "The guest's zone offset, seconds east of UTC (guest-get-timezone)");
  const changes = fam('clockwatch_host_audit_rtc_writes', 'RTC writes the host audit saw between passes (the last 10 are kept)');
  const at = fam('clockwatch_host_audit_timestamp_seconds', 'When the latest host audit pass read the domain');
  const count = fam('clockwatch_host_audit_agentless_guests', 'Guests without an agent by status (judged from the host audit)');
  const byStatus = new Map<string, number>(AGENT_STATUSES.map((s) => [s, 0]));
  for (const g of guests) {
    const id = `domain_uuid="${escapeLabelValue(g.uuid)}"`;
    info.push(`{${id},domain="${escapeLabelValue(g.name ?? '')}",evidence="${g.evidence}",agent="${escapeLabelValue(g.agentIds[0] ?? '')}"} 1`);
    if (g.verdict) {
      status.push(`{${id},status="${g.verdict.status}"} 1`);
      for (const c of [...g.verdict.checks].sort((a, b) => (a.id < b.id ? -1 : 1))) check.push(`{${id},check="${escapeLabelValue(c.id)}",status="${c.status}"} 1`);
      byStatus.set(g.verdict.status, (byStatus.get(g.verdict.status) ?? 0) + 1);
    }
    const a = g.audit;
    if (a.rtc && !('error' in a.rtc)) {
      rtc.push(`{${id}} ${a.rtc.rtcOffsetS}`);
      rtcUnc.push(`{${id}} ${a.rtc.uncertaintyS}`);
    }
    if (a.guestTime && !('error' in a.guestTime)) {
      off.push(`{${id}} ${a.guestTime.offsetMs / 1000}`);
      offUnc.push(`{${id}} ${a.guestTime.uncertaintyMs / 1000}`);
    }
    if (a.zone && !('error' in a.zone)) zone.push(`{${id}} ${a.zone.offsetS}`);
    changes.push(`{${id}} ${a.rtcChanges.length}`);
    at.push(`{${id}} ${a.auditedAtMs / 1000}`);
  }
  for (const [s, n] of byStatus) count.push(`{status="${s}"} ${n}`);
  let out = '';
  for (const f of fams) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} gauge\n`;
    for (const l of f.lines) out += `${f.name}${l}\n`;
  }
  return out;
}
