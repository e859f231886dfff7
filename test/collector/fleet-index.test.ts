/**
 * The writer's fleet in memory (store/sqlite-fleet-index.ts) against the SQL path, on real SQLite
 * files: the summary, the worst-first pages and the id-ordered listing of the whole fleet at
 * instants before, at and after every agent's stale deadline, with the clock stepping back and
 * forward, after writes (newer, older, renamed, new agents), a rejudge and another connection's
 * prune. Ids and hostnames include characters whose UTF-8 byte order (SQLite's BINARY collation)
 * differs from JavaScript's UTF-16 code unit order. Over HTTP: the body of the whole fleet is the
 * text JSON.stringify gives.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { request } from 'undici';
import Database from 'better-sqlite3';
import { fixedClock, openSqliteStore, type AgentQuery, type SampleRecord, type SqliteStore } from '@clockwatch/collector';
import { isStaleAt, type AgentStatus } from '@clockwatch/shared';
import { compareUtf8, wtf8Text } from '../../packages/collector/src/store/sqlite-text-order.js';
import { appWith, makeReport, recordOf } from './helpers.js';

const T0 = 1_795_600_000_000;
const BASES: AgentStatus[] = ['compliant', 'warning', 'unknown', 'noncompliant'];
/** Hostnames with ties and non-ASCII: U+FF01 sorts before U+1F600 in UTF-8, after it in UTF-16. */
const HOSTS = ['host-a', 'host-b', 'Host-a', 'höst', 'host-\uff01', 'host-\u{1f600}', 'host-\u{1f600}x', 'host-\ue000', '', 'host-a-long', 'host-\ud800', 'host-\udfffz', 'host-\ufffd'];
const ID_TAILS = ['', '-\uff01', '-\u{1f600}', '-é', '-\ue000'];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** n agents (ids from `from`), each with a random base status, staleness limit (or none), last delivery and hostname. */
function fleet(n: number, seed: number, seq: number, from = 0, prefix = 'vm'): SampleRecord[] {
  const r = rng(seed);
  const out: SampleRecord[] = [];
  for (let i = from; i < from + n; i++) {
    const base = BASES[Math.floor(r() * BASES.length)] as AgentStatus;
    const at = T0 + Math.floor(r() * 600_000);
    // The tail decides between ids, so the two orders of non-ASCII characters matter.
    const agentId = `${prefix}${ID_TAILS[i % ID_TAILS.length]}-${String(i).padStart(4, '0')}`;
    const hostname = HOSTS[Math.floor(r() * HOSTS.length)] as string;
    const report = makeReport({ agentId: 'vm-x', hostname: 'h', atMs: at, seq });
    // Limits with fractions of a ms, and some off (never stale).
    const staleAfterMs = r() < 0.2 ? null : 60_000 + Math.floor(r() * 240_000) + (r() < 0.5 ? 0.5 : 0);
    out.push(recordOf(report, at + 100, { agentId, hostname, baseStatus: base, status: base, staleAfterMs, seq }));
  }
  return out;
}

const PAGES: [number, number][] = [
  [0, 10],
  [0, 10_000],
  [37, 25],
  [120, 100],
  [250, 7],
  [299, 5],
  [1_000, 10],
  [5, 0],
];

const brief = (p: { total: number; rows: { id: string; status: string }[] }) => ({ total: p.total, rows: p.rows.map((r) => `${r.id}:${r.status}`) });

/** Memory path = SQL path at nowMs: summary, worst-first pages, id pages (and the row JSON). */
async function same(t: Test, store: SqliteStore, nowMs: number, what: string): Promise<boolean> {
  let ok = true;
  const check = (pass: boolean, msg: string, extra?: object) => {
    if (!pass) {
      ok = false;
      t.fail(`${what}: ${msg}`, extra ?? {});
    }
  };
  const kept = await store.summary(nowMs);
  const counted = await store.countedSummary(nowMs);
  check(JSON.stringify(kept) === JSON.stringify(counted), 'summary equals the table counted', { kept, counted });
  for (const sort of ['severity', 'id'] as const) {
    for (const [offset, limit] of PAGES) {
      const q: AgentQuery = { nowMs, sort, offset, limit };
      const mem = await store.listAgents(q);
      const sql = store.listAgentsBySql(q);
      const a = brief(mem);
      const b = brief(sql);
      check(JSON.stringify(a) === JSON.stringify(b), `sort=${sort} offset=${offset} limit=${limit}`, { mem: a.rows.slice(0, 8), sql: b.rows.slice(0, 8), total: [a.total, b.total] });
      // Equal rows, equal validators (whichever path read the keys); the kept JSON is JSON.stringify's.
      check(mem.rowsTag?.() === sql.rowsTag?.() && mem.rowsTag?.() !== undefined, `sort=${sort} offset=${offset} limit=${limit}: one validator for the same rows`);
      if (limit === 10_000) {
        check(JSON.stringify(mem.rows) === JSON.stringify(sql.rows), `sort=${sort}: whole rows`);
        check(mem.rowsJson?.().every((b, i) => b.toString('utf8') === JSON.stringify(mem.rows[i])) === true, `sort=${sort}: cached row JSON = JSON.stringify(row)`);
      }
    }
  }
  return ok;
}

