/**
 * The PostgreSQL store (`--db postgresql://…`): the same Store interface and contract as the
 * SQLite store (test/collector/store-contract.ts), for a fleet whose collectors — one per
 * hypervisor host, close to its guests — share one store and one view of the fleet.
 *
 * - One transaction per write() (the group committer calls it once per event-loop turn), answered
 *   after COMMIT. Each batch is a fixed number of statements whatever its size: the rows travel
 *   as arrays (`unnest`), so a batch of 500 reports costs nine round trips (BEGIN, seven
 *   statements, COMMIT), not 3,500; one more each when it holds duplicates, clock steps, or late
 *   reports that only refresh an agent's last delivery; and the first report of a new day creates
 *   its partition first.
 * - A batch locks its agents' rows first, in agent id order: two collectors writing the same
 *   agents (a new agent's first report reaching both, an agent that moved with its spool) take
 *   turns instead of deadlocking, and the second sees the first's latest state.
 * - Idempotency by reportId fleet-wide (`report_ids`, see postgres-schema.ts): two collectors that
 *   receive the same spooled report at once both wait on the one index entry; one stores it, the
 *   other answers duplicate.
 * - Samples live in daily partitions, created before the write transaction; retention drops
 *   whole partitions (and deletes in the one that straddles the cutoff).
 * - Every query takes the instant as a parameter: `stale` is computed at read time, as in SQLite.
 */
import pg from 'pg';
import type { AgentStatus, Report } from '@clockwatch/shared';
import { decodeChecks, decodeStatus } from './codes.js';
import { listAgentsPg, STATUS_SQL, SUMMARY_COLUMNS, summaryOf, type SummaryRow } from './postgres-list.js';
import { PostgresPeriodReader } from './postgres-period.js';
import { sampleColumns } from '../history-columns.js';
import { writeBatchPg } from './postgres-write.js';
import { DAY_MS, PG_LOCKS, PG_MIGRATIONS, PG_SCHEMA_VERSION, partitionName } from './postgres-schema.js';
import { HOUR_MS } from './sqlite-sql.js';
import { PLACED_BY } from './types.js';
import {
  STORED_CHECKS,
  type AgentBindingConflict,
  type AgentDetailRecord,
  type StoreHealth,
  type AgentPage,
  type AgentPeriodRecord,
  type AgentQuery,
  type FleetSummary,
  type LatestState,
  type RejudgeResult,
  type StoredVerdictRow,
  type HistoryColumnsPage,
  type HistoryPage,
  type PeriodQuery,
  type PruneOptions,
  type PruneResult,
  type RollupRow,
  type SampleRecord,
  type SeriesPoint,
  type StaticVersion,
  type Store,
  type StoreStats,
  type TimeRange,
  type WriteOutcome,
} from './types.js';

export interface PostgresStoreOptions {
  /** postgresql://user@host/db, or postgresql:///db?host=/run/postgresql for a Unix socket. */
  url: string;
  /** This collector's name (shown as the collector that measured each agent). */
  collector?: string;
  /** Connections in the pool (default 4: one writer at a time plus readers). */
  poolSize?: number;
  /** Give up connecting after this long, ms (default 5000). */
  connectTimeoutMs?: number;
}

