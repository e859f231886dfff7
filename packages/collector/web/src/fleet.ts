/**
 * The fleet view: counts by status, the filter (status, labels, text: kept in the URL query so a
 * filtered view is a link), and one page of the worst-first table. Paging is server-side
 * (?offset=&limit=&sort=severity), so 10,000 agents cost the browser one page of rows.
 */
import { h } from './dom.js';
import { ageText, ntpText, offsetText, parseLabels, rtcText } from './format.js';
import { STATUSES, type AgentList, type AgentRow, type AgentStatus, type Compliance } from './types.js';

export const PAGE_SIZE = 100;

export interface FleetFilter {
  status: AgentStatus | '';
  label: string;
  q: string;
  page: number;
}

export function filterFromQuery(search: string): FleetFilter {
  const p = new URLSearchParams(search);
  const status = p.get('status') ?? '';
  return {
    status: (STATUSES as readonly string[]).includes(status) ? (status as AgentStatus) : '',
    label: p.getAll('label').join(', '),
    q: p.get('q') ?? '',
    page: Math.max(1, Math.floor(Number(p.get('page') ?? '1')) || 1),
  };
}

/** The page's own URL query for a filter (what goes in the address bar). */
export function queryOf(f: FleetFilter): string {
  const p = new URLSearchParams();
  if (f.status) p.set('status', f.status);
  for (const l of parseLabels(f.label).labels) p.append('label', l);
  if (f.q) p.set('q', f.q);
  if (f.page > 1) p.set('page', String(f.page));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The API request for a filter. */
export function apiPathOf(f: FleetFilter): string {
  const p = new URLSearchParams({ sort: 'severity', offset: String((f.page - 1) * PAGE_SIZE), limit: String(PAGE_SIZE) });
  if (f.status) p.set('status', f.status);
  for (const l of parseLabels(f.label).labels) p.append('label', l);
  if (f.q) p.set('q', f.q);
  return `/v1/agents?${p.toString()}`;
}

const STATUS_LABEL: Record<AgentStatus, string> = { noncompliant: 'noncompliant', stale: 'stale', unknown: 'unknown', warning: 'warning', compliant: 'compliant' };

export function statusBadge(status: string): HTMLElement {
  return h('span', { class: `badge st-${status}` }, STATUS_LABEL[status as AgentStatus] ?? status);
}

export function checkBadge(id: string, status: string): HTMLElement {
  return h('span', { class: `chk ck-${status}`, title: `${id}: ${status}` }, `${id} `, h('b', {}, status));
}

export function countsBar(c: Compliance | null, active: AgentStatus | '', onPick: (s: AgentStatus | '') => void): HTMLElement {
  const bar = h('div', { class: 'counts', role: 'group', 'aria-label': 'Agents by status' });
  bar.append(
    h('button', { type: 'button', class: `count all${active === '' ? ' active' : ''}`, 'aria-pressed': String(active === ''), onclick: () => onPick('') }, h('span', { class: 'n' }, String(c?.agents ?? '—')), ' agents'),
  );
  for (const st of STATUSES) {
    const n = c?.byStatus[st] ?? 0;
    bar.append(
      h(
        'button',
        { type: 'button', class: `count st-${st}${active === st ? ' active' : ''}`, 'aria-pressed': String(active === st), 'data-status': st, onclick: () => onPick(active === st ? '' : st) },
        h('span', { class: 'n' }, String(n)),
        ` ${st}`,
      ),
    );
  }
  return bar;
}

export function filterForm(f: FleetFilter, onChange: (f: FleetFilter) => void): HTMLElement {
  const status = h('select', { id: 'f-status', name: 'status' }, h('option', { value: '' }, 'any status'), ...STATUSES.map((st) => h('option', { value: st, selected: f.status === st }, st)));
  const label = h('input', { id: 'f-label', name: 'label', type: 'text', value: f.label, placeholder: 'site=par1', autocomplete: 'off', spellcheck: 'false' });
  const q = h('input', { id: 'f-q', name: 'q', type: 'search', value: f.q, placeholder: 'hostname or id', autocomplete: 'off', spellcheck: 'false' });
  const err = h('span', { class: 'field-error', id: 'f-label-error', 'aria-live': 'polite' });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fire = (now: boolean) => {
    clearTimeout(timer);
    const run = () => {
      const parsed = parseLabels(label.value);
      err.textContent = parsed.bad ? `“${parsed.bad}” is not k=v` : '';
      label.setAttribute('aria-invalid', String(!!parsed.bad));
      if (parsed.bad) return;
      onChange({ status: status.value as AgentStatus | '', label: label.value.trim(), q: q.value.trim(), page: 1 });
    };
    if (now) run();
    else timer = setTimeout(run, 250);
  };
  status.addEventListener('change', () => fire(true));
  label.addEventListener('input', () => fire(false));
  q.addEventListener('input', () => fire(false));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter agents', onsubmit: (e: Event) => (e.preventDefault(), fire(true)) },
    h('label', { for: 'f-status' }, 'Status ', status),
    h('label', { for: 'f-label' }, 'Label ', label),
    h('label', { for: 'f-q' }, 'Text ', q),
    err,
  );
  label.setAttribute('aria-describedby', 'f-label-error');
  return form;
}

