import { CHECK_BY_ID, STORED_CHECK_IDS } from '@clockwatch/shared';
import { DECODE_REPORT_ID_SQL, ENCODE_REPORT_ID_SQL } from './sqlite-report-id.js';

/**
 * The bit fields of `samples.flags` (6): status code (codes.ts encodeStatus) in bits 0–2, the
 * PLACED_BY index in bits 3–5 (7: not known, rows written before schema 2), ntp_sync in bits
 * 6–7 (0 not known, 1 false, 2 true), bit 8 set when guest_d_ms holds the guest clock itself
 * rather than its difference from at_ms (a difference that would not add back exactly), and
 * the packed checks (encodeChecks, 3 bits a check) from bit 9 up, last so that a check added to
 * the registry widens them without moving the others.
 */
export const SAMPLE_FLAGS = { placedShift: 3, placedUnknown: 7, ntpShift: 6, guestAbsolute: 256, checksShift: 9 } as const;

/**
 * The samples table as migration 6 made it (shipped: never edit; migration 7 replaces it).
 * Stored: the key, seq, the deltas, hashes, static version, flags, step count, the measured
 * values and the encoded reportId; the rest are VIRTUAL generated columns, computed when read and
 * never stored, so every query reads the same column names as before.
 */
function samplesTableDdlV6(name: string): string {
  return `CREATE TABLE ${name} (
    agent_key       INTEGER NOT NULL,
    at_ms           INTEGER NOT NULL,
    tie             INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    recv_d_ms       INTEGER NOT NULL,
    guest_d_ms      REAL NOT NULL,
    rid_h           INTEGER NOT NULL,
    content_hash    INTEGER NOT NULL,
    static_key      INTEGER NOT NULL,
    flags           INTEGER NOT NULL,
    steps           INTEGER NOT NULL,
    offset_ms       REAL,
    uncertainty_ms  REAL,
    rtc_offset_s    REAL,
    ntp_offset_ms   REAL,
    ntp_last_sync_s REAL,
    rid             BLOB NOT NULL,
    recv_ms         INTEGER GENERATED ALWAYS AS (at_ms + recv_d_ms) VIRTUAL,
    guest_ms        REAL GENERATED ALWAYS AS (CASE WHEN flags & ${SAMPLE_FLAGS.guestAbsolute} THEN guest_d_ms ELSE at_ms + guest_d_ms END) VIRTUAL,
    status          INTEGER GENERATED ALWAYS AS (flags & 7) VIRTUAL,
    placed_by       INTEGER GENERATED ALWAYS AS (nullif((flags >> ${SAMPLE_FLAGS.placedShift}) & 7, ${SAMPLE_FLAGS.placedUnknown})) VIRTUAL,
    ntp_sync        INTEGER GENERATED ALWAYS AS (nullif((flags >> ${SAMPLE_FLAGS.ntpShift}) & 3, 0) - 1) VIRTUAL,
    checks          INTEGER GENERATED ALWAYS AS (flags >> ${SAMPLE_FLAGS.checksShift}) VIRTUAL,
    report_id       TEXT GENERATED ALWAYS AS (${DECODE_REPORT_ID_SQL}) VIRTUAL,
    PRIMARY KEY (agent_key, at_ms, tie)
  ) WITHOUT ROWID;`;
}

/** A stored measured value: an INTEGER is the value in ns (exactly n / perUnit), a REAL the value itself. */
function scaledSql(column: string, perUnit: string): string {
  return `CASE WHEN typeof(${column}) = 'integer' THEN ${column} / ${perUnit} ELSE ${column} END`;
}

/** The encoding of scaledSql in SQL (migration 7): whole ns where they give back exactly the value. */
function toScaledSql(value: string, perUnit: string): string {
  // As toScaled (sqlite-sql.ts): a safe integer n (|n| ≤ 2^53 − 1) with n / perUnit = value.
  return `CASE WHEN abs(round(${value} * ${perUnit})) <= 9007199254740991 AND CAST(round(${value} * ${perUnit}) AS INTEGER) / ${perUnit} = ${value}
        THEN CAST(round(${value} * ${perUnit}) AS INTEGER) ELSE ${value} END`;
}