/** Instants around every deadline (−1 ms, at, +1 µs, +1 ms), ascending, with steps back now and then. */
function instants(records: readonly SampleRecord[], every: number): number[] {
  const ds = [...new Set(records.filter((r) => r.staleAfterMs !== null).map((r) => Math.round(r.receivedAtMs) + (r.staleAfterMs as number)))].sort((a, b) => a - b);
  const out: number[] = [T0 - 1];
  ds.forEach((d, i) => {
    if (i % every !== 0) return;
    out.push(d - 1, d, d + 0.001, d + 1);
    // The clock stepped back (or a query for the past), then forward again.
    if (i % (every * 7) === 0) out.push(d - 90_000, d + 1);
  });
  out.push(T0 + 10_000_000);
  return out;
}

t.test("compareUtf8 is SQLite's BINARY order of what better-sqlite3 stores, not the UTF-16 one", async (t) => {
  const words = ['', 'a', 'ab', 'é', '\ud7ff', '\ud800', '\udbff', '\udc00x', '\ue000', '\uff01', '\ufffd', '\uffff', '\u{10000}', '\u{1f600}', '\u{1f600}a', '\u{10ffff}', 'z\u{1f600}', 'z\uff01', 'z\ud800', 'Z'];
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec('CREATE TABLE w (i INTEGER, x TEXT)');
  words.forEach((x, i) => db.prepare('INSERT INTO w VALUES (?, ?)').run(i, x));
  const bySqlite = (db.prepare('SELECT i FROM w ORDER BY x').pluck().all() as number[]).map((i) => words[i]);
  t.same([...words].sort(compareUtf8), bySqlite, 'ORDER BY x');
  t.ok('\u{1f600}' < '\uff01' && compareUtf8('\u{1f600}', '\uff01') > 0, 'the two orders differ here');
  // Read back, a lone surrogate is U+FFFD per stored byte; the stored bytes give it back.
  const back = db.prepare("SELECT x, CAST(x AS BLOB) FROM w WHERE x = 'z' || char(55296)").raw().get() as [string, Buffer] | undefined;
  t.ok(back, 'the lone surrogate is found by its code unit');
  t.not(back?.[0], 'z\ud800', 'TEXT read back differs');
  t.equal(wtf8Text(back?.[1] as Buffer), 'z\ud800', 'wtf8Text of the stored bytes');
  for (const w of words) t.equal(wtf8Text(db.prepare('SELECT CAST(? AS BLOB)').pluck().get(w) as Buffer), w, `wtf8Text round trip of ${JSON.stringify(w)}`);
});