// BIGINT (20) and NUMERIC come back as strings by default; every value here is below 2^53.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly collector: string;
  private readonly pool: pg.Pool;
  private readonly period: PostgresPeriodReader;
  /** Day partitions known to exist (created by this or another collector). */
  private readonly partitions = new Set<number>();
  private closed = false;

  private constructor(private readonly options: PostgresStoreOptions) {
    this.collector = options.collector ?? 'collector';
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      types,
      application_name: `clockwatch-collector ${this.collector}`.slice(0, 63),
    });
    // An idle client losing its server (restart, network) must not crash the process; the next
    // query gets a fresh connection and the caller its error (503, agents keep their spool).
    this.pool.on('error', () => undefined);
    this.period = new PostgresPeriodReader((text, values) => this.query(text, values));
  }

  /** Connects, migrates (once fleet-wide, under an advisory lock) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await store.migrate();
    } catch (err) {
      await store.pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    this.assertOpen();
    return this.pool.query<R>(text, values);
  }

  private async migrate(): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock($1)', [PG_LOCKS.migrate]);
      await c.query('CREATE TABLE IF NOT EXISTS cw_schema_migrations (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)');
      const cur = Number((await c.query('SELECT coalesce(max(version), 0) AS v FROM cw_schema_migrations')).rows[0].v);
      if (cur > PG_SCHEMA_VERSION) {
        throw new Error(`database schema version ${cur} is newer than this collector understands (${PG_SCHEMA_VERSION}); upgrade the collector`);
      }
      for (let v = cur; v < PG_MIGRATIONS.length; v++) {
        await c.query('BEGIN');
        try {
          await c.query(PG_MIGRATIONS[v] as string);
          await c.query('INSERT INTO cw_schema_migrations (version, applied_ms) VALUES ($1, $2)', [v + 1, Date.now()]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [PG_LOCKS.migrate]).catch(() => undefined);
      c.release();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }

  /** Creates the day partitions the records need (before the write transaction: DDL takes strong locks). */
  private async ensurePartitions(records: readonly SampleRecord[]): Promise<void> {
    const days = new Set<number>();
    for (const r of records) {
      const d = Math.floor(Math.round(r.atMs) / DAY_MS) * DAY_MS;
      if (!this.partitions.has(d)) days.add(d);
    }
    if (days.size === 0) return;
    const c = await this.pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock($1)', [PG_LOCKS.partitions]);
      for (const d of days) {
        await c.query(`CREATE TABLE IF NOT EXISTS ${partitionName(d)} PARTITION OF samples FOR VALUES FROM (${d}) TO (${d + DAY_MS})`);
        this.partitions.add(d);
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [PG_LOCKS.partitions]).catch(() => undefined);
      c.release();
    }
  }

  async write(records: readonly SampleRecord[]): Promise<WriteOutcome[]> {
    this.assertOpen();
    if (records.length === 0) return [];
    for (const r of records) {
      if (!/^[0-9a-f]{16,}$/i.test(r.contentHash)) throw new Error('content hash must be at least 16 hex digits');
    }
    await this.ensurePartitions(records);
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const outcomes = await writeBatchPg(c, records, this.collector);
      await c.query('COMMIT');
      return outcomes;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      // A partition another collector's retention dropped meanwhile: forget what we knew.
      this.partitions.clear();
      throw err;
    } finally {
      c.release();
    }
  }

  listAgents(query: AgentQuery): Promise<AgentPage> {
    this.assertOpen();
    return listAgentsPg((text, values) => this.query(text, values), query);
  }

  async getAgent(agentId: string, nowMs: number): Promise<AgentDetailRecord | null> {
    const r = await this.query<SummaryRow & { seq: number; report_id: string; recv_ms: number; host_sync: boolean | null; host_res_ms: number | null; first_seen_ms: number; report: string }>(
      `SELECT ${SUMMARY_COLUMNS}, ${STATUS_SQL} AS status, seq, report_id, recv_ms, host_sync, host_res_ms, report,
         (SELECT first_seen_ms FROM agents a WHERE a.agent_key = l.agent_key) AS first_seen_ms
       FROM agent_latest l WHERE agent_id = $2`,
      [nowMs, agentId],
    );
    const row = r.rows[0];
    if (!row) return null;
    return {
      summary: summaryOf(row),
      report: JSON.parse(row.report) as Report,
      receivedAtMs: row.recv_ms,
      hostSynchronized: row.host_sync,
      hostResolutionMs: row.host_res_ms,
      lastSeenMs: row.last_seen_ms,
      firstSeenMs: row.first_seen_ms,
      seq: row.seq,
      reportId: row.report_id,
    };
  }

  private async keyOf(agentId: string): Promise<number | undefined> {
    const r = await this.query<{ agent_key: number }>('SELECT agent_key FROM agents WHERE agent_id = $1', [agentId]);
    return r.rows[0]?.agent_key;
  }

  async history(agentId: string, range: TimeRange): Promise<HistoryPage> {
    const key = await this.keyOf(agentId);
    if (key === undefined) return { rows: [], truncated: false };
    const r = await this.query(
      `SELECT report_id, seq, at_ms, recv_ms, guest_ms, offset_ms, uncertainty_ms, rtc_offset_s, ntp_sync, ntp_offset_ms, status, checks, steps, placed_by
       FROM samples WHERE agent_key = $1 AND at_ms >= $2 AND at_ms <= $3 ORDER BY at_ms DESC, seq DESC LIMIT $4`,
      [key, Math.ceil(range.fromMs), Math.floor(range.toMs), range.limit + 1],
    );
    const raw = r.rows;
    const truncated = raw.length > range.limit;
    if (truncated) raw.pop();
    raw.reverse();
    return {
      truncated,
      rows: raw.map((x) => ({
        reportId: x.report_id,
        seq: x.seq,
        atMs: x.at_ms,
        receivedAtMs: x.recv_ms,
        guestEpochMs: x.guest_ms,
        offsetMs: x.offset_ms,
        uncertaintyMs: x.uncertainty_ms,
        rtcOffsetS: x.rtc_offset_s,
        ntpSynchronized: x.ntp_sync,
        ntpOffsetMs: x.ntp_offset_ms,
        status: decodeStatus(x.status),
        checks: decodeChecks(x.checks),
        stepCount: x.steps,
        placedBy: PLACED_BY[x.placed_by] ?? 'probe',
      })),
    };
  }

  /** From the row form (correctness first: one home for the decoding of a PostgreSQL sample). */
  async historyColumns(agentId: string, range: TimeRange, detail: boolean): Promise<HistoryColumnsPage> {
    const page = await this.history(agentId, range);
    return { truncated: page.truncated, columns: sampleColumns(page.rows, detail) };
  }

  async rollups(agentId: string, range: TimeRange): Promise<RollupRow[]> {
    const key = await this.keyOf(agentId);
    if (key === undefined) return [];
    const from = Math.floor(range.fromMs / HOUR_MS) * HOUR_MS;
    const r = await this.query(
      `SELECT hour_ms, n, n_offset, offset_min, offset_max, offset_sum, unc_max, n_compliant FROM rollups
       WHERE agent_key = $1 AND hour_ms >= $2 AND hour_ms <= $3 ORDER BY hour_ms LIMIT $4`,
      [key, from, Math.floor(range.toMs), range.limit],
    );
    return r.rows.map((x) => ({
      hourMs: x.hour_ms,
      reports: x.n,
      measured: x.n_offset,
      offsetMinMs: x.offset_min,
      offsetMaxMs: x.offset_max,
      offsetMeanMs: x.n_offset > 0 && x.offset_sum !== null ? x.offset_sum / x.n_offset : null,
      uncertaintyMaxMs: x.unc_max,
      compliantShare: x.n > 0 ? x.n_compliant / x.n : 0,
    }));
  }

  async steps(agentId: string, fromMs: number, toMs: number): Promise<{ atMs: number; stepMs: number }[]> {
    const key = await this.keyOf(agentId);
    if (key === undefined) return [];
    const r = await this.query('SELECT at_ms, step_ms FROM steps WHERE agent_key = $1 AND at_ms >= $2 AND at_ms <= $3 ORDER BY at_ms', [key, Math.ceil(fromMs), Math.floor(toMs)]);
    return r.rows.map((x) => ({ atMs: x.at_ms, stepMs: x.step_ms }));
  }

  async staticVersions(agentId: string): Promise<StaticVersion[]> {
    const key = await this.keyOf(agentId);
    if (key === undefined) return [];
    const r = await this.query('SELECT hash, first_seen_ms, body FROM statics WHERE agent_key = $1 ORDER BY first_seen_ms, static_key', [key]);
    return r.rows.map((x) => ({ hash: x.hash, firstSeenMs: x.first_seen_ms, body: JSON.parse(x.body) as Record<string, unknown> }));
  }

  async summary(nowMs: number): Promise<FleetSummary> {
    const byStatus: Record<AgentStatus, number> = { compliant: 0, warning: 0, noncompliant: 0, stale: 0, unknown: 0 };
    let agents = 0;
    for (const r of (await this.query<{ status: AgentStatus; n: number }>(`SELECT ${STATUS_SQL} AS status, count(*)::int AS n FROM agent_latest GROUP BY 1`, [nowMs])).rows) {
      byStatus[r.status] = (byStatus[r.status] ?? 0) + r.n;
      agents += r.n;
    }
    const byCheck: FleetSummary['byCheck'] = {};
    for (const id of STORED_CHECKS) byCheck[id] = { fail: 0, warn: 0, unknown: 0 };
    const counts = await this.query<{ id: string; s: string; n: number }>(
      `SELECT e.key AS id, e.value AS s, count(*)::int AS n FROM agent_latest, jsonb_each_text(checks) AS e
       WHERE e.value IN ('fail', 'warn', 'unknown') GROUP BY 1, 2`,
    );
    for (const r of counts.rows) {
      const b = (byCheck[r.id] ??= { fail: 0, warn: 0, unknown: 0 });
      b[r.s as 'fail' | 'warn' | 'unknown'] = r.n;
    }
    byCheck.reporting = { fail: byStatus.stale, warn: 0, unknown: 0 };
    return { agents, byStatus, byCheck };
  }

  async periodAgents(query: PeriodQuery): Promise<AgentPeriodRecord[]> {
    this.assertOpen();
    if (!(query.toMs > query.fromMs)) throw new RangeError('periodAgents: toMs must be after fromMs');
    return this.period.agents(query);
  }

  async periodSeries(agentId: string, fromMs: number, toMs: number, maxPoints: number): Promise<SeriesPoint[]> {
    const key = await this.keyOf(agentId);
    if (key === undefined || !(toMs > fromMs)) return [];
    return this.period.series(key, fromMs, toMs, maxPoints);
  }

  /** Judges every latest state again and writes the changed verdicts, in one transaction (pages of 1,000). */
  async rejudge(judge: (state: LatestState) => StoredVerdictRow): Promise<RejudgeResult> {
    const started = performance.now();
    const result: RejudgeResult = { agents: 0, changed: 0, statusChanges: {}, durationMs: 0 };
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      let after = -1;
      for (;;) {
        const page = await c.query(
          `SELECT agent_key, agent_id, recv_ms, host_sync, host_res_ms, last_seen_ms, base_status, stale_after_ms, checks, report
           FROM agent_latest WHERE agent_key > $1 ORDER BY agent_key LIMIT 1000 FOR UPDATE`,
          [after],
        );
        if (page.rows.length === 0) break;
        after = page.rows.at(-1).agent_key;
        const keys: number[] = [];
        const bases: string[] = [];
        const stales: (number | null)[] = [];
        const checks: string[] = [];
        for (const row of page.rows) {
          result.agents++;
          const v = judge({
            agentId: row.agent_id,
            report: JSON.parse(row.report) as Report,
            receivedAtMs: row.recv_ms,
            hostSynchronized: row.host_sync,
            hostResolutionMs: row.host_res_ms,
            lastSeenMs: row.last_seen_ms,
          });
          const next = JSON.stringify(v.checks);
          if (v.baseStatus === row.base_status && v.staleAfterMs === row.stale_after_ms && sameChecks(v.checks, row.checks)) continue;
          keys.push(row.agent_key);
          bases.push(v.baseStatus);
          stales.push(v.staleAfterMs);
          checks.push(next);
          result.changed++;
          if (v.baseStatus !== row.base_status) {
            const k = `${row.base_status}→${v.baseStatus}`;
            result.statusChanges[k] = (result.statusChanges[k] ?? 0) + 1;
          }
        }
        if (keys.length > 0) {
          await c.query(
            `UPDATE agent_latest l SET base_status = v.b, stale_after_ms = v.s, checks = v.c
             FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::jsonb[]) AS v(k, b, s, c) WHERE l.agent_key = v.k`,
            [keys, bases, stales, checks],
          );
        }
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
    result.durationMs = performance.now() - started;
    return result;
  }

  async lastMeasuredOffset(agentId: string): Promise<number | null> {
    const key = await this.keyOf(agentId);
    if (key === undefined) return null;
    const r = await this.query<{ offset_ms: number }>(
      'SELECT offset_ms FROM samples WHERE agent_key = $1 AND offset_ms IS NOT NULL ORDER BY at_ms DESC, seq DESC LIMIT 1',
      [key],
    );
    return r.rows[0]?.offset_ms ?? null;
  }

  /**
   * Retention: whole day partitions before the cutoff are dropped; the one that straddles it loses
   * its older rows. Agents silent since before the rollup cutoff are forgotten entirely. Small
   * transactions, so ingest on any collector never waits long.
   */
  async prune(options: PruneOptions): Promise<PruneResult> {
    const result: PruneResult = { samples: 0, steps: 0, rollups: 0, agents: 0 };
    const cutoff = Math.floor(options.samplesBeforeMs);
    const parts = await this.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname = 'samples' ORDER BY 1`,
    );
    // Forget long-silent agents first (their rows in every table).
    const gone = await this.query<{ agent_key: number }>('SELECT agent_key FROM agent_latest WHERE last_seen_ms < $1', [Math.floor(options.rollupsBeforeMs)]);
    for (const { agent_key: key } of gone.rows) {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        // The agent's row first, as a write takes it (writeBatch step 1): a report arriving now
        // waits or is waited for, never deadlocks; and one that came in meanwhile keeps the agent.
        await c.query('SELECT 1 FROM agents WHERE agent_key = $1 FOR UPDATE', [key]);
        const still = await c.query('SELECT 1 FROM agent_latest WHERE agent_key = $1 AND last_seen_ms < $2', [key, Math.floor(options.rollupsBeforeMs)]);
        if (still.rowCount === 0) {
          await c.query('ROLLBACK');
          continue;
        }
        result.samples += (await c.query('DELETE FROM samples WHERE agent_key = $1', [key])).rowCount ?? 0;
        result.steps += (await c.query('DELETE FROM steps WHERE agent_key = $1', [key])).rowCount ?? 0;
        result.rollups += (await c.query('DELETE FROM rollups WHERE agent_key = $1', [key])).rowCount ?? 0;
        for (const t of ['report_ids', 'statics', 'agent_latest', 'agents']) await c.query(`DELETE FROM ${t} WHERE agent_key = $1`, [key]);
        await c.query('COMMIT');
        result.agents++;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    }
    for (const { name } of parts.rows) {
      const m = /^samples_d(\d{4})(\d{2})(\d{2})$/.exec(name);
      if (!m) continue;
      const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      if (start + DAY_MS <= cutoff) {
        result.samples += Number((await this.query(`SELECT count(*) AS n FROM ${name}`)).rows[0]?.n ?? 0);
        await this.query(`DROP TABLE ${name}`);
        this.partitions.delete(start);
      } else if (start < cutoff) {
        result.samples += (await this.query(`DELETE FROM ${name} WHERE at_ms < $1`, [cutoff])).rowCount ?? 0;
      }
    }
    await this.query('DELETE FROM report_ids WHERE at_ms < $1', [cutoff]);
    result.steps += (await this.query('DELETE FROM steps WHERE at_ms < $1', [cutoff])).rowCount ?? 0;
    result.rollups += (await this.query('DELETE FROM rollups WHERE hour_ms < $1', [Math.floor(options.rollupsBeforeMs)])).rowCount ?? 0;
    return result;
  }

  /**
   * An agent id belongs to the token that first delivered it (sqlite-identity.ts has the rule),
   * fleet-wide: the binding lives in the shared database, so a token cannot claim on one collector
   * an id another token owns on another. Rows are locked, so two collectors decide one after the other.
   */
  async bindAgentsToToken(agentIds: readonly string[], tokenFingerprint: string, options: { rebind: boolean; nowMs: number }): Promise<AgentBindingConflict | null> {
    const ids = [...new Set(agentIds)];
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('INSERT INTO agent_tokens (agent_id, token_fp, bound_ms) SELECT unnest($1::text[]), $2, $3 ON CONFLICT (agent_id) DO NOTHING', [ids, tokenFingerprint, Math.round(options.nowMs)]);
      const owners = await c.query<{ agent_id: string; token_fp: string }>('SELECT agent_id, token_fp FROM agent_tokens WHERE agent_id = ANY($1::text[]) FOR UPDATE', [ids]);
      const other = owners.rows.find((r) => r.token_fp !== tokenFingerprint);
      if (other && !options.rebind) {
        await c.query('ROLLBACK');
        return { agentId: other.agent_id, ownerFingerprint: other.token_fp };
      }
      if (other) await c.query('UPDATE agent_tokens SET token_fp = $2, bound_ms = $3 WHERE agent_id = ANY($1::text[])', [ids, tokenFingerprint, Math.round(options.nowMs)]);
      await c.query('COMMIT');
      return null;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  /** A database server that is down answers every write with an error (503 CW_ERR_STORE); there is no file to lose. */
  health(): StoreHealth {
    return { ok: true };
  }

  async stats(): Promise<StoreStats> {
    const r = await this.query<{ a: number; s: number; r: number; st: number }>(
      'SELECT (SELECT count(*)::int FROM agents) AS a, (SELECT count(*)::int FROM samples) AS s, (SELECT count(*)::int FROM rollups) AS r, (SELECT count(*)::int FROM statics) AS st',
    );
    const x = r.rows[0]!;
    return { agents: x.a, samples: x.s, rollups: x.r, statics: x.st };
  }

  /** Records this collector's own NTP state (kept per collector, shown with the agents it measured). */
  async recordCollector(state: { nowMs: number; hostSynchronized: boolean | null; hostNtp?: unknown }): Promise<void> {
    await this.query(
      `INSERT INTO collectors (name, last_seen_ms, host_sync, host_ntp) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, host_sync = excluded.host_sync, host_ntp = excluded.host_ntp`,
      [this.collector, Math.round(state.nowMs), state.hostSynchronized, state.hostNtp === undefined ? null : JSON.stringify(state.hostNtp)],
    );
  }

  async collectors(): Promise<{ name: string; lastSeenMs: number; hostSynchronized: boolean | null }[]> {
    const r = await this.query('SELECT name, last_seen_ms, host_sync FROM collectors ORDER BY name');
    return r.rows.map((x) => ({ name: x.name, lastSeenMs: x.last_seen_ms, hostSynchronized: x.host_sync }));
  }

  /**
   * Runs `fn` only if no other collector holds the named lock (a session advisory lock on its own
   * connection); resolves to false without running it otherwise. Exports and retention use it so
   * that they run once per period across all collectors.
   */
  async withExclusive<T>(lock: keyof typeof PG_LOCKS, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const c = await this.pool.connect();
    try {
      const got = (await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [PG_LOCKS[lock]])).rows[0]?.ok === true;
      if (!got) return { ran: false };
      try {
        return { ran: true, value: await fn() };
      } finally {
        await c.query('SELECT pg_advisory_unlock($1)', [PG_LOCKS[lock]]).catch(() => undefined);
      }
    } finally {
      c.release();
    }
  }

  /**
   * Runs `fn` at most once per `periodMs` across every collector of the fleet: under the job's
   * advisory lock, and only when `cw_jobs` says no collector ran it within the period.
   */
  async oncePerPeriod<T>(job: 'exports' | 'retention', periodMs: number, nowMs: number, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const r = await this.withExclusive(job, async () => {
      const last = (await this.query<{ last_run_ms: number }>('SELECT last_run_ms FROM cw_jobs WHERE name = $1', [job])).rows[0]?.last_run_ms;
      if (last !== undefined && nowMs - last < periodMs) return { skipped: true as const };
      const value = await fn();
      await this.query(
        'INSERT INTO cw_jobs (name, last_run_ms, collector) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET last_run_ms = excluded.last_run_ms, collector = excluded.collector',
        [job, Math.round(nowMs), this.collector],
      );
      return { skipped: false as const, value };
    });
    if (!r.ran || r.value.skipped) return { ran: false };
    return { ran: true, value: r.value.value };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

function sameChecks(a: Record<string, string | undefined>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  return PostgresStore.open(options);
}
