// Child of benchmark 4: fills a database with `agents` agents reporting every minute for one day
// [fromMs, toMs), through the store interface (SqliteStore.write — the statements, tables and
// indexes of the ingest path). Prints one JSON line with what it wrote and how long it took.
//
// Each agent's base record is computed by the real ingest code (Ingestor.prepare) from a fixture
// report with its own id, hostname and SMBIOS UUID: a fleet that is mostly in order — the compliant
// KVM guest for most agents, one in 20 from the other 18 cases (wrong clocksource, RTC in local
// time, unsynchronised NTP...), and one in 10 drifting out of the offset limits over the day, one
// in 50 with a clock step. Samples vary offset, uncertainty and status, and carry 32-hex
// reportIds like the agent's, random 64-bit content hashes like the ingest path's (the first 16 hex
// digits of a SHA-256), and a guest clock in whole ms (the agent's Date.now()). Writes go hour by hour: one write() per hour
// holding every agent's 60 samples in time order (minute by minute, agents interleaved, as they
// arrive in production, so an agent's rows are spread over the table), which is how the store
// batches a spool flush: rollups and the latest state are written once per agent and hour.
// The one bench-only setting: a 1 GiB page cache on this connection while generating (the
// indexes of 14 M rows do not fit the store's default 32 MB; the file is the same).
//
//   node bench/store-gen.mjs '{"db":"...","agents":10000,"fromMs":...,"toMs":...}'
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { Compliance, Ingestor, openSqliteStore, staticHostClock } from '@clockwatch/collector';
import { ceilToNs, roundToNs } from '@clockwatch/shared';
import { loadCasesByName, shiftReport } from './bodies.mjs';

const o = JSON.parse(process.argv[2]);
const MIN = 60_000;
const SYNCED = { daemon: 'chronyd', synchronized: true, server: '10.0.0.1', stratum: 2, offsetMs: 0.01, lastSyncAgeS: 10, pollIntervalS: 64, maxErrorMs: 0.5 };
const FIXTURE_BASE_MS = 1_795_600_000_000;

const store = openSqliteStore({ path: o.db });
store.db.pragma('cache_size = -1048576');
const ingestor = new Ingestor({ committer: null, compliance: new Compliance(), hostClock: staticHostClock(SYNCED), hostResolutionMs: 0.001, maxBatch: 1000 });
const named = loadCasesByName();
const compliantCase = named.find((c) => c.name === 'kvm-linux-compliant').report;
const otherCases = named.filter((c) => c.name !== 'kvm-linux-compliant').map((c) => c.report);
const caseOf = (k) => (k % 20 === 7 ? otherCases[Math.floor(k / 20) % otherCases.length] : compliantCase);
const minutes = Math.round((o.toMs - o.fromMs) / MIN);

const bases = [];
for (let k = 0; k < o.agents; k++) {
  const r = structuredClone(caseOf(k));
  const lastAt = o.fromMs + (minutes - 1) * MIN + ((k * 7919) % MIN);
  shiftReport(r, lastAt - FIXTURE_BASE_MS);
  r.agent.id = `vm-${String(k).padStart(5, '0')}`;
  r.agent.hostname = `host-${k}.example.net`;
  const h = (k * 2654435761) >>> 0;
  r.agent.systemUuid = `${h.toString(16).padStart(8, '0')}-8f4d-4c1a-9e2b-${String(k).padStart(12, '0')}`;
  r.seq = minutes - 1;
  r.reportId = randomBytes(16).toString('hex');
  const { record } = ingestor.prepare(r, lastAt + 40);
  bases.push(record);
}

let n = 0;
const started = performance.now();
// An hour per write() up to 10,000 agents (600,000 records); beyond, fewer minutes per write so
// that one batch stays ~600,000 records (100,000 agents: 6 minutes; an hour of them would not fit
// a 4 GiB heap).
const perWrite = Math.max(1, Math.min(60, Math.floor(600_000 / o.agents)));
for (let h0 = 0; h0 < minutes; h0 += perWrite) {
  const batch = [];
  const ids = randomBytes(16 * o.agents * perWrite).toString('hex');
  const hashes = randomBytes(8 * o.agents * perWrite).toString('hex');
  let idAt = 0;
  for (let m = h0; m < Math.min(minutes, h0 + perWrite); m++) {
    const last = m === minutes - 1;
    for (let k = 0; k < o.agents; k++) {
      const b = bases[k];
      const atMs = o.fromMs + m * MIN + ((k * 7919) % MIN);
      // 10 % of the agents drift out of the offset limits over the day; the rest wander within ±0.5 ms.
      const drifting = k % 10 === 3;
      // In whole ns, as the collector states what it measures (shared time-math roundToNs).
      const offsetMs = roundToNs(drifting ? 5 + (m / minutes) * 1800 : 0.5 * Math.sin((m + k) / 50));
      const uncertaintyMs = ceilToNs(0.3 + ((m * 31 + k) % 17) / 10);
      const offsetStatus = Math.abs(offsetMs) - uncertaintyMs > 1000 ? 'fail' : Math.abs(offsetMs) + uncertaintyMs > 100 ? 'warn' : 'pass';
      // The other checks keep the base record's statuses; the offset check follows the offset.
      const status = offsetStatus === 'fail' ? 'noncompliant' : offsetStatus === 'warn' && b.status === 'compliant' ? 'warning' : b.status;
      batch.push(
        last
          ? b
          : {
              ...b,
              reportId: ids.slice(idAt, idAt + 32),
              seq: m,
              contentHash: hashes.slice(idAt / 2, idAt / 2 + 16),
              atMs,
              receivedAtMs: atMs + 40,
              guestEpochMs: Math.round(atMs + offsetMs),
              offsetMs,
              uncertaintyMs,
              status,
              baseStatus: status,
              checks: { ...b.checks, offset: offsetStatus },
              steps: k % 50 === 7 && m === 700 ? [{ atMs: atMs - 1000, stepMs: 250 }] : [],
              reportJson: '{}',
            },
      );
      idAt += 32;
      n++;
    }
  }
  await store.write(batch);
  if (o.progress) process.stderr.write(`  store ${o.agents} agents: ${Math.min(minutes, h0 + perWrite)}/${minutes} minutes, ${Math.round((performance.now() - started) / 1000)} s\n`);
}
const genMs = performance.now() - started;
store.db.pragma('wal_checkpoint(TRUNCATE)');
const samples = store.db.prepare('SELECT count(*) FROM samples').pluck().get();
await store.close();
const bytes = statSync(o.db).size;
process.stdout.write(`${JSON.stringify({ agents: o.agents, minutes, samples, written: n, genMs, bytes })}\n`);
