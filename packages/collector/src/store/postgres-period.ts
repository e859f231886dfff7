/**
 * The PostgreSQL store's period queries (exports): per agent, the state at the end of a period and
 * the period's aggregates, with the same meaning as the SQLite store's (sqlite-period.ts) and the
 * same contract tests. The state at the end comes from one index seek per agent (LATERAL … LIMIT 1
 * over the (agent_key, at_ms) index of each day partition the period touches); the aggregates are
 * folded here from the period's rows, read for a few hundred agents at a time, so that drift is
 * fitted by the one function that defines it (shared driftPpm) and memory stays bounded.
 */
import type pg from 'pg';
import { driftPpm, PLAIN_FIT } from '@clockwatch/shared';
import { decodeChecks, decodeStatus } from './codes.js';
import { HOUR_MS } from './sqlite-sql.js';
import type { AgentPeriodRecord, PeriodAgentState, PeriodQuery, PeriodSample, SeriesPoint } from './types.js';

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

const ceilHour = (ms: number) => Math.ceil(ms / HOUR_MS) * HOUR_MS;
const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
/** Agents whose period rows are read in one query. */
const CHUNK = 250;
const COMPLIANT = 0; // encodeStatus('compliant')

/** One period row: at_ms, offset_ms, uncertainty_ms, status. */
type Row = [number, number | null, number | null, number];

/**
 * The period in k equal buckets, each giving its point of largest |offset| (on a tie the positive
 * one, then the earliest), with an uncertainty that covers every sample of the bucket; raw points
 * when there are no more than k. The same rule as the SQLite store (sqlite-scan.ts BUCKETS_ONE).
 */
export function bucketSeries(rows: readonly Row[], from: number, to: number, maxPoints: number): SeriesPoint[] {
  const k = Math.max(1, Math.floor(maxPoints));
  const pts = rows.filter((r) => r[1] !== null && r[2] !== null) as [number, number, number, number][];
  if (pts.length <= k) return pts.map(([atMs, offsetMs, uncertaintyMs]) => ({ atMs, offsetMs, uncertaintyMs }));
  const buckets = new Map<number, { at: number; o: number; lo: number; hi: number }>();
  for (const [at, o, u] of pts) {
    const b = Math.trunc(((at - from) * k) / (to - from));
    const cur = buckets.get(b);
    if (!cur) {
      buckets.set(b, { at, o, lo: o - u, hi: o + u });
      continue;
    }
    cur.lo = Math.min(cur.lo, o - u);
    cur.hi = Math.max(cur.hi, o + u);
    const better = Math.abs(o) > Math.abs(cur.o) || (Math.abs(o) === Math.abs(cur.o) && (o > cur.o || (o === cur.o && at < cur.at)));
    if (better) {
      cur.at = at;
      cur.o = o;
    }
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, x]) => ({ atMs: x.at, offsetMs: x.o, uncertaintyMs: Math.max(x.hi - x.o, x.o - x.lo) }));
}

interface AgentRow {
  agent_key: number;
  agent_id: string;
  first_seen_ms: number;
  last_seen_ms: number | null;
  stale_after_ms: number | null;
  latest_report_id: string | null;
  latest_static: number | null;
  oldest: number | null;
  l_report_id: string | null;
  l_at: number | null;
  l_recv: number | null;
  l_offset: number | null;
  l_unc: number | null;
  l_rtc: number | null;
  l_ntp: boolean | null;
  l_status: number | null;
  l_checks: number | null;
  l_static: number | null;
}

export class PostgresPeriodReader {
  constructor(private readonly query: Query) {}