/**
 * The samples table of schema 7: schema 6's layout with the measured values in whole ns. The
 * offset, uncertainty, RTC offset and NTP offset columns (`*_n`) have no type, hence no affinity
 * (https://www.sqlite.org/datatype3.html §3.1): an INTEGER there is the value in ns (2–4 bytes
 * for the usual sub-second values, where a REAL takes 8), which reads back as exactly the same
 * double (the collector states measurements in whole ns, shared time-math.ts roundToNs); any other
 * value is kept as the REAL it is, so nothing is rounded by storing it. The content hash is its
 * first 32 bits (`content_h`): it only tells a resend (same reportId, same content) from a
 * conflict, after the reportId itself matched. The old names are VIRTUAL columns.
 */
function samplesTableDdl(name: string): string {
  return `CREATE TABLE ${name} (
    agent_key       INTEGER NOT NULL,
    at_ms           INTEGER NOT NULL,
    tie             INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    recv_d_ms       INTEGER NOT NULL,
    guest_d_ms      REAL NOT NULL,
    rid_h           INTEGER NOT NULL,
    content_h       INTEGER NOT NULL,
    static_key      INTEGER NOT NULL,
    flags           INTEGER NOT NULL,
    steps           INTEGER NOT NULL,
    offset_n,
    unc_n,
    rtc_n,
    ntp_off_n,
    ntp_last_sync_s REAL,
    rid             BLOB NOT NULL,
    recv_ms         INTEGER GENERATED ALWAYS AS (at_ms + recv_d_ms) VIRTUAL,
    guest_ms        REAL GENERATED ALWAYS AS (CASE WHEN flags & ${SAMPLE_FLAGS.guestAbsolute} THEN guest_d_ms ELSE at_ms + guest_d_ms END) VIRTUAL,
    status          INTEGER GENERATED ALWAYS AS (flags & 7) VIRTUAL,
    placed_by       INTEGER GENERATED ALWAYS AS (nullif((flags >> ${SAMPLE_FLAGS.placedShift}) & 7, ${SAMPLE_FLAGS.placedUnknown})) VIRTUAL,
    ntp_sync        INTEGER GENERATED ALWAYS AS (nullif((flags >> ${SAMPLE_FLAGS.ntpShift}) & 3, 0) - 1) VIRTUAL,
    checks          INTEGER GENERATED ALWAYS AS (flags >> ${SAMPLE_FLAGS.checksShift}) VIRTUAL,
    report_id       TEXT GENERATED ALWAYS AS (${DECODE_REPORT_ID_SQL}) VIRTUAL,
    offset_ms       REAL GENERATED ALWAYS AS (${scaledSql('offset_n', '1e6')}) VIRTUAL,
    uncertainty_ms  REAL GENERATED ALWAYS AS (${scaledSql('unc_n', '1e6')}) VIRTUAL,
    rtc_offset_s    REAL GENERATED ALWAYS AS (${scaledSql('rtc_n', '1e9')}) VIRTUAL,
    ntp_offset_ms   REAL GENERATED ALWAYS AS (${scaledSql('ntp_off_n', '1e6')}) VIRTUAL,
    PRIMARY KEY (agent_key, at_ms, tie)
  ) WITHOUT ROWID;`;
}

