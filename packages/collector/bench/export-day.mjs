// Export of one day of a large fleet, straight from the database file (what `clockwatch-collector export` does).
//
//   node packages/collector/bench/export-day.mjs [AGENTS=10000] [DB=/tmp/cw-export-bench-AGENTS.db]
//
// Seeds the database once (AGENTS agents reporting every 60 s for the whole previous UTC day, written
// minute by minute through the store as the ingest path would, so an agent's samples are spread over
// the table as in production; 10 % of the agents drift out of the offset limits, 2 % record a clock
// step), then times the export of that day in the three formats (ExportService over a read-only
// connection) and prints where the time went. Seeding 10,000 agents takes a few minutes; the file
// is kept and reused by later runs.
import { existsSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { reportNow, SYNCED } from './template.mjs';
import { Compliance, Ingestor, openSqliteStore, staticHostClock } from '../dist/index.js';

const AGENTS = Number(process.argv[2] ?? 10_000);
const DB = process.argv[3] ?? `/tmp/cw-export-bench-${AGENTS}.db`;
const DAY = 86_400_000;
const toMs = Math.floor(Date.now() / DAY) * DAY;
const fromMs = toMs - DAY;

async function seed() {
  const store = openSqliteStore({ path: DB });
  const ing = new Ingestor({ committer: null, compliance: new Compliance(), hostClock: staticHostClock(SYNCED), hostResolutionMs: 0.001, maxBatch: 1000 });
  const template = reportNow();
  const bases = [];
  for (let k = 0; k < AGENTS; k++) {
    const r = structuredClone(template);
    r.agent.id = `vm-${String(k).padStart(5, '0')}`;
    r.agent.hostname = `host-${k}`;
    r.agent.systemUuid = createHash('sha256').update(r.agent.id).digest('hex').slice(0, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    r.reportId = `base-${k}`;
    bases.push(ing.prepare(r, Date.now()).record);
  }
  const started = performance.now();
  let n = 0;
  for (let m = 0; m < 1440; m++) {
    const batch = [];
    for (let k = 0; k < AGENTS; k++) {
      const b = bases[k];
      const atMs = fromMs + m * 60_000 + ((k * 7919) % 60_000);
      const drifting = k % 10 === 3;
      const offsetMs = drifting ? 5 + (m / 1440) * 1800 : 0.5 * Math.sin((m + k) / 50);
      const uncertaintyMs = 0.3 + ((m * 31 + k) % 17) / 10;
      const offsetStatus = Math.abs(offsetMs) - uncertaintyMs > 1000 ? 'fail' : Math.abs(offsetMs) + uncertaintyMs > 100 ? 'warn' : 'pass';
      const status = offsetStatus === 'fail' ? 'noncompliant' : offsetStatus === 'warn' ? 'warning' : 'compliant';
      const last = m === 1439;
      batch.push({
        ...b,
        reportId: `r-${k}-${m}`,
        seq: m,
        contentHash: (n++).toString(16).padStart(16, '0'),
        atMs,
        receivedAtMs: atMs + 40,
        guestEpochMs: atMs + offsetMs,
        offsetMs,
        uncertaintyMs,
        rtcOffsetS: 0.2,
        status,
        baseStatus: status,
        checks: { ...b.checks, offset: offsetStatus },
        steps: k % 50 === 7 && m === 700 ? [{ atMs: atMs - 1000, stepMs: 250 }] : [],
        reportJson: last ? b.reportJson : '{}',
      });
    }
    await store.write(batch);
    if (m % 120 === 119) console.error(`seeded ${m + 1}/1440 minutes (${Math.round((performance.now() - started) / 1000)} s)`);
  }
  const pt = store.periodTimings;
if (pt) console.log(`  store: state ${pt.stateMs.toFixed(0)} ms, pass ${pt.passMs.toFixed(0)} ms (${pt.passes.map((p) => `${p.rows} rows: fold ${p.foldMs.toFixed(0)} ms, buckets ${p.bucketMs.toFixed(0)} ms`).join('; ')}), finish ${pt.finishMs.toFixed(0)} ms; agents read on their own: ${pt.aloneAgents}`);
await store.close();
  console.error(`seeded ${AGENTS} agents × 1440 samples in ${Math.round((performance.now() - started) / 1000)} s: ${(statSync(DB).size / 1e9).toFixed(2)} GB`);
}

if (!existsSync(DB)) await seed();
if (process.argv.includes('--seed-only')) process.exit(0);

const { ExportService } = await import('../dist/exports/service.js');
const store = openSqliteStore({ path: DB, readonly: true });
const service = new ExportService({ store, compliance: new Compliance() });
const t0 = performance.now();
const data = await service.buildData({ fromMs, toMs }, Date.now(), {
  onProgress: (done, total) => {
    if (done === total) console.error(`aggregated ${total} agents`);
  },
});
const t1 = performance.now();
const files = service.render(data, ['csv', 'json', 'html']);
const t2 = performance.now();
const bytes = files.map((f) => `${f.format} ${(f.content.length / 1e6).toFixed(1)} MB`).join(', ');
console.log(
  `export of ${data.rows.length} agents × 1 day (${fromMs}..${toMs}): data ${((t1 - t0) / 1000).toFixed(2)} s, render ${((t2 - t1) / 1000).toFixed(2)} s, ` +
    `total ${((t2 - t0) / 1000).toFixed(2)} s; ${data.rows.filter((r) => r.series.length > 0).length} plots; ${bytes}`,
);
const pt = store.periodTimings;
if (pt) console.log(`  store: state ${pt.stateMs.toFixed(0)} ms, pass ${pt.passMs.toFixed(0)} ms (${pt.passes.map((p) => `${p.rows} rows: fold ${p.foldMs.toFixed(0)} ms, buckets ${p.bucketMs.toFixed(0)} ms`).join('; ')}), finish ${pt.finishMs.toFixed(0)} ms; agents read on their own: ${pt.aloneAgents}`);
await store.close();
