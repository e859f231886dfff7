/**
 * A period's drift from the hourly rollups' sums (store/drift-sums.ts, schema 5) equals the fit
 * over every sample (shared driftPpm with PLAIN_FIT, the reference the export used to compute):
 * pure, over random points and steps; and through a real SQLite store, with steps inside an hour
 * and on an hour's edge, a suspend, rows without an offset, late deliveries into a past hour,
 * periods across hour boundaries, and a database migrated from schema 4 (sums recomputed from the
 * samples; an hour whose sums are not known falls back to the samples).
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { driftPpm, PLAIN_FIT } from '@clockwatch/shared';
import { openSqliteStore, type SampleRecord, type SqliteStore } from '@clockwatch/collector';
import { driftFromHours, fitOfPoints, mergeFits, type HourSums } from '../../packages/collector/src/store/drift-sums.js';
import { makeReport, recordOf } from './helpers.js';
import { downgradeSamples } from '../store/old-schema.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 21, 0, 0, 0);

/** Relative agreement of two drifts (ppm): float rounding only. */
function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
}

/** A deterministic generator (mulberry32), so a failure repeats. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Hourly sums of points by their definition (dt = at − hour, whole ms). */
function hoursOf(points: readonly [number, number][]): HourSums[] {
  const by = new Map<number, HourSums>();
  for (const [at, o] of points) {
    const hourMs = Math.floor(at / HOUR) * HOUR;
    let h = by.get(hourMs);
    if (!h) by.set(hourMs, (h = { hourMs, n: 0, offsetSumMs: 0, dtSumMs: 0, dtSqSumMs2: 0, dtOffsetSumMs2: 0 }));
    const dt = at - hourMs;
    h.n++;
    h.offsetSumMs = (h.offsetSumMs as number) + o;
    h.dtSumMs = (h.dtSumMs as number) + dt;
    h.dtSqSumMs2 = (h.dtSqSumMs2 as number) + dt * dt;
    h.dtOffsetSumMs2 = (h.dtOffsetSumMs2 as number) + dt * o;
  }
  return [...by.values()].sort((a, b) => a.hourMs - b.hourMs);
}

