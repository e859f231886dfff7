// Rejudging every stored latest state (what `serve` does at start, on SIGHUP and when the libvirt
// snapshot changes): `agents` latest states written through the real ingest code (Ingestor.prepare,
// the fixture fleet of store-gen.mjs: mostly compliant, one in 20 from the other cases), then
// rejudged twice in one transaction each — under a policy that changes the timezone check of every
// agent (every row rewritten), and again under the same policy (nothing to write). Prints one JSON
// line. Timings on a shared machine are indicative only.
//
//   node bench/rejudge.mjs '{"agents":10000}'
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Compliance, Ingestor, openSqliteStore, staticHostClock } from '@clockwatch/collector';
import { loadCasesByName, shiftReport } from './bodies.mjs';

const o = { agents: 10_000, ...JSON.parse(process.argv[2] ?? '{}') };
const SYNCED = { daemon: 'chronyd', synchronized: true, server: '10.0.0.1', stratum: 2, offsetMs: 0.01, lastSyncAgeS: 10, pollIntervalS: 64, maxErrorMs: 0.5 };
const FIXTURE_BASE_MS = 1_795_600_000_000;
const dir = mkdtempSync(join(tmpdir(), 'cw-rejudge-'));
const store = openSqliteStore({ path: join(dir, 'r.db') });
try {
  const compliance = new Compliance();
  const ingestor = new Ingestor({ committer: null, compliance, hostClock: staticHostClock(SYNCED), hostResolutionMs: 0.001, maxBatch: 1000 });
  const named = loadCasesByName();
  const compliant = named.find((c) => c.name === 'kvm-linux-compliant').report;
  const others = named.filter((c) => c.name !== 'kvm-linux-compliant').map((c) => c.report);
  const now = Date.now();
  const records = [];
  for (let k = 0; k < o.agents; k++) {
    const r = shiftReport(structuredClone(k % 20 === 7 ? others[Math.floor(k / 20) % others.length] : compliant), now - 5_000 - FIXTURE_BASE_MS);
    r.agent.id = `vm-${String(k).padStart(5, '0')}`;
    r.agent.hostname = r.agent.id;
    r.reportId = `rj-${k}-${now}`;
    records.push(ingestor.prepare(r, now).record);
    if (records.length === 1000) await store.write(records.splice(0));
  }
  if (records.length) await store.write(records);
  compliance.setPolicy({ version: 1, defaults: { timezone: { expected: 'Europe/Paris' } } });
  const changed = await store.rejudge((s) => compliance.storedVerdictOf(s));
  const same = await store.rejudge((s) => compliance.storedVerdictOf(s));
  console.log(JSON.stringify({ agents: changed.agents, changedRows: changed.changed, changedMs: Math.round(changed.durationMs), unchangedRows: same.changed, unchangedMs: Math.round(same.durationMs), statusChanges: changed.statusChanges }));
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
