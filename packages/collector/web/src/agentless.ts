/**
 * Guests without an agent on the fleet page: the domains GET /v1/libvirt says the host audit read
 * and no agent reports (evidence 'host audit', --host-audit). Their own table under the agents —
 * the agents' table is paged by the server from the store, which holds no agentless guest — each
 * row badged "no agent — audited from host", with the judge's checks and what the audit has and
 * lacks (the server's words, libvirt/agentless.ts).
 */
import { h } from './dom.js';
import { CHECK_RANK, checkBadge, statusBadge } from './fleet.js';
import { ageText, offsetText, rtcText } from './format.js';
import type { LibvirtBody, LibvirtDomainRow } from './types.js';

type Err = { error: { code: string; message: string } };
const read = <T extends object>(r: T | Err | null | undefined): T | null => (r && !('error' in r) ? r : null);

function row(d: LibvirtDomainRow, nowMs: number): HTMLTableRowElement {
  const v = d.verdict!;
  const checks = [...v.checks].sort((a, b) => (CHECK_RANK[a.status] ?? 9) - (CHECK_RANK[b.status] ?? 9) || (a.id < b.id ? -1 : 1));
  const rtc = read(d.hostAudit?.rtc);
  const gt = read(d.hostAudit?.guestTime);
  const zone = read(d.hostAudit?.zone);
  const ev = d.hostAuditEvidence ?? { has: [], lacks: [] };
  const at = d.hostAudit?.auditedAtMs ?? 0;
  return h(
    'tr',
    { class: `agentless st-${v.status}`, 'data-domain-uuid': d.uuid ?? '', 'data-status': v.status, 'data-evidence': d.evidence },
    h('td', {}, statusBadge(v.status), ' ', h('span', { class: 'badge evidence', title: 'No clockwatch agent in this guest: the collector host read its clocks through libvirt and QEMU' }, 'no agent — audited from host')),
    h('td', { class: 'agent-cell' }, d.name ?? '(no name)', h('div', { class: 'id' }, `domain:${d.uuid ?? ''}`)),
    h('td', { class: 'checks' }, ...checks.map((c) => Object.assign(checkBadge(c.id, c.status), { title: `${c.id}: ${c.status} — ${c.reason}` }))),
    h('td', { class: 'num' }, rtc ? `${rtcText(rtc.rtcOffsetS)} ± ${rtc.uncertaintyS.toFixed(2)} s` : '—'),
    h('td', { class: 'num offset' }, gt ? offsetText(gt.offsetMs, gt.uncertaintyMs) : '—'),
    h('td', {}, zone ? `${zone.name ?? ''} ${zone.offsetS >= 0 ? '+' : ''}${zone.offsetS} s`.trim() : '—'),
    h('td', { class: 'evidence-has' }, h('div', {}, `Has: ${ev.has.join('; ') || 'nothing'}`), h('div', { class: 'id' }, `Lacks: ${ev.lacks.join('; ')}`)),
    h('td', { class: 'seen', title: new Date(at).toISOString() }, h('span', { 'data-at': at }, ageText(at, nowMs))),
  );
}

/** The section, or null when no domain is a guest without an agent (or the host audit is off). */
export function agentlessSection(body: LibvirtBody, nowMs: number): HTMLElement | null {
  const guests = body.domains.filter((d) => d.evidence === 'host audit' && d.verdict !== null);
  if (guests.length === 0) return null;
  return h(
    'section',
    { id: 'agentless', 'aria-labelledby': 'agentless-h' },
    h('h2', { id: 'agentless-h' }, `Guests without an agent — audited from the host (${guests.length})`),
    h('p', { class: 'muted' }, 'Judged from what the host reads (QEMU’s RTC; time, zone and OS where qemu-guest-agent answers). Clocksource and NTP are unknown without an agent.'),
    h(
      'table',
      { class: 'fleet agentless-table' },
      h('thead', {}, h('tr', {}, ...['Status', 'Domain', 'Checks', 'RTC offset', 'Guest agent offset', 'Zone', 'Evidence', 'Audited'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...guests.map((d) => row(d, nowMs))),
    ),
  );
}
