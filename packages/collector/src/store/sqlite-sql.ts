/**
 * The SQLite store's SQL: every statement, prepared once per connection, and the row mapping.
 * Kept apart from the store's logic (sqlite.ts).
 */
import type Database from 'better-sqlite3';
import { CHECK_BY_ID, NS_PER_MS, NS_PER_S, reportingStatusOf, type AgentStatus, type CheckStatus } from '@clockwatch/shared';
import { checkColumnDdl, missingCheckColumns, MIGRATIONS, SAMPLE_FLAGS } from './sqlite-schema.js';
import { STORED_CHECKS, type AgentSummary, type StoredCheckId } from './types.js';

/** The latest state's per-check columns, in registry order (CHECK.column of every stored check). */
export const CHECK_COLUMNS: readonly { id: StoredCheckId; column: string }[] = STORED_CHECKS.map((id) => ({ id, column: CHECK_BY_ID[id].column }));
const CHECK_COLUMN_LIST = CHECK_COLUMNS.map((c) => c.column).join(', ');
/** Number of check columns: the raw-row offsets below depend on it. */
const NC = CHECK_COLUMNS.length;

export { HOUR_MS } from '@clockwatch/shared';

/** Stale at `@now`: shared isStaleAt (the reporting check's rule) in SQL, to filter and order by it. */
const STALE_RULE_SQL = `stale_after_ms IS NOT NULL AND (@now - last_seen_ms) > stale_after_ms`;
/** The fleet status at `@now`. */
export const STATUS_SQL = `CASE WHEN ${STALE_RULE_SQL} THEN 'stale' ELSE base_status END`;

/**
 * Stale at `@now`, read through the index on last_seen_ms + stale_after_ms: the range picks every
 * candidate (one ms of slack so that the rounding of the sum never drops one), the second term is
 * STATUS_SQL's own rule, so the set is exactly the agents STATUS_SQL calls stale.
 */
export const STALE_AT_SQL = `last_seen_ms + stale_after_ms < @now + 1 AND (@now - last_seen_ms) > stale_after_ms`;

/** A status's rank in the worst-first order (SEVERITY_ORDER), as the generated `severity` column has it. */
export { SEVERITY_RANK } from '@clockwatch/shared';

export const LATEST_COLUMNS = `agent_id, hostname, system_uuid, labels, last_seen_ms, at_ms, interval_s, stale_after_ms,
  ${CHECK_COLUMN_LIST}, offset_ms, uncertainty_ms, rtc_offset_s, clocksource,
  timezone, ntp_sync, ${STATUS_SQL} AS status`;

/**
 * The fleet row without what depends on now (status, the reporting check), as raw columns: the
 * fleet view caches these per agent and version, and reads only (key, version, status) per call.
 */
export const BASE_COLUMNS = `version, agent_id, hostname, system_uuid, labels, last_seen_ms, at_ms, interval_s, stale_after_ms,
  ${CHECK_COLUMN_LIST}, offset_ms, uncertainty_ms, rtc_offset_s, clocksource, timezone, ntp_sync`;

export interface BaseSummary {
  version: number;
  summary: AgentSummary;
  /** The reporting check is on for this agent. */
  reporting: boolean;
}

/** From a raw row: agent_key, then BASE_COLUMNS in order. */
export function baseSummaryOf(r: unknown[]): BaseSummary {
  const checks: Record<string, CheckStatus> = {};
  CHECK_COLUMNS.forEach(({ id }, i) => {
    const v = r[10 + i] as CheckStatus | null;
    if (v) checks[id] = v;
  });
  return {
    version: r[1] as number,
    reporting: r[9] !== null,
    summary: {
      id: r[2] as string,
      hostname: r[3] as string,
      status: 'unknown',
      lastSeenMs: r[6] as number,
      atMs: r[7] as number,
      offsetMs: r[10 + NC] as number | null,
      uncertaintyMs: r[11 + NC] as number | null,
      rtcOffsetS: r[12 + NC] as number | null,
      clocksource: r[13 + NC] as string | null,
      timezone: r[14 + NC] as string | null,
      ntpSynchronized: bool(r[15 + NC] as number | null),
      systemUuid: r[4] as string | null,
      labels: parseLabels(r[5] as string),
      intervalS: r[8] as number,
      checks,
    },
  };
}

