/**
 * Databases with the samples table of schema 5 (a rowid table with the (agent, time) and rid
 * indexes, before the clustered table of schema 6), written through that layout's own SQL: the
 * statements of the collector that shipped it (sqlite-sql.ts insertSample of schema 5).
 */
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../packages/collector/src/store/sqlite-schema.js';
import { createHash } from 'node:crypto';

/**
 * Schema 5's 64-bit rid_hash of a reportId: the first 8 bytes of its SHA-256 (migration 6 keeps its
 * top half as rid_h).
 */
export function stringHash64(s: string): bigint {
  return createHash('sha256').update(s).digest().readBigInt64BE(0);
}

/** The samples table and its indexes as migrations 1–5 left them, read from the shipped migrations. */
function schema5SamplesDdl(): string {
  const db = createSchema5(':memory:');
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'samples' AND sql IS NOT NULL ORDER BY type DESC").pluck().all() as string[];
  db.close();
  return sql.map((x) => `${x};`).join('\n');
}

/** Schema 5's insertSample, verbatim. */
export const SCHEMA5_INSERT = `INSERT INTO samples (agent_key, at_ms, recv_ms, guest_ms, seq, rid_hash, content_hash,
      static_key, status, checks, steps, offset_ms, uncertainty_ms, rtc_offset_s, ntp_sync, ntp_offset_ms,
      ntp_last_sync_s, report_id, placed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Schema 5's history statement, verbatim: the order users saw. */
export const SCHEMA5_HISTORY = `SELECT report_id, seq, at_ms, recv_ms, guest_ms, offset_ms, uncertainty_ms, rtc_offset_s,
        ntp_sync, ntp_offset_ms, status, checks, steps, placed_by
      FROM samples WHERE agent_key = ? AND at_ms >= ? AND at_ms <= ? ORDER BY at_ms DESC, seq DESC, sample_key DESC LIMIT ?`;

/** A new database file at schema 5: migrations 1–5 only, each in its transaction, as the runner applies them. */
export function createSchema5(path: string): Database.Database {
  const db = new Database(path);
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  for (let v = 0; v < 5; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

export interface OldSample {
  agentKey: number;
  atMs: number;
  recvMs: number;
  guestMs: number;
  seq: number;
  reportId: string;
  contentHash: bigint;
  staticKey: number;
  status: number;
  checks: number;
  steps: number;
  offsetMs: number | null;
  uncertaintyMs: number | null;
  rtcOffsetS: number | null;
  ntpSync: number | null;
  ntpOffsetMs: number | null;
  ntpLastSyncS: number | null;
  placedBy: number | null;
}

export function insertOld(db: Database.Database, s: OldSample): void {
  db.prepare(SCHEMA5_INSERT).run(
    s.agentKey, s.atMs, s.recvMs, s.guestMs, s.seq, stringHash64(s.reportId), s.contentHash, s.staticKey, s.status, s.checks, s.steps,
    s.offsetMs, s.uncertaintyMs, s.rtcOffsetS, s.ntpSync, s.ntpOffsetMs, s.ntpLastSyncS, s.reportId, s.placedBy,
  );
}

/**
 * A schema-7 database's samples back in schema 5's layout (rows in key order, so arrival order
 * within a tie is kept; the 32-bit content hash as the top half of the 64-bit one, which is what
 * migration 7 keeps of it), user_version 5: for tests of databases an older collector wrote.
 */
export function downgradeSamples(db: Database.Database): void {
  db.function('cw_hash64', { deterministic: true }, (s: unknown) => stringHash64(s as string));
  db.transaction(() => {
    const rows = db.prepare(`SELECT agent_key, at_ms, recv_ms, guest_ms, seq, cw_hash64(report_id), content_h << 32, static_key, status, checks, steps,
        offset_ms, uncertainty_ms, rtc_offset_s, ntp_sync, ntp_offset_ms, ntp_last_sync_s, report_id, placed_by
      FROM samples ORDER BY agent_key, at_ms, tie`).raw().safeIntegers(true).all() as unknown[][];
    db.exec('DROP TABLE samples');
    db.exec(schema5SamplesDdl());
    const ins = db.prepare(SCHEMA5_INSERT);
    for (const r of rows) ins.run(...r);
    db.pragma('user_version = 5');
  })();
}