/**
 * SQLite schema, versioned by `PRAGMA user_version`: migration N brings a database from version
 * N−1 to N inside one transaction. Never edit a migration that has shipped; add one.
 *
 * Layout and why (sizes measured by the store contract tests, see README):
 * - `agents`: agent id → small integer key, so every sample row carries an integer, not the id.
 * - `statics`: the rarely changing parts of reports (identity, OS, clocksources, RTC mode,
 *   timezone, NTP daemon), one row per distinct version per agent, referenced by samples.
 * - `samples` (6): one compact row per report, clustered by (agent_key, at_ms, tie) — a
 *   WITHOUT ROWID table (https://www.sqlite.org/withoutrowid.html), so one agent's day is a few
 *   dozen neighbouring pages read in order, not 1,440 pages scattered in arrival order, and no
 *   separate (agent, time) index. `tie` tells apart reports of one agent placed at the same ms:
 *   0, then 1, 2… in arrival order (the order the old rowid gave them). The reportId is kept
 *   compactly (sqlite-report-id.ts: a hex or UUID id as 16 bytes, anything else as TEXT) and
 *   read back byte for byte through the virtual column `report_id`. Idempotency looks up a
 *   32-bit hash of the reportId (`rid_h`, index `samples_rid`), then compares the full id and the
 *   content hash. What can be recomputed from the row is a VIRTUAL generated column, not
 *   stored (https://www.sqlite.org/gencol.html): recv_ms and guest_ms are deltas from at_ms, and
 *   status, checks, ntp_sync and placed_by are bit fields of one integer, `flags` (SAMPLE_FLAGS).
 *   Since 7 the measured values are whole ns (integers) where that gives them back exactly, and
 *   the content hash is 32 bits (samplesTableDdl).
 * - `steps`: clock steps the guests reported, for drift (a step is not drift).
 * - `rollups`: hourly aggregates per agent, updated on insert, kept longer than samples; with the
 *   sums of the drift fit (5), so a period's drift needs no pass over its samples.
 * - `agent_latest`: the fleet row per agent, updated on insert; the fleet view reads only this.
 * - `agent_docs`: the latest report as JSON, apart from agent_latest so listing 10,000 agents does
 *   not page through 10,000 documents. Its verdict with every reason is not stored: it is a pure
 *   function of the report, the receive time and the host's NTP state at receipt (both kept in
 *   agent_latest) and the policy, recomputed in ~30 µs when one agent is viewed.
 * - `agent_tokens` (2): which token owns an agent id (identity binding, sqlite-identity.ts).
 */
