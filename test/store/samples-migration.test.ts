/**
 * Migrations 6 and 7 (sqlite-schema.ts): a database written by the schema-5 layout's own SQL
 * (old-schema.ts) opened by this collector keeps every sample, every column of it, the order users
 * saw (history), and its reportIds' idempotency; a schema-6 database keeps every measured value
 * to the last bit when 7 stores them in whole ns.
 */
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '@clockwatch/collector';
import { makeReport, recordOf } from '../collector/helpers.js';
import { encodeReportId } from '../../packages/collector/src/store/sqlite-report-id.js';
import { createSchema5, insertOld, SCHEMA5_HISTORY, type OldSample } from './old-schema.js';

const T0 = Date.UTC(2026, 10, 1, 12);
const MIN = 60_000;
const IDS = [
  (i: number) => `${i.toString(16).padStart(8, '0')}8f4d4c1a9e2b00000000abcd`,
  (i: number) => `${i.toString(16).padStart(8, '0')}8F4D4C1A9E2B00000000ABCD`,
  (i: number) => `${i.toString(16).padStart(8, '0')}-8f4d-4c1a-9e2b-00000000abcd`,
  (i: number) => `${i.toString(16).padStart(8, '0').toUpperCase()}-8F4D-4C1A-9E2B-00000000ABCD`,
  (i: number) => `${i.toString(16).padStart(8, '0')}8f4D4c1a9e2b00000000abcd`,
  (i: number) => `rep-${i}_x`,
  (i: number) => String(10_000_000 + i),
  (i: number) => `${String(i).padStart(32, '0')}`,
];

/** Row i of the fixture: every field varied, some of it the way only old rows have it. */
function sample(i: number): OldSample {
  const agentKey = 1 + (i % 3);
  const atMs = T0 + Math.floor(i / 3) * MIN + agentKey;
  return {
    agentKey,
    atMs,
    recvMs: i % 11 === 0 ? atMs - 250 : atMs + 40 + i,
    // Whole ms (the agent's Date.now()), fractional, and far from at_ms (no exact difference).
    guestMs: i % 7 === 0 ? 0.1 + i : i % 2 === 0 ? atMs + 3 : atMs + 2.123456789 + i / 1000,
    seq: 100 + i,
    reportId: (IDS[i % IDS.length] as (i: number) => string)(i),
    contentHash: BigInt.asIntN(64, BigInt(i) * 0x9e3779b97f4a7c15n),
    staticKey: agentKey,
    status: i % 5,
    checks: i % 4 === 0 ? 0o444444 : 0o111111 + i,
    steps: i % 13 === 0 ? 2 : 0,
    offsetMs: i % 9 === 0 ? null : Math.sin(i) * 3,
    uncertaintyMs: i % 9 === 0 ? null : 0.3 + i / 100,
    rtcOffsetS: i % 5 === 0 ? null : -0.038 * i,
    ntpSync: i % 3 === 0 ? null : i % 3 === 1 ? 1 : 0,
    ntpOffsetMs: i % 4 === 0 ? null : 0.012 * i,
    ntpLastSyncS: i % 6 === 0 ? null : 32 + i / 8,
    // Rows written before schema 2 have no placed_by.
    placedBy: i % 10 === 0 ? null : i % 4,
  };
}

const COLUMNS = `agent_key, at_ms, recv_ms, guest_ms, seq, content_hash, static_key, status, checks, steps, offset_ms,
  uncertainty_ms, rtc_offset_s, ntp_sync, ntp_offset_ms, ntp_last_sync_s, report_id, placed_by`;