t.test('memory = SQL at every instant around the deadlines; after writes, rejudge and another connection', async (t) => {
  const path = join(t.testdir(), 'f.db');
  const store = openSqliteStore({ path });
  t.teardown(() => store.close());
  t.ok(await same(t, store, T0, 'empty'), 'empty store');
  const first = fleet(300, 7, 10);
  await store.write(first);
  const times = instants(first, 3);
  let bad = 0;
  for (const now of times) if (!(await same(t, store, now, `ingest, at ${now - T0}`))) bad++;
  t.equal(bad, 0, `after ingest: memory = SQL at ${times.length} instants`);
  // The stale count goes up and down with the instants (the test sees staleness change).
  const stale = await Promise.all([T0, T0 + 400_000, T0 + 10_000_000].map(async (n) => (await store.summary(n)).byStatus.stale));
  t.ok((stale[0] as number) < (stale[1] as number) && (stale[1] as number) < (stale[2] as number), `stale grows with now (${stale.join(', ')})`);
  const sqlStale = (now: number) => first.filter((r) => isStaleAt(Math.round(r.receivedAtMs), r.staleAfterMs, now)).length;
  t.equal(stale[1], sqlStale(T0 + 400_000), 'stale count = the shared rule');

  // Newer reports for some agents (other hostnames and statuses; fresher), older ones for others
  // (a late spool: only the last delivery moves), new agents; with the clock before the last sweep.
  const newer = fleet(120, 8, 20, 0).map((r) => ({ ...r, receivedAtMs: r.receivedAtMs + 300_000 }));
  const older = fleet(80, 9, 1, 150).map((r) => ({ ...r, receivedAtMs: r.receivedAtMs + 700_000 }));
  const added = fleet(40, 11, 5, 300);
  await store.write([...newer, ...older, ...added]);
  bad = 0;
  const all = [...first, ...newer, ...older, ...added];
  for (const now of instants(all, 5)) if (!(await same(t, store, now, `after writes, at ${now - T0}`))) bad++;
  t.equal(bad, 0, 'after newer, older and new agents: memory = SQL');

  await store.rejudge((s) => ({
    baseStatus: s.agentId.endsWith('1') ? 'warning' : s.agentId.endsWith('2') ? 'noncompliant' : 'compliant',
    checks: { offset: s.agentId.endsWith('1') ? 'warn' : 'pass' },
    staleAfterMs: s.agentId.endsWith('3') ? null : s.agentId.endsWith('4') ? 30_000.5 : 200_000,
  }));
  bad = 0;
  for (const now of [T0 + 200_000, T0 + 500_000, T0 + 900_000, T0 + 950_000, T0 + 100_000, T0 + 1_200_000]) if (!(await same(t, store, now, `after rejudge, at ${now - T0}`))) bad++;
  t.equal(bad, 0, 'after rejudge: memory = SQL');
  // The clock stepped back and staying there (the kept state is rebuilt for it), then on again.
  bad = 0;
  for (let i = 0; i < 12; i++) if (!(await same(t, store, T0 + 150_000 + i * 37_000.25, `stepped back, query ${i}`))) bad++;
  for (const now of [T0 + 1_000_000, T0 + 120_000, T0 + 1_100_000]) if (!(await same(t, store, now, `then on, at ${now - T0}`))) bad++;
  t.equal(bad, 0, 'clock stepped back for a while, then on: memory = SQL');

  // Another connection (as `prune` next to `serve`) writes agents and forgets those not seen since.
  const other = openSqliteStore({ path });
  await other.write(fleet(30, 12, 50, 0, 'other'));
  const pruned = await other.prune({ samplesBeforeMs: 0, rollupsBeforeMs: T0 + 400_000 });
  await other.close();
  t.ok(pruned.agents > 0, `the other connection forgot ${pruned.agents} agents`);
  bad = 0;
  for (const now of [T0 + 1_200_000, T0 + 1_300_000, T0 + 600_000, T0 + 1_400_000]) if (!(await same(t, store, now, `after the other connection, at ${now - T0}`))) bad++;
  t.equal(bad, 0, "after another connection's prune: memory = SQL");
  await store.write(fleet(10, 13, 90, 500));
  t.ok(await same(t, store, T0 + 1_400_000, 'writing after it'), 'writing after it');
});

t.test('a heap kept bounded under many rewrites of the same agents', async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'h.db') });
  t.teardown(() => store.close());
  for (let round = 0; round < 30; round++) {
    await store.write(fleet(50, 100 + round, 10 + round).map((r) => ({ ...r, receivedAtMs: r.receivedAtMs + round * 20_000 })));
    // Queries between writes sweep the heap forward as time goes on.
    t.ok(await same(t, store, T0 + round * 20_000 + 150_000, `round ${round}`), `round ${round}`);
  }
});

t.test('over HTTP: the whole fleet is byte for byte the JSON.stringify form', async (t) => {
  const clock = fixedClock(T0 + 250_000);
  const dbPath = join(t.testdir(), 'http.db');
  const { app, store, close } = await appWith({ clock, dbPath, name: 'col-\u{1f600}"q"' });
  t.teardown(close);
  await store.write(fleet(200, 21, 3));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const [path, q] of [
    ['/v1/agents?limit=10000', { sort: 'id', offset: 0, limit: 10_000 }],
    ['/v1/agents?sort=severity&limit=100', { sort: 'severity', offset: 0, limit: 100 }],
    ['/v1/agents?sort=severity&offset=30&limit=50', { sort: 'severity', offset: 30, limit: 50 }],
    ['/v1/agents?status=stale,compliant&limit=10000', { sort: 'id', offset: 0, limit: 10_000, statuses: ['stale', 'compliant'] }],
  ] as const) {
    for (const now of [T0 + 250_000, T0 + 400_000]) {
      clock.set(now);
      const res = await request(url + path);
      const body = await res.body.text();
      t.equal(res.statusCode, 200, path);
      // A fresh render: another connection's SQL path and its own, empty row cache.
      const reader = openSqliteStore({ path: dbPath, readonly: true });
      const page = await reader.listAgents({ nowMs: now, ...q, statuses: 'statuses' in q ? [...q.statuses] : undefined });
      await reader.close();
      const expected = JSON.stringify({ collector: 'col-\u{1f600}"q"', total: page.total, offset: q.offset, limit: q.limit, agents: page.rows });
      t.equal(body, expected, `${path} at +${now - T0} ms: the JSON.stringify text`);
    }
  }
  const c = (await (await request(`${url}/v1/compliance`)).body.json()) as { byStatus: unknown };
  t.same(c.byStatus, (await store.countedSummary(T0 + 400_000)).byStatus, '/v1/compliance: the counted summary');
});
