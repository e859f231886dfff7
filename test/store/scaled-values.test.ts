/**
 * Schema 7 keeps the measured values of a sample (offset, uncertainty, RTC offset, NTP offset) in
 * whole ns as INTEGERs where that gives them back exactly, else as the REAL they are
 * (sqlite-sql.ts toScaled, sqlite-schema.ts samplesTableDdl). What is read back is the double that
 * was written, to the last bit, whichever way it was stored: through the write path and through
 * migration 7 of a schema-6 file; and the values the collector measures (whole ns, shared
 * roundToNs) are the ones stored as integers.
 */
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '@clockwatch/collector';
import { ceilToNs, NS_PER_S, roundToNs } from '@clockwatch/shared';
import { makeReport, recordOf } from '../collector/helpers.js';
import { MIGRATIONS } from '../../packages/collector/src/store/sqlite-schema.js';
import { encodeReportId, reportIdHash32 } from '../../packages/collector/src/store/sqlite-report-id.js';

const T0 = Date.UTC(2026, 10, 1, 12);
const MIN = 60_000;

/** [value, stored as whole ns?] in ms (the offset columns); the RTC offset column takes them as s. */
const VALUES: [number | null, boolean][] = [
  [null, false],
  [0, true],
  [0.012, true],
  [-0.045678, true],
  [0.123456789, false], // 123,456.789 ns: not whole ns
  [0.4587189776409049, false], // a computed double, not rounded
  [roundToNs(0.4587189776409049), true],
  [-1.234567, true],
  [1_800.5, true],
  [ceilToNs(0.8999999999999999), true],
  [1e-7, false], // 0.1 ns
  [-3_600_000, true], // an hour off, whole
  [9e9, true], // the largest whole-ns range (2^53 ns ≈ 9.007e9 ms)
  [1.7e12 + 0.123, false], // a guest clock decades off: a double holds no whole ns there
  [1.7e12, false], // whole, but beyond 2^53 ns: kept as a REAL, not as a wrong integer
  [-1.7e12, false],
  [Number.MIN_VALUE, false],
];

const same = (a: number | null, b: number | null) => (a === null ? b === null : b !== null && Object.is(a, b));

t.test('roundToNs and ceilToNs state a value in whole ns, never below it for the bound', async (t) => {
  for (const x of [0.1, 0.8999999999999999, 0.4587189776409049, 1.0000004, 2.5e-7, 123.456789123]) {
    const r = roundToNs(x);
    const c = ceilToNs(x);
    t.ok(Number.isInteger(Math.round(r * 1e6)) && Math.round(r * 1e6) / 1e6 === r, `${x}: rounded to whole ns (${r})`);
    t.ok(Math.abs(r - x) <= 0.5e-6 + 1e-15, `${x}: within half a ns`);
    t.ok(c >= x && c - x < 1e-6 + 1e-15, `${x}: the bound rounded up, by less than a ns (${c})`);
  }
  t.equal(ceilToNs(0.9), 0.9, 'a value already whole ns stays (no 0.900001 from 0.9 × 1e6 = 900000.0000000001)');
  t.equal(roundToNs(-0.0000004), -0, 'rounds to the nearest ns');
  t.equal(roundToNs(1.7e12 + 0.123), 1.7e12 + 0.123, 'beyond 2^53 ns a value is kept as it is');
  t.equal(roundToNs(0.0381234567891, NS_PER_S), 0.038123457, 'seconds: to the ns');
});

t.test('the write path: every value back to the last bit, whole ns stored as integers', async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'w.db'), periodWorkers: 0 });
  t.teardown(() => store.close());
  const recs = VALUES.map(([v], i) =>
    recordOf(makeReport({ agentId: 'vm-w', reportId: `w-${i}`, seq: i, atMs: T0 + i * MIN }), T0 + i * MIN + 40, {
      atMs: T0 + i * MIN,
      offsetMs: v,
      uncertaintyMs: v === null ? null : Math.abs(v),
      rtcOffsetS: v,
      ntpOffsetMs: v,
    }),
  );
  t.same(await store.write(recs), recs.map(() => 'stored'));
  const rows = (await store.history('vm-w', { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 100 })).rows;
  t.equal(rows.length, VALUES.length);
  const types = store.db.prepare('SELECT typeof(offset_n), typeof(unc_n), typeof(rtc_n), typeof(ntp_off_n) FROM samples ORDER BY at_ms').raw().all() as string[][];
  VALUES.forEach(([v, whole], i) => {
    const r = rows[i]!;
    const abs = v === null ? null : Math.abs(v);
    t.ok(same(r.offsetMs, v) && same(r.uncertaintyMs, abs) && same(r.rtcOffsetS, v) && same(r.ntpOffsetMs, v), `${v}: read back as written (${r.offsetMs}, ${r.uncertaintyMs}, ${r.rtcOffsetS}, ${r.ntpOffsetMs})`);
    const want = v === null ? 'null' : whole ? 'integer' : 'real';
    t.equal(types[i]![0], want, `${v} ms: offset stored as ${want}`);
    t.equal(types[i]![3], want, `${v} ms: NTP offset stored as ${want}`);
    // As seconds, whole ns take a thousand times fewer digits: only what is whole ns in s is an integer.
    const wholeNsInS = v !== null && Number.isSafeInteger(Math.round(v * 1e9)) && Math.round(v * 1e9) / 1e9 === v;
    t.equal(types[i]![2], v === null ? 'null' : wholeNsInS ? 'integer' : 'real', `${v} s: RTC offset`);
  });
  // Idempotency compares the 32-bit content hash: a resend is a duplicate, other content a conflict.
  t.same(await store.write([recs[3]!]), ['duplicate']);
  t.same(await store.write([{ ...recs[3]!, contentHash: `${((Number.parseInt(recs[3]!.contentHash.slice(0, 8), 16) ^ 1) >>> 0).toString(16).padStart(8, '0')}${recs[3]!.contentHash.slice(8)}` }]), ['conflict'], 'a content hash differing in its first 32 bits: a conflict');
});

