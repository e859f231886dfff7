/**
 * The SQLite store's period queries (exports): per agent, the state at the end of a period and the
 * period's aggregates, computed inside SQLite so that a day of 10,000 agents at one sample a minute
 * (14.4 million rows) never crosses into JavaScript row by row.
 *
 * A period of whole hours (every export of a day) is answered from the hourly rollups, which are
 * written with the samples: per agent its hours' counts, Σ offset, extremes and the sums of the
 * drift fit (drift-sums.ts), the last sample before the end through the (agent_key, at_ms) index,
 * and the row of its worst offset in the hour whose rollup holds that extreme. No sample is read
 * otherwise, except the points of an hour that a recorded step falls inside.
 *
 * Any other period (and an agent whose early hours were pruned, or whose hours' drift sums are not
 * known) goes through the samples:
 * 1. Per agent, through the table's (agent_key, at_ms) key (a seek each): the last sample measured
 *    before the end of the period, and the period's row count.
 * 2. Each agent's rows of the period are one contiguous key range (the table is clustered by
 *    agent and time, schema 6); one pass over the agents (sqlite-scan.ts), split over worker
 *    threads by runs of agents for a file database, folds every row into its agent's sums:
 *    reports, compliant reports, the row of largest |offset|, and the sums of a least-squares fit
 *    of offset over time; and buckets the offsets of the agents that get a plot.
 * 3. An agent whose count the pass does not confirm (written meanwhile), or whose early hours
 *    were pruned (they count through hourly rollups) is aggregated on its own instead.
 * Drift: without a recorded clock step in the period the fit is one segment, and its slope is
 * Sxo/Sxx of the centred sums (the fit shared driftPpm makes); with steps, the agent's points are
 * read and driftPpm fits one intercept per segment.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { driftPpm, PLAIN_FIT } from '@clockwatch/shared';
import { decodeChecks, decodeStatus } from './codes.js';
import { driftFromHours, type HourSums } from './drift-sums.js';
import { bucketSeries } from './postgres-period.js';
import { preparePeriodStatements, type AgentRow, type LastRow, type PeriodStatements, type RollupHourRow } from './sqlite-period-sql.js';
import { ACC_STRIDE, BUCKET_STRIDE, partitionAgents, scanRange, type BucketRow, type ScanJob, type ScanResult } from './sqlite-scan.js';
import { bool, HOUR_MS } from './sqlite-sql.js';
import type { AgentPeriodRecord, PeriodAgentState, PeriodQuery, PeriodSample, PeriodWorstSample, RollupRow, SeriesPoint } from './types.js';

/** The sums one agent's period rows fold into (same layout from the scan and from the per-agent query). */
interface Sums {
  n: number;
  nc: number;
  no: number;
  sx: number;
  so: number;
  sxx: number;
  sxo: number;
  worst: AgentPeriodRecord['worst'];
  /** From the pass: the extremes, whose row (and uncertainty) is looked up afterwards. */
  omax?: number;
  omin?: number;
}

interface Pending {
  key: number;
  state: PeriodAgentState;
  /** Rows in [from, to). */
  count: number;
  /** Aggregated on its own (see the file comment), from rawFrom on. */
  alone: boolean;
  rawFrom: number;
  /** Hours before rawFrom counted from rollups. */
  rollupTo: number;
  plot: boolean;
  /** Periods of whole hours: the rollups' sums over them, and their hours (for drift and the worst sample). */
  roll: { n: number; nc: number; no: number; so: number; omax: number; omin: number; hours: RollupHourRow[] } | null;
}

export interface PeriodReaderOptions {
  /** The database file, for worker threads; null (':memory:'): everything on this connection. */
  path: string | null;
  /** Worker threads for the pass over the table (default 2; 0: on this connection). */
  workers?: number;
  /** Below this many rows the pass runs on this connection (default 200,000: ~50 ms). */
  workerMinRows?: number;
}

/** The largest |offset| of the two extremes; on a tie the positive one. */
const extremeOf = (omax: number, omin: number) => (Math.abs(omax) >= Math.abs(omin) ? omax : omin);

const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;
const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

function runWorker(path: string, job: ScanJob): Promise<ScanResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./sqlite-scan-worker.js', import.meta.url), { workerData: { path, job } });
    let settled = false;
    w.once('message', (m: { ok: true; result: ScanResult } | { ok: false; message: string }) => {
      settled = true;
      if (m.ok) resolve(m.result);
      else reject(new Error(`period scan: ${m.message}`));
    });
    w.once('error', (err) => {
      settled = true;
      reject(err);
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`period scan worker exited with code ${code}`));
    });
  });
}

