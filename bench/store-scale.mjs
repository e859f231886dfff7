// Benchmark 4: the store at fleet scale. A day of samples at one per minute for N agents
// (bench/store-gen.mjs, through the store interface), then the real collector CLI serves that
// file (core 0) and the queries are timed over HTTP with one kept-alive connection, as a dashboard
// would: the fleet view (every agent), one agent's history of the day (1,440 points, a different
// agent each time), the compliance summary; and one export of the day in all three formats
// (`clockwatch-collector export`, its own process); also the fleet page of the 100 worst
// (`?status=noncompliant,stale&limit=100`) and one `/metrics` scrape. At two sizes: the smaller is the
// baseline of the larger, so the ratio says how each figure grows with the fleet. The growth table
// adds 100,000 agents with one hour of samples at one a minute (full run only) and says how each
// figure grows with the fleet.
//
// Databases are kept in bench/work/ and reused by later runs (same size, same generator version)
// unless --fresh; their day then lies in the past, which changes nothing measured here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Agent as UndiciAgent, request } from 'undici';
import { benchDir, collectorCli, median, pinnedCommand, SERVER_CORE, spawnNode, startCollector, summarize, workDir } from './lib.mjs';

const GENERATOR_VERSION = 2;
const MIN = 60_000;
const DAY = 86_400_000;

