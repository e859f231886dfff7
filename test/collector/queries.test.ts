/**
 * Queries built for the question, on real SQLite files: the worst-first page (?sort=severity)
 * against the same order computed from the id-ordered fleet; the fleet summary kept at ingest
 * against a recount, after writes, rejudge, prune, another connection's commit and time passing;
 * history in columns against the row form, and the choice of resolution.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { fixedClock, openSqliteStore, SEVERITY_ORDER, type SampleRecord, type SqliteStore } from '@clockwatch/collector';
import { AGENT_STATUSES, isStaleAt, SEVERITY_RANK, type AgentStatus } from '@clockwatch/shared';
import { rowsOfColumns } from '../../packages/collector/src/history-columns.js';
import { appWith, makeReport, recordOf } from './helpers.js';

const T0 = 1_795_600_000_000;
const BASES: AgentStatus[] = ['compliant', 'warning', 'unknown', 'noncompliant'];

/** A deterministic generator (the same fleet every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** n agents, each with a random base status, staleness limit (or none) and last delivery. */
function fleet(n: number, seed: number, seqBase = 1): SampleRecord[] {
  const r = rng(seed);
  const out: SampleRecord[] = [];
  for (let i = 0; i < n; i++) {
    const base = BASES[Math.floor(r() * BASES.length)] as AgentStatus;
    const at = T0 + Math.floor(r() * 600_000);
    // Hostnames repeat and do not follow the ids: the order within a status is hostname, then id.
    const report = makeReport({ agentId: `vm-${String(i).padStart(4, '0')}`, hostname: `host-${Math.floor(r() * 40)}`, atMs: at, seq: seqBase });
    // Limits with fractions of a ms, and some limits off (never stale).
    const staleAfterMs = r() < 0.2 ? null : 60_000 + Math.floor(r() * 240_000) + (r() < 0.5 ? 0.5 : 0);
    out.push(recordOf(report, at + 100, { baseStatus: base, status: base, staleAfterMs }));
  }
  return out;
}

/**
 * The worst-first order, computed from the id-ordered fleet (whose statuses are as of now):
 * SEVERITY_ORDER (noncompliant, stale, unknown, warning, compliant), then hostname, then id.
 */
async function expectedWorstFirst(store: SqliteStore, nowMs: number): Promise<string[]> {
  const all = (await store.listAgents({ nowMs, offset: 0, limit: 100_000 })).rows;
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return all
    .map((a) => ({ id: a.id, hostname: a.hostname, rank: SEVERITY_ORDER.indexOf(a.status) }))
    .sort((a, b) => a.rank - b.rank || cmp(a.hostname, b.hostname) || cmp(a.id, b.id))
    .map((a) => a.id);
}

async function worstFirst(store: SqliteStore, nowMs: number, offset: number, limit: number) {
  return store.listAgents({ nowMs, offset, limit, sort: 'severity' });
}

/** The summary recounted from the fleet rows (what every kept count must equal). */
async function recount(store: SqliteStore, nowMs: number) {
  const rows = (await store.listAgents({ nowMs, offset: 0, limit: 100_000 })).rows;
  const byStatus = Object.fromEntries(AGENT_STATUSES.map((s) => [s, 0])) as Record<AgentStatus, number>;
  const byCheck: Record<string, { fail: number; warn: number; unknown: number }> = {};
  for (const a of rows) {
    byStatus[a.status]++;
    for (const [id, s] of Object.entries(a.checks)) {
      const c = (byCheck[id] ??= { fail: 0, warn: 0, unknown: 0 });
      if (s === 'fail' || s === 'warn' || s === 'unknown') c[s]++;
    }
  }
  return { agents: rows.length, byStatus, byCheck };
}

async function sameSummary(t: Test, store: SqliteStore, nowMs: number, what: string) {
  const kept = await store.summary(nowMs);
  const counted = await recount(store, nowMs);
  t.same(kept.byStatus, counted.byStatus, `${what}: by status`);
  t.equal(kept.agents, counted.agents, `${what}: agents`);
  for (const [id, c] of Object.entries(kept.byCheck)) t.same(c, counted.byCheck[id] ?? { fail: 0, warn: 0, unknown: 0 }, `${what}: check ${id}`);
  t.same(kept, await store.countedSummary(nowMs), `${what}: equal to the table counted`);
}

