/**
 * The fleet view's rows, cached per agent and row version (agent_latest.version is bumped by every
 * change of the row): the part read from the table (BaseSummary), and for each of the two statuses
 * a version can have at some instant — its base status, or 'stale' — the row object and, once
 * asked for, its JSON text. A poll of 10,000 agents then reads only the rows that changed since the
 * last poll, and the route's body is a join of cached strings.
 */
import type { AgentStatus } from '@clockwatch/shared';
import { baseSummaryOf, withStatus, type BaseSummary, type Statements } from './sqlite-sql.js';
import type { AgentSummary } from './types.js';
import type { FleetKey } from './sqlite-fleet-index.js';

interface Shaped {
  status: AgentStatus;
  row: AgentSummary;
  json: string | null;
}

interface Cached {
  b: BaseSummary;
  fresh: Shaped | null;
  stale: Shaped | null;
}

export class FleetRows {
  private readonly cache = new Map<number, Cached>();

  constructor(private readonly s: Statements) {}

  /**
   * The rows of a page of keys, in order. Missing rows are read by key, or, when many are missing,
   * by `pageRows` (the page's own statement, same rows) or one pass over the table.
   */
  rows(keys: readonly FleetKey[], total: number, pageRows: (() => Iterable<unknown[]>) | null): { rows: AgentSummary[]; json: () => string } {
    let misses = 0;
    for (const [key, version] of keys) if (this.cache.get(key)?.b.version !== version) misses++;
    if (misses > 64 && pageRows) {
      for (const r of pageRows()) this.put(r);
    } else if (misses > 1000) {
      // A page of many rows not cached yet: one pass over the table fills the cache.
      for (const r of this.s.allBase.iterate() as Iterable<unknown[]>) this.put(r);
    } else if (misses > 0) {
      for (const [key, version] of keys) {
        if (this.cache.get(key)?.b.version === version) continue;
        const r = this.s.baseByKey.get(key) as unknown[] | undefined;
        if (r) this.put(r);
      }
    }
    const shaped: Shaped[] = [];
    for (const [key, , status] of keys) {
      const c = this.cache.get(key);
      if (c) shaped.push(this.shape(c, status));
    }
    if (this.cache.size > 2 * Math.max(total, 10_000)) this.cache.clear();
    const rows = shaped.map((x) => x.row);
    // JSON.stringify of an array without indentation is its elements' texts joined by ','.
    const json = () => `[${shaped.map((x) => (x.json ??= JSON.stringify(x.row))).join(',')}]`;
    return { rows, json };
  }

  private put(r: unknown[]): void {
    this.cache.set(r[0] as number, { b: baseSummaryOf(r), fresh: null, stale: null });
  }

  private shape(c: Cached, status: AgentStatus): Shaped {
    if (status === 'stale') return (c.stale ??= { status, row: withStatus(c.b, status), json: null });
    if (c.fresh?.status !== status) c.fresh = { status, row: withStatus(c.b, status), json: null };
    return c.fresh;
  }
}
