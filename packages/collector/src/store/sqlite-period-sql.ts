/**
 * The SQL of the period queries (sqlite-period.ts), prepared once per connection on first use.
 */
import type Database from 'better-sqlite3';

type Stmt = Database.Statement;

export interface PeriodStatements {
  agents: Stmt;
  last: Stmt;
  count: Stmt;
  oldest: Stmt;
  aggregate: Stmt;
  steps: Stmt;
  points: Stmt;
  rollups: Stmt;
  rollupHours: Stmt;
  statics: Stmt;
  extremeHours: Stmt;
  uncertaintyAt: Stmt;
  raw: Stmt;
}

const COMPLIANT = 0; // encodeStatus('compliant')

export function preparePeriodStatements(db: Database.Database): PeriodStatements {
  return {
    agents: db.prepare(`SELECT a.agent_key, a.agent_id, a.first_seen_ms, l.last_seen_ms, l.stale_after_ms, l.report_id, l.static_key
      FROM agents a LEFT JOIN agent_latest l USING (agent_key) ORDER BY a.agent_key`).raw(),
    last: db.prepare(`SELECT report_id, at_ms, recv_ms, offset_ms, uncertainty_ms, rtc_offset_s, ntp_sync, status, checks, static_key
      FROM samples WHERE agent_key = ? AND at_ms < ? ORDER BY at_ms DESC, tie DESC LIMIT 1`).raw(),
    // One range of the clustered table (schema 6: its rows are in (agent_key, at_ms, tie) order).
    count: db.prepare('SELECT count(*) FROM samples WHERE agent_key = ? AND at_ms >= ? AND at_ms < ?').pluck(),
    oldest: db.prepare('SELECT min(at_ms) FROM samples WHERE agent_key = ?').pluck(),
    // The same sums as the pass (sqlite-scan.ts) for one agent, through the index.
    aggregate: db.prepare(`SELECT count(*), coalesce(sum(status = ${COMPLIANT}), 0), count(offset_ms),
        coalesce(sum(x), 0), coalesce(sum(offset_ms), 0), coalesce(sum(x * x), 0), coalesce(sum(x * offset_ms), 0),
        coalesce(max(offset_ms), -1e308), coalesce(min(offset_ms), 1e308)
      FROM (SELECT status, offset_ms, uncertainty_ms, CASE WHEN offset_ms IS NULL THEN NULL ELSE at_ms - @from END AS x
            FROM samples WHERE agent_key = @agent AND at_ms >= @rawFrom AND at_ms < @to)`).raw(),
    steps: db.prepare('SELECT at_ms FROM steps WHERE agent_key = ? AND at_ms >= ? AND at_ms < ? ORDER BY at_ms').pluck(),
    points: db.prepare('SELECT at_ms, offset_ms FROM samples WHERE agent_key = ? AND at_ms >= ? AND at_ms < ? AND offset_ms IS NOT NULL').raw(),
    rollups: db.prepare('SELECT n, n_compliant, offset_min, offset_max, unc_max FROM rollups WHERE agent_key = ? AND hour_ms >= ? AND hour_ms < ?').raw(),
    // What the rollups know of whole hours: per hour reports, compliant, with an offset, Σ offset,
    // extremes, the drift fit's sums (schema 5, store/drift-sums.ts), and the worst uncertainty
    // (the export's evidence hours take them from here rather than read every agent's again).
    rollupHours: db.prepare(`SELECT hour_ms, n, n_compliant, n_offset, offset_sum, offset_max, offset_min, dt_sum_ms, dt_sq_sum_ms2, dt_offset_sum_ms2, unc_max
      FROM rollups WHERE agent_key = ? AND hour_ms >= ? AND hour_ms < ? ORDER BY hour_ms`).raw(),
    statics: db.prepare('SELECT body FROM statics WHERE static_key = ?').pluck(),
    extremeHours: db.prepare('SELECT hour_ms FROM rollups WHERE agent_key = ? AND hour_ms >= ? AND hour_ms < ? AND (offset_max = ? OR offset_min = ?) ORDER BY hour_ms').pluck(),
    // The earliest sample of an offset, with what an export shows of it.
    uncertaintyAt: db
      .prepare('SELECT uncertainty_ms, report_id, at_ms, status, checks FROM samples WHERE agent_key = ? AND at_ms >= ? AND at_ms < ? AND offset_ms = ? AND uncertainty_ms IS NOT NULL ORDER BY at_ms, tie LIMIT 1')
      .raw(),
    raw: db.prepare(`SELECT at_ms, offset_ms, uncertainty_ms FROM samples
      WHERE agent_key = ? AND at_ms >= ? AND at_ms < ? AND offset_ms IS NOT NULL AND uncertainty_ms IS NOT NULL ORDER BY at_ms, tie`).raw(),
  };
}

export type RollupHourRow = [
  hourMs: number,
  n: number,
  nc: number,
  no: number,
  offsetSum: number | null,
  omax: number | null,
  omin: number | null,
  dtSum: number | null,
  dtSqSum: number | null,
  dtOffsetSum: number | null,
  uncMax: number | null,
];
export type AgentRow = [key: number, id: string, firstSeen: number, lastSeen: number | null, staleAfter: number | null, latestReportId: string | null, latestStatic: number | null];
export type LastRow = [reportId: string, at: number, recv: number, offset: number | null, unc: number | null, rtc: number | null, ntp: number | null, status: number, checks: number, staticKey: number];