t.test('worst-first page: exact order, at every instant, in pages', async (t) => {
  const path = join(t.testdir(), 'q.db');
  const store = openSqliteStore({ path });
  t.teardown(() => store.close());
  await store.write(fleet(400, 7));
  // Instants around the staleness limits: none stale, some, most; and on a limit's boundary.
  const anyLimit = store.db.prepare('SELECT last_seen_ms + stale_after_ms FROM agent_latest WHERE stale_after_ms IS NOT NULL LIMIT 1').pluck().get() as number;
  for (const now of [T0, T0 + 200_000, T0 + 500_000, T0 + 2_000_000, anyLimit, anyLimit + 0.25, anyLimit - 0.25]) {
    // The stores' SQL stale rule is the reporting check's own (shared isStaleAt), at every instant.
    const limits = new Map((store.db.prepare('SELECT agent_id, last_seen_ms, stale_after_ms FROM agent_latest').all() as { agent_id: string; last_seen_ms: number; stale_after_ms: number | null }[]).map((r) => [r.agent_id, r]));
    const fleetNow = (await store.listAgents({ nowMs: now, offset: 0, limit: 10_000 })).rows;
    t.same(
      fleetNow.filter((a) => a.status === 'stale').map((a) => a.id),
      fleetNow.filter((a) => isStaleAt(limits.get(a.id)!.last_seen_ms, limits.get(a.id)!.stale_after_ms, now)).map((a) => a.id),
      `stale in SQL = isStaleAt at +${now - T0} ms`,
    );
    const want = await expectedWorstFirst(store, now);
    const page = await worstFirst(store, now, 0, 100);
    t.equal(page.total, 400);
    t.same(page.rows.map((a) => a.id), want.slice(0, 100), `first 100 at +${now - T0} ms`);
    // Pages that cross the stale / fresh boundary.
    const staleN = (await store.listAgents({ nowMs: now, statuses: ['stale'], offset: 0, limit: 1 })).total;
    for (const off of [0, Math.max(0, staleN - 3), staleN, staleN + 7, 390]) {
      const p = await worstFirst(store, now, off, 10);
      t.same(p.rows.map((a) => a.id), want.slice(off, off + 10), `offset ${off} (stale ${staleN}) at +${now - T0} ms`);
    }
    const whole = await worstFirst(store, now, 0, 10_000);
    t.same(whole.rows.map((a) => a.id), want, `the whole fleet at +${now - T0} ms`);
    // With a filter (sorted over the matching rows): the same order restricted to them.
    const filtered = await store.listAgents({ nowMs: now, statuses: ['stale', 'warning'], offset: 0, limit: 10_000, sort: 'severity' });
    const keep = new Set((await store.listAgents({ nowMs: now, statuses: ['stale', 'warning'], offset: 0, limit: 10_000 })).rows.map((a) => a.id));
    t.same(filtered.rows.map((a) => a.id), want.filter((id) => keep.has(id)), `filtered at +${now - T0} ms`);
  }
  // Rows of the page are the fleet rows (same content as sort=id).
  const now = T0 + 500_000;
  const byId = new Map((await store.listAgents({ nowMs: now, offset: 0, limit: 10_000 })).rows.map((a) => [a.id, a]));
  for (const a of (await worstFirst(store, now, 0, 50)).rows) t.same(a, byId.get(a.id), `row ${a.id}`);
});

t.test('worst-first page follows writes and rejudge', async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'q.db') });
  t.teardown(() => store.close());
  await store.write(fleet(120, 11));
  // Newer reports change some agents' status.
  await store.write(fleet(60, 12, 2));
  const now = T0 + 300_000;
  t.same((await worstFirst(store, now, 0, 120)).rows.map((a) => a.id), await expectedWorstFirst(store, now), 'after newer reports');
  // Rejudge: every agent whose id ends in 7 turns noncompliant, the others compliant.
  await store.rejudge((s) => ({ baseStatus: s.agentId.endsWith('7') ? 'noncompliant' : 'compliant', checks: {}, staleAfterMs: null }));
  const order = (await worstFirst(store, now, 0, 120)).rows.map((a) => a.id);
  t.same(order, await expectedWorstFirst(store, now), 'after rejudge');
  t.ok(order.slice(0, 12).every((id) => id.endsWith('7')), 'the rejudged noncompliant agents first (no limit: none stale)');
});

