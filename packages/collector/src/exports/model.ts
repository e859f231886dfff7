/**
 * The export data model: what one compliance export states about a period. The store builds an
 * ExportData from stored samples and rollups; the renderers (CSV, JSON, HTML) are pure functions of
 * it, so the three files of one export always say the same thing.
 *
 * Units are in the names; times are ms since the Unix epoch; offsets follow the product's sign
 * (offsetMs = guest − host, positive: the guest is ahead) and always travel with their uncertainty.
 */
import { AGENT_STATUSES, type AgentStatus, type CheckStatus } from '@clockwatch/shared';

/** One offset sample for the plot. */
export interface ExportPoint {
  /** Host time of the measurement. */
  atMs: number;
  offsetMs: number;
  uncertaintyMs: number;
}

export interface ExportNtp {
  /** chronyd, ntpd, systemd-timesyncd, w32time, none; null when the section could not be read. */
  daemon: string | null;
  synchronized: boolean | null;
  server: string | null;
}

export interface ExportRow {
  id: string;
  hostname: string;
  /** SMBIOS system UUID (= libvirt domain UUID). */
  systemUuid: string | null;
  labels: Record<string, string>;
  /** Agent status at the end of the period. */
  status: AgentStatus;
  /** Check id → status at the end of the period (clocksource, offset, rtc, timezone, ntp, reporting, libvirt-clock). */
  checks: Record<string, CheckStatus>;
  /** Check id → one-line reason, for checks that did not pass (optional; shown in HTML and JSON, joined in CSV). */
  reasons?: Record<string, string>;
  /** Latest offset in the period, with its uncertainty. */
  offsetMs: number | null;
  uncertaintyMs: number | null;
  /** The sample with the largest |offsetMs| in the period (signed), with its uncertainty. */
  worstOffsetMs: number | null;
  worstUncertaintyMs: number | null;
  /** Latest RTC reading − host UTC, s; and the guest's configured RTC mode. */
  rtcOffsetS: number | null;
  rtcMode: 'UTC' | 'LOCAL' | null;
  clocksource: string | null;
  /** IANA zone name. */
  timezone: string | null;
  ntp: ExportNtp;
  /** Share of the period the agent was compliant, 0..1; null when nothing was stored for it. */
  compliantShare: number | null;
  /** Drift rate of the offset over the period, ppm; positive: the guest gains. */
  driftPpm: number | null;
  lastReportMs: number | null;
  /** Offset samples in the period, oldest first (may be decimated rollups). */
  series: ExportPoint[];
}

export interface ExportPeriod {
  /** Inclusive start. */
  fromMs: number;
  /** Exclusive end. */
  toMs: number;
}

export interface ExportSummary {
  agents: number;
  byStatus: Record<AgentStatus, number>;
}

/** The libvirt audit's partners that are missing (present when the audit is configured). */
export interface ExportLibvirt {
  /** When the domain XML was read. */
  readAtMs: number | null;
  domainsWithoutAgent: { name: string | null; uuid: string | null; source: string }[];
  agentsWithoutDomain: { id: string; hostname: string; systemUuid: string | null }[];
}

export interface ExportData {
  period: ExportPeriod;
  generatedAtMs: number;
  /** The offset limits of the default policy, drawn on the plots. */
  limits: { warnMs: number; failMs: number };
  summary: ExportSummary;
  rows: ExportRow[];
  libvirt?: ExportLibvirt;
}

/** Counts rows by status (every status present, zeros included). */
export function summarizeRows(rows: readonly ExportRow[]): ExportSummary {
  const byStatus = Object.fromEntries(AGENT_STATUSES.map((s) => [s, 0])) as Record<AgentStatus, number>;
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  return { agents: rows.length, byStatus };
}

/** Assembles ExportData, computing the summary and sorting rows by status severity, then hostname, then id. */
export function buildExportData(input: Omit<ExportData, 'summary'>): ExportData {
  const order: Record<AgentStatus, number> = { noncompliant: 0, stale: 1, unknown: 2, warning: 3, compliant: 4 };
  const rows = [...input.rows].sort(
    (a, b) => order[a.status] - order[b.status] || a.hostname.localeCompare(b.hostname, 'en') || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  return { period: input.period, generatedAtMs: input.generatedAtMs, limits: input.limits, summary: summarizeRows(rows), rows, ...(input.libvirt ? { libvirt: input.libvirt } : {}) };
}

/** Problems that would make an export lie: non-finite numbers, a share outside 0..1, an empty period. */
export function checkExportData(data: ExportData): string[] {
  const problems: string[] = [];
  const num = (where: string, v: number | null) => {
    if (v !== null && !Number.isFinite(v)) problems.push(`${where} is not a finite number`);
  };
  if (!(data.period.toMs > data.period.fromMs)) problems.push('period: toMs must be after fromMs');
  num('generatedAtMs', data.generatedAtMs);
  if (!(data.limits.warnMs > 0 && data.limits.failMs >= data.limits.warnMs)) problems.push('limits: need 0 < warnMs <= failMs');
  data.rows.forEach((r, i) => {
    const at = `rows[${i}] (${r.id})`;
    for (const k of ['offsetMs', 'uncertaintyMs', 'worstOffsetMs', 'worstUncertaintyMs', 'rtcOffsetS', 'driftPpm', 'lastReportMs'] as const) num(`${at}.${k}`, r[k]);
    if (r.compliantShare !== null && !(r.compliantShare >= 0 && r.compliantShare <= 1)) problems.push(`${at}.compliantShare must be within 0..1`);
    if ((r.offsetMs === null) !== (r.uncertaintyMs === null)) problems.push(`${at}: offsetMs and uncertaintyMs go together`);
    if ((r.worstOffsetMs === null) !== (r.worstUncertaintyMs === null)) problems.push(`${at}: worstOffsetMs and worstUncertaintyMs go together`);
    r.series.forEach((p, j) => {
      if (![p.atMs, p.offsetMs, p.uncertaintyMs].every(Number.isFinite)) problems.push(`${at}.series[${j}] has a non-finite number`);
    });
  });
  return problems;
}

/** `2026-11-24T00:00:00.000Z`, the one timestamp format of the exports. */
export const isoUtc = (ms: number): string => new Date(ms).toISOString();
