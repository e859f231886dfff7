// The load generator: autocannon (programmatic API) in its own process, pinned by the caller to
// the core the server does not use. POSTs report bodies from distinct agents (bodies.mjs) and
// prints one JSON line: 2xx count, other statuses, errors, and latency quantiles computed from
// every response time (autocannon's own histogram rounds to whole milliseconds).
//
//   node bench/load.mjs '{"url":"http://127.0.0.1:PORT","path":"/v1/reports","connections":50,"seconds":10,"warmupS":2,"agents":10000}'
import autocannon from 'autocannon';
import { bodyFactory } from './bodies.mjs';

const o = JSON.parse(process.argv[2]);
const path = o.path ?? '/v1/reports';
const headers = { 'content-type': 'application/json', ...(o.headers ?? {}) };

function run(seconds, prefix, record, amount = 0) {
  const next = bodyFactory({ agents: o.agents ?? 10_000, prefix });
  const latencies = [];
  const statuses = {};
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: o.url,
        connections: o.connections ?? 50,
        ...(amount > 0 ? { amount } : { duration: seconds }),
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path,
            headers,
            setupRequest: (req) => {
              req.body = next();
              return req;
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve({ result, latencies, statuses })),
    );
    inst.on('response', (_client, statusCode, _bytes, responseTime) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (record && statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

function q(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

const tag = `${o.tag ?? 'l'}${process.pid}`;
// Warm-up: first one report from every agent (`warmupEveryAgent`), so the measured window is the
// steady state of a collector that has seen its fleet before (its per-agent caches: resolved
// policy, static parts), as in production after one interval; then `warmupS` seconds more.
const first = o.warmupEveryAgent ? await run(0, `${tag}a`, false, o.agents ?? 10_000) : null;
const warm = o.warmupS > 0 ? await run(o.warmupS, `${tag}w`, false) : null;
// The caller samples the server's CPU time between this line and the result.
process.stdout.write(`${JSON.stringify({ phase: 'measure' })}\n`);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const { result, latencies, statuses } = await run(o.seconds ?? 10, `${tag}m`, true);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
latencies.sort((a, b) => a - b);
const ok = result['2xx'];
process.stdout.write(
  `${JSON.stringify({
    ok,
    warmupOk: (warm ? warm.result['2xx'] : 0) + (first ? first.result['2xx'] : 0),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    seconds: result.duration,
    rps: ok / result.duration,
    latencyMs: { p50: q(latencies, 0.5), p90: q(latencies, 0.9), p99: q(latencies, 0.99), max: latencies.at(-1) ?? null, mean: latencies.reduce((s, x) => s + x, 0) / Math.max(1, latencies.length) },
    loadCpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
  })}\n`,
);