/** The cached row with now's status. */
export function withStatus(b: BaseSummary, status: AgentStatus): AgentSummary {
  const reporting = reportingStatusOf(status, b.reporting);
  return { ...b.summary, status, checks: reporting ? { ...b.summary.checks, reporting } : b.summary.checks };
}

export interface LatestRow {
  agent_id: string;
  hostname: string;
  system_uuid: string | null;
  labels: string;
  last_seen_ms: number;
  at_ms: number;
  interval_s: number;
  stale_after_ms: number | null;
  offset_ms: number | null;
  uncertainty_ms: number | null;
  rtc_offset_s: number | null;
  clocksource: string | null;
  timezone: string | null;
  ntp_sync: number | null;
  status: AgentStatus;
}

export const bool = (v: number | null): boolean | null => (v === null ? null : v !== 0);
export const boolInt = (v: boolean | null): number | null => (v === null ? null : v ? 1 : 0);

/** Labels are parsed once per distinct JSON text: most fleets share a handful of label sets. */
const labelCache = new Map<string, Record<string, string>>();
function parseLabels(text: string): Record<string, string> {
  let v = labelCache.get(text);
  if (!v) {
    v = Object.freeze(JSON.parse(text)) as Record<string, string>;
    if (labelCache.size > 10_000) labelCache.clear();
    labelCache.set(text, v);
  }
  return v;
}

export function summaryOf(r: LatestRow): AgentSummary {
  const checks: Record<string, CheckStatus> = {};
  const cols = r as unknown as Record<string, CheckStatus | null>;
  for (const { id, column } of CHECK_COLUMNS) {
    const v = cols[column];
    if (v) checks[id] = v;
  }
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
    ntpSynchronized: bool(r.ntp_sync),
    systemUuid: r.system_uuid,
    labels: parseLabels(r.labels),
    intervalS: r.interval_s,
    checks,
  };
}

/** LIKE pattern for a case-insensitive substring, with the wildcards of the input escaped. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}

/** What orders an agent's reports: its own sequence, its life, its clock (never the receive time). */
export interface ReportOrder {
  seq: number;
  /** The agent life (agent.instanceId); null when the agent does not send one. */
  instanceId: string | null;
  /** The guest's wall clock at collection; null for latest states written before it was kept. */
  guestEpochMs: number | null;
}

/**
 * Whether a report replaces the latest state: the latest state follows the guest, not the wire.
 * Within one agent life the higher `seq` is the newer report, whatever arrived first (a spool
 * flushed after an outage delivers old reports after fresh ones). A new life — another
 * `agent.instanceId`, or, from agents that send none, a sequence that went back (a reinstalled
 * agent starts again at 1) — is ordered by the guest's own clock: the report collected later by
 * the guest replaces, an old report of the previous life delivered late does not.
 */
export function replacesLatest(candidate: ReportOrder, current: ReportOrder): boolean {
  const otherLife = candidate.instanceId !== null && current.instanceId !== null && candidate.instanceId !== current.instanceId;
  if (!otherLife && candidate.seq > current.seq) return true;
  if (current.guestEpochMs === null || candidate.guestEpochMs === null) return !otherLife && candidate.seq >= current.seq;
  return candidate.seq === current.seq && !otherLife ? candidate.guestEpochMs >= current.guestEpochMs : candidate.guestEpochMs > current.guestEpochMs;
}

/** The last delivery: the later of the two, unless the stored one lies after this receipt (host clock stepped back). */
const LAST_SEEN_SQL = 'CASE WHEN last_seen_ms > @lastSeen THEN @lastSeen ELSE max(last_seen_ms, @lastSeen) END';

