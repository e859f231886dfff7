/**
 * The worst-first order of agents, the one order of every surface that lists a fleet: the API's
 * `?sort=severity` (both stores compile it into SQL), the fleet page, the terminal `status` and
 * the exports. By status (a non-compliant agent before one that stopped reporting, then what the
 * verdict cannot decide, then warnings), then hostname, then id, both in the stores' text order
 * (compareUtf8: code point order, the byte order of SQLite's BINARY collation and PostgreSQL's
 * `COLLATE "C"`), so a page sorted here and one sorted by a store agree for any hostname, which is
 * free text, not only for ASCII.
 */
import type { AgentStatus } from './checks/types.js';
import { compareUtf8 } from './text-order.js';

export const SEVERITY_ORDER: readonly AgentStatus[] = ['noncompliant', 'stale', 'unknown', 'warning', 'compliant'];

/** A status's rank in SEVERITY_ORDER (0: worst). */
export const SEVERITY_RANK: Readonly<Record<AgentStatus, number>> = Object.fromEntries(SEVERITY_ORDER.map((s, i) => [s, i])) as Record<AgentStatus, number>;

/** Compares two agents worst first: status rank, then hostname, then id. */
export function compareWorstFirst(a: { status: AgentStatus; hostname: string; id: string }, b: { status: AgentStatus; hostname: string; id: string }): number {
  return SEVERITY_RANK[a.status] - SEVERITY_RANK[b.status] || compareUtf8(a.hostname, b.hostname) || compareUtf8(a.id, b.id);
}

/** Compares hostname then id only (within one status). */
export function compareHostThenId(a: { hostname: string; id: string }, b: { hostname: string; id: string }): number {
  return compareUtf8(a.hostname, b.hostname) || compareUtf8(a.id, b.id);
}
