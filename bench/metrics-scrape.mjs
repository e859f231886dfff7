// GET /metrics of the real collector CLI serving a fleet of `agents` agents (default 10,000), in a
// fresh database filled through POST /v1/reports: wall time and server CPU (all threads, /proc,
// 10 ms ticks) of the first scrape (nothing kept), of later scrapes of an unchanged fleet, and of
// scrapes of a live fleet, where a quarter of the agents report between two scrapes (agents
// reporting every 60 s, scraped every 15 s). Median of `rounds` (default 8).
//
//   node bench/metrics-scrape.mjs [agents] [rounds] [extra serve args as JSON, e.g. '["--x"]']
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent as UndiciAgent, request } from 'undici';
import { bodyFactory } from './bodies.mjs';
import { cpuMsOf, median, startCollector } from './lib.mjs';

const N = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 8);
const extra = process.argv[4] ? JSON.parse(process.argv[4]) : [];
const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-metrics-scrape-'));
// CW_BENCH_CPU_PROF=DIR: the server writes a V8 CPU profile there when it stops.
const nodeArgs = process.env.CW_BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.CW_BENCH_CPU_PROF] : [];
const collector = await startCollector({ db: path.join(dir, 'store.db'), args: ['--rate-limit', '0', ...extra], core: null, nodeArgs });
const dispatcher = new UndiciAgent({ connections: 8 });
const next = bodyFactory({ agents: N });

/** n reports, 8 at a time in flight, each for the next agent in turn. */
async function post(n) {
  let left = n;
  const worker = async () => {
    while (left-- > 0) {
      const res = await request(`${collector.url}/v1/reports`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: next() });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`POST: ${res.statusCode} ${text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function scrape() {
  const c0 = cpuMsOf(collector.pid);
  const t0 = performance.now();
  const res = await request(`${collector.url}/metrics`, { dispatcher, headers: { 'accept-encoding': 'identity' } });
  const body = await res.body.arrayBuffer();
  const ms = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`GET /metrics: ${res.statusCode}`);
  return { ms, cpuMs: cpuMsOf(collector.pid) - c0, bytes: body.byteLength };
}

const fmt = (xs, k) => median(xs.map((x) => x[k])).toFixed(0);
try {
  await post(N);
  const first = await scrape();
  const same = [];
  for (let i = 0; i < ROUNDS; i++) same.push(await scrape());
  const live = [];
  for (let i = 0; i < ROUNDS; i++) {
    await post(Math.round(N / 4));
    live.push(await scrape());
  }
  console.log(`metrics scrape, ${N} agents, ${(first.bytes / 2 ** 20).toFixed(1)} MiB: first ${first.ms.toFixed(0)} ms (CPU ${first.cpuMs} ms); unchanged median ${fmt(same, 'ms')} ms (CPU ${fmt(same, 'cpuMs')} ms); live (a quarter reported) median ${fmt(live, 'ms')} ms (CPU ${fmt(live, 'cpuMs')} ms)`);
} finally {
  await dispatcher.close();
  await collector.stop();
  rmSync(dir, { recursive: true, force: true });
}