export class SqlitePeriodReader {
  private s: PeriodStatements | null = null;
  private readonly staticCache = new Map<number, Record<string, unknown>>();
  private readonly workers: number;
  private readonly workerMinRows: number;
  /** Where the last periodAgents() spent its time (the benchmark prints it). */
  lastTimings: { stateMs: number; passMs: number; finishMs: number; aloneAgents: number; passes: { rows: number; foldMs: number; bucketMs: number }[] } | null = null;

  constructor(
    private readonly db: Database.Database,
    private readonly o: PeriodReaderOptions,
  ) {
    this.workers = o.path === null ? 0 : Math.max(0, Math.floor(o.workers ?? 2));
    this.workerMinRows = o.workerMinRows ?? 200_000;
  }

  private get st(): PeriodStatements {
    // Prepared on first use: a collector that never exports never pays for these.
    return (this.s ??= preparePeriodStatements(this.db));
  }

  private staticBody(key: number | null): Record<string, unknown> | null {
    if (key === null) return null;
    let body = this.staticCache.get(key);
    if (!body) {
      const text = this.st.statics.get(key) as string | undefined;
      if (text === undefined) return null;
      body = JSON.parse(text) as Record<string, unknown>;
      if (this.staticCache.size > 50_000) this.staticCache.clear();
      this.staticCache.set(key, body);
    }
    return body;
  }

