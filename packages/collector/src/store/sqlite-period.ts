/**
 * The SQLite store's period queries (exports): per agent, the state at the end of a period and the
 * period's aggregates, computed inside SQLite so that a day of 10,000 agents at one sample a minute
 * (14.4 million rows) is never copied into JavaScript.
 *
 * Per agent, in agent-key order (agents that first reported together have their samples on the
 * same table pages, so consecutive agents reuse the pages the previous one brought into the cache):
 * - the last sample measured before the end of the period (one index seek);
 * - one aggregate over the period's samples through the (agent_key, at_ms) index: reports, compliant
 *   reports, the sample of largest |offset| (SQLite takes the bare columns of a min()/max() query
 *   from the row holding the extreme: https://www.sqlite.org/lang_select.html#bare_columns_in_an_aggregate_query),
 *   and the sums of a least-squares fit of the offset over time;
 * - drift: without a recorded clock step in the period the fit is one segment and its slope comes
 *   from those sums (SQLite sums with Kahan–Babuška–Neumaier compensation; times are taken relative
 *   to the start of the period); with steps, the agent's points are read and the shared driftPpm
 *   fits one intercept per segment.
 * - hours whose samples were pruned (retention) count through their hourly rollups.
 */
import type Database from 'better-sqlite3';
import { driftPpm } from '@clockwatch/shared';
import { decodeChecks, decodeStatus } from './codes.js';
import { bool, HOUR_MS } from './sqlite-sql.js';
import type { AgentPeriodRecord, PeriodQuery, PeriodSample, SeriesPoint } from './types.js';

type Stmt = Database.Statement;

interface Statements {
  agents: Stmt;
  last: Stmt;
  oldest: Stmt;
  aggregate: Stmt;
  steps: Stmt;
  points: Stmt;
  rollups: Stmt;
  statics: Stmt;
  count: Stmt;
  buckets: Stmt;
  raw: Stmt;
}

const COMPLIANT = 0; // encodeStatus('compliant')

function prepare(db: Database.Database): Statements {
  return {
    agents: db.prepare(`SELECT a.agent_key, a.agent_id, a.first_seen_ms, l.last_seen_ms, l.stale_after_ms, l.report_id, l.static_key
      FROM agents a LEFT JOIN agent_latest l USING (agent_key) ORDER BY a.agent_key`).raw(),
    last: db.prepare(`SELECT report_id, at_ms, recv_ms, offset_ms, uncertainty_ms, rtc_offset_s, ntp_sync, status, checks, static_key
      FROM samples WHERE agent_key = ? AND at_ms < ? ORDER BY at_ms DESC, sample_key DESC LIMIT 1`).raw(),
    oldest: db.prepare('SELECT min(at_ms) FROM samples WHERE agent_key = ?').pluck(),
    // One max() and no min(): the bare offset_ms/uncertainty_ms come from the row of largest |offset|.
    aggregate: db.prepare(`SELECT count(*), coalesce(sum(status = ${COMPLIANT}), 0),
        count(offset_ms), sum(x), sum(offset_ms), sum(x * x), sum(x * offset_ms),
        max(abs(offset_ms)), offset_ms, uncertainty_ms
      FROM (SELECT status, offset_ms, uncertainty_ms, CASE WHEN offset_ms IS NULL THEN NULL ELSE at_ms - @from END AS x
            FROM samples WHERE agent_key = @agent AND at_ms >= @rawFrom AND at_ms < @to)`).raw(),
    steps: db.prepare('SELECT at_ms FROM steps WHERE agent_key = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms').pluck(),
    points: db.prepare('SELECT at_ms, offset_ms FROM samples WHERE agent_key = ? AND at_ms >= ? AND at_ms < ? AND offset_ms IS NOT NULL').raw(),
    rollups: db.prepare('SELECT n, n_compliant, offset_min, offset_max, unc_max FROM rollups WHERE agent_key = ? AND hour_ms >= ? AND hour_ms < ?').raw(),
    statics: db.prepare('SELECT body FROM statics WHERE static_key = ?').pluck(),
    count: db.prepare('SELECT count(*) FROM samples WHERE agent_key = ? AND at_ms >= ? AND at_ms < ? AND offset_ms IS NOT NULL').pluck(),
    // Bucket b of the period: the point of largest |offset| (bare columns of the one max()), and
    // the extremes of offset ± uncertainty over the bucket from a second pass.
    buckets: db.prepare(`WITH s AS (
        SELECT CAST((at_ms - @from) * @k / (@to - @from) AS INTEGER) AS b, at_ms, offset_ms AS o, uncertainty_ms AS u
        FROM samples WHERE agent_key = @agent AND at_ms >= @from AND at_ms < @to AND offset_ms IS NOT NULL AND uncertainty_ms IS NOT NULL),
      w AS (SELECT b, at_ms, o, max(abs(o)) FROM s GROUP BY b),
      r AS (SELECT b, min(o - u) AS lo, max(o + u) AS hi FROM s GROUP BY b)
      SELECT w.at_ms, w.o, r.lo, r.hi FROM w JOIN r USING (b) ORDER BY b`).raw(),
    raw: db.prepare(`SELECT at_ms, offset_ms, uncertainty_ms FROM samples
      WHERE agent_key = ? AND at_ms >= ? AND at_ms < ? AND offset_ms IS NOT NULL AND uncertainty_ms IS NOT NULL ORDER BY at_ms, sample_key`).raw(),
  };
}

