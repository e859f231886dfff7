/**
 * The export's worst sample (worst_report_id, worst_at_utc) for periods that do not start or end
 * on the hour: the hourly rollup of an edge hour also covers samples outside the period, so its
 * extremes may not be the period's worst; the sample must still be found, and never one from
 * outside the period.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { Compliance, ExportService, openPostgresStore, openSqliteStore, type Store } from '@clockwatch/collector';
import { makeReport, recordOf } from '../collector/helpers.js';
import { clusterOrSkip, freshDatabase } from '../helpers/pg.js';

const H = Date.UTC(2026, 10, 20, 10); // on the hour
const MIN = 60_000;

async function worstOfEdgePeriod(t: Test, store: Store) {
  // Offsets in ms: larger ones just outside the period on both sides, in the same edge hours.
  const samples = [
    { at: H + 10 * MIN, offsetMs: 500, id: 'before' },
    { at: H + 20 * MIN, offsetMs: 5, id: 'before-small' }, // the worst is neither extreme of its hour
    { at: H + 40 * MIN, offsetMs: 120, id: 'worst-inside' },
    { at: H + 70 * MIN, offsetMs: 30, id: 'inside' },
    { at: H + 89 * MIN, offsetMs: 60, id: 'inside-late' },
    { at: H + 100 * MIN, offsetMs: 900, id: 'after' },
  ];
  let seq = 0;
  await store.write(samples.map((s) => recordOf(makeReport({ agentId: 'edge-1', atMs: s.at, offsetMs: s.offsetMs, seq: ++seq, reportId: `rep-${s.id}-0123456789` }), s.at + 50)));
  const service = new ExportService({ store, compliance: new Compliance() });
  const period = { fromMs: H + 30 * MIN, toMs: H + 90 * MIN };
  const data = await service.buildData(period, H + 3 * 60 * MIN);
  const row = data.rows.find((r) => r.id === 'edge-1');
  t.ok(row, 'the agent is exported');
  t.ok(Math.abs((row!.worstOffsetMs as number) - 120) < 1, `worst offset of the period: ${row!.worstOffsetMs}`);
  t.equal(row!.worstSample?.reportId, 'rep-worst-inside-0123456789', 'the worst sample is the one inside the period');
  t.ok(row!.worstSample && row!.worstSample.atMs >= period.fromMs && row!.worstSample.atMs < period.toMs, 'and it lies in [from, to)');
}

t.test('SQLite: worst sample of a period that starts and ends inside an hour', async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'w.db') });
  t.teardown(() => store.close());
  await worstOfEdgePeriod(t, store);
});

// PostgreSQL's period reader gives no worst sample of its own: the service finds it through the
// hourly rollups, whose edge hours reach outside the period.
const admin = clusterOrSkip(t);
if (admin) {
  t.test('PostgreSQL: worst sample of a period that starts and ends inside an hour', async (t) => {
    const store = await openPostgresStore({ url: await freshDatabase(t, admin), collector: 'host-a' });
    t.teardown(() => store.close());
    await worstOfEdgePeriod(t, store);
  });
}
