/**
 * The columns form of history read straight from the store (store.historyColumns) against the row
 * form turned into columns (sampleColumns(history rows)): equal field for field, with and without
 * detail, on a real SQLite file and a real PostgreSQL database, in process and over HTTP (the body
 * byte for byte what the route gave when it built the columns from rows). The samples cover
 * reports tied at one ms (with equal seqs among them), step counts, missing offsets and RTC
 * readings, every status, every placement (and, on SQLite, rows from before placements were
 * kept), NTP known and not, every check status, truncated and empty ranges and an unknown agent.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { openPostgresStore, openSqliteStore, PLACED_BY, type SampleRecord, type Store } from '@clockwatch/collector';
import { AGENT_STATUSES, STORED_CHECK_IDS, type CheckStatus } from '@clockwatch/shared';
import { LEGEND, sampleColumns } from '../../packages/collector/src/history-columns.js';
import { SAMPLE_FLAGS } from '../../packages/collector/src/store/sqlite-schema.js';
import { decodeChecks, decodeStatus } from '../../packages/collector/src/store/codes.js';
import { appWith, makeReport, recordOf } from './helpers.js';
import { clusterOrSkip, freshDatabase } from '../helpers/pg.js';

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const MIN = 60_000;
const TIE_AT = T0 + 100 * MIN;
const CHECK_STATUSES: (CheckStatus | undefined)[] = ['pass', 'warn', 'unknown', 'fail', undefined];

/** 200 points a minute apart for vm-a, with 4 reports tied at TIE_AT (seqs 7, 3, 3, 9 in arrival order), and 5 for vm-b. */
function records(): SampleRecord[] {
  const out: SampleRecord[] = [];
  const one = (agentId: string, i: number, atMs: number, seq: number) => {
    const measured = i % 9 !== 4;
    const report = makeReport({ agentId, atMs, seq, offsetMs: 1.25 + (i % 13) * 0.731, rtcOffsetS: (i % 5) * 0.125 });
    const checks: SampleRecord['checks'] = {};
    STORED_CHECK_IDS.forEach((id, k) => {
      const s = CHECK_STATUSES[(i + k) % CHECK_STATUSES.length];
      if (s) checks[id] = s;
    });
    out.push(
      recordOf(report, atMs + 150 + (i % 3), {
        atMs,
        offsetMs: measured ? 1.25 + (i % 13) * 0.731 : null,
        uncertaintyMs: measured ? 0.2 + (i % 7) * 0.01 : null,
        rtcOffsetS: i % 11 === 3 ? null : (i % 5) * 0.125,
        status: AGENT_STATUSES[i % AGENT_STATUSES.length],
        placedBy: PLACED_BY[i % PLACED_BY.length],
        ntpSynchronized: i % 3 === 0 ? null : i % 3 === 1,
        ntpOffsetMs: i % 4 === 0 ? null : i * 0.01,
        checks,
        steps: Array.from({ length: i % 4 }, (_, k) => ({ atMs: atMs - 1000 - k, stepMs: 2 + k })),
      }),
    );
  };
  let i = 0;
  for (let m = 0; m < 200; m++) {
    const at = T0 + m * MIN;
    if (at === TIE_AT) for (const seq of [7, 3, 3, 9]) one('vm-a', i++, at, 1000 + seq);
    else one('vm-a', i++, at, m + 1);
  }
  for (let m = 0; m < 5; m++) one('vm-b', i++, T0 + m * MIN + 0.5, m + 1);
  return out;
}