/** LAST_SEEN_SQL for the copy in memory (sqlite-latest-index.ts); stored undefined: a new row. */
export function lastSeenAfter(stored: number | undefined, lastSeen: number): number {
  return stored === undefined ? lastSeen : stored > lastSeen ? lastSeen : Math.max(stored, lastSeen);
}

type Stmt = Database.Statement;

/**
 * upsertLatest's parameters are positional, in this order (binding ~35 named parameters from an
 * object looked each one up by name): agent_key, agent_id, hostname, system_uuid, labels,
 * last_seen_ms, at_ms, interval_s, stale_after_ms, base_status, the check columns
 * (CHECK_COLUMNS), offset_ms, uncertainty_ms, rtc_offset_s, clocksource, timezone, ntp_sync, seq,
 * report_id, static_key, recv_ms, host_sync, version, guest_ms, instance_id, host_res_ms.
 */
export const LATEST_UPSERT_PARAMS = 25 + NC;

const SAMPLE_INSERT_COLUMNS = `agent_key, at_ms, tie, seq, recv_d_ms, guest_d_ms, rid_h, content_h, static_key, flags, steps,
  offset_n, unc_n, rtc_n, ntp_off_n, ntp_last_sync_s, rid`;
/** Bound in order by insertSample (positional parameters bind faster than named ones in better-sqlite3). */
const SAMPLE_INSERT_VALUES = '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?';

/** A measured value as a `*_n` column stores it (schema 7): whole ns as an INTEGER (a BigInt binds as one) when n / perUnit gives back exactly the value, else the value itself (a number binds as a REAL). */
export type Scaled = bigint | number | null;

export function toScaled(x: number | null, perUnit: number): Scaled {
  if (x === null) return null;
  const n = Math.round(x * perUnit);
  return Number.isSafeInteger(n) && n / perUnit === x ? BigInt(n) : x;
}

/** One samples row of schema 7 as the insert statements bind it (sampleParams). */
export interface SampleParams {
  agentKey: number;
  atMs: number;
  seq: number;
  recvDMs: number;
  guestDMs: number;
  ridH: number;
  /** The first 32 bits of the content hash, signed. */
  contentH: number;
  staticKey: number;
  flags: number;
  steps: number;
  offsetN: Scaled;
  uncN: Scaled;
  rtcN: Scaled;
  ntpOffN: Scaled;
  ntpLastSyncS: number | null;
  rid: Buffer | string;
}

/** What sampleParams packs: a sample as the write path has it (rid and ridH: encodeReportId and reportIdHash32 of the reportId, computed once for the lookup and the insert). */
export type SampleInput = Omit<SampleParams, 'recvDMs' | 'guestDMs' | 'flags' | 'offsetN' | 'uncN' | 'rtcN' | 'ntpOffN'> & {
  offsetMs: number | null;
  uncertaintyMs: number | null;
  rtcOffsetS: number | null;
  ntpOffsetMs: number | null;
  receivedAtMs: number;
  guestEpochMs: number;
  status: number;
  checks: number;
  placedBy: number | null;
  ntpSync: number | null;
};

/**
 * The stored form of a sample (schema 7, sqlite-schema.ts): at and receipt in whole ms, the
 * receipt and the guest clock as differences from at (the guest clock itself, flagged, when the
 * difference would not add back to exactly the same number), the small codes packed in `flags`,
 * the measured values in whole ns where that gives them back exactly (toScaled).
 */