/** Check statuses worst first (the table and the verdict list order by it). */
export const CHECK_RANK: Record<string, number> = { fail: 0, unknown: 1, warn: 2, pass: 3 };

const COLUMNS = ['Status', 'Agent', 'Checks', 'Offset ± uncertainty', 'RTC offset', 'Clocksource', 'Zone', 'NTP', 'Last seen', 'Collector'];

function row(a: AgentRow, collector: string | undefined, nowMs: number, open: (id: string) => void): HTMLTableRowElement {
  const href = `/agents/${encodeURIComponent(a.id)}`;
  // Worst first, as the rows: what fails is read before what passes.
  const checks = Object.entries(a.checks).sort(([x, sx], [y, sy]) => (CHECK_RANK[sx] ?? 9) - (CHECK_RANK[sy] ?? 9) || (x < y ? -1 : 1));
  const measuredBy = a.collector ?? a.measuredBy ?? collector;
  const tr = h(
    'tr',
    { tabindex: 0, class: `agent st-${a.status}`, 'data-agent-id': a.id, 'data-status': a.status, 'aria-label': `${a.hostname} (${a.id}), ${a.status}; Enter opens` },
    h('td', {}, statusBadge(a.status)),
    h('td', { class: 'agent-cell' }, h('a', { href, tabindex: -1 }, a.hostname), h('div', { class: 'id' }, a.id)),
    h('td', { class: 'checks' }, ...checks.map(([id, st]) => checkBadge(id, st))),
    h('td', { class: 'num offset' }, offsetText(a.offsetMs, a.uncertaintyMs)),
    h('td', { class: 'num' }, rtcText(a.rtcOffsetS)),
    h('td', {}, a.clocksource ?? '—'),
    h('td', {}, a.timezone ?? '—'),
    h('td', {}, ntpText(a.ntpSynchronized)),
    h('td', { class: 'seen', title: new Date(a.lastSeenMs).toISOString() }, h('span', { 'data-at': a.lastSeenMs }, ageText(a.lastSeenMs, nowMs))),
    h('td', { class: 'collector' }, measuredBy ?? '—'),
  );
  const go = (e: Event) => {
    if ((e as MouseEvent).ctrlKey || (e as MouseEvent).metaKey || (e as MouseEvent).button === 1) return;
    e.preventDefault();
    open(a.id);
  };
  tr.addEventListener('click', go);
  tr.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') go(e);
    else if (e.key === 'ArrowDown') (tr.nextElementSibling as HTMLElement | null)?.focus();
    else if (e.key === 'ArrowUp') (tr.previousElementSibling as HTMLElement | null)?.focus();
    else return;
    e.preventDefault();
  });
  return tr;
}

export function fleetTable(list: AgentList, nowMs: number, open: (id: string) => void): HTMLElement {
  if (list.agents.length === 0) return h('p', { class: 'empty', id: 'no-agents' }, list.total === 0 ? 'No agent matches this filter.' : 'No agent on this page.');
  return h(
    'table',
    { id: 'agents', class: 'fleet' },
    h('caption', { class: 'sr-only' }, 'Agents, worst first. Rows are focusable: Tab or the arrow keys move, Enter opens one agent.'),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...list.agents.map((a) => row(a, list.collector, nowMs, open))),
  );
}

export function pager(list: AgentList, f: FleetFilter, go: (page: number) => void): HTMLElement {
  const pages = Math.max(1, Math.ceil(list.total / PAGE_SIZE));
  const first = list.total === 0 ? 0 : list.offset + 1;
  const lastRow = Math.min(list.total, list.offset + list.agents.length);
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', disabled: f.page <= 1, onclick: () => go(f.page - 1) }, '← Previous'),
    h('span', { id: 'range' }, `${first.toLocaleString('en')}–${lastRow.toLocaleString('en')} of ${list.total.toLocaleString('en')} (page ${f.page} of ${pages})`),
    h('button', { type: 'button', disabled: f.page >= pages, onclick: () => go(f.page + 1) }, 'Next →'),
  );
}