t.test('pure: the fit from hourly sums equals driftPpm over the points', async (t) => {
  const next = rng(12);
  let withSteps = 0;
  let nulls = 0;
  for (let trial = 0; trial < 300; trial++) {
    const hours = 1 + Math.floor(next() * 30);
    const from = T0 + Math.floor(next() * 5) * HOUR;
    const n = Math.floor(next() * 200);
    const ppm = (next() - 0.5) * 200;
    const pts: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      // Some points cluster at the end of the period (far from its start: the conditioning case).
      const at = from + Math.floor((next() < 0.2 ? 1 - next() * 0.05 : next()) * hours * HOUR);
      pts.push([at, (next() - 0.5) * 4 + ppm * 1e-6 * (at - from) + (next() < 0.05 ? 1e4 : 0)]);
    }
    // Steps: inside hours, exactly on an hour's edge, exactly on a point.
    const steps: number[] = [];
    const k = Math.floor(next() * 4);
    for (let i = 0; i < k; i++) {
      const r = next();
      steps.push(r < 0.3 ? from + Math.floor(next() * hours) * HOUR : r < 0.5 && pts.length > 0 ? (pts[Math.floor(next() * pts.length)] as [number, number])[0] : from + Math.floor(next() * hours * HOUR));
    }
    if (steps.length > 0) withSteps++;
    const ref = driftPpm(
      pts.map(([atMs, offsetMs]) => ({ atMs, offsetMs })),
      steps,
      PLAIN_FIT,
    );
    const got = driftFromHours(hoursOf(pts), steps, from, (a, b) => pts.filter(([at]) => at >= a && at < b));
    if (got === null) {
      t.fail('sums known: a fit');
      continue;
    }
    if (ref === null) {
      if (got.fit !== null) t.fail(`trial ${trial}: reference has no fit, got ${got.fit.ppm}`);
      else nulls++;
      continue;
    }
    if (!got.fit || !near(got.fit.ppm, ref.ppm) || got.fit.points !== ref.points) t.fail(`trial ${trial}: ${JSON.stringify(got.fit)} vs ${ref.ppm} (${ref.points} points)`);
  }
  t.ok(withSteps > 100, `${withSteps} trials had steps`);
  t.ok(nulls > 0, `${nulls} trials had no fit (too few points per segment)`);
  t.pass('300 random trials agree');

  // Two points at one instant: no fit, as driftPpm.
  const same: [number, number][] = [
    [T0 + 1000, 1],
    [T0 + 1000, 3],
  ];
  t.equal(driftFromHours(hoursOf(same), [], T0, () => same)?.fit, null);
  t.equal(driftPpm([{ atMs: T0 + 1000, offsetMs: 1 }, { atMs: T0 + 1000, offsetMs: 3 }], [], PLAIN_FIT), null);
  // An hour whose sums are not known: no answer (the caller reads the samples).
  const h = hoursOf([[T0 + 5, 1], [T0 + 9, 2]]);
  (h[0] as HourSums).dtSqSumMs2 = null;
  t.equal(driftFromHours(h, [], T0, () => []), null);
  // Merging is exact: the sums of a union are the union's sums.
  const a = fitOfPoints([[T0 + 10, 1], [T0 + 70_000, 2.5]], T0);
  const b = fitOfPoints([[T0 + 3_000_000, -1], [T0 + 9_000_000, 4], [T0 + 9_000_001, 4.25]], T0);
  const u = fitOfPoints([[T0 + 10, 1], [T0 + 70_000, 2.5], [T0 + 3_000_000, -1], [T0 + 9_000_000, 4], [T0 + 9_000_001, 4.25]], T0);
  const m = mergeFits(a, b);
  for (const key of ['n', 'meanT', 'meanO', 'stt', 'sto'] as const) t.ok(Math.abs(m[key] - u[key]) <= 1e-9 * Math.max(1, Math.abs(u[key])), `merge: ${key}`);
});

interface AgentSpec {
  id: string;
  /** Minutes of the samples (from T0), with the offset at each. */
  minutes: number[];
  offsetAt: (minute: number) => number | null;
  steps?: { minute: number; atMs: number; stepMs: number; suspendMs?: number }[];
}

const specs: AgentSpec[] = [
  // Drifts 2.5 ppm with noise over three hours.
  { id: 'vm-drift', minutes: range(0, 180), offsetAt: (m) => 2.5e-6 * m * MIN + Math.sin(m) * 0.3 },
  // A step of +40 ms inside the second hour (at 1:17:30).
  {
    id: 'vm-step',
    minutes: range(0, 180),
    offsetAt: (m) => 1e-6 * m * MIN + (m >= 78 ? 40 : 0) + Math.cos(m) * 0.1,
    steps: [{ minute: 78, atMs: T0 + 77 * MIN + 30_000, stepMs: 40 }],
  },
  // A step exactly at the start of the third hour.
  {
    id: 'vm-edge',
    minutes: range(0, 180),
    offsetAt: (m) => -3e-6 * m * MIN + (m >= 120 ? -25 : 0),
    steps: [{ minute: 120, atMs: T0 + 2 * HOUR, stepMs: -25 }],
  },
  // Suspended 20 minutes across the hour edge (0:50 → 1:10); after resume the offset is 900 ms off.
  {
    id: 'vm-suspend',
    minutes: [...range(0, 50), ...range(70, 180)],
    offsetAt: (m) => 4e-6 * m * MIN + (m >= 70 ? 900 : 0),
    steps: [{ minute: 70, atMs: T0 + 69 * MIN + 45_000, stepMs: 1_200_000, suspendMs: 1_200_000 }],
  },
  // Every fourth report without an offset.
  { id: 'vm-holes', minutes: range(0, 180), offsetAt: (m) => (m % 4 === 1 ? null : 0.5e-6 * m * MIN + (m % 7) * 0.01) },
  // Reports only in the last hour (far from the period's start).
  { id: 'vm-late-start', minutes: range(150, 180), offsetAt: (m) => 7e-6 * m * MIN },
  // One report: no drift.
  { id: 'vm-one', minutes: [100], offsetAt: () => 3 },
];

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