export function sampleParams(s: SampleInput): SampleParams {
  if (!(s.status >= 0 && s.status < 8) || (s.placedBy !== null && !(s.placedBy >= 0 && s.placedBy < SAMPLE_FLAGS.placedUnknown))) {
    throw new Error(`sample codes out of range: status ${s.status}, placed_by ${s.placedBy}`);
  }
  const guestD = s.guestEpochMs - s.atMs;
  // SQLite adds at_ms (converted to a double) and guest_d_ms as IEEE doubles, as JS does here.
  const exact = Object.is(s.atMs + guestD, s.guestEpochMs);
  const flags =
    s.status +
    (s.placedBy ?? SAMPLE_FLAGS.placedUnknown) * 2 ** SAMPLE_FLAGS.placedShift +
    (s.ntpSync === null ? 0 : s.ntpSync + 1) * 2 ** SAMPLE_FLAGS.ntpShift +
    (exact ? 0 : SAMPLE_FLAGS.guestAbsolute) +
    s.checks * 2 ** SAMPLE_FLAGS.checksShift;
  return {
    agentKey: s.agentKey,
    atMs: s.atMs,
    seq: s.seq,
    recvDMs: s.receivedAtMs - s.atMs,
    guestDMs: exact ? guestD : s.guestEpochMs,
    ridH: s.ridH,
    contentH: s.contentH,
    staticKey: s.staticKey,
    flags,
    steps: s.steps,
    offsetN: toScaled(s.offsetMs, NS_PER_MS),
    uncN: toScaled(s.uncertaintyMs, NS_PER_MS),
    rtcN: toScaled(s.rtcOffsetS, NS_PER_S),
    ntpOffN: toScaled(s.ntpOffsetMs, NS_PER_MS),
    ntpLastSyncS: s.ntpLastSyncS,
    rid: s.rid,
  };
}

/** Writes one sample: at tie 0, or after the agent's other samples of the same ms (bound in SAMPLE_INSERT_COLUMNS order). */
export function insertSample(st: Pick<Statements, 'insertSample' | 'insertSampleTie'>, p: SampleParams): void {
  const v = [p.agentKey, p.atMs, p.seq, p.recvDMs, p.guestDMs, p.ridH, p.contentH, p.staticKey, p.flags, p.steps,
    p.offsetN, p.uncN, p.rtcN, p.ntpOffN, p.ntpLastSyncS, p.rid];
  if (st.insertSample.run(v).changes === 0) st.insertSampleTie.run([...v, p.agentKey, p.atMs]);
}

export interface Statements {
  agentByKey: Stmt;
  insertAgent: Stmt;
  findStatic: Stmt;
  insertStatic: Stmt;
  findReport: Stmt;
  insertSample: Stmt;
  insertSampleTie: Stmt;
  insertStep: Stmt;
  upsertRollup: Stmt;
  upsertLatest: Stmt;
  latestOrder: Stmt;
  latestIndexRows: Stmt;
  storedTextByKey: Stmt;
  staleKeys: Stmt;
  staleCount: Stmt;
  freshKeysBySeverity: Stmt;
  freshCountBySeverity: Stmt;
  countLatest: Stmt;
  allBase: Stmt;
  rejudgeRows: Stmt;
  updateVerdict: Stmt;
  lastMeasured: Stmt;
  touchLatest: Stmt;
  maxVersion: Stmt;
  baseByKey: Stmt;
  upsertDocs: Stmt;
  latestById: Stmt;
  rollups: Stmt;
  steps: Stmt;
  statics: Stmt;
  statusCounts: Stmt;
  checkCounts: Stmt;
  allAgentKeys: Stmt;
  pruneSamples: Stmt;
  pruneSteps: Stmt;
  pruneRollups: Stmt;
  lastSeen: Stmt;
  forget: Stmt[];
  countAgents: Stmt;
  countSamples: Stmt;
  countRollups: Stmt;
  countStatics: Stmt;
}

