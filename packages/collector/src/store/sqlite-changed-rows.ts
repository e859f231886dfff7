/**
 * Store.fleetRows for SQLite: the whole fleet for a caller that keeps it between calls (/metrics
 * scrapes it every 15 s or so, while a quarter of 10,000 agents report in between).
 *
 * Each call reads (agent key, version, status at now) of every agent — three integers and a short
 * string a row — and reads in full only the rows whose version differs from the previous answer's:
 * a few by key, more in one pass over the rows of version at or above the oldest of them (which
 * holds every changed row, whichever connection wrote it: a version is compared for equality,
 * never assumed to grow). Both reads are one read transaction, so they agree. A row whose version
 * and status are unchanged is the previous answer's object, so the caller can skip it by identity
 * (no copy of 10,000 rows to collect per call).
 */
import type Database from 'better-sqlite3';
import type { AgentStatus } from '@clockwatch/shared';
import { BASE_COLUMNS, STATUS_SQL, baseSummaryOf, withStatus, type BaseSummary } from './sqlite-sql.js';
import type { AgentSummary, FleetRows } from './types.js';

interface Kept {
  version: number;
  status: AgentStatus;
  base: BaseSummary;
  row: AgentSummary;
}

class State {
  constructor(readonly byKey: Map<number, Kept>) {}
}

/** Up to this many changed rows are read by key; more, in one pass. */
const BY_KEY_MAX = 64;

export class SqliteFleetRows {
  private readonly keys: Database.Statement;
  private readonly byKey: Database.Statement;
  private readonly since: Database.Statement;
  private readonly read: (nowMs: number, limit: number, previous: Map<number, Kept> | null) => FleetRows;

  constructor(db: Database.Database) {
    this.keys = db.prepare(`SELECT agent_key, version, ${STATUS_SQL} FROM agent_latest ORDER BY agent_id LIMIT @limit`).raw();
    this.byKey = db.prepare(`SELECT agent_key, ${BASE_COLUMNS} FROM agent_latest WHERE agent_key = ?`).raw();
    this.since = db.prepare(`SELECT agent_key, ${BASE_COLUMNS} FROM agent_latest WHERE version >= ?`).raw();
    this.read = db.transaction((nowMs: number, limit: number, previous: Map<number, Kept> | null) => this.readAll(nowMs, limit, previous));
  }

  fleetRows(nowMs: number, limit: number, previous: FleetRows | null): FleetRows {
    return this.read(nowMs, limit, previous?.state instanceof State ? previous.state.byKey : null);
  }

  private readAll(nowMs: number, limit: number, previous: Map<number, Kept> | null): FleetRows {
    const keys = this.keys.all({ now: nowMs, limit }) as [number, number, AgentStatus][];
    // Changed rows: key -> the version now.
    const changed = new Map<number, number>();
    let oldest = Infinity;
    for (const [key, version] of keys) {
      if (previous?.get(key)?.version === version) continue;
      changed.set(key, version);
      if (version < oldest) oldest = version;
    }
    const fresh = new Map<number, BaseSummary>();
    if (changed.size > BY_KEY_MAX) {
      for (const r of this.since.iterate(oldest) as Iterable<unknown[]>) if (changed.get(r[0] as number) === r[1]) fresh.set(r[0] as number, baseSummaryOf(r));
    } else {
      for (const key of changed.keys()) {
        const r = this.byKey.get(key) as unknown[] | undefined;
        if (r) fresh.set(key, baseSummaryOf(r));
      }
    }
    const rows: AgentSummary[] = [];
    const kept = new Map<number, Kept>();
    for (const [key, version, status] of keys) {
      let k = previous?.get(key);
      if (!k || k.version !== version) {
        const base = fresh.get(key);
        if (!base) continue;
        k = { version, status, base, row: withStatus(base, status) };
      } else if (k.status !== status) {
        k = { ...k, status, row: withStatus(k.base, status) };
      }
      kept.set(key, k);
      rows.push(k.row);
    }
    return { rows, state: new State(kept) };
  }
}