t.test('summary kept at ingest equals a recount: writes, time passing, rejudge, prune, another connection', async (t) => {
  const path = join(t.testdir(), 'q.db');
  const store = openSqliteStore({ path });
  t.teardown(() => store.close());
  await sameSummary(t, store, T0, 'empty');
  await store.write(fleet(300, 3));
  for (const ms of [0, 100_000, 250_000, 400_000, 5_000_000]) await sameSummary(t, store, T0 + ms, `after ingest, +${ms} ms`);
  // A report older than the latest (a late spool) does not replace it; a newer one does.
  await store.write(fleet(300, 4, 0));
  await sameSummary(t, store, T0 + 250_000, 'after older reports');
  await store.write(fleet(150, 5, 5));
  await sameSummary(t, store, T0 + 250_000, 'after newer reports');
  // Real checks from a changed policy.
  await store.rejudge((s) => ({
    baseStatus: s.agentId.endsWith('1') ? 'warning' : 'compliant',
    checks: { offset: s.agentId.endsWith('1') ? 'warn' : 'pass', clocksource: s.agentId.endsWith('2') ? 'unknown' : 'pass' },
    staleAfterMs: s.agentId.endsWith('3') ? null : 120_000,
  }));
  for (const ms of [0, 250_000, 900_000]) await sameSummary(t, store, T0 + ms, `after rejudge, +${ms} ms`);
  // Another connection (as `prune` next to `serve`) forgets some agents and writes others.
  const other = openSqliteStore({ path });
  await other.write(fleet(20, 9, 50).map((r) => ({ ...r, agentId: `other-${r.agentId}` })));
  await other.prune({ samplesBeforeMs: 0, rollupsBeforeMs: T0 + 100_000 });
  await other.close();
  await sameSummary(t, store, T0 + 250_000, "after another connection's commits");
  // And this connection writes again on top of them.
  await store.write(fleet(40, 10, 60));
  await sameSummary(t, store, T0 + 250_000, 'writing after them');
  // A failed write (rolled back) leaves the counts as they were.
  const before = await store.summary(T0 + 250_000);
  const bad = fleet(2, 13, 70);
  (bad[1] as { seq: unknown }).seq = Symbol('not bindable');
  await t.rejects(store.write(bad));
  t.same(await store.summary(T0 + 250_000), before, 'rolled back: unchanged');
  await sameSummary(t, store, T0 + 250_000, 'after a rollback');
});