export async function ensureDb(agents, { fresh, log, hours = 24 }) {
  const db = path.join(workDir, `store-${agents}${hours === 24 ? '' : `-${hours}h`}.db`);
  const metaFile = `${db}.json`;
  if (!fresh && existsSync(db) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    if (meta.version === GENERATOR_VERSION && meta.agents === agents && meta.toMs - meta.fromMs === hours * 3_600_000) {
      log(`  store ${agents} agents: reusing ${path.relative(process.cwd(), db)} (generated ${new Date(meta.generatedAt).toISOString()}, ${Math.round(meta.genMs / 1000)} s)`);
      return { db, meta, reused: true };
    }
  }
  for (const x of ['', '-wal', '-shm', '.json']) rmSync(db + x, { force: true });
  const toMs = Math.floor(Date.now() / MIN) * MIN;
  const fromMs = toMs - hours * 3_600_000;
  log(`  store ${agents} agents: generating ${agents * hours * 60} samples …`);
  const p = spawnNode(path.join(benchDir, 'store-gen.mjs'), [JSON.stringify({ db, agents, fromMs, toMs, progress: agents >= 5000 })], { core: SERVER_CORE, nodeArgs: ['--max-old-space-size=4096'] });
  p.child.stderr.on('data', (d) => process.stderr.write(d));
  const r = await p.done;
  if (r.code !== 0) throw new Error(`store-gen failed: ${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  const meta = { version: GENERATOR_VERSION, agents, fromMs, toMs, generatedAt: Date.now(), ...out };
  writeFileSync(metaFile, JSON.stringify(meta));
  return { db, meta, reused: false };
}

async function timeGet(dispatcher, url, n, pathFor) {
  const xs = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const p = pathFor(i);
    const t0 = performance.now();
    const res = await request(url + p, { dispatcher });
    const body = await res.body.text();
    xs.push(performance.now() - t0);
    bytes = body.length;
    if (res.statusCode !== 200) throw new Error(`GET ${p}: ${res.statusCode} ${body.slice(0, 300)}`);
  }
  return { first: xs[0], ...summarize(xs.slice(1)), bytes };
}

function exportDay(db, meta) {
  const out = mkdtempSync(path.join(workDir, 'export-'));
  const [cmd, args] = pinnedCommand(SERVER_CORE, process.execPath, [collectorCli, 'export', '--db', db, '--from', String(meta.fromMs), '--to', String(meta.toMs), '--out', out]);
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 600_000 });
  const ms = performance.now() - t0;
  const files = existsSync(out) ? readdirSync(out).map((f) => ({ f, bytes: statSync(path.join(out, f)).size })) : [];
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) return { ms: null, error: (r.stderr || r.stdout).trim().split('\n').slice(0, 3).join(' ') };
  return { ms, files };
}

async function measure(agents, opts) {
  const { db, meta, reused } = await ensureDb(agents, opts);
  const points = Math.round((meta.toMs - meta.fromMs) / MIN);
  const bytes = statSync(db).size;
  const collector = await startCollector({ db: db, args: ['--rate-limit', '0'] });
  const dispatcher = new UndiciAgent({ connections: 1 });
  const n = opts.quick ? 8 : 20;
  let q;
  try {
    const step = Math.max(1, Math.floor(agents / n));
    q = {
      // The API pages at most 10,000 agents: beyond, the first page.
      fleet: await timeGet(dispatcher, collector.url, n + 1, () => `/v1/agents?limit=${Math.min(agents, 10_000)}`),
      page: await timeGet(dispatcher, collector.url, n + 1, () => '/v1/agents?status=noncompliant,stale&limit=100'),
      history: await timeGet(dispatcher, collector.url, n + 1, (i) => `/v1/agents/vm-${String((i * step + 1) % agents).padStart(5, '0')}/history?from=${meta.fromMs}&to=${meta.toMs}&limit=1440`),
      summary: await timeGet(dispatcher, collector.url, n + 1, () => '/v1/compliance'),
      metrics: await timeGet(dispatcher, collector.url, Math.min(n, 6) + 1, () => '/metrics'),
      count: null,
    };
  } finally {
    await dispatcher.close();
    await collector.stop();
  }
  const ex = exportDay(db, meta);
  const exportBytes = (ex.files ?? []).filter((f) => !f.f.endsWith('.manifest.json')).reduce((a, f) => a + f.bytes, 0);
  const r = { agents, points, exportBytes, samples: meta.samples, bytes, bytesPerSample: bytes / meta.samples, genMs: meta.genMs, genPerS: meta.written / (meta.genMs / 1000), reused, ...q, exportMs: ex.ms, exportError: ex.error ?? null, exportFiles: ex.files ?? [] };
  opts.log(
    `  store ${agents} agents: ${Math.round(r.bytesPerSample)} B/sample, fleet ${r.fleet.median.toFixed(1)} ms (first ${r.fleet.first.toFixed(0)}), page ${r.page.median.toFixed(2)} ms, history ${r.history.median.toFixed(2)} ms, summary ${r.summary.median.toFixed(2)} ms, metrics ${r.metrics.median.toFixed(1)} ms, export ${r.exportMs === null ? `failed: ${r.exportError}` : `${(r.exportMs / 1000).toFixed(2)} s`}`,
  );
  return r;
}

/** How a figure grows from the smallest to the largest fleet, against how the fleet grows. */
function growth(values, agents) {
  const pairs = values.map((v, i) => [v, agents[i]]).filter(([v]) => v !== null && v !== undefined && v > 0);
  if (pairs.length < 2) return '–';
  const [v0, a0] = pairs[0];
  const [v1, a1] = pairs[pairs.length - 1];
  const k = Math.log(v1 / v0) / Math.log(a1 / a0);
  const word = k < 0.15 ? 'flat' : k < 0.8 ? 'sub-linear' : k < 1.2 ? 'linear' : 'super-linear';
  return `${word} (∝ agents^${k.toFixed(2)})`;
}

function growthTable(rs) {
  const n = (x) => x.agents.toLocaleString('en-US');
  const cols = rs.map((x) => `${n(x)} agents, ${x.points === 1440 ? 'a day' : `${x.points / 60} h`}`);
  const line = (name, get, f) => `| ${name} | ${rs.map((x) => (get(x) === null || get(x) === undefined ? '–' : f(get(x)))).join(' | ')} | ${growth(rs.map(get), rs.map((x) => x.agents))} |`;
  const ms = (v) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
  return [
    `| figure | ${cols.join(' | ')} | growth with the fleet |`,
    `| --- | ${cols.map(() => '---:').join(' | ')} | --- |`,
    line('samples', (x) => x.samples, (v) => v.toLocaleString('en-US')),
    line('bytes per sample on disk', (x) => x.bytesPerSample, (v) => `${Math.round(v)} B`),
    line('fleet view, every agent (at most a 10,000-agent page; median)', (x) => x.fleet.median, ms),
    line('fleet page, 100 noncompliant or stale (median)', (x) => x.page.median, ms),
    line("one agent's history (all its points, median)", (x) => x.history.median, ms),
    line('compliance summary (median)', (x) => x.summary.median, ms),
    line('/metrics scrape (median)', (x) => x.metrics.median, ms),
    line('export csv + json + html', (x) => (x.exportMs === null ? null : x.exportMs / 1000), (v) => `${v.toFixed(1)} s`),
    line('export size', (x) => x.exportBytes || null, (v) => `${(v / 2 ** 20).toFixed(1)} MiB`),
  ].join('\n');
}

export async function benchStoreScale({ quick = false, fresh = false, log = console.error, sizes } = {}) {
  const [small, large] = sizes ?? (quick ? [100, 1000] : [1000, 10_000]);
  const a = await measure(small, { quick, fresh, log });
  const b = await measure(large, { quick, fresh, log });
  // The growth table's third size: 100,000 agents with one hour at one sample a minute (full run).
  const c = quick ? null : await measure(100_000, { quick, fresh, log, hours: 1 });
  const label = (x) => `${x.agents.toLocaleString('en-US')} agents`;
  const row = (figure, unit, get, target, met, note) => ({
    section: '4 store',
    figure: `${figure}, ${label(b)}`,
    value: get(b),
    unit,
    baseline: get(a),
    baselineLabel: label(a),
    ratio: get(a) ? get(b) / get(a) : null,
    target,
    met,
    note,
  });
  const rows = [
    row('bytes per sample on disk (all tables and indexes)', 'B', (x) => x.bytesPerSample, '≤ 120 B', b.bytesPerSample <= 120, `${(b.bytes / 2 ** 30).toFixed(2)} GiB for ${b.samples.toLocaleString('en-US')} samples`),
    row('fleet view GET /v1/agents (every agent), median', 'ms', (x) => x.fleet.median, '≤ 25 ms', b.fleet.median <= 25, `first (cold) ${b.fleet.first.toFixed(0)} ms; max ${b.fleet.max.toFixed(0)} ms; ${(b.fleet.bytes / 2 ** 20).toFixed(1)} MiB JSON`),
    row('fleet page of the 100 worst (GET /v1/agents?status=noncompliant,stale&limit=100), median', 'ms', (x) => x.page.median, '≤ 5 ms', b.page.median <= 5, `max ${b.page.max.toFixed(1)} ms; ${(b.page.bytes / 1024).toFixed(0)} KiB (?sort=severity does not exist yet: the noncompliant and stale filter stands in; a stored day lies in the past, so most agents are stale by the time it is queried)`),
    row("one agent's history of the day (1,440 points), median", 'ms', (x) => x.history.median, '≤ 3 ms and ≤ 100 KiB', b.history.median <= 3 && b.history.bytes <= 100 * 1024, `a different agent each request; max ${b.history.max.toFixed(1)} ms; ${(b.history.bytes / 1024).toFixed(0)} KiB`),
    row('compliance summary GET /v1/compliance, median', 'ms', (x) => x.summary.median, '≤ 2 ms', b.summary.median <= 2, `max ${b.summary.max.toFixed(1)} ms`),
    row('/metrics scrape, median', 'ms', (x) => x.metrics.median, '≤ 150 ms', b.metrics.median <= 150, `first ${b.metrics.first.toFixed(0)} ms; max ${b.metrics.max.toFixed(0)} ms; ${(b.metrics.bytes / 2 ** 20).toFixed(1)} MiB of exposition`),
    row('export of the day (csv + json + html, CLI process)', 's', (x) => (x.exportMs === null ? null : x.exportMs / 1000), '≤ 10 s', b.exportMs === null ? false : b.exportMs <= 10_000, b.exportMs === null ? `export failed: ${b.exportError}` : b.exportFiles.map((f) => `${f.f} ${(f.bytes / 2 ** 20).toFixed(1)} MiB`).join(', ')),
    row('export of the day, size of csv + json + html', 'MiB', (x) => (x.exportMs === null ? null : x.exportBytes / 2 ** 20), '≤ 60 MiB', b.exportMs === null ? false : b.exportBytes <= 60 * 2 ** 20, 'hourly rollups and the worst sample per agent, plots for the 200 worst; every sample: export --detail'),
    row('generation through the store (samples written per second)', 'samples/s', (x) => x.genPerS, '(none)', null, `${Math.round(b.genMs / 1000)} s for ${b.samples.toLocaleString('en-US')} samples${b.reused ? ' (earlier run, reused)' : ''}; hourly write() batches`),
  ];
  const sizesMeasured = [a, b, ...(c ? [c] : [])];
  const markdown = `Growth with the fleet (${quick ? 'quick run: 100 and 1,000 agents only' : '100,000 agents: one hour of samples at one a minute'}):\n\n${growthTable(sizesMeasured)}\n`;
  return { rows, markdown, details: { small: a, large: b, huge: c } };
}
