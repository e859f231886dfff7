/**
 * PostgreSQL schema, versioned in `cw_schema_migrations`: migration N brings a database from
 * version N−1 to N inside one transaction, under an advisory lock so that several collectors
 * starting at once migrate it once. Never edit a migration that has shipped; add one.
 *
 * The layout follows the SQLite store (sqlite-schema.ts) with what many collectors sharing one
 * store need:
 * - `samples` is partitioned by day on `at_ms` (declarative range partitioning,
 *   https://www.postgresql.org/docs/15/ddl-partitioning.html): retention drops whole partitions.
 *   Partitions are created on demand (`samples_dYYYYMMDD`), before the write transaction.
 * - `report_ids` holds every stored reportId with its content hash. A unique index on a
 *   partitioned table must include the partition key, so idempotency lives in this table: a report
 *   that an agent spooled and then delivered to another collector is stored once fleet-wide.
 * - `agent_latest` has the collector that measured the agent, and `collectors` each collector's
 *   own NTP state, so an agent measured against an unsynchronised host is known as such.
 * - `cw_jobs` records when a fleet-wide job (retention, scheduled exports) last ran, and on which
 *   collector; with an advisory lock it makes such a job run once per period across collectors.
 */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE agents (
    agent_key     BIGSERIAL PRIMARY KEY,
    agent_id      TEXT COLLATE "C" NOT NULL UNIQUE,
    first_seen_ms BIGINT NOT NULL
  );
  CREATE TABLE statics (
    static_key    BIGSERIAL PRIMARY KEY,
    agent_key     BIGINT NOT NULL,
    hash          TEXT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    body          TEXT NOT NULL,
    UNIQUE (agent_key, hash)
  );
  CREATE TABLE samples (
    agent_key       BIGINT NOT NULL,
    at_ms           BIGINT NOT NULL,
    recv_ms         BIGINT NOT NULL,
    guest_ms        DOUBLE PRECISION NOT NULL,
    seq             BIGINT NOT NULL,
    static_key      BIGINT NOT NULL,
    status          SMALLINT NOT NULL,
    checks          INTEGER NOT NULL,
    steps           SMALLINT NOT NULL,
    offset_ms       DOUBLE PRECISION,
    uncertainty_ms  DOUBLE PRECISION,
    rtc_offset_s    DOUBLE PRECISION,
    ntp_sync        BOOLEAN,
    ntp_offset_ms   DOUBLE PRECISION,
    ntp_last_sync_s DOUBLE PRECISION,
    report_id       TEXT NOT NULL,
    placed_by       SMALLINT NOT NULL DEFAULT 0
  ) PARTITION BY RANGE (at_ms);
  CREATE INDEX samples_agent_time ON samples (agent_key, at_ms);
  CREATE TABLE report_ids (
    report_id    TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    agent_key    BIGINT NOT NULL,
    at_ms        BIGINT NOT NULL
  );
  CREATE INDEX report_ids_agent_time ON report_ids (agent_key, at_ms);
  CREATE TABLE steps (
    agent_key BIGINT NOT NULL,
    at_ms     BIGINT NOT NULL,
    step_ms   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (agent_key, at_ms, step_ms)
  );
  CREATE TABLE rollups (
    agent_key   BIGINT NOT NULL,
    hour_ms     BIGINT NOT NULL,
    n           INTEGER NOT NULL,
    n_offset    INTEGER NOT NULL,
    offset_min  DOUBLE PRECISION,
    offset_max  DOUBLE PRECISION,
    offset_sum  DOUBLE PRECISION,
    unc_max     DOUBLE PRECISION,
    n_compliant INTEGER NOT NULL,
    PRIMARY KEY (agent_key, hour_ms)
  );
  CREATE TABLE agent_latest (
    agent_key      BIGINT PRIMARY KEY,
    agent_id       TEXT COLLATE "C" NOT NULL UNIQUE,
    hostname       TEXT NOT NULL,
    system_uuid    TEXT,
    labels         TEXT NOT NULL,
    last_seen_ms   BIGINT NOT NULL,
    at_ms          BIGINT NOT NULL,
    interval_s     DOUBLE PRECISION NOT NULL,
    stale_after_ms DOUBLE PRECISION,
    base_status    TEXT NOT NULL,
    checks         JSONB NOT NULL,
    offset_ms      DOUBLE PRECISION,
    uncertainty_ms DOUBLE PRECISION,
    rtc_offset_s   DOUBLE PRECISION,
    clocksource    TEXT,
    timezone       TEXT,
    ntp_sync       BOOLEAN,
    seq            BIGINT NOT NULL,
    report_id      TEXT NOT NULL,
    static_key     BIGINT NOT NULL,
    recv_ms        DOUBLE PRECISION NOT NULL,
    host_sync      BOOLEAN,
    collector      TEXT,
    guest_ms       DOUBLE PRECISION,
    instance_id    TEXT,
    host_res_ms    DOUBLE PRECISION,
    report         TEXT NOT NULL
  );
  CREATE INDEX agent_latest_hostname ON agent_latest (lower(hostname));
  CREATE TABLE agent_tokens (
    agent_id  TEXT COLLATE "C" PRIMARY KEY,
    token_fp  TEXT NOT NULL,
    bound_ms  BIGINT NOT NULL
  );
  CREATE TABLE cw_jobs (
    name        TEXT PRIMARY KEY,
    last_run_ms BIGINT NOT NULL,
    collector   TEXT NOT NULL
  );
  CREATE TABLE collectors (
    name         TEXT PRIMARY KEY,
    last_seen_ms BIGINT NOT NULL,
    host_sync    BOOLEAN,
    host_ntp     TEXT
  );
  `,
  // 2: the worst-first page and the label filter (postgres-list.ts). `severity` is base_status's
  // rank in SEVERITY_ORDER (types.ts), so each status of the page is read along one index in
  // (hostname, agent_id) order, bytewise (COLLATE "C", as SQLite's BINARY); the agents stale at an
  // instant are found by the time they turned stale; labels are matched by jsonb containment.
  `
  ALTER TABLE agent_latest ADD COLUMN severity SMALLINT GENERATED ALWAYS AS (
    CASE base_status WHEN 'noncompliant' THEN 0 WHEN 'stale' THEN 1 WHEN 'unknown' THEN 2 WHEN 'warning' THEN 3 WHEN 'compliant' THEN 4 ELSE 5 END
  ) STORED;
  CREATE INDEX agent_latest_severity ON agent_latest (severity, hostname COLLATE "C", agent_id);
  CREATE INDEX agent_latest_stale_at ON agent_latest ((last_seen_ms + stale_after_ms)) WHERE stale_after_ms IS NOT NULL;
  CREATE INDEX agent_latest_labels ON agent_latest USING gin ((labels::jsonb) jsonb_path_ops);
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** Advisory lock keys (pg_advisory_lock takes a bigint): one per job that must run once fleet-wide. */
export const PG_LOCKS = {
  migrate: 0x636c6f636b01n,
  partitions: 0x636c6f636b02n,
  exports: 0x636c6f636b03n,
  retention: 0x636c6f636b04n,
} as const;

export const DAY_MS = 86_400_000;

/** The partition that holds host times in [dayStart, dayStart + 1 day). */
export function partitionName(dayStartMs: number): string {
  const d = new Date(dayStartMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `samples_d${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
}
