/**
 * JSON export, version 2: the ExportData with a format marker and ISO timestamps next to the ms
 * ones, keys in a fixed order. Numbers are the exact values the store computed (no rounding), so
 * they match the API.
 *
 * Laid out for 10,000 agents: one agent per line (a line-oriented tool can split it, `jq` reads it
 * whole), series as columns (one array per field) rather than an object per point. Per agent: the
 * hourly rollups of the period (`hours`), the worst sample in full (`worstSample`), and plot points
 * (`series`) only for the agents the HTML plots. Every sample at full resolution is the detail CSV
 * (`about.detail`). Streamed: `jsonChunks` yields the text a few hundred agents at a time.
 */
import type { ExportData, ExportHour, ExportPoint, ExportRow } from './model.js';
import { isoUtc } from './model.js';

export const EXPORT_JSON_FORMAT = 'clockwatch-export';
export const EXPORT_JSON_VERSION = 2;

/** Hourly rollups as columns: hourMs[i], reports[i], ... describe hour i. */
export function hoursColumns(hours: readonly ExportHour[]) {
  return {
    hourMs: hours.map((h) => h.hourMs),
    reports: hours.map((h) => h.reports),
    measured: hours.map((h) => h.measured),
    offsetMinMs: hours.map((h) => h.offsetMinMs),
    offsetMaxMs: hours.map((h) => h.offsetMaxMs),
    uncertaintyMaxMs: hours.map((h) => h.uncertaintyMaxMs),
    compliantShare: hours.map((h) => h.compliantShare),
  };
}

/** Plot points as columns. */
export function seriesColumns(points: readonly ExportPoint[]) {
  return { atMs: points.map((p) => p.atMs), offsetMs: points.map((p) => p.offsetMs), uncertaintyMs: points.map((p) => p.uncertaintyMs) };
}

export function exportJsonRow(r: ExportRow) {
  return {
    id: r.id,
    hostname: r.hostname,
    systemUuid: r.systemUuid,
    labels: r.labels,
    status: r.status,
    checks: r.checks,
    reasons: r.reasons ?? {},
    offsetMs: r.offsetMs,
    uncertaintyMs: r.uncertaintyMs,
    worstOffsetMs: r.worstOffsetMs,
    worstUncertaintyMs: r.worstUncertaintyMs,
    worstSample: r.worstSample ? { ...r.worstSample, at: isoUtc(r.worstSample.atMs) } : null,
    rtcOffsetS: r.rtcOffsetS,
    rtcMode: r.rtcMode,
    clocksource: r.clocksource,
    timezone: r.timezone,
    ntp: { daemon: r.ntp.daemon, synchronized: r.ntp.synchronized, server: r.ntp.server },
    compliantShare: r.compliantShare,
    driftPpm: r.driftPpm,
    lastReportMs: r.lastReportMs,
    lastReport: r.lastReportMs === null ? null : isoUtc(r.lastReportMs),
    evidence: r.evidence ?? 'agent',
    hours: hoursColumns(r.hours ?? []),
    series: seriesColumns(r.series),
  };
}

/** Everything but the rows (and libvirt, which follows them). */
export function exportJsonHead(data: ExportData) {
  return {
    format: EXPORT_JSON_FORMAT,
    version: EXPORT_JSON_VERSION,
    ...(data.about ? { about: data.about } : {}),
    period: { fromMs: data.period.fromMs, toMs: data.period.toMs, from: isoUtc(data.period.fromMs), to: isoUtc(data.period.toMs) },
    generatedAtMs: data.generatedAtMs,
    generatedAt: isoUtc(data.generatedAtMs),
    limits: { warnMs: data.limits.warnMs, failMs: data.limits.failMs },
    summary: data.summary,
    notes: {
      compliantShare: "share of the agent's reports in the period whose status at ingest was compliant (reports, not time: hours without a report do not count)",
      hours: 'hourly rollups from the store: hourMs[i] is the start of hour i (UTC); offsets in ms, guest − host; uncertaintyMaxMs bounds every offset of the hour',
      series: 'plot points of the agents the HTML plots: each the largest |offset| of its bucket, its uncertainty covering every sample of the bucket',
    },
  };
}

const ROWS_PER_CHUNK = 200;

/** The JSON text as chunks: the head, then one agent per line, then the rest. */
export function* jsonChunks(data: ExportData): Generator<string> {
  const head = JSON.stringify(exportJsonHead(data));
  // The head is an object; the rows array is spliced in before its closing brace.
  yield `${head.slice(0, -1)},\n"rows":[`;
  let lines: string[] = [];
  let first = true;
  for (const r of data.rows) {
    lines.push(JSON.stringify(exportJsonRow(r)));
    if (lines.length >= ROWS_PER_CHUNK) {
      yield `${first ? '\n' : ',\n'}${lines.join(',\n')}`;
      first = false;
      lines = [];
    }
  }
  if (lines.length > 0) yield `${first ? '\n' : ',\n'}${lines.join(',\n')}`;
  yield `\n]${data.libvirt ? `,\n"libvirt":${JSON.stringify(data.libvirt)}` : ''}${data.agentless ? `,\n"agentless":${JSON.stringify(data.agentless)}` : ''}\n}\n`;
}

export function renderJson(data: ExportData): string {
  return [...jsonChunks(data)].join('');
}
