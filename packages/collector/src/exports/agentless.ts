/**
 * Guests without an agent in the exports (--host-audit): the host audit's latest pass, judged by
 * the one judge (libvirt/agentless.ts). The host audit is not stored, so these rows state the
 * guests as of that pass (auditedAtMs), not the end of the period: an export names the instant.
 * They are kept apart from `rows` (the agents), so the summary, the plots and the compliant
 * shares stay about what agents reported.
 *
 * CSV: one row each after the agents, in the same columns (agent_id `domain:<uuid>`, `evidence`
 * 'host audit'); JSON: `agentless` after `libvirt`; HTML: a section "Guests without an agent —
 * audited from the host" with what the audit has and lacks.
 */
import type { AgentStatus, CheckStatus } from '@clockwatch/shared';
import { agentlessOnly, evidenceOf, type AuditedGuest } from '../libvirt/agentless.js';
import { escapeHtml as esc } from './escape.js';
import type { ExportData, ExportRow } from './model.js';
import { isoUtc } from './model.js';

export interface ExportAgentlessGuest {
  /** `domain:<uuid>`, as `status` names it. */
  id: string;
  uuid: string;
  name: string | null;
  evidence: 'host audit';
  status: AgentStatus;
  checks: Record<string, CheckStatus>;
  reasons: Record<string, string>;
  /** QEMU's RTC read as UTC − host UTC, s, with its uncertainty; null: not read. */
  rtcOffsetS: number | null;
  rtcUncertaintyS: number | null;
  /** Guest time − host time through the guest agent, ms; null: no guest agent answered. */
  offsetMs: number | null;
  uncertaintyMs: number | null;
  /** The guest's zone offset, s east of UTC, and the name the guest agent gives. */
  zoneOffsetS: number | null;
  zoneName: string | null;
  auditedAtMs: number;
  has: string[];
  lacks: string[];
}

export function agentlessForExport(guests: readonly AuditedGuest[] | null): ExportAgentlessGuest[] {
  return agentlessOnly(guests).map((g) => {
    const a = g.audit;
    const rtc = a.rtc && !('error' in a.rtc) ? a.rtc : null;
    const gt = a.guestTime && !('error' in a.guestTime) ? a.guestTime : null;
    const zone = a.zone && !('error' in a.zone) ? a.zone : null;
    const { has, lacks } = evidenceOf(a);
    return {
      id: `domain:${g.uuid}`,
      uuid: g.uuid,
      name: g.name,
      evidence: 'host audit',
      status: g.verdict.status,
      checks: Object.fromEntries(g.verdict.checks.map((c) => [c.id, c.status])),
      reasons: Object.fromEntries(g.verdict.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.reason])),
      rtcOffsetS: rtc?.rtcOffsetS ?? null,
      rtcUncertaintyS: rtc?.uncertaintyS ?? null,
      offsetMs: gt?.offsetMs ?? null,
      uncertaintyMs: gt?.uncertaintyMs ?? null,
      zoneOffsetS: zone?.offsetS ?? null,
      zoneName: zone?.name ?? null,
      auditedAtMs: a.auditedAtMs,
      has,
      lacks,
    };
  });
}

/** Agents that the host audit read too: their rows say 'both'. */
export function markBothEvidence(rows: ExportRow[], guests: readonly AuditedGuest[] | null): void {
  const both = new Set((guests ?? []).flatMap((g) => g.agentIds));
  for (const r of rows) if (both.has(r.id)) r.evidence = 'both';
}

/** An agentless guest in the CSV's agent columns (what has no meaning without an agent is empty). */
export function agentlessCsvRow(g: ExportAgentlessGuest): ExportRow {
  return {
    id: g.id,
    hostname: g.name ?? g.uuid,
    systemUuid: g.uuid,
    labels: {},
    status: g.status,
    checks: g.checks,
    reasons: g.reasons,
    offsetMs: g.offsetMs,
    uncertaintyMs: g.uncertaintyMs,
    worstOffsetMs: null,
    worstUncertaintyMs: null,
    rtcOffsetS: g.rtcOffsetS,
    rtcMode: null,
    clocksource: null,
    timezone: null,
    ntp: { daemon: null, synchronized: null, server: null },
    compliantShare: null,
    driftPpm: null,
    lastReportMs: g.auditedAtMs,
    series: [],
    evidence: 'host audit',
  };
}

const fmt = (v: number | null, unc: number | null, unit: string, digits: number) => (v === null ? '—' : `${v >= 0 ? '+' : ''}${v.toFixed(digits)}${unc === null ? '' : ` ± ${unc.toFixed(digits)}`} ${unit}`);

/** The HTML section; empty when the host audit is off. */
export function agentlessHtmlSection(d: ExportData): string {
  const list = d.agentless;
  if (!list) return '';
  const rows = list
    .map((g) => {
      const checks = Object.keys(g.checks)
        .sort()
        .map((id) => `<span class="badge c-${g.checks[id]}"${g.reasons[id] ? ` title="${esc(g.reasons[id] as string)}"` : ''}>${esc(id)} ${esc(g.checks[id] as string)}</span>`)
        .join(' ');
      const zone = g.zoneOffsetS === null ? '—' : `${esc(g.zoneName ?? '')} ${g.zoneOffsetS >= 0 ? '+' : ''}${g.zoneOffsetS} s`;
      return [
        `<tr class="agentless" data-domain-uuid="${esc(g.uuid)}">`,
        `<td><span class="badge s-${g.status}">${esc(g.status)}</span> <span class="badge c-unknown evidence">no agent — audited from host</span></td>`,
        `<td>${esc(g.name ?? '(no name)')}<br><span class="small id">${esc(g.id)}</span></td>`,
        `<td class="checks">${checks}</td>`,
        `<td class="num">${esc(fmt(g.rtcOffsetS, g.rtcUncertaintyS, 's', 1))}</td>`,
        `<td class="num">${esc(fmt(g.offsetMs, g.uncertaintyMs, 'ms', 1))}</td>`,
        `<td>${zone}</td>`,
        `<td class="small">Has: ${esc(g.has.join('; ') || 'nothing')}<br>Lacks: ${esc(g.lacks.join('; '))}</td>`,
        `<td class="num">${esc(isoUtc(g.auditedAtMs))}</td>`,
        '</tr>',
      ].join('');
    })
    .join('\n');
  return [
    '<section id="agentless">',
    `<h2>Guests without an agent — audited from the host (${list.length})</h2>`,
    '<p class="meta">Read by the host audit (--host-audit) in its latest pass, not stored: the state at the audit time shown, not at the end of the period. Clocksource and NTP daemon are unknown without an agent.</p>',
    list.length === 0
      ? '<p class="meta">None: every audited domain has an agent.</p>'
      : `<table><thead><tr><th>Status</th><th>Domain</th><th>Checks</th><th>RTC offset</th><th>Guest agent offset</th><th>Zone</th><th>Evidence</th><th>Audited</th></tr></thead><tbody>\n${rows}\n</tbody></table>`,
    '</section>',
  ].join('\n');
}