t.test('history: columns equal the row form; resolution raw, hour, auto', async (t) => {
  const clock = fixedClock(T0 + 3 * 86_400_000);
  const { app, close } = await appWith({ clock, dbPath: join(t.testdir(), 'h.db') });
  t.teardown(close);
  // Two days of one agent, one report every 20 minutes, some with a step, one without a probe.
  const reports = [];
  for (let i = 0; i < 144; i++) {
    const at = T0 + i * 1_200_000;
    const r = makeReport({ agentId: 'vm-h', atMs: at, seq: i + 1, offsetMs: 2 + (i % 7) * 0.37, steps: i % 50 === 0 ? [{ atMs: at - 10, stepMs: 3 }] : [] });
    if (i === 77) (r as { timeProbe: unknown }).timeProbe = { error: { code: 'TIMEOUT', message: 'no answer' } };
    reports.push(r);
  }
  for (let i = 0; i < reports.length; i += 24) {
    clock.set(T0 + (i + 23) * 1_200_000 + 500);
    const res = await app.inject({ method: 'POST', url: '/v1/reports', payload: reports.slice(i, i + 24) });
    t.equal(res.statusCode, 200, res.body.slice(0, 200));
    t.same(res.json().rejected, [], 'every report stored');
  }
  clock.set(T0 + 3 * 86_400_000);
  const range = `from=${T0 - 60_000}&to=${T0 + 2 * 86_400_000}&limit=100000`;
  const get = async (q: string) => {
    const res = await app.inject({ method: 'GET', url: `/v1/agents/vm-h/history?${q}` });
    return { status: res.statusCode, body: res.json() };
  };
  const rows = (await get(range)).body;
  t.equal(rows.points.length, 144, 'row form, every sample');
  const raw = (await get(`${range}&format=columns&resolution=raw&detail=true`)).body;
  t.equal(raw.resolution, 'raw');
  t.equal(raw.points, 144);
  t.same(rowsOfColumns(raw.columns), rows.points, 'columns with detail are the row form, point for point');
  const compact = (await get(`${range}&format=columns&resolution=raw`)).body;
  for (const k of ['atMs', 'offsetMs', 'uncertaintyMs', 'rtcOffsetS', 'ntpSynchronized', 'stepCount']) t.same(compact.columns[k], rows.points.map((p: Record<string, unknown>) => p[k]), `column ${k}`);
  t.same(compact.columns.status.map((i: number) => compact.legend.status[i]), rows.points.map((p: { status: string }) => p.status), 'status through the legend');
  t.same(compact.columns.placedBy.map((i: number) => compact.legend.placedBy[i]), rows.points.map((p: { placedBy: string }) => p.placedBy), 'placedBy through the legend');
  t.equal(compact.columns.seq, undefined, 'no detail columns unless asked');
  t.ok(JSON.stringify(compact).length < JSON.stringify(rows).length / 3, 'columns are a third of the row form or less');

  // Truncation: the latest `limit` points, as in the row form.
  const lim = (await get(`from=${T0}&to=${T0 + 2 * 86_400_000}&limit=5&format=columns&resolution=raw&detail=true`)).body;
  const limRows = (await get(`from=${T0}&to=${T0 + 2 * 86_400_000}&limit=5`)).body;
  t.equal(lim.truncated, true);
  t.same(rowsOfColumns(lim.columns), limRows.points);

  // Hourly: the rollups of the rollups route, as columns.
  const hour = (await get(`${range}&format=columns&resolution=hour`)).body;
  const rollups = (await app.inject({ method: 'GET', url: `/v1/agents/vm-h/rollups?from=${T0 - 60_000}&to=${T0 + 2 * 86_400_000}` })).json().rollups;
  t.equal(hour.resolution, 'hour');
  t.equal(hour.points, 49, '48 hours from an instant that is not on the hour: 49 hours');
  t.same(hour.columns.atMs, rollups.map((r: { hourMs: number }) => r.hourMs));
  t.same(hour.columns.offsetMaxMs, rollups.map((r: { offsetMaxMs: number }) => r.offsetMaxMs));
  t.same(hour.columns.compliantShare, rollups.map((r: { compliantShare: number }) => r.compliantShare));
  t.equal(hour.columns.reports.reduce((a: number, b: number) => a + b, 0), 144, 'every report in an hour');

  // auto: raw up to a day, hourly beyond (the default span is the last day).
  t.equal((await get(`${range}&format=columns`)).body.resolution, 'hour', 'two days: hour');
  t.equal((await get(`from=${T0}&to=${T0 + 86_400_000}&format=columns`)).body.resolution, 'raw', 'exactly a day: raw');
  t.equal((await get(`from=${T0}&to=${T0 + 86_400_001}&format=columns`)).body.resolution, 'hour', 'a day and a ms: hour');
  clock.set(T0 + 86_400_000);
  t.equal((await get('format=columns')).body.resolution, 'raw', 'default span (a day): raw');

  // The row form is raw samples only.
  for (const q of ['resolution=hour', 'detail=true']) {
    const e = await get(q);
    t.equal(e.status, 400, q);
    t.equal(e.body.code, 'CW_ERR_BAD_PARAM');
  }
  const nobody = await app.inject({ method: 'GET', url: '/v1/agents/nobody/history?format=columns&resolution=hour' });
  t.equal(nobody.json().code, 'CW_ERR_AGENT_NOT_FOUND');
});

t.test('GET /v1/agents?sort=severity and /v1/compliance over HTTP', async (t) => {
  const clock = fixedClock(T0);
  const { app, store, close } = await appWith({ clock });
  t.teardown(close);
  await store.write(fleet(50, 21));
  clock.set(T0 + 300_000);
  const res = await app.inject({ method: 'GET', url: '/v1/agents?sort=severity&limit=20' });
  t.equal(res.statusCode, 200);
  t.same(res.json().agents.map((a: { id: string }) => a.id), (await expectedWorstFirst(store, T0 + 300_000)).slice(0, 20));
  const bad = await app.inject({ method: 'GET', url: '/v1/agents?sort=worst' });
  t.equal(bad.statusCode, 400);
  const c = (await app.inject({ method: 'GET', url: '/v1/compliance' })).json();
  const counted = await store.countedSummary(T0 + 300_000);
  t.same(c.byStatus, counted.byStatus, '/v1/compliance counts equal the table counted');
});

t.test("the generated severity column ranks each status as shared SEVERITY_RANK does (the page's order)", async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'q.db') });
  t.teardown(() => store.close());
  await store.write(BASES.map((base, i) => recordOf(makeReport({ agentId: `sev-${i}`, atMs: T0, seq: 1 }), T0 + 100, { baseStatus: base, status: base, staleAfterMs: null })));
  const stored = store.db.prepare('SELECT base_status, severity FROM agent_latest').all() as { base_status: AgentStatus; severity: number }[];
  t.equal(stored.length, BASES.length);
  for (const r of stored) t.equal(r.severity, SEVERITY_RANK[r.base_status], `${r.base_status}: rank ${SEVERITY_RANK[r.base_status]}`);
});
