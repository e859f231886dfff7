/**
 * What a check is. Every check lives in one file of this folder and exports one CheckDefinition:
 * its policy part (typebox schema + defaults), its evaluation (with the diagnosis and fix texts),
 * and the names other surfaces derive from it (stored column, metric label, runbook). The registry
 * (index.ts) lists them; CHECK_IDS, the stored per-check columns, the CSV columns, the metric
 * labels and the OpenAPI enums are derived from it. Pure: no I/O, no Date.now().
 */
import type { TSchema } from 'typebox';
import type { LibvirtDomain } from '../libvirt.js';
import type { ReportMeasurement } from '../measure.js';
import type { Report } from '../schema/report.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'unknown';
export type AgentStatus = 'compliant' | 'warning' | 'noncompliant' | 'stale' | 'unknown';
export const AGENT_STATUSES: readonly AgentStatus[] = ['compliant', 'warning', 'noncompliant', 'stale', 'unknown'];

export interface CheckResult<Id extends string = string> {
  id: Id;
  status: CheckStatus;
  /** One line: what was found, the diagnosis, and the fix. */
  reason: string;
}

/**
 * The host's reading of the libvirt domain joined to the agent (by SMBIOS UUID). `readAtMs` is when
 * the host last read it successfully; `readError` is set when the latest attempt failed, in which
 * case the domain is the last one read (stale evidence is marked, never dropped).
 */
export interface JoinedDomain {
  domain: LibvirtDomain;
  /** The inactive (next boot) definition, when it differs from the live one. */
  nextBoot?: LibvirtDomain | null;
  source: string;
  readAtMs: number;
  readError?: string | null;
}

/** Everything a check may look at. */
export interface CheckContext<P = unknown> {
  report: Report;
  measurement: ReportMeasurement;
  /** This check's resolved settings. */
  settings: P;
  /** Every check's resolved settings (a check may read another's, e.g. rtc.maxDriftS). */
  policy: Record<string, unknown>;
  /** The libvirt domain joined to this agent, when the host audit has one. */
  libvirt: JoinedDomain | null;
  /** The agent's last delivery (host time, ms). */
  lastSeenMs: number;
  /** The instant of the verdict (host time, ms). */
  nowMs: number;
}

export interface CheckDefinition<Id extends string = string, P extends { enabled: boolean } = { enabled: boolean }> {
  id: Id;
  /** Short human title ("Clocksource", "Offset to the host"). */
  title: string;
  /** The policy part: a typebox object of optional fields (every field optional, additionalProperties false). */
  policySchema: TSchema;
  /** Defaults of every field of the policy part. */
  defaults: Readonly<P>;
  /**
   * True when the check depends on the instant of the verdict (reporting): it is judged at query
   * time and never stored per sample.
   */
  dependsOnNow: boolean;
  /** Stored per-check column (SQL-safe). */
  column: string;
  /** Value of the `check` label in metrics. */
  metricLabel: string;
  /** Repository-relative runbook (docs/checks/<id>.md). */
  runbook: string;
  /** The result, or null when the check does not apply to this agent (e.g. libvirt-clock without a joined domain). */
  evaluate(ctx: CheckContext<P>): CheckResult<Id> | null;
}

export function defineCheck<Id extends string, P extends { enabled: boolean }>(def: CheckDefinition<Id, P>): CheckDefinition<Id, P> {
  return Object.freeze(def);
}

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, unknown: 2, fail: 3 };
export const worst = (a: CheckStatus, b: CheckStatus): CheckStatus => (RANK[a] >= RANK[b] ? a : b);
export const worstOf = (xs: readonly { status: CheckStatus }[]): CheckStatus => xs.reduce<CheckStatus>((s, x) => worst(s, x.status), 'pass');

/** '+1.234 ms', '-12.3 ms' */
export const fmtMs = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(Math.abs(v) < 10 ? 3 : 1)} ms`;
/** '±0.250 ms' */
export const fmtUnc = (v: number) => `±${v.toFixed(v < 10 ? 3 : 1)} ms`;

/** '42 s', '12 min', '3.5 h', '2.0 d' */
export function formatAge(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

/**
 * An RTC offset in seconds as every reason shows it: '+28800 s', '-0.6 s', '0.0 s' (no negative
 * zero). One function, so the rtc and libvirt-clock reasons round the same reading the same way.
 */
export function formatSeconds(v: number): string {
  const r = Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 10) / 10;
  if (r === 0) return '0.0 s';
  return `${r > 0 ? '+' : ''}${Math.abs(v) >= 100 ? r.toFixed(0) : r.toFixed(1)} s`;
}

export function sectionUnknown<Id extends string>(id: Id, what: string, error: { code: string; message: string }): CheckResult<Id> {
  return { id, status: 'unknown', reason: `${what} could not be read: ${error.message} (${error.code})` };
}
