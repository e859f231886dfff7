/**
 * The export's evidence hours (row.hours): the hourly rollups of the hours that start inside the
 * period, and not the hour that starts at its end (rollups() takes its range inclusive of the end).
 * The SQLite period reader hands the rollups it read for a period of whole hours to the export
 * (record.hours): they must be what rollups() says of those hours, field for field.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { Compliance, ExportService, openPostgresStore, openSqliteStore, type Store } from '@clockwatch/collector';
import { makeReport, recordOf } from '../collector/helpers.js';
import { clusterOrSkip, freshDatabase } from '../helpers/pg.js';

const H = Date.UTC(2026, 10, 20, 10); // on the hour
const HOUR = 3_600_000;
const MIN = 60_000;
const period = { fromMs: H, toMs: H + 2 * HOUR };

/** Samples every 10 minutes over three hours; the third starts at the end of the period, with the largest offset. */
async function fill(store: Store) {
  let seq = 0;
  const records = [];
  for (let m = 0; m < 180; m += 10) {
    const at = H + m * MIN + 7_000;
    const offsetMs = m >= 120 ? 900 : 10 + m / 10;
    records.push(recordOf(makeReport({ agentId: 'ev-1', atMs: at, offsetMs, seq: ++seq, reportId: `rep-ev-${m}-0123456789` }), at + 50));
  }
  await store.write(records);
}

async function hoursOfExport(t: Test, store: Store) {
  await fill(store);
  const service = new ExportService({ store, compliance: new Compliance() });
  const data = await service.buildData(period, H + 4 * HOUR);
  const row = data.rows.find((r) => r.id === 'ev-1');
  t.ok(row, 'the agent is exported');
  t.same(
    row!.hours!.map((h) => h.hourMs),
    [H, H + HOUR],
    'the hours that start in the period, not the one that starts at its end',
  );
  const all = await store.rollups('ev-1', { fromMs: H, toMs: H + 3 * HOUR, limit: 100 });
  t.equal(all.length, 3, 'the store has the hour after the period too');
  t.same(
    row!.hours,
    all.slice(0, 2).map(({ offsetMeanMs: _mean, ...h }) => h),
    'each hour as the store rolled it up',
  );
  t.ok(
    row!.hours!.every((h) => Math.abs(h.offsetMaxMs as number) <= Math.abs(row!.worstOffsetMs as number)),
    `no hour's extreme beyond the worst sample of the period (${row!.worstOffsetMs})`,
  );
}

t.test('SQLite: evidence hours of a period of whole hours', async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'ev.db') });
  t.teardown(() => store.close());
  await hoursOfExport(t, store);
});

t.test('SQLite: the period reader hands over the rollups it read, as rollups() gives them', async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'ev.db') });
  t.teardown(() => store.close());
  await fill(store);
  const [rec] = await store.periodAgents(period);
  t.ok(rec?.hours, 'a period of whole hours: the hours come with the record');
  const fromApi = (await store.rollups('ev-1', { fromMs: period.fromMs, toMs: period.toMs, limit: 100 })).filter((h) => h.hourMs < period.toMs);
  t.same(rec!.hours, fromApi, 'field for field (mean, worst uncertainty, share included)');
  t.ok(fromApi.every((h) => h.uncertaintyMaxMs !== null && h.offsetMeanMs !== null), 'with every field filled in');
  const [partial] = await store.periodAgents({ fromMs: period.fromMs + 5 * MIN, toMs: period.toMs });
  t.equal(partial?.hours, undefined, 'a period that starts inside an hour: none (the export asks rollups())');
});

const admin = clusterOrSkip(t);
if (admin) {
  t.test('PostgreSQL: evidence hours of a period of whole hours', async (t) => {
    const store = await openPostgresStore({ url: await freshDatabase(t, admin), collector: 'host-a' });
    t.teardown(() => store.close());
    await hoursOfExport(t, store);
  });
}
