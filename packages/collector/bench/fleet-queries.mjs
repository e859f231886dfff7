// Query latencies over 10,000 agents (one with 1,440 samples): fleet, compliance, history, metrics. Usage: node bench/fleet-queries.mjs
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { reportNow, SYNCED } from './template.mjs';
import { request, Agent } from 'undici';
import { buildApp, openSqliteStore, staticHostClock, Ingestor, Compliance } from '../dist/index.js';
const template = reportNow();
const path = `${mkdtempSync(`${tmpdir()}/cw-bench-`)}/fleet.db`;
const store = openSqliteStore({ path });
const host = staticHostClock(SYNCED);
const ing = new Ingestor({ committer: null, compliance: new Compliance(), hostClock: host, hostResolutionMs: 0.001, maxBatch: 1000 });
const now = Date.now();
const shift = (r, d) => { r.systemTime.epochMs += d; r.rtc.epochMs += d; r.rtc.readAtMs += d; for (const s of r.timeProbe.samples) { s.t1 += d; s.t2 += d; s.t3 += d; s.t4 += d; } };
// 10,000 agents, the last one with 1 day of history at 60 s (1440 samples)
let t = performance.now();
for (let i = 0; i < 10_000; i += 500) {
  const recs = [];
  for (let k = i; k < i + 500; k++) { const r = structuredClone(template); r.reportId = 'f' + k; r.agent.id = 'vm-' + String(k).padStart(5, '0'); r.agent.hostname = 'host-' + k; recs.push(ing.prepare(r, now).record); }
  await store.write(recs);
}
const hist = [];
for (let k = 0; k < 1440; k++) { const r = structuredClone(template); shift(r, -(1440 - k) * 60_000); r.reportId = 'h' + k; r.agent.id = 'vm-09999'; r.seq = k; hist.push(ing.prepare(r, now - (1440 - k) * 60_000 + 50).record); }
await store.write(hist);
console.log('seeded in', Math.round(performance.now() - t), 'ms');
const app = await buildApp({ store, hostClock: host, defaultMetrics: false });
const url = await app.listen({ port: 0, host: '127.0.0.1' });
const dispatcher = new Agent({ connections: 1 });
async function time(p, n = 20) {
  const xs = []; let bytes = 0;
  for (let i = 0; i < n; i++) { const t0 = performance.now(); const res = await request(url + p, { dispatcher }); const b = await res.body.text(); xs.push(performance.now() - t0); bytes = b.length; if (res.statusCode !== 200) throw new Error(p + ' ' + res.statusCode + b.slice(0, 200)); }
  xs.sort((a, b) => a - b);
  console.log(p.padEnd(60), `median ${xs[n >> 1].toFixed(2)} ms  p90 ${xs[Math.floor(n * 0.9)].toFixed(2)} ms  (${(bytes / 1024).toFixed(0)} KiB)`);
}
await time('/v1/agents?limit=10000');
await time('/v1/agents');
await time('/v1/agents?status=stale&limit=10000');
await time('/v1/agents?q=host-99');
await time('/v1/compliance');
await time('/v1/agents/vm-09999/history');
await time('/v1/agents/vm-09999/history?limit=100');
await time('/v1/agents/vm-09999');
await time('/metrics', 5);
await app.close(); await store.close(); await dispatcher.close();
