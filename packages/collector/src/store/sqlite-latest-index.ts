/**
 * What the writer keeps in memory of every latest state: its order (seq, life, guest clock) so
 * that a write needs no read of the row it replaces, and its verdict (status without `reporting`,
 * per-check statuses) so that the fleet summary's counts are kept up to date at every write and
 * rejudge instead of counted over the whole table per request.
 *
 * It is a cache of agent_latest on this connection: loaded at open, changed inside the write and
 * rejudge transactions, reloaded after a rollback and whenever another connection committed
 * (PRAGMA data_version, https://www.sqlite.org/pragma.html#pragma_data_version — e.g. `prune`
 * run next to `serve`).
 *
 * The counts leave out what depends on now: an agent is stale once now − last delivery > its
 * limit, which the store counts per request through the index on last_seen_ms + stale_after_ms
 * (only the stale agents are read).
 */
import type { AgentStatus, CheckStatus } from '@clockwatch/shared';

export interface LatestEntry {
  seq: number;
  instanceId: string | null;
  guestMs: number | null;
  base: AgentStatus;
  /** Per stored check (CHECK_COLUMNS order): the column's value. */
  checks: readonly (CheckStatus | null)[];
}

export interface CheckCounts {
  fail: number;
  warn: number;
  unknown: number;
}

const emptyByStatus = (): Record<AgentStatus, number> => ({ compliant: 0, warning: 0, noncompliant: 0, stale: 0, unknown: 0 });

export class LatestIndex {
  private readonly byKey = new Map<number, LatestEntry>();
  private base = emptyByStatus();
  private perCheck: CheckCounts[];

  constructor(private readonly checkCount: number) {
    this.perCheck = this.emptyChecks();
  }

  private emptyChecks(): CheckCounts[] {
    return Array.from({ length: this.checkCount }, () => ({ fail: 0, warn: 0, unknown: 0 }));
  }

  get size(): number {
    return this.byKey.size;
  }

  get(agentKey: number): LatestEntry | undefined {
    return this.byKey.get(agentKey);
  }

  private count(e: LatestEntry, by: 1 | -1): void {
    this.base[e.base] = (this.base[e.base] ?? 0) + by;
    for (let i = 0; i < this.checkCount; i++) {
      const s = e.checks[i];
      if (s === 'fail' || s === 'warn' || s === 'unknown') (this.perCheck[i] as CheckCounts)[s] += by;
    }
  }

  set(agentKey: number, entry: LatestEntry): void {
    const old = this.byKey.get(agentKey);
    if (old) this.count(old, -1);
    this.byKey.set(agentKey, entry);
    this.count(entry, 1);
  }

  delete(agentKey: number): void {
    const old = this.byKey.get(agentKey);
    if (!old) return;
    this.count(old, -1);
    this.byKey.delete(agentKey);
  }

  /** Replaces everything with rows of [agent_key, seq, instance_id, guest_ms, base_status, ...check columns]. */
  load(rows: Iterable<unknown[]>): void {
    this.byKey.clear();
    this.base = emptyByStatus();
    this.perCheck = this.emptyChecks();
    for (const r of rows) {
      this.set(r[0] as number, {
        seq: r[1] as number,
        instanceId: r[2] as string | null,
        guestMs: r[3] as number | null,
        base: r[4] as AgentStatus,
        checks: r.slice(5, 5 + this.checkCount) as (CheckStatus | null)[],
      });
    }
  }

  /** Agents by status without `reporting` (a copy). */
  byBaseStatus(): Record<AgentStatus, number> {
    return { ...this.base };
  }

  /** Agents with each stored check in fail / warn / unknown (CHECK_COLUMNS order; copies). */
  byCheck(): CheckCounts[] {
    return this.perCheck.map((c) => ({ ...c }));
  }
}
