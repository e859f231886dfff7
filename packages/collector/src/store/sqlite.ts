/**
 * The SQLite store (better-sqlite3): WAL, statements prepared once, one transaction per write()
 * call (the ingest path calls it once per event-loop turn with every report that arrived in it).
 *
 * Durability (https://www.sqlite.org/pragma.html#pragma_synchronous, https://www.sqlite.org/wal.html):
 * - 'normal': WAL + synchronous=NORMAL. A commit is in the WAL file before write() resolves, so it
 *   survives the process being killed; the WAL is fsynced only at checkpoints, so the last
 *   commits may be lost if the machine loses power.
 * - 'full': WAL + synchronous=FULL. The WAL is fsynced at every commit before write() resolves:
 *   commits survive power loss. Group commit makes that one fsync per event-loop turn.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { AgentStatus, CheckStatus, Report } from '@clockwatch/shared';
import { checkIdentity, DatabaseGoneError, identityOf, type FileIdentity } from './file-identity.js';
import { BackgroundCheckpointer } from './sqlite-checkpoint.js';
import { AgentTokenBindings } from './sqlite-identity.js';
import { pruneSqlite } from './sqlite-prune.js';
import { LatestIndex } from './sqlite-latest-index.js';
import { FleetRowCache, type RowCacheStats } from './sqlite-fleet-rows.js';
import { SqliteFleetSql } from './sqlite-fleet-sql.js';
import { RowVersions, SqliteBatchWriter } from './sqlite-write.js';
import { wtf8Text } from './sqlite-text-order.js';
import { SqlitePeriodReader } from './sqlite-period.js';
import { SqliteHistoryReader } from './sqlite-history.js';
import { sampleColumns } from '../history-columns.js';
import { missingCheckColumns, SCHEMA_VERSION } from './sqlite-schema.js';
import {
  bool,
  HOUR_MS,
  CHECK_COLUMNS,
  latestColumns,
  LATEST_COLUMNS,
  migrate,
  prepareStatements,
  summaryOf,
  type LatestRow,
  type AppliedMigration,
  type Statements,
} from './sqlite-sql.js';
import {
  STORED_CHECKS,
  type AgentDetailRecord,
  type LatestState,
  type RejudgeResult,
  type StoredVerdictRow,
  type AgentPeriodRecord,
  type PeriodQuery,
  type SeriesPoint,
  type AgentPage,
  type AgentQuery,
  type FleetSummary,
  type HistoryColumnsPage,
  type HistoryPage,
  type PruneOptions,
  type PruneResult,
  type RollupRow,
  type SampleRecord,
  type StaticVersion,
  type AgentBindingConflict,
  type Store,
  type StoreHealth,
  type StoreStats,
  type TimeRange,
  type WriteOutcome,
} from './types.js';

export type Durability = 'normal' | 'full';

const HEALTHY: StoreHealth = Object.freeze({ ok: true });

export interface SqliteStoreOptions {
  /** File path; ':memory:' for a throwaway database. The parent directory is created. */
  path: string;
  durability?: Durability;
  /** How long a writer waits for another process's lock (e.g. `prune` next to `serve`), ms. */
  busyTimeoutMs?: number;
  /**
   * Open an existing database read-only (`export`, `status`): nothing is created, migrated or
   * written, so it is safe next to a running serve and on a copy of the file. write() and prune()
   * fail. The schema must be this collector's.
   */
  readonly?: boolean;
  /**
   * Copy the WAL into the database file on a worker thread (sqlite-checkpoint.ts) rather than
   * inside the commit that crosses the checkpoint size; `serve` turns it on. Default false.
   */
  backgroundCheckpoint?: boolean;
  /** Pause between two background checkpoints, ms (default 50). */
  checkpointEveryMs?: number;
  /** Worker threads of an export's pass over the samples (default 2; 0: none). */
  periodWorkers?: number;
  /** Periods with fewer rows are read on this connection (default 200,000). */
  periodWorkerMinRows?: number;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  /** The schema migrations this open applied, with their durations (serve logs them for a file of an older schema). */
  readonly migrations: readonly AppliedMigration[] = [];
  readonly path: string;
  readonly db: Database.Database;
  /** Fleet rows by agent key, valid while their version is current (see listAgents). */
  private readonly rowCache: FleetRowCache;
  private readonly fleetSql: SqliteFleetSql;
  /** Bumped on every change of a latest-state row: a row's version says whether a cached copy is current. */
  private readonly versions = new RowVersions();
  /** The write path (writer connections; sqlite-write.ts). */
  private readonly writer: SqliteBatchWriter;
  private closed = false;
  private readonly s: Statements;
  private readonly writeTx: (records: readonly SampleRecord[]) => WriteOutcome[];
  private readonly period: SqlitePeriodReader;
  private readonly historyReader: SqliteHistoryReader;
  readonly readonly: boolean;
  private checkpointer: BackgroundCheckpointer | null = null;
  /** The database file as opened (null: in memory); a different file at the path means it is gone. */
  private opened: FileIdentity | null = null;
  private lost: StoreHealth | null = null;
  /** When health() last looked at the file (performance.now(), ms). */
  private checkedAtMs = -Infinity;
  private bindings: AgentTokenBindings | null = null;
  /** The latest states' order and verdicts in memory (writer connections only; see sqlite-latest-index.ts). */
  private readonly latest = new LatestIndex(CHECK_COLUMNS.length);
  private dataVersion: Database.Statement | null = null;
  private seenDataVersion = -1;

  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    this.readonly = options.readonly === true;
    if (this.readonly) {
      const db = new Database(options.path, { readonly: true, fileMustExist: true });
      this.db = db;
      try {
        db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
        // A one-shot reader (export, status): a large page cache, and the file mapped so that the
        // per-agent lookups (one random page each) come from the OS cache without a read() per
        // page. Mapped pages count in the process's resident size; they are the OS's file cache.
        db.pragma('cache_size = -262144');
        db.pragma('mmap_size = 8589934592');
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version !== SCHEMA_VERSION) {
          throw new Error(
            version > SCHEMA_VERSION
              ? `database schema version ${version} is newer than this collector understands (${SCHEMA_VERSION}); upgrade the collector`
              : `database schema version ${version} is older than this collector's (${SCHEMA_VERSION}); run 'clockwatch-collector serve' on it once to migrate it`,
          );
        }
        const missing = missingCheckColumns(latestColumns(db));
        if (missing.length > 0) {
          throw new Error(`database has no column for the check(s) ${missing.join(', ')}; run 'clockwatch-collector serve' on it once to add them`);
        }
      } catch (err) {
        db.close();
        throw err;
      }
      this.s = prepareStatements(db);
      this.historyReader = new SqliteHistoryReader(db);
      this.rowCache = new FleetRowCache(db, this.s);
      this.fleetSql = new SqliteFleetSql(db, this.s, this.rowCache);
      this.writer = new SqliteBatchWriter(this.s, this.latest, this.versions);
      this.versions.atLeast(this.s.maxVersion.get() as number);
      this.writeTx = () => {
        throw new Error('store is open read-only');
      };
      this.period = new SqlitePeriodReader(db, periodOptions(options));
      return;
    }
    if (options.path !== ':memory:') mkdirSync(path.dirname(path.resolve(options.path)), { recursive: true });
    const db = new Database(options.path);
    this.db = db;
    try {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      db.pragma('temp_store = MEMORY');
      db.pragma('cache_size = -32000');
      // The automatic checkpoint runs inside the commit that crosses it, on the event loop. Alone,
      // SQLite's default size (1000 pages, ~4 MB of WAL): at 4000 pages it held one commit in ~50
      // for 20–50 ms (the ingest p99), at 1000 for 10–20 ms, for the same CPU per report. With the
      // background checkpointer doing the copying, it is only the point where the WAL restarts.
      const background = options.backgroundCheckpoint === true && options.path !== ':memory:';
      db.pragma(`wal_autocheckpoint = ${background ? 4000 : 1000}`);
      // Keep the WAL file from growing without bound after bursts (it is truncated to this at checkpoints).
      db.pragma('journal_size_limit = 67108864');
      this.migrations = migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.s = prepareStatements(db);
    this.historyReader = new SqliteHistoryReader(db);
    this.rowCache = new FleetRowCache(db, this.s);
    this.fleetSql = new SqliteFleetSql(db, this.s, this.rowCache);
    this.writer = new SqliteBatchWriter(this.s, this.latest, this.versions);
    this.versions.atLeast(this.s.maxVersion.get() as number);
    this.writeTx = db.transaction((records: readonly SampleRecord[]) => this.writer.write(records));
    this.bindings = new AgentTokenBindings(db);
    if (options.path !== ':memory:' && options.path !== '') this.opened = identityOf(options.path);
    this.period = new SqlitePeriodReader(db, periodOptions(options));
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.reloadCaches();
    if (options.backgroundCheckpoint === true && options.path !== ':memory:') {
      this.checkpointer = new BackgroundCheckpointer({
        path: options.path,
        synchronous: options.durability === 'full' ? 'FULL' : 'NORMAL',
        everyMs: options.checkpointEveryMs,
        // Without it the writer's own checkpoints still bound the WAL: nothing to do but go on.
        onError: () => undefined,
      });
      this.checkpointer.start();
    }
  }

  /** Rebuilds what this connection caches of the tables (after a rollback, or another connection's commit). */
  private reloadCaches(): void {
    this.writer.clear();
    const rows = this.s.latestIndexRows.all() as unknown[][];
    // A text read back with U+FFFD may have been stored with a lone surrogate: the fleet's order
    // needs the stored bytes (sqlite-fleet-index.ts compareUtf8).
    const k = 5 + CHECK_COLUMNS.length;
    for (const r of rows) {
      if (!(r[k] as string).includes('\ufffd') && !(r[k + 1] as string).includes('\ufffd')) continue;
      const [id, host] = this.s.storedTextByKey.get(r[0]) as [Buffer, Buffer];
      r[k] = wtf8Text(id);
      r[k + 1] = wtf8Text(host);
    }
    this.latest.load(rows);
    // Another connection numbers its rows from the max it saw at its open: go on above its numbers,
    // so that no (agent, version) is given to two different rows (the row cache and the fleet
    // view's ETag take a row's version for its content, sqlite-fleet-rows.ts).
    this.versions.atLeast(this.s.maxVersion.get() as number);
    this.seenDataVersion = this.dataVersion?.get() as number;
  }

  /** Reloads the caches when another connection (e.g. `prune` next to `serve`) committed since the last look. */
  private syncCaches(): void {
    if (this.dataVersion === null) return;
    if ((this.dataVersion.get() as number) !== this.seenDataVersion) this.reloadCaches();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }

  /**
   * Whether the file at the path is still the one opened. One stat(2) per look; with `maxAgeMs`,
   * a look at most that old is answered from memory (the app's check before each report request:
   * a stat per request was ~5 µs of every report). write() looks afresh before every transaction.
   */
  health(maxAgeMs = 0): StoreHealth {
    if (this.lost) return this.lost;
    if (this.opened === null || this.closed) return HEALTHY;
    const nowMs = performance.now();
    if (nowMs - this.checkedAtMs < maxAgeMs) return HEALTHY;
    this.checkedAtMs = nowMs;
    const c = checkIdentity(this.path, this.opened);
    if (c.ok) return HEALTHY;
    // Once gone, always gone: a file put back at the path is still not the one written to.
    this.lost = { ok: false, code: 'DB_GONE', message: `the database file ${c.reason} while this collector had it open; nothing is acknowledged any more — restart the collector` };
    return this.lost;
  }

  async bindAgentsToToken(agentIds: readonly string[], tokenFingerprint: string, options: { rebind: boolean; nowMs: number }): Promise<AgentBindingConflict | null> {
    this.assertOpen();
    if (!this.bindings) throw new Error('store is open read-only');
    return this.bindings.bind(agentIds, tokenFingerprint, options.rebind, options.nowMs);
  }

  async write(records: readonly SampleRecord[]): Promise<WriteOutcome[]> {
    this.assertOpen();
    if (records.length === 0) return [];
    // Afresh (never a throttled answer): nothing is committed to a file nobody will open again.
    const h = this.health(0);
    if (!h.ok) throw new DatabaseGoneError(h.message);
    this.syncCaches();
    try {
      // IMMEDIATE: take the write lock first, so a writer beside this one (`prune`) is waited for
      // (busy_timeout) instead of failing with SQLITE_BUSY on a stale read snapshot (sqlite-prune.ts).
      const tx = this.writeTx as { immediate?: (r: readonly SampleRecord[]) => WriteOutcome[] };
      return tx.immediate ? tx.immediate(records) : this.writeTx(records);
    } catch (err) {
      // The transaction rolled back: what was cached during it may not be in the tables.
      this.reloadCaches();
      throw err;
    }
  }

  /**
   * The fleet view. The keys of the page — (key, version, status) — come from memory on the
   * writer connection when the whole fleet is asked for (sqlite-fleet-index.ts: by id, or worst
   * first), and from SQL with a filter or on a read-only store; the rest of each row from a cache
   * keyed by agent and version (sqlite-fleet-rows.ts), so a dashboard polling 10,000 agents
   * re-reads only the rows that changed since its last poll.
   */
  async listAgents(query: AgentQuery): Promise<AgentPage> {
    this.assertOpen();
    const statuses = [...new Set(query.statuses ?? [])];
    const q = query.q && query.q.length > 0 ? query.q : null;
    const labels = Object.entries(query.labels ?? {});
    const sort = query.sort ?? 'id';
    const whole = statuses.length === 0 && q === null && labels.length === 0;
    if (whole && !this.readonly) {
      this.syncCaches();
      const fleet = this.latest.fleet;
      const keys = sort === 'severity' ? fleet.worstFirst(query.nowMs, query.offset, query.limit) : fleet.byIdPage(query.nowMs, query.offset, query.limit);
      const { rows, json, tag } = this.rowCache.rows(keys, fleet.size, null);
      return { total: fleet.size, rows, rowsJson: json, rowsTag: tag };
    }
    return this.fleetSql.page(query, statuses, q, labels);
  }

  /** listAgents through SQL only, whatever the query (tests compare the memory path with it). */
  listAgentsBySql(query: AgentQuery): AgentPage {
    this.assertOpen();
    const q = query.q && query.q.length > 0 ? query.q : null;
    return this.fleetSql.page(query, [...new Set(query.statuses ?? [])], q, Object.entries(query.labels ?? {}));
  }

  async getAgent(agentId: string, nowMs: number): Promise<AgentDetailRecord | null> {
    this.assertOpen();
    const row = this.s.latestById.get({ id: agentId, now: nowMs }) as
      | (LatestRow & { seq: number; report_id: string; recv_ms: number; host_sync: number | null; host_res_ms: number | null; first_seen_ms: number; report: string })
      | undefined;
    if (!row) return null;
    return {
      summary: summaryOf(row),
      report: JSON.parse(row.report) as Report,
      receivedAtMs: row.recv_ms,
      hostSynchronized: bool(row.host_sync),
      hostResolutionMs: row.host_res_ms,
      lastSeenMs: row.last_seen_ms,
      firstSeenMs: row.first_seen_ms,
      seq: row.seq,
      reportId: row.report_id,
    };
  }

  private existingKey(agentId: string): number | undefined {
    return this.writer.knownKey(agentId) ?? (this.s.agentByKey.get(agentId) as number | undefined);
  }

  async history(agentId: string, range: TimeRange): Promise<HistoryPage> {
    this.assertOpen();
    const key = this.existingKey(agentId);
    return key === undefined ? { rows: [], truncated: false } : this.historyReader.rows(key, range);
  }

  async historyColumns(agentId: string, range: TimeRange, detail: boolean): Promise<HistoryColumnsPage> {
    this.assertOpen();
    const key = this.existingKey(agentId);
    return key === undefined ? { truncated: false, columns: sampleColumns([], detail) } : this.historyReader.columns(key, range, detail);
  }

  async rollups(agentId: string, range: TimeRange): Promise<RollupRow[]> {
    this.assertOpen();
    const key = this.existingKey(agentId);
    if (key === undefined) return [];
    const from = Math.floor(range.fromMs / HOUR_MS) * HOUR_MS;
    const rows = this.s.rollups.all(key, from, range.toMs, range.limit) as {
      hour_ms: number;
      n: number;
      n_offset: number;
      offset_min: number | null;
      offset_max: number | null;
      offset_sum: number | null;
      unc_max: number | null;
      n_compliant: number;
    }[];
    return rows.map((r) => ({
      hourMs: r.hour_ms,
      reports: r.n,
      measured: r.n_offset,
      offsetMinMs: r.offset_min,
      offsetMaxMs: r.offset_max,
      offsetMeanMs: r.n_offset > 0 && r.offset_sum !== null ? r.offset_sum / r.n_offset : null,
      uncertaintyMaxMs: r.unc_max,
      compliantShare: r.n > 0 ? r.n_compliant / r.n : 0,
    }));
  }

  async steps(agentId: string, fromMs: number, toMs: number): Promise<{ atMs: number; stepMs: number }[]> {
    this.assertOpen();
    const key = this.existingKey(agentId);
    if (key === undefined) return [];
    return this.s.steps.all(key, fromMs, toMs) as { atMs: number; stepMs: number }[];
  }

  async staticVersions(agentId: string): Promise<StaticVersion[]> {
    this.assertOpen();
    const key = this.existingKey(agentId);
    if (key === undefined) return [];
    const rows = this.s.statics.all(key) as { hash: string; first_seen_ms: number; body: string }[];
    return rows.map((r) => ({ hash: r.hash, firstSeenMs: r.first_seen_ms, body: JSON.parse(r.body) as Record<string, unknown> }));
  }

  /**
   * The fleet summary at nowMs. On the writer connection from memory only: the counts by status
   * and check are kept at every write and rejudge (sqlite-latest-index.ts), the agents stale at
   * nowMs by the fleet index's sweep (sqlite-fleet-index.ts). A read-only store (status, export)
   * counts the table.
   */
  async summary(nowMs: number): Promise<FleetSummary> {
    this.assertOpen();
    if (this.readonly) return this.countedSummary(nowMs);
    this.syncCaches();
    const byStatus = this.latest.fleet.byStatusAt(nowMs);
    const byCheck: FleetSummary['byCheck'] = {};
    const counts = this.latest.byCheck();
    CHECK_COLUMNS.forEach(({ id }, i) => (byCheck[id] = counts[i] as { fail: number; warn: number; unknown: number }));
    byCheck.reporting = { fail: byStatus.stale, warn: 0, unknown: 0 };
    return { agents: this.latest.size, byStatus, byCheck };
  }

  /** The summary counted over the latest-state table (what the kept counts must always equal). */
  async countedSummary(nowMs: number): Promise<FleetSummary> {
    this.assertOpen();
    const byStatus: Record<AgentStatus, number> = { compliant: 0, warning: 0, noncompliant: 0, stale: 0, unknown: 0 };
    let agents = 0;
    for (const r of this.s.statusCounts.all({ now: nowMs }) as { status: AgentStatus; n: number }[]) {
      byStatus[r.status] = (byStatus[r.status] ?? 0) + r.n;
      agents += r.n;
    }
    const c = (this.s.checkCounts.get() ?? {}) as Record<string, number | null>;
    const byCheck: FleetSummary['byCheck'] = {};
    CHECK_COLUMNS.forEach(({ id }, i) => {
      byCheck[id] = { fail: c[`k${i}_fail`] ?? 0, warn: c[`k${i}_warn`] ?? 0, unknown: c[`k${i}_unknown`] ?? 0 };
    });
    byCheck.reporting = { fail: byStatus.stale, warn: 0, unknown: 0 };
    return { agents, byStatus, byCheck };
  }

  /** Where the last periodAgents() spent its time (benchmarks). */
  get periodTimings() {
    return this.period.lastTimings;
  }

  async periodAgents(query: PeriodQuery): Promise<AgentPeriodRecord[]> {
    this.assertOpen();
    if (!(query.toMs > query.fromMs)) throw new RangeError('periodAgents: toMs must be after fromMs');
    return this.period.agents(query, () => yieldToLoop());
  }

  async periodSeries(agentId: string, fromMs: number, toMs: number, maxPoints: number): Promise<SeriesPoint[]> {
    this.assertOpen();
    const key = this.existingKey(agentId);
    if (key === undefined || !(toMs > fromMs)) return [];
    return this.period.series(key, fromMs, toMs, maxPoints);
  }

  async rejudge(judge: (state: LatestState) => StoredVerdictRow): Promise<RejudgeResult> {
    this.assertOpen();
    if (this.readonly) throw new Error('store is open read-only');
    const started = performance.now();
    const result: RejudgeResult = { agents: 0, changed: 0, statusChanges: {}, durationMs: 0 };
    this.syncCaches();
    // One transaction: every surface sees the old verdicts or the new ones, never a mix.
    try {
    this.db.transaction(() => {
      // In pages: better-sqlite3 runs no other statement while an iterator is open, and a page bounds the memory.
      let after = -1;
      for (;;) {
        const page = this.s.rejudgeRows.all(after, 1000) as unknown[][];
        if (page.length === 0) break;
        after = (page.at(-1) as unknown[])[0] as number;
        for (const row of page) this.rejudgeOne(row, judge, result);
      }
    })();
    } catch (err) {
      this.reloadCaches();
      throw err;
    }
    result.durationMs = performance.now() - started;
    return result;
  }

  private rejudgeOne(row: unknown[], judge: (state: LatestState) => StoredVerdictRow, result: RejudgeResult): void {
    result.agents++;
    const [agentKey, agentId, recvMs, hostSync, hostResMs, lastSeenMs, baseStatus, staleAfterMs, doc] = row as [number, string, number, number | null, number | null, number, AgentStatus, number | null, string];
    const v = judge({ agentId, report: JSON.parse(doc) as Report, receivedAtMs: recvMs, hostSynchronized: bool(hostSync), hostResolutionMs: hostResMs, lastSeenMs });
    const params: Record<string, unknown> = { agentKey, baseStatus: v.baseStatus, staleAfterMs: v.staleAfterMs };
    let same = v.baseStatus === baseStatus && v.staleAfterMs === staleAfterMs;
    CHECK_COLUMNS.forEach(({ id }, i) => {
      const next = v.checks[id] ?? null;
      if (next !== row[9 + i]) same = false;
      params[`k${i}`] = next;
    });
    if (same) return;
    params.version = this.versions.next();
    this.s.updateVerdict.run(params);
    const cur = this.latest.get(agentKey);
    if (cur) {
      const checks = CHECK_COLUMNS.map((_, i) => params[`k${i}`] as CheckStatus | null);
      this.latest.set(agentKey, { ...cur, base: v.baseStatus, checks, staleAfterMs: v.staleAfterMs, version: params.version as number });
    }
    result.changed++;
    if (v.baseStatus !== baseStatus) {
      const k = `${baseStatus}→${v.baseStatus}`;
      result.statusChanges[k] = (result.statusChanges[k] ?? 0) + 1;
    }
  }

  async lastMeasuredOffset(agentId: string): Promise<number | null> {
    this.assertOpen();
    const key = this.existingKey(agentId);
    if (key === undefined) return null;
    return (this.s.lastMeasured.get(key) as number | undefined) ?? null;
  }

  async prune(options: PruneOptions): Promise<PruneResult> {
    this.assertOpen();
    if (this.readonly) throw new Error('store is open read-only');
    // Small IMMEDIATE transactions with pauses in between (sqlite-prune.ts): safe beside a serve.
    return pruneSqlite(this.db, {
      ...options,
      stopped: () => this.closed,
      onForgotten: (key, agentId) => {
        this.writer.forget(key, agentId);
        this.latest.delete(key);
      },
    });
  }

  /** The fleet row cache's counters: rows held, read from the table, rendered as JSON. */
  rowCacheStats(): RowCacheStats {
    return this.rowCache.stats();
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    return {
      agents: this.s.countAgents.get() as number,
      samples: this.s.countSamples.get() as number,
      rollups: this.s.countRollups.get() as number,
      statics: this.s.countStatics.get() as number,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.checkpointer?.stop();
    this.db.close();
  }
}

function periodOptions(o: SqliteStoreOptions) {
  return {
    path: o.path === ':memory:' || o.path === '' ? null : path.resolve(o.path),
    workers: o.periodWorkers,
    workerMinRows: o.periodWorkerMinRows,
  };
}

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
