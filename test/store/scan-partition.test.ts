/**
 * The period pass's split over worker threads (sqlite-scan.ts partitionAgents): runs of agents,
 * every agent in exactly one run; and on a real database, the workers together read each row of
 * the period once.
 */
import t from 'tap';
import { join } from 'node:path';
import { openSqliteStore } from '@clockwatch/collector';
import { partitionAgents } from '../../packages/collector/src/store/sqlite-scan.js';
import { makeReport, recordOf } from '../collector/helpers.js';

t.test('partitionAgents: every agent in exactly one run, in order, at most `parts` runs, none empty, balanced', async (t) => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(rnd() * 40);
    const parts = 1 + Math.floor(rnd() * 6);
    let key = 0;
    const agents = Array.from({ length: n }, () => ({ key: (key += 1 + Math.floor(rnd() * 5)), count: rnd() < 0.1 ? 0 : Math.floor(rnd() * (rnd() < 0.1 ? 5000 : 100)) }));
    const runs = partitionAgents(agents, parts);
    const flat = runs.flat();
    if (JSON.stringify(flat) !== JSON.stringify(agents.map((a) => a.key))) t.fail(`round ${round}: every agent once, in order: ${JSON.stringify(runs)}`);
    if (runs.length !== Math.min(parts, n) || runs.some((r) => r.length === 0)) t.fail(`round ${round}: ${runs.length} runs for ${n} agents and ${parts} parts`);
    const total = agents.reduce((s, a) => s + a.count, 0);
    const max = agents.reduce((m, a) => Math.max(m, a.count), 0);
    const rowsOf = (r: number[]) => r.reduce((s, k) => s + agents.find((a) => a.key === k)!.count, 0);
    if (runs.some((r) => rowsOf(r) > total / Math.min(parts, n) + max)) t.fail(`round ${round}: a run holds more than its share plus one agent`);
  }
  t.same(partitionAgents([], 2), [], 'no agents: no runs');
  t.same(partitionAgents([{ key: 3, count: 10 }], 4), [[3]], 'one agent: one run');
  t.same(partitionAgents([{ key: 1, count: 10 }, { key: 2, count: 10 }, { key: 3, count: 10 }, { key: 4, count: 10 }], 2), [[1, 2], [3, 4]]);
  t.pass('300 random splits checked');
});

t.test('the workers of a pass read every row of the period once', async (t) => {
  const path = join(t.testdir(), 'scan.db');
  const writer = openSqliteStore({ path, periodWorkers: 0 });
  const T0 = Date.UTC(2026, 10, 1, 12);
  const AGENTS = 9;
  const recs = [];
  for (let m = 0; m < 30; m++) {
    for (let a = 0; a < AGENTS; a++) {
      // Agents with more and fewer rows, and rows outside the period on both sides.
      if (m % (1 + (a % 3)) !== 0) continue;
      const atMs = T0 + m * 60_000 + a * 1000;
      recs.push(recordOf(makeReport({ agentId: `vm-${a}`, seq: m + 1, atMs, offsetMs: a + m / 10 }), atMs + 40));
    }
  }
  await writer.write(recs);
  // Not whole hours, so the pass runs (whole hours are answered from the rollups).
  const q = { fromMs: T0 + 5 * 60_000 + 500, toMs: T0 + 25 * 60_000 + 500 };
  const inPeriod = recs.filter((r) => Math.round(r.atMs) >= q.fromMs && Math.round(r.atMs) < q.toMs).length;
  const alone = await writer.periodAgents(q);
  await writer.close();

  const ro = openSqliteStore({ path, readonly: true, periodWorkers: 2, periodWorkerMinRows: 0 });
  t.teardown(() => ro.close());
  const split = await ro.periodAgents(q);
  const timings = (ro as unknown as { period: { lastTimings: { passes: { rows: number }[] } } }).period.lastTimings;
  t.equal(timings.passes.length, 2, 'two workers');
  t.ok(timings.passes.every((p) => p.rows > 0), 'each with rows');
  t.equal(timings.passes.reduce((s, p) => s + p.rows, 0), inPeriod, `together exactly the ${inPeriod} rows of the period`);
  t.same(split, alone, 'the same answer as one pass on the store connection');
  t.equal(split.reduce((s, r) => s + r.reports, 0), inPeriod);
});
