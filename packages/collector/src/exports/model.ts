/**
 * The export data model: what one compliance export states about a period. The store builds an
 * ExportData from stored samples and rollups; the renderers (CSV, JSON, HTML) are pure functions of
 * it, so the three files of one export always say the same thing.
 *
 * Units are in the names; times are ms since the Unix epoch; offsets follow the product's sign
 * (offsetMs = guest − host, positive: the guest is ahead) and always travel with their uncertainty.
 */
import { AGENT_STATUSES, compareHostThenId, compareWorstFirst, SEVERITY_RANK, type AgentStatus, type CheckStatus } from '@clockwatch/shared';
import type { ExportAgentlessGuest } from './agentless.js';

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

/**
 * One hour of one agent, from the store's hourly rollups (written at ingest): what the export keeps
 * of the series for every agent. Hours without a report are absent.
 */
export interface ExportHour {
  /** Start of the hour, ms since the epoch (UTC). */
  hourMs: number;
  reports: number;
  /** Reports that carried an offset. */
  measured: number;
  offsetMinMs: number | null;
  offsetMaxMs: number | null;
  /** Largest uncertainty of the hour: an upper bound for each of its offsets. */
  uncertaintyMaxMs: number | null;
  /** Share of the hour's reports whose status at ingest was compliant, 0..1. */
  compliantShare: number;
}

/** The sample of largest |offset| in the period, as stored (the report it came from is named). */
export interface ExportWorstSample {
  reportId: string;
  atMs: number;
  offsetMs: number;
  uncertaintyMs: number;
  /** Status at ingest. */
  status: AgentStatus;
  checks: Record<string, CheckStatus>;
}

/** Who made the export, under which policy, signed by whom: what an auditor checks first. */
export interface ExportAbout {
  /** The collector host's name and the collector's version. */
  collector: { hostname: string; version: string };
  /** The policy the verdicts were evaluated with: where it came from, and the SHA-256 of its canonical JSON. */
  policy: { source: string; sha256: string };
  /** Key id of the Ed25519 key that signs the manifest (sha256 of its SPKI DER); null: unsigned. */
  signerKeyId: string | null;
  /** Most HTML plots (the rest of the agents that are not compliant are listed without one). */
  plotCap: number;
  /** The full-resolution CSV of every sample, when it is part of this export (--detail); else how to get it. */
  detail: { file: string | null; command: string };
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
  /** Hourly rollups of the period (every agent): min/max offset, worst uncertainty, compliant share. */
  hours?: ExportHour[];
  /** The worst sample in full; null when its hour's samples were pruned (only the rollup is left). */
  worstSample?: ExportWorstSample | null;
  /** Where the verdict's evidence came from (absent: 'agent'); 'both' when the host audit read its domain too. */
  evidence?: 'agent' | 'host audit' | 'both';
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
  /** Guests without an agent, from the host audit's latest pass (exports/agentless.ts); absent: --host-audit off. */
  agentless?: ExportAgentlessGuest[];
  about?: ExportAbout;
}

/** Counts rows by status (every status present, zeros included). */
export function summarizeRows(rows: readonly ExportRow[]): ExportSummary {
  const byStatus = Object.fromEntries(AGENT_STATUSES.map((s) => [s, 0])) as Record<AgentStatus, number>;
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  return { agents: rows.length, byStatus };
}

/** Assembles ExportData, computing the summary and sorting rows by status severity, then hostname, then id. */
export function buildExportData(input: Omit<ExportData, 'summary'>): ExportData {
  const rows = [...input.rows].sort(compareWorstFirst);
  return {
    period: input.period,
    generatedAtMs: input.generatedAtMs,
    limits: input.limits,
    summary: summarizeRows(rows),
    rows,
    ...(input.libvirt ? { libvirt: input.libvirt } : {}),
    ...(input.agentless ? { agentless: input.agentless } : {}),
    ...(input.about ? { about: input.about } : {}),
  };
}

/** Agents that get a plot: every one whose status at the end of the period is not compliant. */
export function needsPlot(r: Pick<ExportRow, 'status'>): boolean {
  return r.status !== 'compliant';
}

/** Most plots in one HTML export by default (each is ~15 KB; the rest are listed). */
export const DEFAULT_PLOT_CAP = 200;

/**
 * The rows that get a plot, worst first: not compliant, by status severity, then by the largest
 * |offset| of the period, then hostname and id; at most `cap` of them.
 */
export function plotRows<R extends Pick<ExportRow, 'status' | 'worstOffsetMs' | 'hostname' | 'id'>>(rows: readonly R[], cap: number): R[] {
  return rows
    .filter(needsPlot)
    .sort(
      (a, b) =>
        SEVERITY_RANK[a.status] - SEVERITY_RANK[b.status] || Math.abs(b.worstOffsetMs ?? 0) - Math.abs(a.worstOffsetMs ?? 0) || compareHostThenId(a, b),
    )
    .slice(0, Math.max(0, cap));
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
    r.hours?.forEach((h, j) => {
      if (!(h.compliantShare >= 0 && h.compliantShare <= 1)) problems.push(`${at}.hours[${j}].compliantShare must be within 0..1`);
      if (!(h.measured <= h.reports)) problems.push(`${at}.hours[${j}]: more measured than reports`);
    });
    const w = r.worstSample;
    if (w && (w.offsetMs !== r.worstOffsetMs || w.uncertaintyMs !== r.worstUncertaintyMs)) problems.push(`${at}.worstSample does not match worstOffsetMs/worstUncertaintyMs`);
  });
  return problems;
}

/** `2026-11-24T00:00:00.000Z`, the one timestamp format of the exports. */
export const isoUtc = (ms: number): string => new Date(ms).toISOString();
