/**
 * One pass over the period's rows of a set of agents, aggregating per agent inside SQLite. Runs on
 * the store's connection or on a worker thread's own read-only connection
 * (sqlite-scan-worker.ts), so it takes plain data in and gives plain data out.
 *
 * The samples table is clustered by (agent_key, at_ms, tie) (schema 6), so one agent's rows of a
 * period are one contiguous key range: the pass walks the agents in key order and reads each
 * one's range with a single B-tree descent (a CROSS JOIN keeps that loop order,
 * https://www.sqlite.org/optoverview.html#crossjoin), and GROUP BY agent_key then needs no sort,
 * the rows arriving grouped. Workers take disjoint runs of agents (partitionAgents). Per row only
 * arithmetic and scalar min/max: the uncertainty of the extreme is looked up afterwards, in one
 * hour of one agent.
 */
import type Database from 'better-sqlite3';

export interface ScanJob {
  /** Period [from, to). */
  from: number;
  to: number;
  /** Agents whose rows the pass folds, in ascending key order. */
  keys: number[];
  /** Agents whose offsets are bucketed for plots (a subset of keys). */
  plotKeys: number[];
  /** 'pass': every plotted agent's buckets in one UPSERT statement; 'each': a window query per agent (few agents). */
  plotMode: 'pass' | 'each';
  /** Buckets over the period for the plots. */
  buckets: number;
}

/**
 * Splits agents (ascending keys, with their row counts) into at most `parts` runs of consecutive
 * agents with about the same number of rows each: every agent in exactly one run, none empty.
 */
export function partitionAgents(agents: readonly { key: number; count: number }[], parts: number): number[][] {
  const n = Math.max(1, Math.min(Math.floor(parts), agents.length));
  const total = agents.reduce((t, a) => t + a.count, 0);
  const out: number[][] = [];
  let run: number[] = [];
  let done = 0;
  agents.forEach((a, i) => {
    run.push(a.key);
    done += a.count;
    const left = agents.length - i - 1;
    // Close the run at its share of the rows, unless the remaining agents are needed to fill the remaining runs.
    const runsLeft = n - out.length - 1;
    if (runsLeft > 0 && (done >= (total * (out.length + 1)) / n || left === runsLeft)) {
      out.push(run);
      run = [];
    }
  });
  if (run.length > 0) out.push(run);
  return out;
}
/**
 * Per agent: rows, compliant rows, rows with an offset, Σx, Σo, Σx², Σxo over the rows with an
 * offset (x = at_ms − from), and the largest and smallest offset (±1e308 when there is none).
 */
export type AccRow = [key: number, n: number, nc: number, no: number, sx: number, so: number, sxx: number, sxo: number, omax: number, omin: number];
/** Per agent and bucket: the point of largest |offset| and the band of offset ± uncertainty. */
export type BucketRow = [key: number, b: number, atMs: number, o: number, wabs: number, lo: number, hi: number];

/** Fields per agent in ScanResult.acc (an AccRow) and per bucket in ScanResult.buckets (a BucketRow). */
export const ACC_STRIDE = 10;
export const BUCKET_STRIDE = 7;

/**
 * Flat arrays (AccRow after AccRow, BucketRow after BucketRow): a worker hands their memory to the
 * main thread without a copy, and the main thread reads them without building an object per row.
 */
export interface ScanResult {
  acc: Float64Array;
  buckets: Float64Array;
  rows: number;
  /** Time of the fold and of the bucketing, ms. */
  foldMs: number;
  bucketMs: number;
}

const COMPLIANT = 0; // encodeStatus('compliant')

const SETUP = `
  CREATE TEMP TABLE IF NOT EXISTS cw_scan_keys (agent_key INTEGER PRIMARY KEY);
  CREATE TEMP TABLE IF NOT EXISTS cw_scan_plot (agent_key INTEGER PRIMARY KEY);
  CREATE TEMP TABLE IF NOT EXISTS cw_scan_bucket (agent_key INTEGER NOT NULL, b INTEGER NOT NULL, at_ms, o, wabs, lo, hi, PRIMARY KEY (agent_key, b)) WITHOUT ROWID;
  DELETE FROM cw_scan_keys; DELETE FROM cw_scan_plot; DELETE FROM cw_scan_bucket;`;

/** Each agent's rows of the period: one descent and a contiguous range per agent, agents in key order. */
const ROWS = (keys: string) => `${keys} k CROSS JOIN samples s ON s.agent_key = k.agent_key AND s.at_ms >= @from AND s.at_ms < @to`;