  async agents(q: PeriodQuery, yieldToLoop: () => Promise<void>): Promise<AgentPeriodRecord[]> {
    const { fromMs: from, toMs: to } = q;
    const st = this.st;
    const t0 = performance.now();
    const agents = st.agents.all() as AgentRow[];
    const total = agents.length;
    // Progress: the per-agent steps before and after the pass count half each.
    const report = (done: number) => q.onProgress?.(Math.min(total, Math.floor(done)), total);
    let slice = performance.now();
    const maybeYield = async (done: number) => {
      if (performance.now() - slice > 50) {
        report(done);
        await yieldToLoop();
        slice = performance.now();
      }
    };

    // 1. State at the end of the period and the rows of the period, per agent.
    const pending: Pending[] = [];
    for (let i = 0; i < agents.length; i++) {
      const p = this.stateOf(agents[i] as AgentRow, from, to);
      if (p) {
        p.plot = q.series ? q.series.want(p.state) : false;
        pending.push(p);
      }
      await maybeYield(i / 2);
    }

    const t1 = performance.now();
    // 2. Periods of whole hours: from the rollups (no pass). Others: one pass over the agents.
    const lean = pending.every((p) => p.roll !== null);
    const scanned = lean ? null : await this.scan(pending, q, yieldToLoop);
    const t2 = performance.now();
    await maybeYield(total / 2);

    // 3. Per agent: sums from the rollups or the pass (confirmed by the index count), or on its own.
    const out: AgentPeriodRecord[] = [];
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i] as Pending;
      let sums: Sums | undefined;
      if (!p.alone && p.roll) {
        const r = p.roll;
        sums = { n: r.n, nc: r.nc, no: r.no, sx: 0, so: r.so, sxx: 0, sxo: 0, worst: r.no > 0 ? this.worstRow(p.key, from, to, extremeOf(r.omax, r.omin), r.hours) : null };
      } else if (!p.alone && scanned) {
        const s = scanned.sums.get(p.key);
        if ((s?.n ?? 0) === p.count) sums = s ?? { n: 0, nc: 0, no: 0, sx: 0, so: 0, sxx: 0, sxo: 0, worst: null };
        // Not confirmed (written meanwhile, the pass reading another snapshot): on its own.
        else p.alone = true;
      }
      if (!sums) sums = this.aggregateAlone(p, from, to);
      const rec = this.finish(p, sums, from, to);
      if (p.roll) rec.hours = p.roll.hours.map(rollupRow);
      if (p.plot && q.series) {
        const b = p.alone ? undefined : scanned?.buckets.get(p.key);
        rec.series = b ?? this.series(p.key, from, to, q.series.maxPoints);
      }
      out.push(rec);
      await maybeYield(total / 2 + (i * total) / 2 / Math.max(1, pending.length));
    }
    report(total);
    this.lastTimings = { stateMs: t1 - t0, passMs: t2 - t1, finishMs: performance.now() - t2, aloneAgents: pending.filter((p) => p.alone).length, passes: scanned?.passes ?? [] };
    this.staticCache.clear();
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private stateOf(a: AgentRow, from: number, to: number): Pending | null {
    const st = this.st;
    const [key, id, firstSeen, latestSeen, staleAfter, latestReportId, latestStatic] = a;
    const l = st.last.get(key, to) as LastRow | undefined;
    const last: PeriodSample | null = l
      ? {
          reportId: l[0],
          atMs: l[1],
          receivedAtMs: l[2],
          offsetMs: l[3],
          uncertaintyMs: l[4],
          rtcOffsetS: l[5],
          ntpSynchronized: bool(l[6]),
          status: decodeStatus(l[7]),
          checks: decodeChecks(l[8]),
        }
      : null;
    // Rows of the period: from the rollups for whole hours (they are written with the samples),
    // else counted in the table's key range.
    let roll: Pending['roll'] = null;
    let count: number;
    if (from % HOUR_MS === 0 && to % HOUR_MS === 0) {
      const hours = st.rollupHours.all(key, from, to) as RollupHourRow[];
      roll = { n: 0, nc: 0, no: 0, so: 0, omax: -1e308, omin: 1e308, hours };
      for (const h of hours) {
        roll.n += h[1];
        roll.nc += h[2];
        roll.no += h[3];
        if (h[3] === 0) continue;
        roll.so += h[4] as number;
        roll.omax = Math.max(roll.omax, h[5] as number);
        roll.omin = Math.min(roll.omin, h[6] as number);
      }
      count = roll.n;
    } else {
      count = st.count.get(key, from, to) as number;
    }

    // Samples count from rawFrom on; whole hours before it whose samples were pruned count
    // through their rollups (such an agent is aggregated on its own).
    let rawFrom = from;
    let rollupTo = from;
    const oldest = st.oldest.get(key) as number | null;
    if (oldest === null || oldest > from) {
      const limit = oldest === null ? to : Math.min(to, ceilHour(oldest));
      const end = oldest === null ? to : floorHour(oldest);
      // Whole hours: the rollups just read cover [from, to) (a query per agent saved when, as in a
      // period that starts before the first sample, every agent's oldest sample is after `from`).
      const earlier = roll && end <= to ? roll.hours.filter((h) => h[0] < end).length : (st.rollups.all(key, ceilHour(from), end) as unknown[][]).length;
      if (earlier > 0) {
        rawFrom = limit;
        rollupTo = limit;
      }
    }
    if (!last && count === 0 && rollupTo === from && firstSeen >= to) return null;
    // The last delivery at the end of the period: the latest one when the period ends after it,
    // else the receipt of the last sample measured in it.
    const lastSeenMs = latestSeen !== null && latestSeen <= to ? latestSeen : (last?.receivedAtMs ?? null);
    return {
      key,
      state: {
        id,
        firstSeenMs: firstSeen,
        last,
        lastIsLatest: last !== null && last.reportId === latestReportId,
        staticParts: this.staticBody(l ? l[9] : latestStatic),
        lastSeenMs,
        staleAfterMs: staleAfter,
      },
      count,
      alone: rawFrom !== from,
      rawFrom,
      rollupTo,
      plot: false,
      roll,
    };
  }

  /** The pass over the agents' rows (sqlite-scan.ts), on worker threads by runs of agents when there are enough rows. */
  private async scan(
    pending: Pending[],
    q: PeriodQuery,
    yieldToLoop: () => Promise<void>,
  ): Promise<{ sums: Map<number, Sums>; buckets: Map<number, SeriesPoint[]>; passes: { rows: number; foldMs: number; bucketMs: number }[] }> {
    const kept = pending.filter((p) => !p.alone && p.count > 0).sort((a, b) => a.key - b.key);
    const sums = new Map<number, Sums>();
    const buckets = new Map<number, SeriesPoint[]>();
    if (kept.length === 0) return { sums, buckets, passes: [] };
    const rows = kept.reduce((n, p) => n + p.count, 0);

    // Agents with few rows get their raw points (series()); the others their buckets from the pass.
    const maxPoints = q.series?.maxPoints ?? 0;
    const plotted = new Set(kept.filter((p) => p.plot && p.count > maxPoints).map((p) => p.key));
    // Few plotted rows: a window query per agent; many: one UPSERT statement over all of them.
    const plottedRows = kept.reduce((n, p) => n + (plotted.has(p.key) ? p.count : 0), 0);
    const plotMode: ScanJob['plotMode'] = plottedRows * 16 < rows ? 'each' : 'pass';
    const base = { from: q.fromMs, to: q.toMs, plotMode, buckets: maxPoints };
    const jobOf = (keys: number[]): ScanJob => ({ ...base, keys, plotKeys: keys.filter((k) => plotted.has(k)) });
    let results: ScanResult[];
    if (this.workers > 0 && this.o.path !== null && rows >= this.workerMinRows) {
      const runs = partitionAgents(kept.map((p) => ({ key: p.key, count: p.count })), this.workers);
      results = await Promise.all(runs.map((keys) => runWorker(this.o.path as string, jobOf(keys))));
    } else {
      results = [scanRange(this.db, jobOf(kept.map((p) => p.key)))];
    }

    let slice = performance.now();
    const breathe = async () => {
      if (performance.now() - slice > 50) {
        await yieldToLoop();
        slice = performance.now();
      }
    };
    for (const r of results) {
      const a = r.acc;
      for (let i = 0; i < a.length; i += ACC_STRIDE) {
        const key = a[i] as number;
        const s = sums.get(key);
        if (!s) {
          sums.set(key, { n: a[i + 1]!, nc: a[i + 2]!, no: a[i + 3]!, sx: a[i + 4]!, so: a[i + 5]!, sxx: a[i + 6]!, sxo: a[i + 7]!, worst: null, omax: a[i + 8]!, omin: a[i + 9]! });
          continue;
        }
        s.n += a[i + 1]!;
        s.nc += a[i + 2]!;
        s.no += a[i + 3]!;
        s.sx += a[i + 4]!;
        s.so += a[i + 5]!;
        s.sxx += a[i + 6]!;
        s.sxo += a[i + 7]!;
        s.omax = Math.max(s.omax as number, a[i + 8]!);
        s.omin = Math.min(s.omin as number, a[i + 9]!);
      }
      await breathe();
    }
    // Buckets of the plotted agents, merged across the parts.
    const merged = new Map<number, Map<number, BucketRow>>();
    for (const r of results) {
      const f = r.buckets;
      for (let i = 0; i < f.length; i += BUCKET_STRIDE) {
        const b = Array.from(f.subarray(i, i + BUCKET_STRIDE)) as BucketRow;
        let m = merged.get(b[0]);
        if (!m) merged.set(b[0], (m = new Map()));
        const cur = m.get(b[1]);
        if (!cur) m.set(b[1], b);
        else {
          // The same choice as in one pass: larger |offset|, then the positive one, then the earlier.
          if (b[4] > cur[4] || (b[4] === cur[4] && (b[3] > cur[3] || (b[3] === cur[3] && b[2] < cur[2])))) {
            cur[2] = b[2];
            cur[3] = b[3];
            cur[4] = b[4];
          }
          cur[5] = Math.min(cur[5], b[5]);
          cur[6] = Math.max(cur[6], b[6]);
        }
        if ((i & 0x3fff) === 0) await breathe();
      }
    }
    for (const key of plotted) {
      const m = merged.get(key);
      const pts = m ? [...m.values()].sort((a, b) => a[1] - b[1]).map(bucketPoint) : [];
      buckets.set(key, pts);
    }
    return { sums, buckets, passes: results.map((r) => ({ rows: r.rows, foldMs: r.foldMs, bucketMs: r.bucketMs })) };
  }

  private aggregateAlone(p: Pending, from: number, to: number): Sums {
    const st = this.st;
    const a = st.aggregate.get({ agent: p.key, from, rawFrom: p.rawFrom, to }) as [number, number, number, number, number, number, number, number, number];
    return { n: a[0], nc: a[1], no: a[2], sx: a[3], so: a[4], sxx: a[5], sxo: a[6], worst: null, omax: a[7], omin: a[8] };
  }

  /**
   * The row of the offset `w` (an extreme of the rollups or the pass) and its uncertainty:
   * searched in the hours whose rollup holds that extreme (an hour is ~60 rows), else in the whole
   * period. `hours`: the period's rollups, when already read.
   */
  private worstRow(key: number, from: number, to: number, w: number, hours?: readonly RollupHourRow[]): { offsetMs: number; uncertaintyMs: number; fromRollup: false; sample: PeriodWorstSample } | null {
    const st = this.st;
    const extreme = hours ? hours.filter((h) => h[3] > 0 && (h[5] === w || h[6] === w)).map((h) => h[0]) : (st.extremeHours.all(key, floorHour(from), to, w, w) as number[]);
    for (const h of [...extreme.map((hour) => [Math.max(from, hour), Math.min(to, hour + HOUR_MS)] as const), [from, to] as const]) {
      const u = st.uncertaintyAt.get(key, h[0], h[1], w) as [number, string, number, number, number] | undefined;
      if (u !== undefined) return { offsetMs: w, uncertaintyMs: u[0], fromRollup: false, sample: { reportId: u[1], atMs: u[2], status: decodeStatus(u[3]), checks: decodeChecks(u[4]) } };
    }
    return null;
  }

  private finish(p: Pending, s: Sums, from: number, to: number): AgentPeriodRecord {
    const st = this.st;
    let reports = s.n;
    let compliant = s.nc;
    let fromRollups = 0;
    let worst = s.worst;
    // The largest |offset| (on a tie, the positive one), at its earliest sample.
    if (worst === null && s.no > 0 && s.omax !== undefined && s.omin !== undefined) {
      worst = this.worstRow(p.key, p.rawFrom, to, extremeOf(s.omax, s.omin));
    }
    if (p.rollupTo > from) {
      for (const r of st.rollups.all(p.key, ceilHour(from), p.rollupTo) as [number, number, number | null, number | null, number | null][]) {
        reports += r[0];
        compliant += r[1];
        fromRollups += r[0];
        for (const o of [r[2], r[3]]) {
          if (o === null || r[4] === null) continue;
          if (worst === null || Math.abs(o) > Math.abs(worst.offsetMs)) worst = { offsetMs: o, uncertaintyMs: r[4], fromRollup: true };
        }
      }
    }
    let drift: AgentPeriodRecord['drift'] = null;
    const steps = st.steps.all(p.key, p.rawFrom, to) as number[];
    const points = (a: number, b: number) => st.points.all(p.key, a, b) as [number, number][];
    // From the rollups' sums (null: some hour's are not known), else from the samples.
    const fromHours = p.roll && !p.alone ? driftFromHours(p.roll.hours.map(hourSums), steps, from, points) : null;
    if (fromHours) {
      drift = fromHours.fit;
    } else if (steps.length > 0 || (p.roll && !p.alone)) {
      const d = driftPpm(
        points(p.rawFrom, to).map(([atMs, offsetMs]) => ({ atMs, offsetMs })),
        steps,
        PLAIN_FIT,
      );
      drift = d ? { ppm: d.ppm, points: d.points } : null;
    } else if (s.no >= 2) {
      // One segment: slope = Sxo / Sxx of the centred sums (the fit driftPpm makes).
      const cxx = s.sxx - (s.sx * s.sx) / s.no;
      const cxo = s.sxo - (s.sx * s.so) / s.no;
      // Whole-ms times: two distinct instants give Sxx ≥ 0.5 ms²; below that every point is at one instant.
      if (cxx >= 0.25) drift = { ppm: (cxo / cxx) * 1e6, points: s.no };
    }
    return { ...p.state, reports, compliantReports: compliant, reportsFromRollups: fromRollups, worst, drift };
  }

  /**
   * One agent's plot points: its samples through the index, bucketed here by the rule the pass's
   * SQL buckets follow too (bucketSeries, shared with the PostgreSQL store). A window query per
   * agent (BUCKETS_ONE) sorted each bucket in SQLite: ~4× the time for a day of 1,440 samples.
   */
  series(agentKey: number, from: number, to: number, maxPoints: number): SeriesPoint[] {
    // [at_ms, offset, uncertainty] rows as they come (bucketSeries reads the first three fields).
    const rows = this.st.raw.all(agentKey, from, to) as unknown as Parameters<typeof bucketSeries>[0];
    return bucketSeries(rows, from, to, maxPoints);
  }
}

function hourSums(h: RollupHourRow): HourSums {
  return { hourMs: h[0], n: h[3], offsetSumMs: h[4], dtSumMs: h[7], dtSqSumMs2: h[8], dtOffsetSumMs2: h[9] };
}

/** An hour as rollups() gives it (SqliteStore.rollups: the same mean and share). */
function rollupRow(h: RollupHourRow): RollupRow {
  const [hourMs, n, nc, no, sum, omax, omin, , , , unc] = h;
  return {
    hourMs,
    reports: n,
    measured: no,
    offsetMinMs: omin,
    offsetMaxMs: omax,
    offsetMeanMs: no > 0 && sum !== null ? sum / no : null,
    uncertaintyMaxMs: unc,
    compliantShare: n > 0 ? nc / n : 0,
  };
}

/** A bucket as a point: its largest |offset|, with an uncertainty that covers every sample of the bucket. */
function bucketPoint(b: BucketRow): SeriesPoint {
  const [, , atMs, o, , lo, hi] = b;
  return { atMs, offsetMs: o, uncertaintyMs: Math.max(hi - o, o - lo) };
}
