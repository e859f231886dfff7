// Benchmark 5: the PostgreSQL store beside the SQLite store, in the same run, on the same bodies.
//
// A private cluster is started for the run the way the tests start theirs (test/helpers/pg.ts):
// Debian's initdb + pg_ctl in a temp dir, a Unix socket only (no TCP), as the postgres user when
// run as root, pinned with the collector to the server core. Without the server binaries the
// section is one row saying so.
//
// 1. Ingest over HTTP: the real collector CLI with `--db <file>` and with `--db postgresql://…`
//    (a fresh database each round, default settings: synchronous_commit on), the same load
//    generator and body generator (bench/load.mjs, bodies.mjs), rounds alternating the order.
//    Every acknowledged report must be stored (counted afterwards).
// 2. The store at scale, in process: the same prepared records (Ingestor.prepare of the same
//    bodies) written through each store in batches of 50 (the group committer's batches), then
//    the fleet queries over `agents` agents: every agent by id, the 100 worst first, the summary.
//    Wall time: the PostgreSQL store's work is partly in its server processes.
//
//   node bench/postgres.mjs [--quick]
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Compliance, Ingestor, openPostgresStore, openSqliteStore, staticHostClock } from '../packages/collector/dist/index.js';
import { bodyFactory } from './bodies.mjs';
import { PINNING, runLoad, SERVER_CORE, startCollector, summarize, workDir } from './lib.mjs';