t.test('migrations 6 and 7: every sample of a schema-5 database, every column, the order history showed, idempotency', async (t) => {
  const path = join(t.testdir(), 'old.db');
  const db = createSchema5(path);
  for (const k of [1, 2, 3]) {
    db.prepare('INSERT INTO agents (agent_key, agent_id, first_seen_ms) VALUES (?, ?, ?)').run(k, `vm-${k}`, T0);
    db.prepare('INSERT INTO statics (static_key, agent_key, hash, first_seen_ms, body) VALUES (?, ?, ?, ?, ?)').run(k, k, `h${k}`, T0, '{}');
  }
  const N = 300;
  // Arrival order interleaves the agents (as the old rowid table kept them).
  for (let i = 0; i < N; i++) insertOld(db, sample(i));
  // Two reports of vm-1 at one ms, the higher seq first; two more with one seq: history orders
  // them by seq, then by arrival.
  const tieAt = T0 + 500 * MIN;
  const ties = [
    { ...sample(N), agentKey: 1, atMs: tieAt, seq: 9, reportId: 'tie-seq-9' },
    { ...sample(N + 1), agentKey: 1, atMs: tieAt, seq: 3, reportId: 'tie-seq-3' },
    { ...sample(N + 2), agentKey: 1, atMs: tieAt, seq: 5, reportId: 'tie-seq-5-first' },
    { ...sample(N + 3), agentKey: 1, atMs: tieAt, seq: 5, reportId: 'tie-seq-5-second' },
  ];
  for (const s of ties) insertOld(db, s);
  const total = N + ties.length;
  const oldRows = db.prepare(`SELECT ${COLUMNS}, rid_hash FROM samples ORDER BY agent_key, at_ms, sample_key`).raw().safeIntegers(true).all() as unknown[][];
  const oldHistory = [1, 2, 3].map((k) => (db.prepare(SCHEMA5_HISTORY).raw().all(k, 0, Number.MAX_SAFE_INTEGER, 10_000) as unknown[][]));
  t.equal(oldRows.length, total);
  db.close();

  const store = openSqliteStore({ path, periodWorkers: 0 });
  t.teardown(() => store.close());
  t.same(store.migrations.map((m) => m.version), [6, 7], 'migrations 6 and 7 ran, alone');
  t.comment(`migrations 6 and 7 of ${total} samples: ${store.migrations.map((m) => m.ms).join(' + ')} ms`);
  t.equal(store.db.pragma('user_version', { simple: true }), 7);
  t.equal((await store.stats()).samples, total, 'every sample is there');

  const newRows = store.db.prepare(`SELECT ${COLUMNS.replace('content_hash', 'content_h')}, rid_h FROM samples ORDER BY agent_key, at_ms, tie`).raw().safeIntegers(true).all() as unknown[][];
  // rid_h and content_h are the top halves of the old 64-bit hashes; every other column reads
  // back the same value.
  const expected = oldRows.map((r) => [...r.slice(0, 5), (r[5] as bigint) >> 32n, ...r.slice(6, -1), (r.at(-1) as bigint) >> 32n]);
  t.same(newRows, expected, 'every column of every row, byte for byte');
  t.ok(newRows.every((r, i) => Object.is(Number(r[3]), Number((oldRows[i] as unknown[])[3]))), 'the guest clock, to the last bit');
  const types = store.db.prepare('SELECT DISTINCT typeof(report_id) FROM samples').pluck().all();
  t.same(types, ['text'], 'reportIds read back as text');
  // The migration's SQL encodes each id as the insert path (encodeReportId) does.
  const stored = store.db.prepare('SELECT report_id, rid FROM samples').raw().all() as [string, Buffer | string][];
  const differ = stored.filter(([id, rid]) => {
    const want = encodeReportId(id);
    return typeof want === 'string' ? rid !== want : !(Buffer.isBuffer(rid) && rid.equals(want));
  });
  t.same(differ, [], 'every stored id in the form encodeReportId gives it');
  t.equal(stored.filter(([, rid]) => Buffer.isBuffer(rid) && rid.length === 16).length, oldRows.filter((r) => /^[0-9a-f]{32}$/.test(r[16] as string)).length, "the agent's form in 16 bytes");
  t.ok(stored.some(([, rid]) => Buffer.isBuffer(rid) && rid.length === 17) && stored.some(([, rid]) => typeof rid === 'string'), 'and the other forms');

  // History: the order and the fields schema 5's statement gave.
  for (const k of [1, 2, 3]) {
    const page = await store.history(`vm-${k}`, { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 10_000 });
    const was = (oldHistory[k - 1] as unknown[][]).slice().reverse();
    t.same(page.rows.map((r) => r.reportId), was.map((r) => r[0]), `vm-${k}: history in the same order`);
    t.same(
      page.rows.map((r) => [r.seq, r.atMs, r.receivedAtMs, r.guestEpochMs, r.offsetMs, r.uncertaintyMs, r.rtcOffsetS, r.ntpOffsetMs, r.stepCount]),
      was.map((r) => [r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[9], r[12]]),
      `vm-${k}: with the same values`,
    );
  }
  const tied = (await store.history('vm-1', { fromMs: tieAt, toMs: tieAt, limit: 10 })).rows.map((r) => r.reportId);
  t.same(tied, ['tie-seq-3', 'tie-seq-5-first', 'tie-seq-5-second', 'tie-seq-9'], 'one ms: by seq, then by arrival');

  // Idempotency across the migration: a report stored before it is a duplicate after it.
  for (const i of [4, 5, 6, 7, 1, 2, 3, 0]) {
    const old = sample(i);
    const hex = BigInt.asUintN(64, old.contentHash).toString(16).padStart(16, '0');
    const rec = recordOf(makeReport({ agentId: `vm-${old.agentKey}`, reportId: old.reportId, atMs: old.atMs }), old.atMs + 50, { contentHash: hex.padEnd(64, '0') });
    t.same(await store.write([rec]), ['duplicate'], `${old.reportId}: stored before the migration, a duplicate after it`);
    t.same(await store.write([{ ...rec, contentHash: 'f'.repeat(64) }]), ['conflict'], `${old.reportId}: other content, a conflict`);
  }
  t.equal((await store.stats()).samples, total, 'nothing written twice');

  // A new report at a ms the agent already has goes after the others.
  const late = recordOf(makeReport({ agentId: 'vm-1', reportId: 'tie-after', seq: 9, atMs: tieAt }), tieAt + 100, { atMs: tieAt });
  t.same(await store.write([late]), ['stored']);
  t.same((await store.history('vm-1', { fromMs: tieAt, toMs: tieAt, limit: 10 })).rows.map((r) => r.reportId).slice(-2), ['tie-seq-9', 'tie-after'], 'after the stored ones');
  t.equal(store.db.prepare("SELECT tie FROM samples WHERE report_id = 'tie-after'").pluck().get(), 4);

  // A limit that cuts into one ms's reports keeps the newest of them in history's order (the
  // store reads in key order and sorts one ms by seq itself: sqlite-history.ts historyOrder).
  const fullOrder = store.db.prepare(`SELECT report_id FROM samples WHERE agent_key = 1 AND at_ms >= ? AND at_ms <= ? ORDER BY at_ms DESC, seq DESC, tie DESC LIMIT ?`).pluck();
  for (const [from, to] of [[tieAt, tieAt], [tieAt - 3 * MIN, tieAt], [tieAt - 3 * MIN, tieAt + 3 * MIN]] as const) {
    for (let limit = 1; limit <= 7; limit++) {
      const page = await store.history('vm-1', { fromMs: from, toMs: to, limit });
      const want = (fullOrder.all(from, to, limit + 1) as string[]).slice(0, limit).reverse();
      t.same(page.rows.map((r) => r.reportId), want, `[${from - tieAt}, ${to - tieAt}] limit ${limit}: the newest in history's order`);
      t.equal(page.truncated, (fullOrder.all(from, to, limit + 1) as string[]).length > limit);
    }
  }
});

t.test('a database already at schema 7 is not migrated again', async (t) => {
  const path = join(t.testdir(), 'new.db');
  const a = openSqliteStore({ path });
  t.same(a.migrations.map((m) => m.version), [1, 2, 3, 4, 5, 6, 7], 'a new file: every migration');
  await a.close();
  const b = openSqliteStore({ path });
  t.same(b.migrations, [], 'opened again: none');
  await b.close();
  const raw = new Database(path, { readonly: true });
  t.same(raw.prepare("SELECT name FROM sqlite_schema WHERE tbl_name = 'samples' ORDER BY name").pluck().all(), ['samples', 'samples_rid'], 'the clustered table and its rid index, nothing else');
  raw.close();
});