t.test('what the collector measures is stored in whole ns', async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'm.db'), periodWorkers: 0 });
  t.teardown(() => store.close());
  // recordOf measures the report's time probe as ingest does.
  const rec = recordOf(makeReport({ agentId: 'vm-m', reportId: 'm-1', atMs: T0 }), T0 + 40);
  t.ok(rec.offsetMs !== null && rec.uncertaintyMs !== null, 'measured');
  t.same(await store.write([rec]), ['stored']);
  const row = store.db.prepare('SELECT typeof(offset_n) o, typeof(unc_n) u FROM samples').get() as { o: string; u: string };
  t.same(row, { o: 'integer', u: 'integer' }, 'offset and uncertainty as integers');
});

/** A schema-6 file (migrations 1–6 as shipped) with one agent's samples holding VALUES. */
function schema6File(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (let v = 0; v < 6; v++) {
    db.exec('BEGIN');
    db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${v + 1}`);
    db.exec('COMMIT');
  }
  db.prepare('INSERT INTO agents (agent_key, agent_id, first_seen_ms) VALUES (1, ?, ?)').run('vm-6', T0);
  db.prepare('INSERT INTO statics (static_key, agent_key, hash, first_seen_ms, body) VALUES (1, 1, ?, ?, ?)').run('h', T0, '{}');
  const ins = db.prepare(`INSERT INTO samples (agent_key, at_ms, tie, seq, recv_d_ms, guest_d_ms, rid_h, content_hash, static_key, flags, steps,
      offset_ms, uncertainty_ms, rtc_offset_s, ntp_offset_ms, ntp_last_sync_s, rid) VALUES (1, ?, 0, ?, 40, 0, ?, ?, 1, 0, 0, ?, ?, ?, ?, 32, ?)`);
  VALUES.forEach(([v], i) => ins.run(T0 + i * MIN, i, reportIdHash32(`r-${i}`), BigInt.asIntN(64, BigInt(i + 1) * 0x9e3779b97f4a7c15n), v, v === null ? null : Math.abs(v), v, v, encodeReportId(`r-${i}`)));
  db.close();
}

t.test('migration 7: every value of a schema-6 file back to the last bit, whole ns as integers', async (t) => {
  const path = join(t.testdir(), 'six.db');
  schema6File(path);
  const before = new Database(path, { readonly: true });
  const old = before.prepare('SELECT offset_ms, uncertainty_ms, rtc_offset_s, ntp_offset_ms, content_hash FROM samples ORDER BY at_ms').raw().safeIntegers(true).all() as unknown[][];
  before.close();
  const store = openSqliteStore({ path, periodWorkers: 0 });
  t.teardown(() => store.close());
  t.same(store.migrations.map((m) => m.version), [7], 'migration 7 ran, alone');
  const rows = (await store.history('vm-6', { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 100 })).rows;
  t.equal(rows.length, VALUES.length, 'every sample');
  const now = store.db.prepare('SELECT typeof(offset_n), content_h FROM samples ORDER BY at_ms').raw().safeIntegers(true).all() as [string, bigint][];
  VALUES.forEach(([v, whole], i) => {
    const r = rows[i]!;
    // Schema 6's REAL columns already gave -0 back as 0 (SQLite stores a whole REAL as an integer).
    const was = (old[i] as (number | null)[]).slice(0, 4);
    t.ok(same(r.offsetMs, was[0]!) && same(r.uncertaintyMs, was[1]!) && same(r.rtcOffsetS, was[2]!) && same(r.ntpOffsetMs, was[3]!), `${v}: the values schema 6 gave (${was.join(', ')})`);
    t.ok(same(r.offsetMs, v), `${v}: the value written`);
    t.equal(now[i]![0], v === null ? 'null' : whole ? 'integer' : 'real', `${v}: stored as ${whole ? 'whole ns' : 'a REAL'}`);
    t.equal(now[i]![1], (old[i]![4] as bigint) >> 32n, 'content_h: the top half of the old hash');
  });
  // Idempotency across the migration.
  const hex = BigInt.asUintN(64, old[2]![4] as bigint).toString(16).padStart(16, '0');
  const rec = recordOf(makeReport({ agentId: 'vm-6', reportId: 'r-2', atMs: T0 + 2 * MIN }), T0 + 2 * MIN + 40, { contentHash: hex.padEnd(64, '0') });
  t.same(await store.write([rec]), ['duplicate'], 'stored before the migration, a duplicate after it');
});