export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE agents (
    agent_key     INTEGER PRIMARY KEY,
    agent_id      TEXT NOT NULL UNIQUE,
    first_seen_ms INTEGER NOT NULL
  );
  CREATE TABLE statics (
    static_key    INTEGER PRIMARY KEY,
    agent_key     INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    body          TEXT NOT NULL,
    UNIQUE (agent_key, hash)
  );
  CREATE TABLE samples (
    sample_key      INTEGER PRIMARY KEY,
    agent_key       INTEGER NOT NULL,
    at_ms           INTEGER NOT NULL,
    recv_ms         INTEGER NOT NULL,
    guest_ms        REAL NOT NULL,
    seq             INTEGER NOT NULL,
    rid_hash        INTEGER NOT NULL,
    content_hash    INTEGER NOT NULL,
    static_key      INTEGER NOT NULL,
    status          INTEGER NOT NULL,
    checks          INTEGER NOT NULL,
    steps           INTEGER NOT NULL,
    offset_ms       REAL,
    uncertainty_ms  REAL,
    rtc_offset_s    REAL,
    ntp_sync        INTEGER,
    ntp_offset_ms   REAL,
    ntp_last_sync_s REAL,
    report_id       TEXT NOT NULL
  );
  CREATE INDEX samples_agent_time ON samples (agent_key, at_ms);
  CREATE INDEX samples_rid ON samples (rid_hash);
  CREATE TABLE steps (
    agent_key INTEGER NOT NULL,
    at_ms     INTEGER NOT NULL,
    step_ms   REAL NOT NULL,
    PRIMARY KEY (agent_key, at_ms, step_ms)
  ) WITHOUT ROWID;
  CREATE TABLE rollups (
    agent_key   INTEGER NOT NULL,
    hour_ms     INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    n_offset    INTEGER NOT NULL,
    offset_min  REAL,
    offset_max  REAL,
    offset_sum  REAL,
    unc_max     REAL,
    n_compliant INTEGER NOT NULL,
    PRIMARY KEY (agent_key, hour_ms)
  ) WITHOUT ROWID;
  CREATE TABLE agent_latest (
    agent_key      INTEGER PRIMARY KEY,
    agent_id       TEXT NOT NULL,
    hostname       TEXT NOT NULL,
    system_uuid    TEXT,
    labels         TEXT NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    at_ms          INTEGER NOT NULL,
    interval_s     REAL NOT NULL,
    stale_after_ms REAL,
    base_status    TEXT NOT NULL,
    c_clocksource  TEXT,
    c_offset       TEXT,
    c_rtc          TEXT,
    c_timezone     TEXT,
    c_ntp          TEXT,
    offset_ms      REAL,
    uncertainty_ms REAL,
    rtc_offset_s   REAL,
    clocksource    TEXT,
    timezone       TEXT,
    ntp_sync       INTEGER,
    seq            INTEGER NOT NULL,
    report_id      TEXT NOT NULL,
    static_key     INTEGER NOT NULL,
    recv_ms        REAL NOT NULL,
    host_sync      INTEGER,
    version        INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX agent_latest_id ON agent_latest (agent_id);
  CREATE TABLE agent_docs (
    agent_key   INTEGER PRIMARY KEY,
    report      TEXT NOT NULL
  );
  `,
  // 2: the latest state follows the guest (its own seq, its life, its clock), samples say how they
  // were placed in host time, and the host timestamp resolution at receipt is kept so that a
  // latest state can be measured and judged again exactly (rejudge). The per-check columns are
  // not here: they follow the check registry (ensureCheckColumns).
  `
  ALTER TABLE agent_latest ADD COLUMN guest_ms REAL;
  ALTER TABLE agent_latest ADD COLUMN instance_id TEXT;
  ALTER TABLE agent_latest ADD COLUMN host_res_ms REAL;
  ALTER TABLE samples ADD COLUMN placed_by INTEGER;
  UPDATE agent_latest SET guest_ms = (SELECT s.guest_ms FROM samples s
    WHERE s.agent_key = agent_latest.agent_key AND s.report_id = agent_latest.report_id);
  `,
  // 3: agent id → the token that first delivered it (sqlite-identity.ts). Keyed by the id, not the
  // agent key: a binding outlives retention forgetting the agent, so an id never becomes free to
  // claim by waiting.
  `
  CREATE TABLE agent_tokens (
    agent_id  TEXT PRIMARY KEY,
    token_fp  TEXT NOT NULL,
    bound_ms  INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 4: queries built for the question. `severity` is the rank of the status without `reporting` in
  // SEVERITY_ORDER (store/types.ts: noncompliant 0, unknown 2, warning 3, compliant 4; stale, rank 1,
  // depends on the instant and is read through the next index), a generated column so that every
  // write and rejudge keeps it exact; the worst-first page walks its index in page order. The index on the
  // instant an agent turns stale (last delivery + its limit) finds the stale agents of any instant
  // without a scan (a NULL limit — reporting check off — is never stale and is not in range).
  `
  ALTER TABLE agent_latest ADD COLUMN severity INTEGER GENERATED ALWAYS AS (
    CASE base_status WHEN 'noncompliant' THEN 0 WHEN 'unknown' THEN 2 WHEN 'warning' THEN 3 WHEN 'compliant' THEN 4 ELSE 5 END) VIRTUAL;
  CREATE INDEX agent_latest_severity ON agent_latest (severity, hostname, agent_id);
  CREATE INDEX agent_latest_stale_at ON agent_latest (last_seen_ms + stale_after_ms);
  `,
  // 5: the sums of the drift fit in the hourly rollups (store/drift-sums.ts), over the hour's rows
  // with an offset, dt = at_ms − hour_ms in whole ms: Σdt, Σdt², Σdt·offset. An export computes a
  // period's drift from them instead of reading every sample. NULL: not known (an hour whose
  // samples were partly pruned before this migration); the period reader then fits the samples.
  // Existing hours get them from their samples where every one of them is still stored.
  `
  ALTER TABLE rollups ADD COLUMN dt_sum_ms REAL;
  ALTER TABLE rollups ADD COLUMN dt_sq_sum_ms2 REAL;
  ALTER TABLE rollups ADD COLUMN dt_offset_sum_ms2 REAL;
  UPDATE rollups SET dt_sum_ms = 0, dt_sq_sum_ms2 = 0, dt_offset_sum_ms2 = 0 WHERE n_offset = 0;
  UPDATE rollups SET dt_sum_ms = s.t, dt_sq_sum_ms2 = s.tt, dt_offset_sum_ms2 = s.tto
    FROM (SELECT agent_key, hour_ms, count(*) AS n, total(dt) AS t, total(dt * dt) AS tt, total(dt * offset_ms) AS tto
          FROM (SELECT agent_key, at_ms - at_ms % 3600000 AS hour_ms, at_ms % 3600000 AS dt, offset_ms
                FROM samples WHERE offset_ms IS NOT NULL AND at_ms >= 0)
          GROUP BY agent_key, hour_ms) AS s
    WHERE rollups.agent_key = s.agent_key AND rollups.hour_ms = s.hour_ms AND rollups.n_offset = s.n;
  `,
  // 6: samples clustered by (agent, time), every row smaller (see the comment above and
  // SAMPLE_FLAGS). Copied in key order, so the new table's pages are filled in order; `tie` from
  // the old rowid (arrival order); the reportId encoded as encodeReportId does, rid_h the top 32
  // bits of the old 64-bit rid_hash (both the first bytes of the id's SHA-256). The old table and
  // its two indexes go.
  `
  ${samplesTableDdlV6('samples_v6')}
  INSERT INTO samples_v6 (agent_key, at_ms, tie, seq, recv_d_ms, guest_d_ms, rid_h, content_hash, static_key, flags, steps,
      offset_ms, uncertainty_ms, rtc_offset_s, ntp_offset_ms, ntp_last_sync_s, rid)
    SELECT agent_key, at_ms, row_number() OVER (PARTITION BY agent_key, at_ms ORDER BY sample_key) - 1, seq, recv_ms - at_ms,
      CASE WHEN at_ms + (guest_ms - at_ms) = guest_ms THEN guest_ms - at_ms ELSE guest_ms END,
      rid_hash >> 32, content_hash, static_key,
      status | (coalesce(placed_by, 7) << 3) | (CASE ntp_sync WHEN 0 THEN 1 WHEN 1 THEN 2 ELSE 0 END << 6)
        | (CASE WHEN at_ms + (guest_ms - at_ms) = guest_ms THEN 0 ELSE 256 END) | (checks << 9),
      steps, offset_ms, uncertainty_ms, rtc_offset_s, ntp_offset_ms, ntp_last_sync_s, ${ENCODE_REPORT_ID_SQL}
    FROM samples ORDER BY agent_key, at_ms, sample_key;
  DROP TABLE samples;
  ALTER TABLE samples_v6 RENAME TO samples;
  CREATE INDEX samples_rid ON samples (rid_h);
  `,
  // 7: the measured values in whole ns and a 32-bit content hash (samplesTableDdl): ~23 bytes less
  // a sample. Copied in key order; every value reads back as the same double (toScaledSql keeps
  // a REAL where whole ns would not give it back exactly).
  `
  ${samplesTableDdl('samples_v7')}
  INSERT INTO samples_v7 (agent_key, at_ms, tie, seq, recv_d_ms, guest_d_ms, rid_h, content_h, static_key, flags, steps,
      offset_n, unc_n, rtc_n, ntp_off_n, ntp_last_sync_s, rid)
    SELECT agent_key, at_ms, tie, seq, recv_d_ms, guest_d_ms, rid_h, content_hash >> 32, static_key, flags, steps,
      ${toScaledSql('offset_ms', '1e6')}, ${toScaledSql('uncertainty_ms', '1e6')},
      ${toScaledSql('rtc_offset_s', '1e9')}, ${toScaledSql('ntp_offset_ms', '1e6')}, ntp_last_sync_s, rid
    FROM samples ORDER BY agent_key, at_ms, tie;
  DROP TABLE samples;
  ALTER TABLE samples_v7 RENAME TO samples;
  CREATE INDEX samples_rid ON samples (rid_h);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The latest state's per-check column of every stored check of the registry (CHECK.column, e.g.
 * `c_libvirt_clock`): one TEXT column each, so that a status filter or a count per check is a
 * plain indexed-able column, and a new check in shared/src/checks gets its column when the
 * collector first opens the database. Missing columns are added (ALTER TABLE ADD COLUMN keeps every
 * row; a new check's column is NULL until the next rejudge, which `serve` runs before it answers).
 */
export function missingCheckColumns(existing: ReadonlySet<string>): string[] {
  return STORED_CHECK_IDS.map((id) => CHECK_BY_ID[id].column).filter((c) => !existing.has(c));
}

export function checkColumnDdl(column: string): string {
  if (!/^c_[a-z0-9_]+$/.test(column)) throw new Error(`check column '${column}' is not a safe SQL name (c_[a-z0-9_]+)`);
  return `ALTER TABLE agent_latest ADD COLUMN ${column} TEXT`;
}