// total(): a float sum that never overflows (sum() of the integer x² would, over a long period).
const FOLD = `SELECT agent_key, count(*), total(status = ${COMPLIANT}), count(offset_ms),
    total(x), total(o), total(x * x), total(x * o), max(ifnull(offset_ms, -1e308)), min(ifnull(offset_ms, 1e308))
  FROM (SELECT k.agent_key AS agent_key, s.status AS status, s.offset_ms AS offset_ms,
               (s.at_ms - @from) * (s.offset_ms IS NOT NULL) AS x, ifnull(s.offset_ms, 0) AS o
        FROM ${ROWS('cw_scan_keys')})
  GROUP BY agent_key`;

// In an UPSERT's SET, column names are the row's values before the update
// (https://www.sqlite.org/lang_upsert.html). A bucket keeps its largest |offset|; on a tie the
// positive one, then the earliest: the same choice as BUCKETS_ONE.
const BETTER = 'excluded.wabs > wabs OR (excluded.wabs = wabs AND (excluded.o > o OR (excluded.o = o AND excluded.at_ms < at_ms)))';
const BUCKETS_PASS = `INSERT INTO cw_scan_bucket
  SELECT s.agent_key, CAST((s.at_ms - @from) * @k / (@to - @from) AS INTEGER), s.at_ms, s.offset_ms, abs(s.offset_ms),
         s.offset_ms - s.uncertainty_ms, s.offset_ms + s.uncertainty_ms
  FROM ${ROWS('cw_scan_plot')}
  WHERE s.offset_ms IS NOT NULL AND s.uncertainty_ms IS NOT NULL
  ON CONFLICT (agent_key, b) DO UPDATE SET
    at_ms = CASE WHEN ${BETTER} THEN excluded.at_ms ELSE at_ms END,
    o = CASE WHEN ${BETTER} THEN excluded.o ELSE o END,
    wabs = max(wabs, excluded.wabs), lo = min(lo, excluded.lo), hi = max(hi, excluded.hi)`;

/** One agent's buckets through the (agent_key, at_ms) index: [b, at_ms, o, wabs, lo, hi] in bucket order. */
export const BUCKETS_ONE = `SELECT b, at_ms, o, abs(o), lo, hi FROM (
    SELECT b, at_ms, o,
           row_number() OVER (PARTITION BY b ORDER BY abs(o) DESC, o DESC, at_ms) AS rn,
           min(o - u) OVER (PARTITION BY b) AS lo, max(o + u) OVER (PARTITION BY b) AS hi
    FROM (SELECT CAST((at_ms - @from) * @k / (@to - @from) AS INTEGER) AS b, at_ms, offset_ms AS o, uncertainty_ms AS u
          FROM samples WHERE agent_key = @agent AND at_ms >= @from AND at_ms < @to AND offset_ms IS NOT NULL AND uncertainty_ms IS NOT NULL))
  WHERE rn = 1 ORDER BY b`;

function flat(rows: readonly (readonly number[])[], stride: number): Float64Array {
  const out = new Float64Array(rows.length * stride);
  rows.forEach((r, i) => out.set(r, i * stride));
  return out;
}

export function scanRange(db: Database.Database, job: ScanJob): ScanResult {
  db.exec(SETUP);
  const params = { from: job.from, to: job.to };
  const fill = (table: 'cw_scan_keys' | 'cw_scan_plot', keys: readonly number[]) => {
    const add = db.prepare(`INSERT OR IGNORE INTO ${table} (agent_key) VALUES (?)`);
    db.transaction(() => {
      for (const key of keys) add.run(key);
    })();
  };
  const t0 = performance.now();
  fill('cw_scan_keys', job.keys);
  const accRows = db.prepare(FOLD).raw().all(params) as AccRow[];
  const rows = accRows.reduce((n, r) => n + r[1], 0);
  const acc = flat(accRows, ACC_STRIDE);
  const t1 = performance.now();
  let bucketRows: BucketRow[] = [];
  const k = Math.max(1, Math.floor(job.buckets));
  if (job.plotKeys.length > 0 && job.plotMode === 'pass') {
    fill('cw_scan_plot', job.plotKeys);
    db.prepare(BUCKETS_PASS).run({ ...params, k });
    bucketRows = db.prepare('SELECT agent_key, b, at_ms, o, wabs, lo, hi FROM cw_scan_bucket ORDER BY agent_key, b').raw().all() as BucketRow[];
  } else if (job.plotKeys.length > 0) {
    const one = db.prepare(BUCKETS_ONE).raw();
    for (const agent of job.plotKeys) {
      for (const r of one.all({ agent, from: job.from, to: job.to, k }) as [number, number, number, number, number, number][]) bucketRows.push([agent, ...r]);
    }
  }
  const buckets = flat(bucketRows, BUCKET_STRIDE);
  const t2 = performance.now();
  db.exec('DELETE FROM cw_scan_keys; DELETE FROM cw_scan_plot; DELETE FROM cw_scan_bucket;');
  return { acc, buckets, rows, foldMs: t1 - t0, bucketMs: t2 - t1 };
}
