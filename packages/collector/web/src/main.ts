/**
 * The fleet page's entry: a two-view app (/ the fleet, /agents/<id> one agent) on the History API,
 * so every view is a stable URL, and a poller that refreshes the view in place.
 *
 * Why polling and not server-sent events: EventSource cannot send an Authorization header, so with
 * --read-tokens the token would have to travel in the URL or a cookie; fetch can send it. Each poll
 * is a conditional GET (If-None-Match), so an unchanged view costs a 304 and no re-render. Polls
 * stop while the tab is hidden and never overlap.
 */
import { agentSignature, agentView, patchReasons } from './agent.js';
import { agentlessSection } from './agentless.js';
import { ApiError, AuthError, forgetCache, getJson, readToken, setReadToken } from './api.js';
import { h } from './dom.js';
import { ageText, utcText } from './format.js';
import { apiPathOf, countsBar, filterForm, filterFromQuery, fleetTable, pager, queryOf, type FleetFilter } from './fleet.js';
import type { AgentDetail, AgentList, Compliance, History, LibvirtBody } from './types.js';

const POLL_MS = 5000;

const main = document.getElementById('main') as HTMLElement;
const live = document.getElementById('live') as HTMLElement;
const tokenBox = document.getElementById('token-box') as HTMLElement;

type View = { kind: 'fleet'; filter: FleetFilter } | { kind: 'agent'; id: string };

function viewOfLocation(): View {
  const m = /^\/agents\/([^/]+)\/?$/.exec(location.pathname);
  if (m) return { kind: 'agent', id: decodeURIComponent(m[1] as string) };
  return { kind: 'fleet', filter: filterFromQuery(location.search) };
}

let view = viewOfLocation();
let lastFleetQuery = view.kind === 'fleet' ? queryOf(view.filter) : '';
let timer: ReturnType<typeof setTimeout> | undefined;
let running = false;
let generation = 0;
let fleetParts: { counts: HTMLElement; table: HTMLElement; pager: HTMLElement; agentless: HTMLElement } | null = null;
/** false once GET /v1/libvirt answered 404 (no libvirt audit on this collector): not asked again. */
let libvirtOn = true;
let agentSig = '';

/** "12 s ago" texts move with the clock, not with the data: redone on every poll, even a 304. */
function refreshAges(): void {
  const now = Date.now();
  for (const el of document.querySelectorAll<HTMLElement>('[data-at]')) {
    const text = ageText(Number(el.dataset.at), now);
    if (el.textContent !== text) el.textContent = text;
  }
}

function announce(text: string): void {
  live.textContent = text;
}

function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  view = viewOfLocation();
  mount();
}

function openAgent(id: string): void {
  if (view.kind === 'fleet') lastFleetQuery = queryOf(view.filter);
  navigate(`/agents/${encodeURIComponent(id)}`);
}

function setFilter(f: FleetFilter): void {
  if (view.kind !== 'fleet') return;
  view = { kind: 'fleet', filter: f };
  lastFleetQuery = queryOf(f);
  history.replaceState(null, '', `/${lastFleetQuery}`);
  void refresh(true);
}