  async agents(q: PeriodQuery): Promise<AgentPeriodRecord[]> {
    const { fromMs: from, toMs: to } = q;
    const agents = (
      await this.query(
        `SELECT a.agent_key, a.agent_id, a.first_seen_ms, l.last_seen_ms, l.stale_after_ms, l.report_id AS latest_report_id,
           l.static_key AS latest_static, o.at_ms AS oldest,
           s.report_id AS l_report_id, s.at_ms AS l_at, s.recv_ms AS l_recv, s.offset_ms AS l_offset, s.uncertainty_ms AS l_unc,
           s.rtc_offset_s AS l_rtc, s.ntp_sync AS l_ntp, s.status AS l_status, s.checks AS l_checks, s.static_key AS l_static
         FROM agents a LEFT JOIN agent_latest l USING (agent_key)
         LEFT JOIN LATERAL (SELECT at_ms FROM samples x WHERE x.agent_key = a.agent_key ORDER BY at_ms LIMIT 1) o ON true
         LEFT JOIN LATERAL (SELECT * FROM samples x WHERE x.agent_key = a.agent_key AND x.at_ms < $1 ORDER BY at_ms DESC, seq DESC LIMIT 1) s ON true
         ORDER BY a.agent_id`,
        [Math.ceil(to)],
      )
    ).rows as AgentRow[];
    const total = agents.length;
    const statics = await this.staticBodies(agents);
    const out: AgentPeriodRecord[] = [];
    for (let i = 0; i < agents.length; i += CHUNK) {
      const chunk = agents.slice(i, i + CHUNK);
      const keys = chunk.map((a) => a.agent_key);
      const rows = new Map<number, Row[]>();
      for (const r of (
        await this.query(
          `SELECT agent_key, at_ms, offset_ms, uncertainty_ms, status FROM samples WHERE agent_key = ANY($1::bigint[]) AND at_ms >= $2 AND at_ms < $3 ORDER BY agent_key, at_ms, seq`,
          [keys, Math.ceil(from), Math.ceil(to)],
        )
      ).rows) {
        let list = rows.get(r.agent_key);
        if (!list) rows.set(r.agent_key, (list = []));
        list.push([r.at_ms, r.offset_ms, r.uncertainty_ms, r.status]);
      }
      const steps = new Map<number, number[]>();
      for (const r of (await this.query('SELECT agent_key, at_ms FROM steps WHERE agent_key = ANY($1::bigint[]) AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms', [keys, Math.ceil(from), Math.ceil(to)])).rows) {
        let list = steps.get(r.agent_key);
        if (!list) steps.set(r.agent_key, (list = []));
        list.push(r.at_ms);
      }
      for (const a of chunk) {
        const rec = await this.finish(a, rows.get(a.agent_key) ?? [], steps.get(a.agent_key) ?? [], statics, q);
        if (rec) out.push(rec);
      }
      q.onProgress?.(Math.min(total, i + chunk.length), total);
    }
    if (total === 0) q.onProgress?.(0, 0);
    return out;
  }

  private async staticBodies(agents: readonly AgentRow[]): Promise<Map<number, Record<string, unknown>>> {
    const keys = [...new Set(agents.flatMap((a) => [a.l_static, a.latest_static]).filter((k): k is number => k !== null))];
    const out = new Map<number, Record<string, unknown>>();
    for (let i = 0; i < keys.length; i += 5000) {
      const r = await this.query('SELECT static_key, body FROM statics WHERE static_key = ANY($1::bigint[])', [keys.slice(i, i + 5000)]);
      for (const x of r.rows) out.set(x.static_key, JSON.parse(x.body) as Record<string, unknown>);
    }
    return out;
  }