const WIDE = { fromMs: T0 - MIN, toMs: T0 + 300 * MIN };
const RANGES: { what: string; agentId: string; fromMs: number; toMs: number; limit: number }[] = [
  { what: 'the whole range', agentId: 'vm-a', ...WIDE, limit: 10_000 },
  { what: 'exactly every point', agentId: 'vm-a', ...WIDE, limit: 203 },
  { what: 'truncated by one', agentId: 'vm-a', ...WIDE, limit: 202 },
  // The newest 100 end inside the tied ms: two of its four are in, by seq then arrival.
  { what: 'truncated inside the tied ms', agentId: 'vm-a', ...WIDE, limit: 101 },
  { what: 'truncated at the tied ms', agentId: 'vm-a', fromMs: T0, toMs: TIE_AT, limit: 2 },
  // Without seq (no two rows of one ms read) and with it (the limit + 1 rows reach into the tied ms).
  { what: 'cut just after the tied ms', agentId: 'vm-a', fromMs: T0, toMs: TIE_AT + 2 * MIN, limit: 2 },
  { what: 'cut at the first of the tied ms', agentId: 'vm-a', fromMs: T0, toMs: TIE_AT + 2 * MIN, limit: 3 },
  { what: 'after the tied ms', agentId: 'vm-a', fromMs: TIE_AT + 1, toMs: T0 + 300 * MIN, limit: 1000 },
  { what: 'after the tied ms, truncated', agentId: 'vm-a', fromMs: TIE_AT + 1, toMs: T0 + 300 * MIN, limit: 50 },
  { what: 'the tied ms alone', agentId: 'vm-a', fromMs: TIE_AT, toMs: TIE_AT, limit: 10 },
  { what: 'a middle slice', agentId: 'vm-a', fromMs: T0 + 20 * MIN, toMs: T0 + 150 * MIN - 1, limit: 50 },
  { what: 'limit 1', agentId: 'vm-a', ...WIDE, limit: 1 },
  { what: 'an empty range', agentId: 'vm-a', fromMs: T0 - 10 * MIN, toMs: T0 - 1, limit: 100 },
  { what: 'fractional ms', agentId: 'vm-b', ...WIDE, limit: 100 },
  { what: 'an unknown agent', agentId: 'nobody', ...WIDE, limit: 100 },
];

async function columnsEqualRows(t: Test, store: Store, label: string) {
  for (const r of RANGES) {
    const page = await store.history(r.agentId, r);
    for (const detail of [false, true]) {
      const c = await store.historyColumns(r.agentId, r, detail);
      t.strictSame(c, { truncated: page.truncated, columns: sampleColumns(page.rows, detail) }, `${label}, ${r.what}, detail ${detail}: the row form's columns`);
    }
  }
  // The cases are there: ties in the answer, every status and placement, nulls, steps.
  const all = await store.history('vm-a', RANGES[0]!);
  t.equal(all.rows.length, 203);
  const tied = all.rows.filter((p) => p.atMs === TIE_AT).map((p) => p.seq);
  t.strictSame(tied, [1003, 1003, 1007, 1009], `${label}: one ms, in seq order`);
  t.strictSame(new Set(all.rows.map((p) => p.status)), new Set(AGENT_STATUSES), `${label}: every status`);
  t.ok(all.rows.some((p) => p.offsetMs === null) && all.rows.some((p) => p.rtcOffsetS === null) && all.rows.some((p) => p.ntpSynchronized === null));
  t.strictSame(new Set(all.rows.map((p) => p.stepCount)), new Set([0, 1, 2, 3]), `${label}: step counts`);
  const truncated = await store.historyColumns('vm-a', RANGES[2]!, false);
  t.ok(truncated.truncated, `${label}: truncated`);
  t.equal(truncated.columns.atMs[0], T0 + MIN, `${label}: truncated keeps the latest points`);
}