function recordFor(s: AgentSpec, minute: number, k: number): SampleRecord {
  const at = T0 + minute * MIN + (k * 1371) % 50_000;
  const offset = s.offsetAt(minute);
  const st = s.steps?.find((x) => x.minute === minute);
  const report = makeReport({ agentId: s.id, atMs: at, intervalS: 60, seq: minute, offsetMs: offset ?? 2, steps: st ? [{ atMs: st.atMs, stepMs: st.stepMs }] : [] });
  if (st?.suspendMs !== undefined) report.events = report.events.map((e) => ({ ...e, cause: 'suspend' as const, suspendedMs: st.suspendMs }));
  const rec = recordOf(report, at + 80);
  return offset === null ? { ...rec, offsetMs: null, uncertaintyMs: null } : rec;
}

async function seed(path: string): Promise<void> {
  const store = openSqliteStore({ path });
  const late: SampleRecord[] = [];
  for (let m = 0; m < 180; m++) {
    const batch: SampleRecord[] = [];
    specs.forEach((s, k) => {
      if (!s.minutes.includes(m)) return;
      const rec = recordFor(s, m, k);
      // vm-drift's minutes 30–39 arrive two hours late (their hour's rollup is added to afterwards).
      if (s.id === 'vm-drift' && m >= 30 && m < 40) late.push(rec);
      else batch.push(rec);
    });
    await store.write(batch);
    if (m === 170) await store.write(late);
  }
  await store.close();
}

async function reference(store: SqliteStore, id: string, p: { fromMs: number; toMs: number }): Promise<number | null> {
  const h = await store.history(id, { fromMs: p.fromMs, toMs: p.toMs - 1, limit: 100_000 });
  const steps = await store.steps(id, p.fromMs, p.toMs - 1);
  const d = driftPpm(
    h.rows.filter((x) => x.offsetMs !== null).map((x) => ({ atMs: x.atMs, offsetMs: x.offsetMs as number })),
    steps.map((s) => s.atMs),
    PLAIN_FIT,
  );
  return d?.ppm ?? null;
}

const PERIODS = [
  { label: 'three hours', fromMs: T0, toMs: T0 + 3 * HOUR },
  { label: 'second hour', fromMs: T0 + HOUR, toMs: T0 + 2 * HOUR },
  { label: 'hours 1–3 of a day', fromMs: T0 + HOUR, toMs: T0 + 24 * HOUR },
  { label: 'the day before and these hours', fromMs: T0 - 24 * HOUR, toMs: T0 + 3 * HOUR },
];

async function checkAll(t: Test, store: SqliteStore, label: string, noPass = true): Promise<void> {
  for (const p of PERIODS) {
    const recs = await store.periodAgents(p);
    if (noPass) t.same(store.periodTimings?.passes, [], `${label}, ${p.label}: no pass over the samples`);
    for (const s of specs) {
      const ref = await reference(store, s.id, p);
      const got = recs.find((r) => r.id === s.id)?.drift ?? null;
      if (ref === null) t.equal(got, null, `${label}, ${p.label}, ${s.id}: no drift`);
      else t.ok(got !== null && near(got.ppm, ref), `${label}, ${p.label}, ${s.id}: drift ${got?.ppm} = ${ref}`);
    }
  }
}