/** Builds the view's frame (what polling does not replace), then loads it. */
function mount(): void {
  generation++;
  fleetParts = null;
  agentSig = '';
  main.replaceChildren();
  if (view.kind === 'fleet') {
    document.title = 'clockwatch — fleet';
    const f = view.filter;
    const counts = h('div', { id: 'counts' });
    const table = h('div', { id: 'table', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
    const pg = h('div', { id: 'pager' });
    const agentless = h('div', { id: 'agentless-box' });
    fleetParts = { counts, table, pager: pg, agentless };
    main.append(h('h1', { class: 'sr-only' }, 'Fleet'), counts, filterForm(f, setFilter), table, pg, agentless);
  } else {
    document.title = `clockwatch — ${view.id}`;
    main.append(
      h('p', { class: 'back' }, h('a', { href: `/${lastFleetQuery}`, onclick: (e: Event) => (e.preventDefault(), navigate(`/${lastFleetQuery}`)) }, '← Fleet')),
      h('div', { id: 'agent', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…')),
    );
  }
  void refresh(true);
}

function focusedAgentId(): string | null {
  const el = document.activeElement as HTMLElement | null;
  return el?.closest?.('tr[data-agent-id]')?.getAttribute('data-agent-id') ?? null;
}

async function renderFleet(first: boolean): Promise<void> {
  if (view.kind !== 'fleet' || !fleetParts) return;
  const f = view.filter;
  const gen = generation;
  const [c, l] = await Promise.all([getJson<Compliance>('/v1/compliance'), getJson<AgentList>(apiPathOf(f))]);
  // Guests without an agent: only from a collector that runs the host audit (no 404 asked for).
  const lv = c.body.hostAudit ? await libvirtBody() : null;
  if (gen !== generation || !fleetParts) return;
  if (lv && (lv.changed || first)) fleetParts.agentless.replaceChildren(agentlessSection(lv.body, Date.now()) ?? '');
  const list = l.body;
  setCollector(list.collector);
  // /v1/compliance carries its own instant (atMs), so its ETag changes on every poll: redraw the
  // counts only when a count did (a redraw would take the focus off a count button).
  const countsKey = JSON.stringify([c.body.agents, c.body.byStatus, f.status]);
  if (first || countsKey !== fleetParts.counts.dataset.key) {
    fleetParts.counts.replaceChildren(countsBar(c.body, f.status, (st) => setFilter({ ...f, status: st, page: 1 })));
    fleetParts.counts.dataset.key = countsKey;
  }
  if (l.changed || first) {
    const focused = focusedAgentId();
    fleetParts.table.replaceChildren(fleetTable(list, Date.now(), openAgent));
    fleetParts.table.setAttribute('aria-busy', 'false');
    fleetParts.pager.replaceChildren(pager(list, f, (page) => setFilter({ ...f, page })));
    if (focused) (fleetParts.table.querySelector(`tr[data-agent-id="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
    if (!first) announce(`Fleet updated at ${utcText(Date.now())}: ${list.total} agent(s) match.`);
  }
}

/** The libvirt audit's domains (guests without an agent), or null when this collector has none. */
async function libvirtBody(): Promise<{ body: LibvirtBody; changed: boolean } | null> {
  if (!libvirtOn) return null;
  try {
    return await getJson<LibvirtBody>('/v1/libvirt');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      libvirtOn = false;
      return null;
    }
    throw err;
  }
}

async function renderAgent(first: boolean): Promise<void> {
  if (view.kind !== 'agent') return;
  const id = view.id;
  const gen = generation;
  const enc = encodeURIComponent(id);
  const [d, hi] = await Promise.all([getJson<AgentDetail>(`/v1/agents/${enc}`), getJson<History>(`/v1/agents/${enc}/history`)]);
  if (gen !== generation) return;
  setCollector(d.body.collector);
  if (!first && !d.changed && !hi.changed) return;
  const box = document.getElementById('agent');
  if (!box) return;
  const sig = agentSignature(d.body, hi.body);
  if (!first && sig === agentSig) {
    // Same report, statuses and history: keep the view (focus, selection, scroll), patch the words.
    patchReasons(box, d.body);
    return;
  }
  agentSig = sig;
  box.replaceChildren(agentView(d.body, hi.body, Date.now()));
  box.setAttribute('aria-busy', 'false');
  if (first) (document.getElementById('agent-title') as HTMLElement | null)?.focus();
  else announce(`${d.body.agent.hostname} updated at ${utcText(Date.now())}: ${d.body.verdict.status}.`);
}

function setCollector(name: string | undefined): void {
  const el = document.getElementById('collector-name');
  if (el && name && el.textContent !== name) el.textContent = name;
}

function showError(err: unknown): void {
  const box = document.getElementById(view.kind === 'fleet' ? 'table' : 'agent');
  const text =
    err instanceof ApiError
      ? err.code === 'CW_ERR_AGENT_NOT_FOUND'
        ? err.message
        : `The collector answered ${err.status} ${err.code}: ${err.message}`
      : `Cannot reach the collector (${(err as Error).message}). Retrying every ${POLL_MS / 1000} s.`;
  box?.replaceChildren(h('p', { class: 'error', role: 'alert' }, text));
}

function askToken(err: AuthError): void {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  tokenBox.replaceChildren(
    h(
      'form',
      {
        class: 'token-form',
        'aria-labelledby': 'token-h',
        onsubmit: (e: Event) => {
          e.preventDefault();
          setReadToken(input.value.trim());
          document.getElementById('forget-token')?.removeAttribute('hidden');
          tokenBox.replaceChildren();
          tokenBox.hidden = true;
          forgetCache();
          mount();
        },
      },
      h('h2', { id: 'token-h' }, 'This collector needs a read token'),
      h('p', {}, `${err.message} (${err.code}). The token stays in this tab only (sessionStorage) and is sent as Authorization: Bearer.`),
      h('label', { for: 'token' }, 'Read token '),
      input,
      h('button', { type: 'submit' }, 'Use token'),
    ),
  );
  tokenBox.hidden = false;
  input.focus();
}

async function refresh(first = false): Promise<void> {
  clearTimeout(timer);
  if (running && !first) return;
  running = true;
  try {
    if (view.kind === 'fleet') await renderFleet(first);
    else await renderAgent(first);
    refreshAges();
    (document.getElementById('updated') as HTMLElement).textContent = `updated ${utcText(Date.now())}`;
  } catch (err) {
    if (err instanceof AuthError) {
      setReadToken(null);
      askToken(err);
      running = false;
      return; // no polling until a token is given
    }
    showError(err);
  } finally {
    running = false;
  }
  if (!document.hidden) timer = setTimeout(() => void refresh(), POLL_MS);
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) void refresh();
  else clearTimeout(timer);
});
window.addEventListener('popstate', () => {
  view = viewOfLocation();
  mount();
});
document.getElementById('forget-token')?.addEventListener('click', () => {
  setReadToken(null);
  forgetCache();
  document.getElementById('forget-token')?.setAttribute('hidden', '');
  announce('Read token forgotten.');
  mount();
});
if (readToken()) document.getElementById('forget-token')?.removeAttribute('hidden');
mount();