/** Over HTTP: the body equals, byte for byte, the one built from the row form; 404 for an unknown agent. */
async function overHttp(t: Test, store: Store, label: string) {
  const { app } = await appWith({ store: store as never });
  t.teardown(() => app.close());
  const get = (agentId: string, q: string) => app.inject({ method: 'GET', url: `/v1/agents/${agentId}/history?${q}` });
  for (const r of RANGES) {
    const q = `from=${r.fromMs}&to=${r.toMs}&limit=${r.limit}`;
    const rows = await get(r.agentId, q);
    for (const detail of [false, true]) {
      const res = await get(r.agentId, `${q}&format=columns&resolution=raw${detail ? '&detail=true' : ''}`);
      if (r.agentId === 'nobody') {
        t.equal(rows.statusCode, 404);
        t.equal(res.statusCode, 404, `${label}: unknown agent, 404`);
        t.equal(res.json().code, rows.json().code, `${label}: the same error as the row form`);
        continue;
      }
      t.equal(res.statusCode, 200, `${label}, ${r.what}: 200`);
      const b = rows.json();
      const expected = { agentId: r.agentId, fromMs: r.fromMs, toMs: r.toMs, resolution: 'raw', truncated: b.truncated, points: b.points.length, legend: LEGEND, columns: sampleColumns(b.points, detail) };
      t.equal(res.body, JSON.stringify(expected), `${label}, ${r.what}, detail ${detail}: the same body as from the row form`);
    }
  }
}

t.test('SQLite: historyColumns is sampleColumns of history, every field', async (t) => {
  const path = join(t.testdir(), 'h.db');
  const store = openSqliteStore({ path });
  t.teardown(() => store.close());
  t.strictSame(new Set(await store.write(records())), new Set(['stored']));
  // Rows from before schema 2 kept no placement (code 7): placed by the probe, or at receipt without an offset.
  const legacy = store.db
    .prepare(`UPDATE samples SET flags = flags | ${SAMPLE_FLAGS.placedUnknown << SAMPLE_FLAGS.placedShift} WHERE at_ms % 7 = 0 RETURNING offset_ms`)
    .pluck()
    .all() as (number | null)[];
  t.ok(legacy.some((o) => o === null) && legacy.some((o) => o !== null), 'legacy rows with and without an offset');
  const h = await store.history('vm-a', RANGES[0]!);
  t.strictSame(new Set(h.rows.map((p) => p.placedBy)), new Set(PLACED_BY), 'every placement');
  // The flags decoded in JS against the table's own virtual columns (sqlite-schema.ts), row by row.
  const virt = store.db
    .prepare("SELECT status, placed_by, ntp_sync, checks, offset_ms FROM samples WHERE agent_key = (SELECT agent_key FROM agents WHERE agent_id = 'vm-a') ORDER BY at_ms, seq, tie")
    .raw()
    .all() as [number, number | null, number | null, number, number | null][];
  const cols = (await store.historyColumns('vm-a', RANGES[0]!, true)).columns;
  t.strictSame(cols.status, virt.map((v) => LEGEND.status.indexOf(decodeStatus(v[0]))), 'status as the virtual column has it');
  t.strictSame(cols.ntpSynchronized, virt.map((v) => (v[2] === null ? null : v[2] !== 0)), 'ntp_sync as the virtual column has it');
  const placed = (v: (typeof virt)[number]) => (v[1] === null ? (v[4] === null ? 'receipt' : 'probe') : PLACED_BY[v[1]]!);
  t.strictSame(cols.placedBy, virt.map((v) => LEGEND.placedBy.indexOf(placed(v))), 'placed_by as the virtual column has it');
  const checks = virt.map((v) => decodeChecks(v[3]) as Record<string, CheckStatus>);
  for (const id of STORED_CHECK_IDS) t.strictSame(cols.checks![id], checks.map((c) => c[id] ?? null), `checks as the virtual column has it: ${id}`);
  await columnsEqualRows(t, store, 'sqlite');
  await overHttp(t, store, 'sqlite');
  // Read-only (export, status): the same answer.
  const ro = openSqliteStore({ path, readonly: true });
  t.teardown(() => ro.close());
  await columnsEqualRows(t, ro, 'sqlite read-only');
});

const admin = clusterOrSkip(t);
if (admin) {
  t.test('PostgreSQL: historyColumns is sampleColumns of history, every field', async (t) => {
    const store = await openPostgresStore({ url: await freshDatabase(t, admin) });
    t.teardown(() => store.close());
    t.strictSame(new Set(await store.write(records())), new Set(['stored']));
    await columnsEqualRows(t, store, 'postgresql');
    await overHttp(t, store, 'postgresql');
  });
}