t.test('store: drift from the rollups equals the fit over every sample', async (t) => {
  const path = join(t.testdir(), 'drift.db');
  await seed(path);
  const store = openSqliteStore({ path, periodWorkers: 0 });
  t.teardown(() => store.close());
  const steps = await store.steps('vm-suspend', T0, T0 + 3 * HOUR);
  t.equal(steps.length, 1, 'the suspend is a recorded step');
  const three = await reference(store, 'vm-drift', PERIODS[0]!);
  t.ok(three !== null && Math.abs(three - 2.5) < 0.1, `vm-drift drifts 2.5 ppm (${three})`);
  const stepped = await reference(store, 'vm-step', PERIODS[0]!);
  t.ok(stepped !== null && Math.abs(stepped - 1) < 0.1, `the step is not drift (${stepped})`);
  await checkAll(t, store, 'written');

  // Plot points: the pass's SQL buckets (a period that is not whole hours, every agent plotted, and
  // one agent alone, bucketed per agent in SQL) = periodSeries (bucketed in JavaScript).
  const odd = { fromMs: T0 + 7 * MIN + 123, toMs: T0 + 2 * HOUR + 41 * MIN };
  for (const want of [() => true, (s: { id: string }) => s.id === 'vm-step']) {
    const recs = await store.periodAgents({ ...odd, series: { maxPoints: 25, want } });
    const plotted = recs.filter((r) => r.series !== undefined);
    t.ok(plotted.length >= 1);
    for (const r of plotted) t.same(r.series, await store.periodSeries(r.id, odd.fromMs, odd.toMs, 25), `${r.id}: SQL buckets = periodSeries`);
    t.ok(plotted.some((r) => (r.series?.length ?? 0) === 25), 'some agent has more samples than points');
  }
});

t.test('store: a schema-4 database gets the sums from its samples; unknown sums fall back to the samples', async (t) => {
  const path = join(t.testdir(), 'old.db');
  await seed(path);
  const raw = new Database(path);
  const sums = 'SELECT agent_key, hour_ms, dt_sum_ms, dt_sq_sum_ms2, dt_offset_sum_ms2 FROM rollups ORDER BY agent_key, hour_ms';
  const written = raw.prepare(sums).raw().all() as number[][];
  t.ok(written.length === 17 && written.every((r) => r.slice(2).every((x) => typeof x === 'number')), 'every rollup has its sums');
  // Back to schema 4: the samples layout before schema 6, and the rollup columns it did not have.
  downgradeSamples(raw);
  raw.exec('ALTER TABLE rollups DROP COLUMN dt_sum_ms; ALTER TABLE rollups DROP COLUMN dt_sq_sum_ms2; ALTER TABLE rollups DROP COLUMN dt_offset_sum_ms2; PRAGMA user_version = 4;');
  raw.close();

  const store = openSqliteStore({ path, periodWorkers: 0 });
  t.teardown(() => store.close());
  const migrated = new Database(path, { readonly: true });
  const again = migrated.prepare(sums).raw().all() as number[][];
  t.equal(again.length, written.length);
  t.ok(
    again.every((r, i) => r.every((x, j) => Math.abs(x - (written[i] as number[])[j]!) <= 1e-9 * Math.max(1, Math.abs(x)))),
    'the migration computes the same sums as the writes did',
  );
  migrated.close();
  await checkAll(t, store, 'migrated');

  // An hour whose sums are not known (its samples were partly pruned before the migration).
  const db = store.db;
  const key = db.prepare("SELECT agent_key FROM agents WHERE agent_id = 'vm-step'").pluck().get();
  db.prepare('UPDATE rollups SET dt_sq_sum_ms2 = NULL WHERE agent_key = ? AND hour_ms = ?').run(key, T0 + HOUR);
  await checkAll(t, store, 'unknown sums', false);
  // Later writes into that hour keep it unknown rather than adding to a wrong sum.
  await store.write([recordFor(specs[1]!, 90, 1)]);
  t.equal(db.prepare('SELECT dt_sq_sum_ms2 FROM rollups WHERE agent_key = ? AND hour_ms = ?').pluck().get(key, T0 + HOUR), null);
});
