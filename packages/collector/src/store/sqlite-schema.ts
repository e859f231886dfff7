import { CHECK_BY_ID, STORED_CHECK_IDS } from '@clockwatch/shared';

/**
 * SQLite schema, versioned by `PRAGMA user_version`: migration N brings a database from version
 * N−1 to N inside one transaction. Never edit a migration that has shipped; add one.
 *
 * Layout and why (sizes measured by the store contract tests, see README):
 * - `agents`: agent id → small integer key, so every sample row carries an integer, not the id.
 * - `statics`: the rarely changing parts of reports (identity, OS, clocksources, RTC mode,
 *   timezone, NTP daemon), one row per distinct version per agent, referenced by samples.
 * - `samples`: one compact row per report, numeric columns only (plus the reportId, which the
 *   history shows and idempotency needs). Idempotency looks up a 64-bit hash of the reportId
 *   (`rid_hash`, 8 bytes per index entry instead of ~40), then compares the full id.
 * - `steps`: clock steps the guests reported, for drift (a step is not drift).
 * - `rollups`: hourly aggregates per agent, updated on insert, kept longer than samples.
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
