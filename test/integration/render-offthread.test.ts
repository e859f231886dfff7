/**
 * A served collector renders large exports on a worker thread (ExportService offThread): the files
 * are byte for byte the ones rendered in place, and the event loop keeps turning meanwhile.
 */
import t from 'tap';
import { Compliance, ExportService, openSqliteStore } from '@clockwatch/collector';
import { buildExportData } from '@clockwatch/collector/exports';
import { dayOfData } from '../exports/data.js';

t.test('renderAsync on a worker thread gives the bytes render() gives', async (t) => {
  const base = dayOfData();
  // 2,500 rows (the worker is used from 2,000): the five sample agents, many times over.
  const rows = Array.from({ length: 2500 }, (_, i) => {
    const r = base.rows[i % base.rows.length]!;
    return { ...r, id: `${r.id}-${i}`, hostname: `${r.hostname}-${i}` };
  });
  const data = buildExportData({ period: base.period, generatedAtMs: base.generatedAtMs, limits: base.limits, rows });
  const store = openSqliteStore({ path: ':memory:' });
  t.teardown(() => store.close());
  const inPlace = new ExportService({ store, compliance: new Compliance() });
  const offThread = new ExportService({ store, compliance: new Compliance(), offThread: true });
  let turns = 0;
  const ticker = setInterval(() => turns++, 5);
  const started = performance.now();
  const files = await offThread.renderAsync(data);
  clearInterval(ticker);
  const ms = performance.now() - started;
  const expected = inPlace.render(data);
  t.same(files.map((f) => f.name), expected.map((f) => f.name));
  for (const [i, f] of files.entries()) {
    t.ok(f.content instanceof Uint8Array, `${f.name}: bytes from the worker`);
    t.equal(Buffer.from(f.content as Uint8Array).toString('utf8'), expected[i]!.content, `${f.name}: the same bytes`);
  }
  t.ok(turns >= Math.floor(ms / 5 / 4), `the event loop kept turning (${turns} ticks in ${Math.round(ms)} ms)`);
  const small = await offThread.renderAsync(base);
  t.equal(typeof small[0]!.content, 'string', 'small exports are rendered in place');
});
