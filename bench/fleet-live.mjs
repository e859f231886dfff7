// The fleet view (GET /v1/agents?limit=10000) and /metrics of the real collector CLI serving a
// fleet of `agents` agents (default 10,000) in a fresh database filled through POST /v1/reports:
// wall time and server CPU (all threads, /proc, 10 ms ticks, so averaged over the requests) of
// the first request, of requests of an unchanged fleet (200, and 304 with the ETag of the last),
// and of a live fleet: a quarter of the agents report between two requests (agents reporting
// every 60 s, a dashboard polling every 15 s). Medians of `rounds` (default 8).
//
//   node bench/fleet-live.mjs [agents] [rounds]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent as UndiciAgent, request } from 'undici';
import { bodyFactory } from './bodies.mjs';
import { cpuMsOf, median, startCollector } from './lib.mjs';

const N = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 8);
const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-fleet-live-'));
const collector = await startCollector({ db: path.join(dir, 'store.db'), args: ['--rate-limit', '0'] });
const posting = new UndiciAgent({ connections: 8 });
const reading = new UndiciAgent({ connections: 1 });
const next = bodyFactory({ agents: N });
const FLEET = `/v1/agents?limit=${Math.min(N, 10_000)}`;

/** n reports, 8 at a time in flight, each for the next agent in turn. */
async function post(n) {
  let left = n;
  const worker = async () => {
    while (left-- > 0) {
      const res = await request(`${collector.url}/v1/reports`, { method: 'POST', dispatcher: posting, headers: { 'content-type': 'application/json' }, body: next() });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`POST: ${res.statusCode} ${text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** n GETs one after the other: median wall time, server CPU per request, the last ETag. */
async function get(p, n, headers = {}) {
  const xs = [];
  let etag;
  let bytes = 0;
  const c0 = cpuMsOf(collector.pid);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await request(collector.url + p, { dispatcher: reading, headers: { 'accept-encoding': 'identity', ...headers } });
    const body = await res.body.arrayBuffer();
    xs.push(performance.now() - t0);
    if (res.statusCode !== 200 && res.statusCode !== 304) throw new Error(`GET ${p}: ${res.statusCode}`);
    etag = res.headers.etag;
    bytes = body.byteLength;
  }
  return { ms: median(xs), cpuMs: (cpuMsOf(collector.pid) - c0) / n, etag, bytes };
}

const f = (x) => `${x.ms.toFixed(1)} ms (CPU ${x.cpuMs.toFixed(1)} ms)`;
try {
  await post(N);
  const first = await get(FLEET, 1);
  const same = await get(FLEET, 4 * ROUNDS);
  const notModified = await get(FLEET, 4 * ROUNDS, { 'if-none-match': same.etag });
  const firstMetrics = await get('/metrics', 1);
  const sameMetrics = await get('/metrics', ROUNDS);
  const live = [];
  const liveMetrics = [];
  for (let i = 0; i < ROUNDS; i++) {
    await post(Math.round(N / 4));
    live.push(await get(FLEET, 1));
    liveMetrics.push(await get('/metrics', 1));
  }
  const med = (xs) => ({ ms: median(xs.map((x) => x.ms)), cpuMs: median(xs.map((x) => x.cpuMs)) });
  console.log(`fleet view, ${N} agents, ${(first.bytes / 2 ** 20).toFixed(1)} MiB: first ${f(first)}; unchanged ${f(same)}; 304 ${f(notModified)}; live (a quarter reported) ${f(med(live))}`);
  console.log(`/metrics, ${N} agents, ${(firstMetrics.bytes / 2 ** 20).toFixed(1)} MiB: first ${f(firstMetrics)}; unchanged ${f(sameMetrics)}; live ${f(med(liveMetrics))}`);
} finally {
  await posting.close();
  await reading.close();
  await collector.stop();
  rmSync(dir, { recursive: true, force: true });
}
