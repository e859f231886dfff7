/**
 * One sequential pass over a range of the samples table (by rowid), aggregating per agent inside
 * SQLite. Runs on the store's connection or on a worker thread's own read-only connection
 * (sqlite-scan-worker.ts), so it takes plain data in and gives plain data out.
 *
 * Why a pass over the table and not per-agent index ranges: samples are appended as reports
 * arrive, so one agent's day is 1,440 rows on 1,440 different pages, and reading them through the
 * (agent_key, at_ms) index costs a B-tree descent per row (~1.5 µs; 20 s for 10,000 agents). A
 * pass over the period's rowid range reads each page once (~0.1 µs a row). Grouping with GROUP BY
 * would sort all the rows; instead each row is folded into a small temporary table keyed by agent
 * (an UPSERT into a B-tree that stays in the page cache). Per row only arithmetic and scalar
 * min/max: a CASE per column, or tracking the row of an extreme, costs about as much again as the
 * pass itself (the uncertainty of the extreme is looked up afterwards, in one hour of one agent).
 */
import type Database from 'better-sqlite3';

export interface ScanJob {
  /** Period [from, to). */
  from: number;
  to: number;
  /** Rowid range of the samples table to read (inclusive). */
  lo: number;
  hi: number;
  /** Agents whose offsets are bucketed for plots. */
  plotKeys: number[];
  /** 'pass': a second pass over the range; 'each': per agent through the index (few agents). */
  plotMode: 'pass' | 'each';
  /** Buckets over the period for the plots. */
  buckets: number;
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
  CREATE TEMP TABLE IF NOT EXISTS cw_scan_acc (agent_key INTEGER PRIMARY KEY, n, nc, no, sx, so, sxx, sxo, omax, omin);
  CREATE TEMP TABLE IF NOT EXISTS cw_scan_plot (agent_key INTEGER PRIMARY KEY);
  CREATE TEMP TABLE IF NOT EXISTS cw_scan_bucket (agent_key INTEGER NOT NULL, b INTEGER NOT NULL, at_ms, o, wabs, lo, hi, PRIMARY KEY (agent_key, b)) WITHOUT ROWID;
  DELETE FROM cw_scan_acc; DELETE FROM cw_scan_plot; DELETE FROM cw_scan_bucket;`;

const RANGE = 'sample_key BETWEEN @lo AND @hi AND at_ms >= @from AND at_ms < @to';

const FOLD = `INSERT INTO cw_scan_acc
  SELECT agent_key, 1, status = ${COMPLIANT}, has, x, o, x * x, x * o, ifnull(offset_ms, -1e308), ifnull(offset_ms, 1e308)
  FROM (SELECT agent_key, status, offset_ms, offset_ms IS NOT NULL AS has, (at_ms - @from) * (offset_ms IS NOT NULL) AS x, ifnull(offset_ms, 0) AS o
        FROM samples WHERE ${RANGE})
  WHERE true
  ON CONFLICT (agent_key) DO UPDATE SET
    n = n + 1, nc = nc + excluded.nc, no = no + excluded.no,
    sx = sx + excluded.sx, so = so + excluded.so, sxx = sxx + excluded.sxx, sxo = sxo + excluded.sxo,
    omax = max(omax, excluded.omax), omin = min(omin, excluded.omin)`;

// In an UPSERT's SET, column names are the row's values before the update
// (https://www.sqlite.org/lang_upsert.html). A bucket keeps its largest |offset|; on a tie the
// positive one, then the earliest: the same choice as BUCKETS_ONE.
const BETTER = 'excluded.wabs > wabs OR (excluded.wabs = wabs AND (excluded.o > o OR (excluded.o = o AND excluded.at_ms < at_ms)))';
const BUCKETS_PASS = `INSERT INTO cw_scan_bucket
  SELECT s.agent_key, CAST((s.at_ms - @from) * @k / (@to - @from) AS INTEGER), s.at_ms, s.offset_ms, abs(s.offset_ms),
         s.offset_ms - s.uncertainty_ms, s.offset_ms + s.uncertainty_ms
  FROM samples s
  WHERE s.sample_key BETWEEN @lo AND @hi AND s.at_ms >= @from AND s.at_ms < @to AND s.offset_ms IS NOT NULL AND s.uncertainty_ms IS NOT NULL
    AND s.agent_key IN (SELECT agent_key FROM cw_scan_plot)
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
  const params = { from: job.from, to: job.to, lo: job.lo, hi: job.hi };
  const t0 = performance.now();
  const rows = job.lo <= job.hi ? db.prepare(FOLD).run(params).changes : 0;
  const accRows = db.prepare('SELECT agent_key, n, nc, no, sx, so, sxx, sxo, omax, omin FROM cw_scan_acc').raw().all() as AccRow[];
  const acc = flat(accRows, ACC_STRIDE);
  const t1 = performance.now();
  let bucketRows: BucketRow[] = [];
  const k = Math.max(1, Math.floor(job.buckets));
  if (job.plotKeys.length > 0 && job.plotMode === 'pass') {
    const add = db.prepare('INSERT OR IGNORE INTO cw_scan_plot (agent_key) VALUES (?)');
    db.transaction(() => {
      for (const key of job.plotKeys) add.run(key);
    })();
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
  db.exec('DELETE FROM cw_scan_acc; DELETE FROM cw_scan_plot; DELETE FROM cw_scan_bucket;');
  return { acc, buckets, rows, foldMs: t1 - t0, bucketMs: t2 - t1 };
}
