// Benchmark: the queries built for the question, over HTTP against the real collector CLI (core 0)
// with one kept-alive connection, each next to a baseline measured in the same run on the same
// server: GET /healthz (the cost of a request that does nothing). Two stores from store-gen.mjs:
// `agents` agents with one hour of samples at 1/min (the fleet figures depend on the number of
// agents, not on the history) and 100 agents with a day (one agent's day: 1,440 points).
//
// Figures: the worst 100 (?sort=severity&limit=100) against the old way of asking
// (?status=noncompliant,stale&limit=100); the fleet view of every agent; the summary; /metrics;
// one agent's day as rows, as columns, hourly.
//
//   node bench/queries.mjs [--agents 10000] [--n 20]
import { statSync } from 'node:fs';
import { Agent as UndiciAgent, request } from 'undici';
import { startCollector, summarize } from './lib.mjs';
import { ensureDb } from './store-scale.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};

async function timeGet(dispatcher, url, n, pathFor) {
  const xs = [];
  let bytes = 0;
  for (let i = 0; i < n + 1; i++) {
    const p = pathFor(i);
    const t0 = performance.now();
    const res = await request(url + p, { dispatcher });
    const body = await res.body.text();
    if (i > 0) xs.push(performance.now() - t0);
    bytes = body.length;
    if (res.statusCode !== 200) throw new Error(`GET ${p}: ${res.statusCode} ${body.slice(0, 300)}`);
  }
  return { ...summarize(xs), bytes };
}

async function serve(db, fn) {
  const collector = await startCollector({ db, args: ['--rate-limit', '0'] });
  const dispatcher = new UndiciAgent({ connections: 1 });
  try {
    return await fn(collector.url, dispatcher);
  } finally {
    await dispatcher.close();
    await collector.stop();
  }
}

export async function benchQueries({ agents = arg('agents', 10_000), n = arg('n', 20), log = console.error, fresh = false } = {}) {
  const fleet = await ensureDb(agents, { fresh, log, hours: 1 });
  const day = await ensureDb(100, { fresh, log, hours: 24 });
  const out = { agents, contended: true };
  out.fleet = await serve(fleet.db, async (url, d) => ({
    baselineHealthz: await timeGet(d, url, n, () => '/healthz'),
    worst100: await timeGet(d, url, n, () => '/v1/agents?sort=severity&limit=100'),
    worst100OldWay: await timeGet(d, url, n, () => '/v1/agents?status=noncompliant,stale&limit=100'),
    everyAgent: await timeGet(d, url, n, () => `/v1/agents?limit=${agents}`),
    everyAgentWorstFirst: await timeGet(d, url, n, () => `/v1/agents?sort=severity&limit=${agents}`),
    summary: await timeGet(d, url, n, () => '/v1/compliance'),
    metrics: await timeGet(d, url, Math.min(n, 10), () => '/metrics'),
    staleNow: JSON.parse(await (await request(`${url}/v1/compliance`, { dispatcher: d })).body.text()).byStatus.stale,
  }));
  out.fleet.bytesPerSample = statSync(fleet.db).size / fleet.meta.samples;
  const { fromMs, toMs } = day.meta;
  const agentPath = (i) => `/v1/agents/vm-${String((i * 7 + 1) % 100).padStart(5, '0')}/history?from=${fromMs}&to=${toMs}&limit=1440`;
  out.day = await serve(day.db, async (url, d) => ({
    baselineHealthz: await timeGet(d, url, n, () => '/healthz'),
    rows: await timeGet(d, url, n, agentPath),
    columns: await timeGet(d, url, n, (i) => `${agentPath(i)}&format=columns&resolution=raw`),
    columnsDetail: await timeGet(d, url, n, (i) => `${agentPath(i)}&format=columns&resolution=raw&detail=true`),
    hourly: await timeGet(d, url, n, (i) => `${agentPath(i)}&format=columns&resolution=hour`),
  }));
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchQueries();
  const line = (name, x, base) => console.log(`${name.padEnd(30)} median ${x.median.toFixed(2).padStart(8)} ms  max ${x.max.toFixed(2)}  ×healthz ${(x.median / base.median).toFixed(1).padStart(6)}  ${(x.bytes / 1024).toFixed(1)} KiB`);
  for (const [k, v] of Object.entries(r.fleet)) if (v && typeof v === 'object') line(`fleet ${k}`, v, r.fleet.baselineHealthz);
  console.log(`fleet: ${r.fleet.staleNow} of ${r.agents} agents stale at the time of the run; ${r.fleet.bytesPerSample.toFixed(0)} B/sample (1 h store)`);
  for (const [k, v] of Object.entries(r.day)) line(`day ${k}`, v, r.day.baselineHealthz);
  console.log(JSON.stringify(r));
}
