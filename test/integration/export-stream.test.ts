/**
 * Exports are written as streams (write-export.ts): the files are byte for byte what render()
 * gives, their manifest hashes match, and the event loop keeps turning while a large one is
 * written (the served collector's other work goes on between chunks).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Compliance, ExportService, openSqliteStore } from '@clockwatch/collector';
import { buildExportData, writeChunksAtomic, writeExport } from '../../packages/collector/dist/exports/index.js';
import { dayOfData } from '../exports/data.js';

t.test('streamed files are the rendered bytes, and the loop turns meanwhile', async (t) => {
  const base = dayOfData();
  // 2,500 rows: the five sample agents, many times over.
  const rows = Array.from({ length: 2500 }, (_, i) => {
    const r = base.rows[i % base.rows.length]!;
    return { ...r, id: `${r.id}-${i}`, hostname: `${r.hostname}-${i}` };
  });
  const data = buildExportData({ period: base.period, generatedAtMs: base.generatedAtMs, limits: base.limits, rows });
  const store = openSqliteStore({ path: ':memory:' });
  t.teardown(() => store.close());
  const service = new ExportService({ store, compliance: new Compliance(), offThread: true });
  const dir = t.testdir();
  let turns = 0;
  const ticker = setInterval(() => turns++, 1);
  const files = service.files(data);
  t.ok(files.every((f) => typeof f.content !== 'string'), 'chunks, not strings');
  const r = await writeExport({ dir, period: data.period, generatedAtMs: data.generatedAtMs, files });
  clearInterval(ticker);
  const expected = service.render(data);
  for (const f of expected) {
    const onDisk = readFileSync(join(dir, f.name));
    t.equal(onDisk.toString('utf8'), f.content, `${f.name}: the same bytes`);
    const listed = r.manifest.files.find((m) => m.name === f.name);
    t.equal(listed?.sha256, createHash('sha256').update(onDisk).digest('hex'), `${f.name}: the manifest's SHA-256 is the file's`);
    t.equal(listed?.bytes, onDisk.length);
  }
  t.ok(turns > 0, `the event loop turned while the files were written (${turns} timer ticks)`);
});

t.test('a failing chunk source leaves no file behind', async (t) => {
  const dir = t.testdir();
  async function* broken() {
    yield 'a,b\r\n';
    throw new Error('the store went away');
  }
  await t.rejects(writeChunksAtomic(dir, 'x.csv', broken()), /the store went away/);
  const { readdirSync } = await import('node:fs');
  t.same(readdirSync(dir), [], 'neither the file nor its temporary');
});
