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
 * What depends on now (an agent is stale once now − last delivery > its limit) is kept by the
 * FleetIndex beside it (sqlite-fleet-index.ts), with the fleet's orders: every entry carries what
 * those need (id, hostname, row version, last delivery, staleness limit).
 */
import type { AgentStatus, CheckStatus } from '@clockwatch/shared';
import { FleetIndex, type FleetFacts } from './sqlite-fleet-index.js';

export interface LatestEntry extends FleetFacts {
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
  /** The same entries in the fleet's orders, with staleness kept. */
  readonly fleet = new FleetIndex();

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
    this.fleet.set(agentKey, entry);
  }

  delete(agentKey: number): void {
    const old = this.byKey.get(agentKey);
    if (!old) return;
    this.count(old, -1);
    this.byKey.delete(agentKey);
    this.fleet.delete(agentKey);
  }

  /**
   * Replaces everything with rows of [agent_key, seq, instance_id, guest_ms, base_status,
   * ...check columns, agent_id, hostname, version, last_seen_ms, stale_after_ms] (latestIndexRows).
   */
  load(rows: Iterable<unknown[]>): void {
    this.byKey.clear();
    this.base = emptyByStatus();
    this.perCheck = this.emptyChecks();
    const k = 5 + this.checkCount;
    for (const r of rows) {
      const e: LatestEntry = {
        seq: r[1] as number,
        instanceId: r[2] as string | null,
        guestMs: r[3] as number | null,
        base: r[4] as AgentStatus,
        checks: r.slice(5, k) as (CheckStatus | null)[],
        agentId: r[k] as string,
        hostname: r[k + 1] as string,
        version: r[k + 2] as number,
        lastSeenMs: r[k + 3] as number,
        staleAfterMs: r[k + 4] as number | null,
      };
      this.byKey.set(r[0] as number, e);
      this.count(e, 1);
    }
    this.fleet.load(this.byKey);
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