export function prepareStatements(db: Database.Database): Statements {
  return {
    agentByKey: db.prepare('SELECT agent_key FROM agents WHERE agent_id = ?').pluck(),
    insertAgent: db.prepare('INSERT INTO agents (agent_id, first_seen_ms) VALUES (?, ?)'),
    findStatic: db.prepare('SELECT static_key FROM statics WHERE agent_key = ? AND hash = ?').pluck(),
    insertStatic: db.prepare('INSERT INTO statics (agent_key, hash, first_seen_ms, body) VALUES (?, ?, ?, ?)'),
    // The reportId's 32-bit hash through samples_rid, then the encoded id (sqlite-report-id.ts: one encoding per id).
    findReport: db.prepare('SELECT content_h = ? AS same FROM samples WHERE rid_h = ? AND rid = ?').pluck(),
    // Schema 6 (sqlite-schema.ts): tie 0 first; when the agent already has a sample at that ms,
    // nothing is written (changes 0) and insertSampleTie writes it after the others.
    insertSample: db.prepare(`INSERT OR IGNORE INTO samples (${SAMPLE_INSERT_COLUMNS}) VALUES (?, ?, 0, ${SAMPLE_INSERT_VALUES})`),
    // The same values, then the key's two again for the lookup of the ms's last tie.
    insertSampleTie: db.prepare(`INSERT INTO samples (${SAMPLE_INSERT_COLUMNS}) SELECT ?, ?, max(tie) + 1, ${SAMPLE_INSERT_VALUES}
      FROM samples WHERE agent_key = ? AND at_ms = ?`),
    insertStep: db.prepare('INSERT OR IGNORE INTO steps (agent_key, at_ms, step_ms) VALUES (?, ?, ?)'),
    // The drift sums add up; one already NULL (not known, schema 5) stays NULL. Positional, in the
    // order of the columns (sqlite-write.ts SqliteBatchWriter.write), like upsertLatest.
    upsertRollup: db.prepare(`INSERT INTO rollups (agent_key, hour_ms, n, n_offset, offset_min, offset_max, offset_sum, unc_max, n_compliant,
        dt_sum_ms, dt_sq_sum_ms2, dt_offset_sum_ms2)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (agent_key, hour_ms) DO UPDATE SET
        dt_sum_ms = dt_sum_ms + excluded.dt_sum_ms,
        dt_sq_sum_ms2 = dt_sq_sum_ms2 + excluded.dt_sq_sum_ms2,
        dt_offset_sum_ms2 = dt_offset_sum_ms2 + excluded.dt_offset_sum_ms2,
        n = n + excluded.n,
        n_offset = n_offset + excluded.n_offset,
        offset_min = min(coalesce(offset_min, excluded.offset_min), coalesce(excluded.offset_min, offset_min)),
        offset_max = max(coalesce(offset_max, excluded.offset_max), coalesce(excluded.offset_max, offset_max)),
        offset_sum = CASE WHEN offset_sum IS NULL AND excluded.offset_sum IS NULL THEN NULL ELSE coalesce(offset_sum, 0) + coalesce(excluded.offset_sum, 0) END,
        unc_max = max(coalesce(unc_max, excluded.unc_max), coalesce(excluded.unc_max, unc_max)),
        n_compliant = n_compliant + excluded.n_compliant`),
    upsertLatest: db.prepare(`INSERT INTO agent_latest (agent_key, agent_id, hostname, system_uuid, labels, last_seen_ms,
        at_ms, interval_s, stale_after_ms, base_status, ${CHECK_COLUMN_LIST}, offset_ms,
        uncertainty_ms, rtc_offset_s, clocksource, timezone, ntp_sync, seq, report_id, static_key, recv_ms, host_sync, version,
        guest_ms, instance_id, host_res_ms)
      VALUES (${Array.from({ length: LATEST_UPSERT_PARAMS }, () => '?').join(', ')})
      ON CONFLICT (agent_key) DO UPDATE SET
        hostname = excluded.hostname, system_uuid = excluded.system_uuid, labels = excluded.labels,
        last_seen_ms = ${LAST_SEEN_SQL.replace(/@lastSeen/g, 'excluded.last_seen_ms')}, at_ms = excluded.at_ms,
        interval_s = excluded.interval_s, stale_after_ms = excluded.stale_after_ms, base_status = excluded.base_status,
        ${CHECK_COLUMNS.map((c) => `${c.column} = excluded.${c.column}`).join(', ')}, offset_ms = excluded.offset_ms,
        uncertainty_ms = excluded.uncertainty_ms, rtc_offset_s = excluded.rtc_offset_s,
        clocksource = excluded.clocksource, timezone = excluded.timezone, ntp_sync = excluded.ntp_sync,
        seq = excluded.seq, report_id = excluded.report_id, static_key = excluded.static_key,
        recv_ms = excluded.recv_ms, host_sync = excluded.host_sync, version = excluded.version,
        guest_ms = excluded.guest_ms, instance_id = excluded.instance_id, host_res_ms = excluded.host_res_ms`),
    latestOrder: db.prepare('SELECT seq, instance_id, guest_ms FROM agent_latest WHERE agent_key = ?'),
    latestIndexRows: db.prepare(`SELECT agent_key, seq, instance_id, guest_ms, base_status, ${CHECK_COLUMN_LIST},
      agent_id, hostname, version, last_seen_ms, stale_after_ms FROM agent_latest`).raw(),
    storedTextByKey: db.prepare('SELECT CAST(agent_id AS BLOB), CAST(hostname AS BLOB) FROM agent_latest WHERE agent_key = ?').raw(),
    // The worst-first page of the read-only store, one status at a time: the stale agents (few; from the stale-time index,
    // sorted among themselves), the others along the severity index, skipping the stale ones.
    staleKeys: db.prepare(`SELECT agent_key, version, 'stale' FROM agent_latest WHERE ${STALE_AT_SQL} ORDER BY hostname, agent_id LIMIT @limit OFFSET @offset`).raw(),
    staleCount: db.prepare(`SELECT count(*) FROM agent_latest WHERE ${STALE_AT_SQL}`).pluck(),
    freshKeysBySeverity: db.prepare(`SELECT agent_key, version, base_status FROM agent_latest INDEXED BY agent_latest_severity
      WHERE severity = @rank AND NOT (${STALE_RULE_SQL}) ORDER BY hostname, agent_id LIMIT @limit OFFSET @offset`).raw(),
    freshCountBySeverity: db.prepare(`SELECT count(*) FROM agent_latest INDEXED BY agent_latest_severity WHERE severity = @rank AND NOT (${STALE_RULE_SQL})`).pluck(),
    countLatest: db.prepare('SELECT count(*) FROM agent_latest').pluck(),
    allBase: db.prepare(`SELECT agent_key, ${BASE_COLUMNS} FROM agent_latest`).raw(),
    rejudgeRows: db.prepare(`SELECT l.agent_key, l.agent_id, l.recv_ms, l.host_sync, l.host_res_ms, l.last_seen_ms, l.base_status,
        l.stale_after_ms, d.report, ${CHECK_COLUMNS.map((c) => `l.${c.column}`).join(', ')}
      FROM agent_latest l JOIN agent_docs d USING (agent_key) WHERE l.agent_key > ? ORDER BY l.agent_key LIMIT ?`).raw(),
    updateVerdict: db.prepare(`UPDATE agent_latest SET base_status = @baseStatus, stale_after_ms = @staleAfterMs,
        ${CHECK_COLUMNS.map((c, i) => `${c.column} = @k${i}`).join(', ')}, version = @version WHERE agent_key = @agentKey`),
    lastMeasured: db.prepare('SELECT offset_ms FROM samples WHERE agent_key = ? AND offset_ms IS NOT NULL ORDER BY at_ms DESC, seq DESC, tie DESC LIMIT 1').pluck(),
    touchLatest: db.prepare(`UPDATE agent_latest SET last_seen_ms = ${LAST_SEEN_SQL}, version = @version WHERE agent_key = @agentKey`),
    maxVersion: db.prepare('SELECT coalesce(max(version), 0) FROM agent_latest').pluck(),
    baseByKey: db.prepare(`SELECT agent_key, ${BASE_COLUMNS} FROM agent_latest WHERE agent_key = ?`).raw(),
    // An upsert rewrites the row where it is; OR REPLACE deleted it and inserted it again (~8 µs a report more).
    upsertDocs: db.prepare('INSERT INTO agent_docs (agent_key, report) VALUES (?, ?) ON CONFLICT (agent_key) DO UPDATE SET report = excluded.report'),
    latestById: db.prepare(`SELECT ${LATEST_COLUMNS}, l.agent_key, seq, report_id, recv_ms, host_sync, host_res_ms,
        (SELECT first_seen_ms FROM agents a WHERE a.agent_key = l.agent_key) AS first_seen_ms, d.report
      FROM agent_latest l JOIN agent_docs d USING (agent_key) WHERE l.agent_id = @id`),
    rollups: db.prepare(`SELECT hour_ms, n, n_offset, offset_min, offset_max, offset_sum, unc_max, n_compliant
      FROM rollups WHERE agent_key = ? AND hour_ms >= ? AND hour_ms <= ? ORDER BY hour_ms LIMIT ?`),
    steps: db.prepare('SELECT at_ms AS atMs, step_ms AS stepMs FROM steps WHERE agent_key = ? AND at_ms >= ? AND at_ms <= ? ORDER BY at_ms'),
    statics: db.prepare('SELECT hash, first_seen_ms, body FROM statics WHERE agent_key = ? ORDER BY first_seen_ms, static_key'),
    statusCounts: db.prepare(`SELECT ${STATUS_SQL} AS status, count(*) AS n FROM agent_latest GROUP BY 1`),
    checkCounts: db.prepare(
      `SELECT ${CHECK_COLUMNS.map((c, i) => `sum(${c.column} = 'fail') AS k${i}_fail, sum(${c.column} = 'warn') AS k${i}_warn, sum(${c.column} = 'unknown') AS k${i}_unknown`).join(', ')},
       sum(stale_after_ms IS NOT NULL) AS reporting_enabled FROM agent_latest`,
    ),
    allAgentKeys: db.prepare('SELECT agent_key, agent_id FROM agents ORDER BY agent_key'),
    pruneSamples: db.prepare('DELETE FROM samples WHERE agent_key = ? AND at_ms < ?'),
    pruneSteps: db.prepare('DELETE FROM steps WHERE agent_key = ? AND at_ms < ?'),
    pruneRollups: db.prepare('DELETE FROM rollups WHERE agent_key = ? AND hour_ms < ?'),
    lastSeen: db.prepare('SELECT last_seen_ms FROM agent_latest WHERE agent_key = ?').pluck(),
    forget: ['samples', 'steps', 'rollups', 'statics', 'agent_latest', 'agent_docs', 'agents'].map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE agent_key = ?`),
    ),
    countAgents: db.prepare('SELECT count(*) FROM agents').pluck(),
    countSamples: db.prepare('SELECT count(*) FROM samples').pluck(),
    countRollups: db.prepare('SELECT count(*) FROM rollups').pluck(),
    countStatics: db.prepare('SELECT count(*) FROM statics').pluck(),
  };
}

/** One migration applied when the database was opened: the version it brought the file to, and how long it took. */
export interface AppliedMigration {
  version: number;
  ms: number;
}

export function migrate(db: Database.Database): AppliedMigration[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this collector understands (${MIGRATIONS.length}); upgrade the collector`);
  }
  const applied: AppliedMigration[] = [];
  for (let v = current; v < MIGRATIONS.length; v++) {
    const t0 = performance.now();
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
    applied.push({ version: v + 1, ms: Math.round(performance.now() - t0) });
  }
  const missing = missingCheckColumns(latestColumns(db));
  if (missing.length > 0) db.transaction(() => missing.forEach((c) => db.exec(checkColumnDdl(c))))();
  return applied;
}

export function latestColumns(db: Database.Database): Set<string> {
  return new Set((db.prepare('PRAGMA table_info(agent_latest)').all() as { name: string }[]).map((c) => c.name));
}

