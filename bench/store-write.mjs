// Benchmark: the ingest path's work per report without HTTP, in process: Ingestor.prepare (measure,
// judge, serialise, hash) and SqliteStore.write in group batches, as the collector does it, with
// reports from `agents` distinct agents. Prints CPU µs per report for each part and the WAL pages
// each report dirties (what the checkpointer then copies), counted in a second pass.
//
//   node bench/store-write.mjs [--reports 20000] [--agents 10000] [--batch 50]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Compliance, Ingestor, openSqliteStore, staticHostClock } from '../packages/collector/dist/index.js';
import { bodyFactory } from './bodies.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};

export async function benchStoreWrite({ reports = arg('reports', 20_000), agents = arg('agents', 10_000), batch = arg('batch', 50) } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-write-'));
  const out = {};
  try {
    for (const pass of ['cpu', 'pages']) {
      const store = openSqliteStore({ path: path.join(dir, `${pass}.db`) });
      const ingestor = new Ingestor({
        committer: null,
        compliance: new Compliance(),
        hostClock: staticHostClock({ synchronized: true, daemon: 'chrony', server: null, stratum: 2, offsetMs: 0, lastSyncAgeS: 1 }),
        hostResolutionMs: 0.001,
        maxBatch: 1000,
      });
      const next = bodyFactory({ agents, array: false, prefix: pass });
      const texts = Array.from({ length: reports }, () => next());
      const bodies = texts.map((x) => JSON.parse(x));
      let prepUs = 0;
      let writeUs = 0;
      let pages = 0;
      for (let i = 0; i < reports; i += batch) {
        const now = Date.now();
        let c = process.cpuUsage();
        // The request's text goes with the parsed body, as the route hands it over.
        const { valid } = ingestor.parse(bodies.slice(i, i + batch), `[${texts.slice(i, i + batch).join(',')}]`);
        const records = valid.map((v) => ingestor.prepare(v.report, now, null, v.json).record);
        let d = process.cpuUsage(c);
        prepUs += d.user + d.system;
        c = process.cpuUsage();
        await store.write(records);
        d = process.cpuUsage(c);
        writeUs += d.user + d.system;
        if (pass === 'pages') {
          // Frames in the WAL since the last reset: this batch's pages (the checkpoint resets it).
          const [r] = store.db.pragma('wal_checkpoint(PASSIVE)');
          pages += r.log;
          store.db.pragma('wal_checkpoint(TRUNCATE)');
        }
      }
      if (pass === 'cpu') out.cpu = { prepareUsPerReport: prepUs / reports, writeUsPerReport: writeUs / reports };
      else out.walPagesPerReport = pages / reports;
      out.pageSize = store.db.pragma('page_size', { simple: true });
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { reports, agents, batch, ...out };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchStoreWrite()));