type AgentRow = [key: number, id: string, firstSeen: number, lastSeen: number | null, staleAfter: number | null, latestReportId: string | null, latestStatic: number | null];
type LastRow = [reportId: string, at: number, recv: number, offset: number | null, unc: number | null, rtc: number | null, ntp: number | null, status: number, checks: number, staticKey: number];
type AggRow = [n: number, nc: number, no: number, sx: number | null, so: number | null, sxx: number | null, sxo: number | null, worstAbs: number | null, worstO: number | null, worstU: number | null];

const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;
const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

export class SqlitePeriodReader {
  private s: Statements | null = null;
  private readonly staticCache = new Map<number, Record<string, unknown>>();

  constructor(private readonly db: Database.Database) {}

  private get st(): Statements {
    // Prepared on first use: a collector that never exports never pays for these.
    return (this.s ??= prepare(this.db));
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

  /** Reads in slices, yielding to the event loop between them, so a served collector keeps answering. */
  async agents(q: PeriodQuery, yieldToLoop: () => Promise<void>): Promise<AgentPeriodRecord[]> {
    const st = this.st;
    const agents = st.agents.all() as AgentRow[];
    const out: AgentPeriodRecord[] = [];
    let sliceStarted = performance.now();
    for (let i = 0; i < agents.length; i++) {
      const rec = this.agent(agents[i] as AgentRow, q.fromMs, q.toMs);
      if (rec) out.push(rec);
      if (performance.now() - sliceStarted > 50) {
        q.onProgress?.(i + 1, agents.length);
        await yieldToLoop();
        sliceStarted = performance.now();
      }
    }
    q.onProgress?.(agents.length, agents.length);
    this.staticCache.clear();
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private agent(a: AgentRow, from: number, to: number): AgentPeriodRecord | null {
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

    // Samples count from rawFrom on; whole hours before it whose samples were pruned count
    // through their rollups.
    const oldest = st.oldest.get(key) as number | null;
    let rawFrom = from;
    let rollupTo = from;
    if (oldest === null || oldest > from) {
      const limit = oldest === null ? to : Math.min(to, ceilHour(oldest));
      const earlier = st.rollups.all(key, Math.max(ceilHour(from), 0), oldest === null ? to : floorHour(oldest)) as unknown[][];
      if (earlier.length > 0) {
        rawFrom = limit;
        rollupTo = limit;
      }
    }
    const agg = st.aggregate.get({ agent: key, from, rawFrom, to }) as AggRow;
    let reports = agg[0];
    let compliant = agg[1];
    let fromRollups = 0;
    let worst: AgentPeriodRecord['worst'] = agg[7] !== null && agg[8] !== null && agg[9] !== null ? { offsetMs: agg[8], uncertaintyMs: agg[9], fromRollup: false } : null;
    if (rollupTo > from) {
      for (const r of st.rollups.all(key, ceilHour(from), rollupTo) as [number, number, number | null, number | null, number | null][]) {
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
    const steps = st.steps.all(key, rawFrom, to) as number[];
    if (steps.length > 0) {
      const pts = (st.points.all(key, rawFrom, to) as [number, number][]).map(([atMs, offsetMs]) => ({ atMs, offsetMs }));
      const d = driftPpm(pts, steps);
      drift = d ? { ppm: d.ppm, points: d.points } : null;
    } else {
      // One segment: slope = Sxy / Sxx of the centred sums (the same fit driftPpm makes).
      const [, , n, sx, so, sxx, sxo] = agg;
      if (n >= 2 && sx !== null && so !== null && sxx !== null && sxo !== null) {
        const cxx = sxx - (sx * sx) / n;
        const cxo = sxo - (sx * so) / n;
        // Whole-ms times: two distinct instants give cxx ≥ 0.5 ms²; below that every point is at one instant.
        if (cxx >= 0.25) drift = { ppm: (cxo / cxx) * 1e6, points: n };
      }
    }

    if (!last && reports === 0 && firstSeen >= to) return null;
    const lastIsLatest = last !== null && last.reportId === latestReportId;
    // The last delivery at the end of the period: the latest one when the period ends after it,
    // else the receipt of the last sample measured in it.
    const lastSeenMs = latestSeen !== null && latestSeen <= to ? latestSeen : (last?.receivedAtMs ?? null);
    return {
      id,
      firstSeenMs: firstSeen,
      last,
      lastIsLatest,
      staticParts: this.staticBody(l ? l[9] : latestStatic),
      lastSeenMs,
      staleAfterMs: staleAfter,
      reports,
      compliantReports: compliant,
      reportsFromRollups: fromRollups,
      worst,
      drift,
    };
  }

  series(agentKey: number, from: number, to: number, maxPoints: number): SeriesPoint[] {
    const st = this.st;
    const k = Math.max(1, Math.floor(maxPoints));
    if ((st.count.get(agentKey, from, to) as number) <= k) {
      return (st.raw.all(agentKey, from, to) as [number, number, number][]).map(([atMs, offsetMs, uncertaintyMs]) => ({ atMs, offsetMs, uncertaintyMs }));
    }
    return (st.buckets.all({ agent: agentKey, from, to, k }) as [number, number, number, number][]).map(([atMs, o, lo, hi]) => ({
      atMs,
      offsetMs: o,
      uncertaintyMs: Math.max(hi - o, o - lo),
    }));
  }
}
