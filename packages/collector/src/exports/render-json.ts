/**
 * JSON export: the ExportData itself with a format marker and ISO timestamps next to the ms ones,
 * pretty-printed, keys in a fixed order. Numbers are the exact values the store computed (no
 * rounding), so they match the API.
 */
import type { ExportData } from './model.js';
import { isoUtc } from './model.js';

export const EXPORT_JSON_FORMAT = 'clockwatch-export';
export const EXPORT_JSON_VERSION = 1;

export function exportJsonValue(data: ExportData) {
  return {
    format: EXPORT_JSON_FORMAT,
    version: EXPORT_JSON_VERSION,
    period: { fromMs: data.period.fromMs, toMs: data.period.toMs, from: isoUtc(data.period.fromMs), to: isoUtc(data.period.toMs) },
    generatedAtMs: data.generatedAtMs,
    generatedAt: isoUtc(data.generatedAtMs),
    limits: { warnMs: data.limits.warnMs, failMs: data.limits.failMs },
    summary: data.summary,
    rows: data.rows.map((r) => ({
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
      rtcOffsetS: r.rtcOffsetS,
      rtcMode: r.rtcMode,
      clocksource: r.clocksource,
      timezone: r.timezone,
      ntp: { daemon: r.ntp.daemon, synchronized: r.ntp.synchronized, server: r.ntp.server },
      compliantShare: r.compliantShare,
      driftPpm: r.driftPpm,
      lastReportMs: r.lastReportMs,
      lastReport: r.lastReportMs === null ? null : isoUtc(r.lastReportMs),
      series: r.series.map((p) => ({ atMs: p.atMs, offsetMs: p.offsetMs, uncertaintyMs: p.uncertaintyMs })),
    })),
    ...(data.libvirt ? { libvirt: data.libvirt } : {}),
  };
}

export function renderJson(data: ExportData): string {
  return JSON.stringify(exportJsonValue(data), null, 2) + '\n';
}
