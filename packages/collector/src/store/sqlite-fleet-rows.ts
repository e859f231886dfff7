/**
 * The fleet's rows, cached per agent and row version (agent_latest.version is bumped by every
 * change of the row): the part read from the table (BaseSummary), and for each of the two statuses
 * a version can have at some instant — its base status, or 'stale' — the row object and, once
 * asked for, its JSON text as UTF-8 bytes. The one row cache of the store: the fleet view and
 * /metrics (which lists the whole fleet every scrape) both read through it, so a poll of 10,000
 * agents reads from the table only the rows that changed since the last poll, and a row whose
 * version and status did not change is the very object of the last answer (the metrics renderer
 * skips it by identity, metrics-agents.ts).
 *
 * A page's body is the kept bytes of its rows, handed out as they are (the route joins them once,
 * routes/bytes-body.ts: no per-request JSON.stringify of a row, no string of the page), and its
 * validator is a hash of (agent key, row version, status) per row: 240 KB to hash for 10,000
 * agents instead of the 4.6 MiB body, and equal for two pages exactly when their rows are.
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { AGENT_STATUSES, type AgentStatus } from '@clockwatch/shared';
import { BASE_COLUMNS, baseSummaryOf, withStatus, type BaseSummary, type Statements } from './sqlite-sql.js';
import type { AgentSummary } from './types.js';
import type { FleetKey } from './sqlite-fleet-index.js';

interface Shaped {
  status: AgentStatus;
  row: AgentSummary;
  /** UTF-8 of JSON.stringify(row), made on first use. */
  bytes: Buffer | null;
}

interface Cached {
  b: BaseSummary;
  fresh: Shaped | null;
  stale: Shaped | null;
}

/** A page of rows from the cache. */
export interface CachedPage {
  rows: AgentSummary[];
  /** The UTF-8 of JSON.stringify(row) of each row, in order (cached Buffers: never written to). */
  json: () => Buffer[];
  /** Equal for two pages of this cache exactly when their rows are equal (see above). */
  tag: () => string;
}

/** Up to this many missing rows are read by key; more, in one pass over the rows of newer versions. */
const BY_KEY_MAX = 64;
const STATUS_CODE = new Map<AgentStatus, number>(AGENT_STATUSES.map((s, i) => [s, i]));

/** What the cache holds and has done: rows held, rows read from the table, rows' JSON made (since it was created). */
export interface RowCacheStats {
  rows: number;
  read: number;
  rendered: number;
}

export class FleetRowCache {
  private readonly cache = new Map<number, Cached>();
  private read = 0;
  private rendered = 0;
  /** The answer for a page of keys the fleet index gave again as the same array (nothing changed: sqlite-fleet-index.ts). */
  private readonly pages = new WeakMap<readonly FleetKey[], CachedPage>();
  private readonly since: Database.Statement;
  /** Tells this cache's tags from another's (a store opened again may reuse keys and versions for other rows). */
  private readonly epoch = createHash('sha1').update(`${process.pid} ${Date.now()} ${Math.random()}`).digest('base64url').slice(0, 12);

  constructor(
    db: Database.Database,
    private readonly s: Statements,
  ) {
    this.since = db.prepare(`SELECT agent_key, ${BASE_COLUMNS} FROM agent_latest WHERE version >= ?`).raw();
  }

  /**
   * The rows of a page of keys, in order. Missing rows are read by key, or, when many are missing,
   * by `pageRows` (the page's own statement, same rows) or one pass over the rows of version at or
   * above the oldest missing one (which holds every missing row: a version is compared for
   * equality, never assumed to grow per row). A row whose version is cached is kept as it is.
   * The same array of keys again (the fleet index's page when nothing changed) is the same answer.
   */
  rows(keys: readonly FleetKey[], total: number, pageRows: (() => Iterable<unknown[]>) | null): CachedPage {
    const again = this.pages.get(keys);
    if (again) return again;
    let misses = 0;
    let oldest = Infinity;
    for (const [key, version] of keys) {
      if (this.cache.get(key)?.b.version === version) continue;
      misses++;
      if (version < oldest) oldest = version;
    }
    if (misses > BY_KEY_MAX) {
      const rows = pageRows ? pageRows() : (this.since.iterate(oldest) as Iterable<unknown[]>);
      for (const r of rows) if (this.cache.get(r[0] as number)?.b.version !== r[1]) this.put(r);
    } else if (misses > 0) {
      for (const [key, version] of keys) {
        if (this.cache.get(key)?.b.version === version) continue;
        const r = this.s.baseByKey.get(key) as unknown[] | undefined;
        if (r) this.put(r);
      }
    }
    const shaped: Shaped[] = [];
    const found: FleetKey[] = [];
    for (const k of keys) {
      const c = this.cache.get(k[0]);
      if (!c) continue;
      shaped.push(this.shape(c, k[2]));
      found.push([k[0], c.b.version, k[2]]);
    }
    if (this.cache.size > 2 * Math.max(total, 10_000)) this.cache.clear();
    let tag: string | null = null;
    const page: CachedPage = {
      rows: shaped.map((x) => x.row),
      json: () => shaped.map((x) => (x.bytes ??= this.render(x.row))),
      tag: () => (tag ??= this.tagOf(found)),
    };
    this.pages.set(keys, page);
    return page;
  }

  private render(row: AgentSummary): Buffer {
    this.rendered++;
    return Buffer.from(JSON.stringify(row));
  }

  /** sha1 of the page's (key, version, status) triples, with this cache's epoch. */
  private tagOf(keys: readonly FleetKey[]): string {
    const v = new Float64Array(keys.length * 3);
    keys.forEach(([key, version, status], i) => {
      v[3 * i] = key;
      v[3 * i + 1] = version;
      v[3 * i + 2] = STATUS_CODE.get(status) ?? -1;
    });
    return `${this.epoch}.${createHash('sha1').update(v).digest('base64url')}`;
  }

  stats(): RowCacheStats {
    return { rows: this.cache.size, read: this.read, rendered: this.rendered };
  }

  private put(r: unknown[]): void {
    this.read++;
    this.cache.set(r[0] as number, { b: baseSummaryOf(r), fresh: null, stale: null });
  }

  private shape(c: Cached, status: AgentStatus): Shaped {
    if (status === 'stale') return (c.stale ??= { status, row: withStatus(c.b, status), bytes: null });
    if (c.fresh?.status !== status) c.fresh = { status, row: withStatus(c.b, status), bytes: null };
    return c.fresh;
  }
}
