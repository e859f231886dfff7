/**
 * History in columns: one array per field instead of one object per point, so that a day of a
 * 1-minute agent (1,440 points) is one small document, not 1,440 copies of every field name.
 * Statuses and placements are small integers into a legend (the strings repeat on every point).
 *
 * Two resolutions: 'raw' (every stored sample) and 'hour' (the hourly rollups, kept longer than
 * samples); 'auto' picks hour for ranges longer than a day. Pure: the route reads the store and
 * hands the rows here.
 */
import { AGENT_STATUSES, STORED_CHECK_IDS, type AgentStatus, type CheckStatus } from '@clockwatch/shared';
import { PLACED_BY, type HistoryRow, type RollupRow } from './store/types.js';

export type Resolution = 'raw' | 'hour';
export const DAY_MS = 86_400_000;

/** 'auto': raw samples up to a day, hourly rollups beyond. */
export function chooseResolution(wanted: Resolution | 'auto', fromMs: number, toMs: number): Resolution {
  if (wanted !== 'auto') return wanted;
  return toMs - fromMs > DAY_MS ? 'hour' : 'raw';
}

export const LEGEND = { status: AGENT_STATUSES as readonly AgentStatus[], placedBy: PLACED_BY };

export interface SampleColumns {
  atMs: number[];
  offsetMs: (number | null)[];
  uncertaintyMs: (number | null)[];
  rtcOffsetS: (number | null)[];
  /** Index into legend.status. */
  status: number[];
  ntpSynchronized: (boolean | null)[];
  stepCount: number[];
  /** Index into legend.placedBy. */
  placedBy: number[];
  /** With detail: the rest of the row form. */
  seq?: number[];
  reportId?: string[];
  receivedAtMs?: number[];
  guestEpochMs?: number[];
  ntpOffsetMs?: (number | null)[];
  /** check id → its status per point (null: the check was off for that sample). */
  checks?: Record<string, (CheckStatus | null)[]>;
}

const statusIndex = new Map(LEGEND.status.map((s, i) => [s, i]));
const placedIndex = new Map(LEGEND.placedBy.map((s, i) => [s, i]));

/** Rows (time order) as columns; `detail` adds every other field of the row form. */
export function sampleColumns(rows: readonly HistoryRow[], detail: boolean): SampleColumns {
  // Grown by push (packed arrays): JSON.stringify takes a slow path for holey ones (new Array(n)).
  const c: SampleColumns = { atMs: [], offsetMs: [], uncertaintyMs: [], rtcOffsetS: [], status: [], ntpSynchronized: [], stepCount: [], placedBy: [] };
  for (const r of rows) {
    c.atMs.push(r.atMs);
    c.offsetMs.push(r.offsetMs);
    c.uncertaintyMs.push(r.uncertaintyMs);
    c.rtcOffsetS.push(r.rtcOffsetS);
    c.status.push(statusIndex.get(r.status) ?? -1);
    c.ntpSynchronized.push(r.ntpSynchronized);
    c.stepCount.push(r.stepCount);
    c.placedBy.push(placedIndex.get(r.placedBy) ?? -1);
  }
  if (detail) {
    c.seq = rows.map((r) => r.seq);
    c.reportId = rows.map((r) => r.reportId);
    c.receivedAtMs = rows.map((r) => r.receivedAtMs);
    c.guestEpochMs = rows.map((r) => r.guestEpochMs);
    c.ntpOffsetMs = rows.map((r) => r.ntpOffsetMs);
    const checks: Record<string, (CheckStatus | null)[]> = {};
    for (const id of STORED_CHECK_IDS) checks[id] = rows.map((r) => r.checks[id] ?? null);
    c.checks = checks;
  }
  return c;
}

/** Columns back to the row form (the inverse of sampleColumns with detail; tests and clients). */
export function rowsOfColumns(c: SampleColumns): HistoryRow[] {
  if (!c.seq || !c.reportId || !c.receivedAtMs || !c.guestEpochMs || !c.ntpOffsetMs || !c.checks) throw new Error('rowsOfColumns needs the detail columns');
  const checks = c.checks;
  return c.atMs.map((atMs, i) => {
    const rowChecks: HistoryRow['checks'] = {};
    for (const id of Object.keys(checks)) {
      const s = (checks[id] as (CheckStatus | null)[])[i];
      if (s !== null && s !== undefined) (rowChecks as Record<string, CheckStatus>)[id] = s;
    }
    return {
      reportId: c.reportId![i] as string,
      seq: c.seq![i] as number,
      atMs,
      receivedAtMs: c.receivedAtMs![i] as number,
      guestEpochMs: c.guestEpochMs![i] as number,
      offsetMs: c.offsetMs[i] ?? null,
      uncertaintyMs: c.uncertaintyMs[i] ?? null,
      rtcOffsetS: c.rtcOffsetS[i] ?? null,
      ntpSynchronized: c.ntpSynchronized[i] ?? null,
      ntpOffsetMs: c.ntpOffsetMs![i] ?? null,
      status: LEGEND.status[c.status[i] as number] as AgentStatus,
      checks: rowChecks,
      stepCount: c.stepCount[i] as number,
      placedBy: LEGEND.placedBy[c.placedBy[i] as number] as HistoryRow['placedBy'],
    };
  });
}

export interface RollupColumns {
  /** Start of each hour (host ms). */
  atMs: number[];
  reports: number[];
  measured: number[];
  offsetMinMs: (number | null)[];
  offsetMaxMs: (number | null)[];
  offsetMeanMs: (number | null)[];
  uncertaintyMaxMs: (number | null)[];
  compliantShare: number[];
}

export function rollupColumns(rows: readonly RollupRow[]): RollupColumns {
  return {
    atMs: rows.map((r) => r.hourMs),
    reports: rows.map((r) => r.reports),
    measured: rows.map((r) => r.measured),
    offsetMinMs: rows.map((r) => r.offsetMinMs),
    offsetMaxMs: rows.map((r) => r.offsetMaxMs),
    offsetMeanMs: rows.map((r) => r.offsetMeanMs),
    uncertaintyMaxMs: rows.map((r) => r.uncertaintyMaxMs),
    compliantShare: rows.map((r) => r.compliantShare),
  };
}
