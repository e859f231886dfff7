/**
 * The PostgreSQL store's fleet view (listAgents) and its row mapping, apart from the writer
 * (postgres.ts). The same page as the SQLite store (sqlite.ts listAgents), filter for filter and
 * row for row:
 *
 * - `labels`: every label k has exactly value v — jsonb containment (`@>`) of the stored labels
 *   object, through a GIN index (jsonb_path_ops,
 *   https://www.postgresql.org/docs/15/datatype-json.html#JSON-CONTAINMENT).
 * - `sort: 'severity'`: worst first in SEVERITY_ORDER as of `nowMs`, then hostname, then agent id,
 *   both compared bytewise (COLLATE "C", as SQLite's BINARY; the database's own collation may
 *   differ). Staleness depends on the instant, so the page is one branch per status: the agents
 *   stale at nowMs (found by the time they turned stale, last_seen_ms + stale_after_ms), and for
 *   each other status the fresh agents along the index (severity, hostname, agent_id). Each branch
 *   reads at most offset + limit rows in order; one query, one round trip.
 */
import type pg from 'pg';
import { reportingStatusOf, type AgentStatus, type CheckStatus } from '@clockwatch/shared';
import { likePattern } from './sqlite-sql.js';
import { SEVERITY_ORDER, type AgentPage, type AgentQuery, type AgentSummary } from './types.js';

/** Stale at the instant $1: the last delivery is older than the agent's limit (none: never stale). */
const STALE_SQL = `(stale_after_ms IS NOT NULL AND ($1::float8 - last_seen_ms) > stale_after_ms)`;
/** The status at the instant $1 (the rule of sqlite-sql.ts STATUS_SQL). */
export const STATUS_SQL = `CASE WHEN ${STALE_SQL} THEN 'stale' ELSE base_status END`;
/**
 * Stale at $1, read through agent_latest_stale_at: the range picks every candidate (one ms of
 * slack so that rounding of the sum never drops one), STALE_SQL then keeps exactly the stale ones.
 */
const STALE_AT_SQL = `stale_after_ms IS NOT NULL AND (last_seen_ms + stale_after_ms) < $1::float8 + 1 AND ${STALE_SQL}`;

export const SUMMARY_COLUMNS = `agent_id, hostname, system_uuid, labels, last_seen_ms, at_ms, interval_s, stale_after_ms, checks,
  offset_ms, uncertainty_ms, rtc_offset_s, clocksource, timezone, ntp_sync, collector`;

/** Bytewise, as SQLite compares TEXT. */
const BY_HOST = `hostname COLLATE "C", agent_id COLLATE "C"`;

export interface SummaryRow {
  agent_id: string;
  hostname: string;
  system_uuid: string | null;
  labels: string;
  last_seen_ms: number;
  at_ms: number;
  interval_s: number;
  stale_after_ms: number | null;
  checks: Record<string, CheckStatus>;
  offset_ms: number | null;
  uncertainty_ms: number | null;
  rtc_offset_s: number | null;
  clocksource: string | null;
  timezone: string | null;
  ntp_sync: boolean | null;
  collector: string | null;
  status: AgentStatus;
}

export function summaryOf(r: SummaryRow): AgentSummary & { collector: string | null } {
  const checks: Record<string, CheckStatus> = { ...r.checks };
  const reporting = reportingStatusOf(r.status, r.stale_after_ms !== null);
  if (reporting) checks.reporting = reporting;
  return {
    id: r.agent_id,
    hostname: r.hostname,
    status: r.status,
    lastSeenMs: r.last_seen_ms,
    atMs: r.at_ms,
    offsetMs: r.offset_ms,
    uncertaintyMs: r.uncertainty_ms,
    rtcOffsetS: r.rtc_offset_s,
    clocksource: r.clocksource,
    timezone: r.timezone,
    ntpSynchronized: r.ntp_sync,
    systemUuid: r.system_uuid,
    labels: JSON.parse(r.labels) as Record<string, string>,
    intervalS: r.interval_s,
    checks,
    collector: r.collector,
  };
}

export type PgQuery = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** The filters of a query as SQL, binding their values after $1 (now). */
function filtersOf(q: AgentQuery, values: unknown[], withStatuses: boolean): string {
  const bind = (v: unknown) => (values.push(v), `$${values.length}`);
  const where: string[] = [];
  if (q.q) {
    const p = bind(likePattern(q.q));
    where.push(`(agent_id ILIKE ${p} ESCAPE '\\' OR hostname ILIKE ${p} ESCAPE '\\')`);
  }
  const labels = Object.entries(q.labels ?? {});
  if (labels.length > 0) where.push(`labels::jsonb @> ${bind(JSON.stringify(Object.fromEntries(labels)))}::jsonb`);
  const statuses = [...new Set(q.statuses ?? [])];
  if (withStatuses && statuses.length > 0) where.push(`(${STATUS_SQL}) = ANY(${bind(statuses)}::text[])`);
  return where.map((x) => ` AND ${x}`).join('');
}

/** The fleet page: the count and the rows, two statements side by side on the pool. */
export async function listAgentsPg(query: PgQuery, q: AgentQuery): Promise<AgentPage> {
  // $1 (now) is always bound and typed: the status rule uses it.
  const countValues: unknown[] = [q.nowMs];
  const countSql = `SELECT count(*) AS n FROM agent_latest WHERE $1::float8 IS NOT NULL${filtersOf(q, countValues, true)}`;
  const values: unknown[] = [q.nowMs];
  let pageSql: string;
  if (q.sort === 'severity') {
    // The status filter picks branches; every branch has the other filters.
    const common = filtersOf(q, values, false);
    const statuses = new Set(q.statuses ?? []);
    values.push(q.offset + q.limit, q.limit, q.offset);
    const [upTo, limit, offset] = [values.length - 2, values.length - 1, values.length].map((i) => `$${i}`);
    const branches = SEVERITY_ORDER.map((status, rank) => ({ status, rank }))
      .filter((b) => statuses.size === 0 || statuses.has(b.status))
      .map(({ status, rank }) => {
        const cond = status === 'stale' ? STALE_AT_SQL : `severity = ${rank} AND NOT ${STALE_SQL}`;
        return `(SELECT ${rank} AS seg, ${SUMMARY_COLUMNS}, ${STATUS_SQL} AS status FROM agent_latest WHERE ${cond}${common} ORDER BY ${BY_HOST} LIMIT ${upTo})`;
      });
    if (branches.length === 0) return { total: 0, rows: [] };
    pageSql = `SELECT * FROM (${branches.join(' UNION ALL ')}) page ORDER BY seg, ${BY_HOST} LIMIT ${limit} OFFSET ${offset}`;
  } else {
    const w = filtersOf(q, values, true);
    values.push(q.limit, q.offset);
    pageSql = `SELECT ${SUMMARY_COLUMNS}, ${STATUS_SQL} AS status FROM agent_latest WHERE $1::float8 IS NOT NULL${w} ORDER BY agent_id LIMIT $${values.length - 1} OFFSET $${values.length}`;
  }
  const [count, rows] = await Promise.all([query<{ n: number }>(countSql, countValues), query<SummaryRow>(pageSql, values)]);
  return { total: Number(count.rows[0]?.n ?? 0), rows: rows.rows.map(summaryOf) };
}