/** initdb/pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/N/bin; null when not installed. */
function pgBinDir() {
  if (process.env.PG_BIN && existsSync(path.join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const v = readdirSync(base).filter((x) => existsSync(path.join(base, x, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))[0];
  return v ? path.join(base, v, 'bin') : null;
}

/** A private cluster on a Unix socket in a temp dir (PostgreSQL refuses to run as root). */
export function startPgCluster() {
  const bin = pgBinDir();
  if (!bin) return null;
  const root = process.getuid?.() === 0;
  const run = (cmd, args) => {
    const pinned = PINNING ? ['taskset', '-c', String(SERVER_CORE), cmd, ...args] : [cmd, ...args];
    const full = root ? ['runuser', '-u', 'postgres', '--', ...pinned] : pinned;
    execFileSync(full[0], full.slice(1), { stdio: 'pipe' });
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-bench-pg-'));
  if (root) {
    chmodSync(dir, 0o755);
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  }
  const data = path.join(dir, 'data');
  run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  run(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-l', path.join(dir, 'log'), '-o', `-c listen_addresses='' -c unix_socket_directories='${dir}'`, 'start']);
  const version = spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  const urlOf = (db) => `postgresql://postgres@localhost/${db}?host=${encodeURIComponent(dir)}`;
  return {
    version,
    stop,
    urlOf,
    async createDb(name) {
      const c = new pg.Client({ connectionString: urlOf('postgres') });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      return urlOf(name);
    },
    async dropDb(name) {
      const c = new pg.Client({ connectionString: urlOf('postgres') });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
    async count(name, sql) {
      const c = new pg.Client({ connectionString: urlOf(name) });
      await c.connect();
      try {
        return Number((await c.query(sql)).rows[0].n);
      } finally {
        await c.end();
      }
    },
  };
}

async function ingestRounds(cluster, { quick, log }) {
  const rounds = quick ? 2 : 4;
  const seconds = quick ? 3 : 10;
  const warmupS = quick ? 1 : 2;
  const runs = { sqlite: [], postgres: [] };
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 === 0 ? ['sqlite', 'postgres'] : ['postgres', 'sqlite']) {
      const file = path.join(workDir, `pg-bench-ingest-${round}.db`);
      const name = `bench_ingest_${round}`;
      for (const x of ['', '-wal', '-shm']) rmSync(file + x, { force: true });
      const db = kind === 'sqlite' ? file : await cluster.createDb(name);
      const server = await startCollector({ db, args: ['--rate-limit', '0'] });
      let r;
      try {
        r = await runLoad(server.url, server.pid, { connections: 50, seconds, warmupS, agents: 10_000, tag: `pg${round}` });
      } finally {
        await server.stop();
      }
      if (kind === 'sqlite') {
        const { default: Database } = await import('better-sqlite3');
        const conn = new Database(file, { readonly: true });
        r.stored = conn.prepare('SELECT count(*) FROM samples').pluck().get();
        conn.close();
        for (const x of ['', '-wal', '-shm']) rmSync(file + x, { force: true });
      } else {
        r.stored = await cluster.count(name, 'SELECT count(*) AS n FROM samples');
        await cluster.dropDb(name);
      }
      r.lostAcks = Math.max(0, r.warmupOk + r.ok - r.stored);
      runs[kind].push(r);
      log(`  postgres bench ingest round ${round + 1} ${kind.padEnd(8)} ${Math.round(r.rps)} req/s  p99 ${r.latencyMs.p99?.toFixed(2)} ms  others ${Math.round(r.otherCpuPct ?? NaN)} %${r.non2xx ? `  non-2xx ${r.non2xx}` : ''}${r.lostAcks ? `  LOST ${r.lostAcks}` : ''}`);
    }
  }
  const sum = (kind) => ({
    rps: summarize(runs[kind].map((r) => r.rps)),
    p99: summarize(runs[kind].map((r) => r.latencyMs.p99)),
    non2xx: runs[kind].reduce((n, r) => n + r.non2xx + r.errors, 0),
    lostAcks: runs[kind].reduce((n, r) => n + r.lostAcks, 0),
  });
  return { rounds, seconds, sqlite: sum('sqlite'), postgres: sum('postgres'), runs };
}

/** The same records through a store: write in batches, then the fleet queries (ms, wall). */
async function storeAtScale(store, records, { agents, n, nowMs }) {
  const batch = 50;
  const t0 = performance.now();
  for (let i = 0; i < records.length; i += batch) await store.write(records.slice(i, i + batch));
  const writeMs = performance.now() - t0;
  const time = async (fn) => {
    const xs = [];
    for (let i = 0; i < n + 1; i++) {
      const s = performance.now();
      await fn(i);
      if (i > 0) xs.push(performance.now() - s);
    }
    return summarize(xs);
  };
  const every = await time(() => store.listAgents({ nowMs, offset: 0, limit: agents }));
  const worst = await time(() => store.listAgents({ nowMs, sort: 'severity', offset: 0, limit: 100 }));
  const labelled = await time(() => store.listAgents({ nowMs, labels: { site: 'berlin' }, offset: 0, limit: 100 }));
  const summary = await time(() => store.summary(nowMs));
  const total = (await store.listAgents({ nowMs, offset: 0, limit: 1 })).total;
  if (total !== agents) throw new Error(`${store.kind}: ${total} agents listed, ${agents} written`);
  return { writeUsPerReport: (writeMs * 1000) / records.length, every, worst, labelled, summary };
}

async function scaleBoth(cluster, { quick, log }) {
  const agents = quick ? 1_000 : 10_000;
  const reports = quick ? 5_000 : 30_000;
  const n = quick ? 5 : 15;
  const ingestor = new Ingestor({
    committer: null,
    compliance: new Compliance(),
    hostClock: staticHostClock({ synchronized: true, daemon: 'chrony', server: null, stratum: 2, offsetMs: 0, lastSyncAgeS: 1 }),
    hostResolutionMs: 0.001,
    maxBatch: 1000,
  });
  const next = bodyFactory({ agents, array: false, prefix: 'pgscale' });
  const texts = Array.from({ length: reports }, () => next());
  const nowMs = Date.now();
  const records = [];
  for (let i = 0; i < reports; i += 500) {
    const slice = texts.slice(i, i + 500);
    const { valid } = ingestor.parse(slice.map((x) => JSON.parse(x)), `[${slice.join(',')}]`);
    for (const v of valid) records.push(ingestor.prepare(v.report, nowMs, null, v.json).record);
  }
  const dir = mkdtempSync(path.join(workDir, 'pg-bench-scale-'));
  const out = { agents, reports, n };
  try {
    const sqlite = openSqliteStore({ path: path.join(dir, 'scale.db') });
    try {
      out.sqlite = await storeAtScale(sqlite, records, { agents, n, nowMs });
    } finally {
      await sqlite.close();
    }
    const url = await cluster.createDb('bench_scale');
    const pgStore = await openPostgresStore({ url, collector: 'bench' });
    try {
      out.postgres = await storeAtScale(pgStore, records, { agents, n, nowMs });
    } finally {
      await pgStore.close();
      await cluster.dropDb('bench_scale');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const k of ['sqlite', 'postgres']) {
    const x = out[k];
    log(`  postgres bench store ${k.padEnd(8)} write ${x.writeUsPerReport.toFixed(0)} µs/report, every agent ${x.every.median.toFixed(1)} ms, 100 worst ${x.worst.median.toFixed(2)} ms, label page ${x.labelled.median.toFixed(2)} ms, summary ${x.summary.median.toFixed(2)} ms`);
  }
  return out;
}

export async function benchPostgres({ quick = false, log = console.error } = {}) {
  mkdirSync(workDir, { recursive: true });
  const cluster = startPgCluster();
  if (!cluster) {
    const line = 'skipped: PostgreSQL server binaries not installed (Debian package postgresql); no PostgreSQL rows in this run';
    log(`  ${line}`);
    return { rows: [{ section: '5 postgres', figure: 'PostgreSQL store beside SQLite', value: null, unit: '', target: '(none)', met: null, note: line }], details: { skipped: true } };
  }
  try {
    log(`  postgres bench: private cluster, ${cluster.version}`);
    const ingest = await ingestRounds(cluster, { quick, log });
    const scale = await scaleBoth(cluster, { quick, log });
    const base = { section: '5 postgres', baselineLabel: 'SQLite store, same run', target: '(none)', met: null };
    const spread = (x) => `median of ${x.n}, ${Math.round(x.min)}–${Math.round(x.max)}`;
    const ms = (k) => ({ unit: 'ms', value: scale.postgres[k].median, baseline: scale.sqlite[k].median, ratio: scale.postgres[k].median / scale.sqlite[k].median });
    const agentsLabel = `${scale.agents.toLocaleString('en-US')} agents`;
    const rows = [
      {
        ...base,
        figure: 'reports/s over HTTP, PostgreSQL store',
        value: ingest.postgres.rps.median,
        unit: 'req/s',
        baseline: ingest.sqlite.rps.median,
        ratio: ingest.postgres.rps.median / ingest.sqlite.rps.median,
        note: `${ingest.rounds} rounds of ${ingest.seconds} s each, order alternating; PostgreSQL ${spread(ingest.postgres.rps)}, SQLite ${spread(ingest.sqlite.rps)}; non-2xx ${ingest.postgres.non2xx} / ${ingest.sqlite.non2xx}; acknowledged but not stored ${ingest.postgres.lostAcks} / ${ingest.sqlite.lostAcks}; collector and PostgreSQL share the server core`,
      },
      {
        ...base,
        figure: 'p99 latency over HTTP, PostgreSQL store',
        value: ingest.postgres.p99.median,
        unit: 'ms',
        baseline: ingest.sqlite.p99.median,
        ratio: ingest.postgres.p99.median / ingest.sqlite.p99.median,
        note: `p99 ${ingest.postgres.p99.min?.toFixed(1)}–${ingest.postgres.p99.max?.toFixed(1)} ms over rounds (SQLite ${ingest.sqlite.p99.min?.toFixed(1)}–${ingest.sqlite.p99.max?.toFixed(1)} ms)`,
      },
      {
        ...base,
        figure: `store write, batches of 50, ${scale.reports.toLocaleString('en-US')} reports of ${agentsLabel} (wall per report)`,
        unit: 'µs',
        value: scale.postgres.writeUsPerReport,
        baseline: scale.sqlite.writeUsPerReport,
        ratio: scale.postgres.writeUsPerReport / scale.sqlite.writeUsPerReport,
        note: 'the same prepared records through each store, in process; PostgreSQL: nine round trips per batch over the Unix socket (postgres.ts)',
      },
      { ...base, figure: `listAgents, every agent by id, ${agentsLabel}, median`, ...ms('every'), note: `median of ${scale.n}` },
      { ...base, figure: `listAgents, the 100 worst first (sort severity), ${agentsLabel}, median`, ...ms('worst'), note: `median of ${scale.n}` },
      { ...base, figure: `listAgents, first 100 with a label (site=berlin), ${agentsLabel}, median`, ...ms('labelled'), note: `median of ${scale.n}` },
      { ...base, figure: `fleet summary, ${agentsLabel}, median`, ...ms('summary'), note: `median of ${scale.n}` },
    ];
    return { rows, details: { version: cluster.version, ingest, scale } };
  } finally {
    cluster.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchPostgres({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(r.rows, null, 1));
}
