/**
 * The worst-first order of agents, the one order of every surface that lists a fleet: the API's
 * `?sort=severity` (both stores compile it into SQL), the fleet page, the terminal `status` and
 * the exports. By status (a non-compliant agent before one that stopped reporting, then what the
 * verdict cannot decide, then warnings), then hostname, then id, both compared by UTF-16 code unit
 * as JavaScript's `<` does (the stores compare bytewise: SQLite's BINARY collation, PostgreSQL's
 * `COLLATE "C"`, which agree with it for the hostnames and ids the schema allows).
 */
import type { AgentStatus } from './checks/types.js';

export const SEVERITY_ORDER: readonly AgentStatus[] = ['noncompliant', 'stale', 'unknown', 'warning', 'compliant'];

/** A status's rank in SEVERITY_ORDER (0: worst). */
export const SEVERITY_RANK: Readonly<Record<AgentStatus, number>> = Object.fromEntries(SEVERITY_ORDER.map((s, i) => [s, i])) as Record<AgentStatus, number>;

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Compares two agents worst first: status rank, then hostname, then id. */
export function compareWorstFirst(a: { status: AgentStatus; hostname: string; id: string }, b: { status: AgentStatus; hostname: string; id: string }): number {
  return SEVERITY_RANK[a.status] - SEVERITY_RANK[b.status] || byCodeUnit(a.hostname, b.hostname) || byCodeUnit(a.id, b.id);
}

/** Compares hostname then id only (within one status). */
export function compareHostThenId(a: { hostname: string; id: string }, b: { hostname: string; id: string }): number {
  return byCodeUnit(a.hostname, b.hostname) || byCodeUnit(a.id, b.id);
}
