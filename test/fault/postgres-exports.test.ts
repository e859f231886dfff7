/**
 * Scheduled exports once per period across the collectors of one PostgreSQL database (a private
 * cluster, test/helpers/pg.ts): two export schedulers, each on its own store and its own export
 * directory, start at the same instant; one writes the period, the other skips it and says so.
 * The next period runs once again, on whichever comes first. Manual runs are each collector's own.
 * The same managers on SQLite (one store each) both write, as before.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Compliance, ExportManager, ExportService, openPostgresStore, openSqliteStore, type Store } from '@clockwatch/collector';
import { makeReport, recordOf } from '../collector/helpers.js';
import { clusterOrSkip, twoCollectors } from '../helpers/pg.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);

type Period = { fromMs: number; toMs: number };

/** A manager of one collector: scheduled hourly, its own directory, the clock at `now()`. */
function managerOn(store: Store, dir: string, now: () => number, log: { written: Period[]; elsewhere: Period[]; errors: unknown[] }) {
  return new ExportManager({
    service: new ExportService({ store, compliance: new Compliance(), collectorHostname: 'test' }),
    dir,
    everyMs: HOUR,
    formats: ['json'],
    settleMs: 0,
    nowMs: now,
    onWritten: (r) => log.written.push({ fromMs: r.manifest.period.fromMs, toMs: r.manifest.period.toMs }),
    onElsewhere: (p) => log.elsewhere.push(p),
    onError: (err) => log.errors.push(err),
  });
}

const manifests = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.manifest.json')).sort() : []);

const admin = clusterOrSkip(t);
if (admin) {
  t.test('two collectors on one database write one scheduled export per period', async (t) => {
    const { a, b } = await twoCollectors(t, admin);
    await a.write([recordOf(makeReport({ agentId: 'vm-1', atMs: T0 + 60_000, offsetMs: 1 }), T0 + 60_100)]);
    await b.write([recordOf(makeReport({ agentId: 'vm-2', atMs: T0 + 120_000, offsetMs: 2 }), T0 + 120_100)]);
    const root = t.testdir();
    let now = T0 + HOUR + 5_000; // the period [T0, T0 + 1 h) has just ended
    const logA = { written: [] as Period[], elsewhere: [] as Period[], errors: [] as unknown[] };
    const logB = { written: [] as Period[], elsewhere: [] as Period[], errors: [] as unknown[] };
    const start = async () => {
      const ma = managerOn(a, join(root, 'a'), () => now, logA);
      const mb = managerOn(b, join(root, 'b'), () => now, logB);
      await Promise.all([ma.start(), mb.start()]);
      return [ma, mb] as const;
    };
    let [ma, mb] = await start();
    const first = { fromMs: T0, toMs: T0 + HOUR };
    t.same([...logA.written, ...logB.written], [first], 'the period is written once, by one of them');
    t.same([...logA.elsewhere, ...logB.elsewhere], [first], 'and the other skips it and says so');
    t.same([...logA.errors, ...logB.errors], []);
    const files = [...manifests(join(root, 'a')), ...manifests(join(root, 'b'))];
    t.equal(files.length, 1, `one scheduled export across both directories: ${files.join(', ')}`);
    await ma.stop();
    await mb.stop();

    // An hour later both start again (the timer of a served collector does the same run).
    now += HOUR;
    [ma, mb] = await start();
    const second = { fromMs: T0 + HOUR, toMs: T0 + 2 * HOUR };
    t.same([...logA.written, ...logB.written].sort((x, y) => x.toMs - y.toMs), [first, second], 'the next period is written once too');
    t.same([...logA.elsewhere, ...logB.elsewhere].sort((x, y) => x.toMs - y.toMs), [first, second]);
    t.equal(manifests(join(root, 'a')).length + manifests(join(root, 'b')).length, 2);

    // A manual run is this collector's own: both may write the same period.
    await ma.runNow(first);
    await mb.runNow(first);
    t.equal(manifests(join(root, 'a', 'manual')).length + manifests(join(root, 'b', 'manual')).length, 2, 'manual runs are not shared');
    await ma.stop();
    await mb.stop();
  });
}

t.test('on SQLite every collector has its own store and writes its own schedule', async (t) => {
  const root = t.testdir();
  const stores = [openSqliteStore({ path: join(root, 'a.db') }), openSqliteStore({ path: join(root, 'b.db') })];
  t.teardown(async () => {
    for (const s of stores) await s.close();
  });
  const log = { written: [] as Period[], elsewhere: [] as Period[], errors: [] as unknown[] };
  const now = () => T0 + HOUR + 5_000;
  const ms = stores.map((s, i) => managerOn(s, join(root, `dir-${i}`), now, log));
  await Promise.all(ms.map((m) => m.start()));
  t.equal(log.written.length, 2, 'both write the period');
  t.same(log.elsewhere, []);
  t.same([manifests(join(root, 'dir-0')).length, manifests(join(root, 'dir-1')).length], [1, 1]);
  for (const m of ms) await m.stop();
});
