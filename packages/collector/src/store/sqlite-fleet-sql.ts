/**
 * The fleet view through SQL: a filtered page (status, text, labels) on any connection, and every
 * page on a read-only one (status, export). The writer answers the unfiltered pages from memory
 * (sqlite-fleet-index.ts) and tests compare the two. The rest of each row comes from the row cache
 * keyed by agent and version (sqlite-fleet-rows.ts), as on the memory path.
 */
import type Database from 'better-sqlite3';
import type { AgentStatus } from '@clockwatch/shared';
import type { FleetKey } from './sqlite-fleet-index.js';
import type { FleetRowCache } from './sqlite-fleet-rows.js';
import { BASE_COLUMNS, likePattern, SEVERITY_RANK, STATUS_SQL, type Statements } from './sqlite-sql.js';
import { SEVERITY_ORDER, type AgentPage, type AgentQuery } from './types.js';

export class SqliteFleetSql {
  private readonly listStatements = new Map<string, { keys: Database.Statement; rows: Database.Statement; count: Database.Statement }>();

  constructor(
    private readonly db: Database.Database,
    private readonly s: Statements,
    private readonly rowCache: FleetRowCache,
  ) {}

  /**
   * One page. One read transaction: the count, the keys and the rows read for the cache agree,
   * even while another connection writes.
   */
  page(query: AgentQuery, statuses: AgentStatus[], q: string | null, labels: [string, string][]): AgentPage {
    return this.db.transaction(() => this.pageNow(query, statuses, q, labels))();
  }

  /**
   * The worst-first page of the whole fleet through SQL (the read-only store; the writer answers it
   * from memory), one status of SEVERITY_ORDER after the other: the
   * agents stale at nowMs from the stale-time index (sorted among themselves), each other status
   * along the severity index (severity, hostname, agent_id) with the stale ones skipped. A status
   * is counted only when the page starts past it. Exact for any instant: every part uses
   * STATUS_SQL's rule.
   */
  private worstFirst(nowMs: number, offset: number, limit: number): { total: number; keys: [number, number, AgentStatus][] } {
    const total = this.s.countLatest.get() as number;
    const keys: [number, number, AgentStatus][] = [];
    let skip = offset;
    for (const status of SEVERITY_ORDER) {
      if (keys.length >= limit) break;
      const page = { now: nowMs, rank: SEVERITY_RANK[status], limit: limit - keys.length, offset: skip };
      const got = (status === 'stale' ? this.s.staleKeys.all(page) : this.s.freshKeysBySeverity.all(page)) as [number, number, AgentStatus][];
      if (got.length > 0) {
        for (const k of got) keys.push(k);
        skip = 0;
      } else if (skip > 0) {
        const n = (status === 'stale' ? this.s.staleCount.get({ now: nowMs }) : this.s.freshCountBySeverity.get({ now: nowMs, rank: SEVERITY_RANK[status] })) as number;
        skip = Math.max(0, skip - n);
      }
    }
    return { total, keys };
  }

  private listStatement(statuses: number, hasQ: boolean, labels: number, sort: 'id' | 'severity') {
    const key = `${statuses}:${hasQ}:${labels}:${sort}`;
    let st = this.listStatements.get(key);
    if (!st) {
      const where: string[] = [];
      if (statuses > 0) where.push(`(${STATUS_SQL}) IN (${Array.from({ length: statuses }, (_, i) => `@s${i}`).join(', ')})`);
      if (hasQ) where.push(`(agent_id LIKE @q ESCAPE '\\' OR hostname LIKE @q ESCAPE '\\')`);
      // labels is a JSON object (k -> v): json_each walks it without building a path from the key.
      for (let i = 0; i < labels; i++) where.push(`EXISTS (SELECT 1 FROM json_each(labels) WHERE key = @lk${i} AND value = @lv${i})`);
      const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const severity = `CASE ${STATUS_SQL} ${SEVERITY_ORDER.map((st, i) => `WHEN '${st}' THEN ${i}`).join(' ')} ELSE ${SEVERITY_ORDER.length} END`;
      const order = sort === 'severity' ? `${severity}, hostname, agent_id` : 'agent_id';
      const page = `${w} ORDER BY ${order} LIMIT @limit OFFSET @offset`;
      st = {
        keys: this.db.prepare(`SELECT agent_key, version, ${STATUS_SQL} FROM agent_latest ${page}`).raw(),
        rows: this.db.prepare(`SELECT agent_key, ${BASE_COLUMNS} FROM agent_latest ${page}`).raw(),
        count: this.db.prepare(`SELECT count(*) FROM agent_latest ${w}`).pluck(),
      };
      this.listStatements.set(key, st);
    }
    return st;
  }

  private pageNow(query: AgentQuery, statuses: AgentStatus[], q: string | null, labels: [string, string][]): AgentPage {
    const sort = query.sort ?? 'id';
    const st = this.listStatement(statuses.length, q !== null, labels.length, sort);
    const params: Record<string, unknown> = { now: query.nowMs, limit: query.limit, offset: query.offset };
    statuses.forEach((s, i) => (params[`s${i}`] = s));
    labels.forEach(([k, v], i) => ((params[`lk${i}`] = k), (params[`lv${i}`] = v)));
    if (q !== null) params.q = likePattern(q);
    let total: number;
    let keys: FleetKey[];
    if (sort === 'severity' && statuses.length === 0 && q === null && labels.length === 0) {
      ({ total, keys } = this.worstFirst(query.nowMs, query.offset, query.limit));
    } else {
      // With a filter the worst-first order is sorted over the matching rows (STATUS_SQL's rank).
      total = st.count.get(params) as number;
      keys = st.keys.all(params) as FleetKey[];
    }
    const pageRows = sort === 'severity' ? null : () => st.rows.all(params) as unknown[][];
    const { rows, json, tag } = this.rowCache.rows(keys, total, pageRows);
    return { total, rows, rowsJson: json, rowsTag: tag };
  }
}