  private async finish(a: AgentRow, periodRows: Row[], stepsAt: number[], statics: Map<number, Record<string, unknown>>, q: PeriodQuery): Promise<AgentPeriodRecord | null> {
    const { fromMs: from, toMs: to } = q;
    const last: PeriodSample | null =
      a.l_report_id !== null
        ? {
            reportId: a.l_report_id,
            atMs: a.l_at as number,
            receivedAtMs: a.l_recv as number,
            offsetMs: a.l_offset,
            uncertaintyMs: a.l_unc,
            rtcOffsetS: a.l_rtc,
            ntpSynchronized: a.l_ntp,
            status: decodeStatus(a.l_status as number),
            checks: decodeChecks(a.l_checks as number),
          }
        : null;
    // Samples count from rawFrom on; whole hours before it whose samples were pruned count
    // through their rollups.
    let rawFrom = from;
    let rollups: { n: number; n_compliant: number; offset_min: number | null; offset_max: number | null; unc_max: number | null }[] = [];
    if (a.oldest === null || a.oldest > from) {
      const limit = a.oldest === null ? to : Math.min(to, ceilHour(a.oldest));
      const earlier = (await this.query('SELECT count(*)::int AS n FROM rollups WHERE agent_key = $1 AND hour_ms >= $2 AND hour_ms < $3', [a.agent_key, ceilHour(from), a.oldest === null ? to : floorHour(a.oldest)])).rows[0].n as number;
      if (earlier > 0) {
        rawFrom = limit;
        rollups = (await this.query('SELECT n, n_compliant, offset_min, offset_max, unc_max FROM rollups WHERE agent_key = $1 AND hour_ms >= $2 AND hour_ms < $3', [a.agent_key, ceilHour(from), limit])).rows;
      }
    }
    const rows = rawFrom === from ? periodRows : periodRows.filter((r) => r[0] >= rawFrom);
    if (!last && rows.length === 0 && rawFrom === from && a.first_seen_ms >= to) return null;

    let reports = rows.length;
    let compliant = 0;
    let worst: AgentPeriodRecord['worst'] = null;
    for (const [, o, u, s] of rows) {
      if (s === COMPLIANT) compliant++;
      if (o === null || u === null) continue;
      if (worst === null || Math.abs(o) > Math.abs(worst.offsetMs) || (Math.abs(o) === Math.abs(worst.offsetMs) && o > worst.offsetMs)) {
        worst = { offsetMs: o, uncertaintyMs: u, fromRollup: false };
      }
    }
    let fromRollups = 0;
    for (const r of rollups) {
      reports += r.n;
      compliant += r.n_compliant;
      fromRollups += r.n;
      for (const o of [r.offset_min, r.offset_max]) {
        if (o === null || r.unc_max === null) continue;
        if (worst === null || Math.abs(o) > Math.abs(worst.offsetMs)) worst = { offsetMs: o, uncertaintyMs: r.unc_max, fromRollup: true };
      }
    }
    const pts = rows.filter((r) => r[1] !== null).map((r) => ({ atMs: r[0], offsetMs: r[1] as number }));
    const d = pts.length >= 2 ? driftPpm(pts, stepsAt.filter((s) => s >= rawFrom), PLAIN_FIT) : null;
    const drift = d ? { ppm: d.ppm, points: d.points } : null;
    const lastSeenMs = a.last_seen_ms !== null && a.last_seen_ms <= to ? a.last_seen_ms : (last?.receivedAtMs ?? null);
    const state: PeriodAgentState = {
      id: a.agent_id,
      firstSeenMs: a.first_seen_ms,
      last,
      lastIsLatest: last !== null && last.reportId === a.latest_report_id,
      staticParts: statics.get((a.l_static ?? a.latest_static) as number) ?? null,
      lastSeenMs,
      staleAfterMs: a.stale_after_ms,
    };
    const record: AgentPeriodRecord = { ...state, reports, compliantReports: compliant, reportsFromRollups: fromRollups, worst, drift };
    if (q.series && q.series.want(state)) record.series = bucketSeries(periodRows, from, to, q.series.maxPoints);
    return record;
  }

  async series(agentKey: number, from: number, to: number, maxPoints: number): Promise<SeriesPoint[]> {
    const r = await this.query(
      'SELECT at_ms, offset_ms, uncertainty_ms, status FROM samples WHERE agent_key = $1 AND at_ms >= $2 AND at_ms < $3 AND offset_ms IS NOT NULL AND uncertainty_ms IS NOT NULL ORDER BY at_ms, seq',
      [agentKey, Math.ceil(from), Math.ceil(to)],
    );
    return bucketSeries(
      r.rows.map((x) => [x.at_ms, x.offset_ms, x.uncertainty_ms, x.status] as Row),
      from,
      to,
      maxPoints,
    );
  }
}
