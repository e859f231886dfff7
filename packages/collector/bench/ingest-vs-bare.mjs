// Rough ingest benchmark: a bare fastify route vs the collector's POST /v1/reports, same bodies (unique
// reportIds, 1,000 agents), 50 connections, autocannon in this process. Usage: node bench/ingest-vs-bare.mjs [seconds] [bare|collector|both]
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { reportNow, SYNCED } from './template.mjs';
import { buildApp, openSqliteStore, staticHostClock } from '../dist/index.js';
const template = reportNow();
const seconds = Number(process.argv[2] ?? 8);
let n = 0;
const body = () => { const k = n++; template.reportId = 'b' + process.pid + 'x' + String(k).padStart(10, '0'); template.agent.id = 'vm-' + (k % 1000); template.seq = k; return JSON.stringify(template); };
async function run(url, path) {
  const r = await autocannon({ url: url + path, connections: 50, duration: seconds, method: 'POST', headers: { 'content-type': 'application/json' },
    requests: [{ method: 'POST', path, setupRequest: (req) => ({ ...req, body: body() }) }] });
  return { rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}
const which = process.argv[3] ?? 'both';
if (which !== 'collector') {
  const bare = Fastify();
  bare.post('/v1/reports', async (req) => ({ accepted: 1, results: [{ reportId: req.body.reportId }] }));
  const url = await bare.listen({ port: 0, host: '127.0.0.1' });
  console.log('bare fastify', await run(url, '/v1/reports'));
  await bare.close();
}
if (which !== 'bare') {
  const store = openSqliteStore({ path: `${mkdtempSync(`${tmpdir()}/cw-bench-`)}/bench.db` });
  const app = await buildApp({ store, hostClock: staticHostClock(SYNCED), rateLimit: { perMinute: 0 } });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  console.log('collector   ', await run(url, '/v1/reports'));
  const m = await app.inject({ url: '/metrics' });
  console.log(m.body.split('\n').filter((l) => /clockwatch_store_commit_reports_(sum|count)|clockwatch_store_commit_duration_seconds_(sum|count)/.test(l)).join('\n'));
  await app.close(); await store.close();
}
