/**
 * The SQLite store's period pass (sqlite-period.ts, sqlite-scan.ts) against a reference computed
 * from the history API and the shared driftPpm: on this connection, on worker threads over a
 * read-only connection, and with a report delivered hours late (its rowid far from the period's
 * others, so the pass leaves its agent to the per-agent path). All must give the same answer.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { driftPpm, PLAIN_FIT } from '@clockwatch/shared';
import { openSqliteStore, type AgentPeriodRecord, type SampleRecord, type SqliteStore } from '@clockwatch/collector';
import { makeReport, recordOf } from './helpers.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);
const period = { fromMs: T0, toMs: T0 + HOUR };
const AGENTS = 10;

function sample(agent: number, minute: number, extra: { offsetMs?: number; clocksource?: string; steps?: { atMs: number; stepMs: number }[] } = {}, recvDelayMs = 100): SampleRecord {
  const at = T0 + minute * MIN + agent * 1000;
  return recordOf(makeReport({ agentId: `vm-${String(agent).padStart(2, '0')}`, atMs: at, intervalS: 60, ...extra }), at + recvDelayMs);
}

async function seed(path: string): Promise<void> {
  const store = openSqliteStore({ path });
  // Minute by minute, every agent once (as reports arrive): an agent's rows are spread over the table.
  for (let m = 0; m < 60; m++) {
    const batch: SampleRecord[] = [];
    for (let a = 0; a < AGENTS; a++) {
      if (a === 3 && m === 30) continue; // delivered late, below
      const drifting = a % 3 === 0 ? m * 0.7 : Math.sin(m + a);
      batch.push(
        sample(a, m, {
          offsetMs: a === 5 ? 1500 + m : drifting,
          clocksource: a === 7 && m > 40 ? 'tsc' : undefined,
          steps: a === 2 && m === 20 ? [{ atMs: T0 + 20 * MIN + 2000 - 500, stepMs: 300 }] : [],
        }),
      );
    }
    await store.write(batch);
  }
  // Later rows of another agent push the rowids on; then vm-03's report of minute 30 arrives, hours late.
  for (let i = 0; i < 30; i++) {
    await store.write(Array.from({ length: 100 }, (_, k) => recordOf(makeReport({ agentId: 'vm-later', atMs: T0 + 2 * HOUR + (i * 100 + k) * 1000 }), T0 + 2 * HOUR + (i * 100 + k) * 1000 + 50)));
  }
  await store.write([sample(3, 30, { offsetMs: 30 * 0.7 }, 5 * HOUR)]);
  await store.close();
}

interface Expected {
  reports: number;
  compliant: number;
  worst: { offsetMs: number; uncertaintyMs: number } | null;
  drift: number | null;
}

async function reference(store: SqliteStore, id: string, p: { fromMs: number; toMs: number } = period): Promise<Expected> {
  const h = await store.history(id, { fromMs: p.fromMs, toMs: p.toMs - 1, limit: 100_000 });
  const steps = await store.steps(id, p.fromMs, p.toMs);
  let worst: Expected['worst'] = null;
  // The largest |offset|; on a tie the positive one; of equal values the earliest sample.
  for (const p of h.rows) {
    if (p.offsetMs === null) continue;
    const better = worst === null || Math.abs(p.offsetMs) > Math.abs(worst.offsetMs) || (Math.abs(p.offsetMs) === Math.abs(worst.offsetMs) && p.offsetMs > worst.offsetMs);
    if (better) worst = { offsetMs: p.offsetMs, uncertaintyMs: p.uncertaintyMs as number };
  }
  const d = driftPpm(
    h.rows.filter((p) => p.offsetMs !== null).map((p) => ({ atMs: p.atMs, offsetMs: p.offsetMs as number })),
    steps.map((s) => s.atMs),
    PLAIN_FIT,
  );
  return { reports: h.rows.length, compliant: h.rows.filter((p) => p.status === 'compliant').length, worst, drift: d?.ppm ?? null };
}

function check(t: Test, label: string, recs: AgentPeriodRecord[], expected: Map<string, Expected>) {
  for (const [id, e] of expected) {
    const r = recs.find((x) => x.id === id);
    if (!r) {
      t.fail(`${label}: ${id} missing`);
      continue;
    }
    t.equal(r.reports, e.reports, `${label} ${id}: reports`);
    t.equal(r.compliantReports, e.compliant, `${label} ${id}: compliant`);
    t.same(r.worst && { offsetMs: r.worst.offsetMs, uncertaintyMs: r.worst.uncertaintyMs }, e.worst, `${label} ${id}: worst with its uncertainty`);
    if (e.drift === null) t.equal(r.drift, null, `${label} ${id}: no drift`);
    else t.ok(r.drift && Math.abs(r.drift.ppm - e.drift) <= 1e-9 * Math.max(1, Math.abs(e.drift)), `${label} ${id}: drift ${r.drift?.ppm} = ${e.drift}`);
  }
}

t.test('the pass gives the per-agent answer: in-thread, on worker threads, with a late delivery', async (t) => {
  const path = join(t.testdir(), 'period.db');
  await seed(path);
  const writer = openSqliteStore({ path, periodWorkers: 0 });
  t.teardown(() => writer.close());
  const expected = new Map<string, Expected>();
  for (let a = 0; a < AGENTS; a++) expected.set(`vm-${String(a).padStart(2, '0')}`, await reference(writer, `vm-${String(a).padStart(2, '0')}`));
  t.equal(expected.get('vm-03')?.reports, 60, 'the late report counts in its period');
  t.ok((expected.get('vm-05')?.worst?.offsetMs ?? 0) >= 1559, 'vm-05 is far off');

  const all = { ...period, series: { maxPoints: 12, want: () => true } };
  const inThread = await writer.periodAgents(all);
  check(t, 'in-thread', inThread, expected);
  t.notOk(inThread.some((r) => r.id === 'vm-later'), 'an agent first seen after the period is not listed');

  const ro = openSqliteStore({ path, readonly: true, periodWorkers: 2, periodWorkerMinRows: 0 });
  t.teardown(() => ro.close());
  const workers = await ro.periodAgents(all);
  check(t, 'workers', workers, expected);

  const wide = openSqliteStore({ path, readonly: true, periodWorkers: 2, periodWorkerMinRows: 0 });
  t.teardown(() => wide.close());
  const inRange = await wide.periodAgents(all);
  check(t, 'late row inside the pass', inRange, expected);

  // The plot points agree whichever way they were read, and match periodSeries.
  for (const r of inThread) {
    const w = workers.find((x) => x.id === r.id)!;
    t.same(w.series, r.series, `${r.id}: same plot points`);
    t.same(r.series, await writer.periodSeries(r.id, period.fromMs, period.toMs, 12), `${r.id}: as periodSeries`);
    t.ok((r.series?.length ?? 0) <= 12);
  }

  // One plotted agent: its buckets are read through the index ('each') rather than in a second pass.
  for (const [label, store] of [['in-thread', writer], ['workers', ro], ['wide', wide]] as const) {
    const one = await store.periodAgents({ ...period, series: { maxPoints: 12, want: (s) => s.id === 'vm-05' } });
    t.same(one.find((r) => r.id === 'vm-05')?.series, await writer.periodSeries('vm-05', period.fromMs, period.toMs, 12), `${label}: one plotted agent`);
    t.same(one.filter((r) => r.series !== undefined).map((r) => r.id), ['vm-05']);
  }

  // A period that is not whole hours: the full pass (no rollups), in-thread and on workers.
  const odd = { fromMs: T0 + 5 * MIN + 500, toMs: T0 + 55 * MIN + 250 };
  const oddExpected = new Map<string, Expected>();
  for (let a = 0; a < AGENTS; a++) oddExpected.set(`vm-${String(a).padStart(2, '0')}`, await reference(writer, `vm-${String(a).padStart(2, '0')}`, odd));
  check(t, 'odd period in-thread', await writer.periodAgents(odd), oddExpected);
  check(t, 'odd period workers', await ro.periodAgents(odd), oddExpected);

  await t.rejects(ro.write([sample(1, 99)]), /read-only/, 'a read-only store does not write');
  await t.rejects(ro.prune({ samplesBeforeMs: 0, rollupsBeforeMs: 0 }), /read-only/);
});

t.test('a read-only store refuses a database of another schema version, and a missing file', async (t) => {
  const dir = t.testdir();
  t.throws(() => openSqliteStore({ path: join(dir, 'missing.db'), readonly: true }));
  const Database = (await import('better-sqlite3')).default;
  const old = new Database(join(dir, 'old.db'));
  old.pragma('user_version = 0');
  old.exec('CREATE TABLE x (y)');
  old.close();
  t.throws(() => openSqliteStore({ path: join(dir, 'old.db'), readonly: true }), /older than this collector's .* run 'clockwatch-collector serve' on it once/);
});
