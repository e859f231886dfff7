/**
 * CSV export, RFC 4180: CRLF line endings, one header row, a field is quoted when it holds a comma,
 * a double quote, CR or LF (quotes doubled inside). Columns are fixed and documented below so that
 * daily files can be concatenated and loaded by the same import.
 *
 * Spreadsheet formula injection (OWASP "CSV Injection"): a text cell that starts with = + - @
 * (or a tab or CR) is executed as a formula by Excel/LibreOffice, so such text cells are prefixed
 * with a single quote. Numbers are never prefixed: `-12.5` stays a number.
 */
import { CHECK_IDS, type CheckStatus } from '@clockwatch/shared';
import type { HistoryRow, Store } from '../store/types.js';
import type { ExportData, ExportRow } from './model.js';
import { isoUtc } from './model.js';
import { agentlessCsvRow } from './agentless.js';

/** Check ids that get a column, in registry order (shared checks/index.ts); a check an agent did not run is an empty cell. */
export const CSV_CHECK_IDS = CHECK_IDS;

type Cell = { text: string } | { num: number } | null;

interface Column {
  name: string;
  doc: string;
  get: (r: ExportRow, d: ExportData) => Cell;
}

const text = (v: string | null | undefined): Cell => (v === null || v === undefined ? null : { text: v });
const num = (v: number | null | undefined): Cell => (v === null || v === undefined ? null : { num: v });
const bool = (v: boolean | null): Cell => (v === null ? null : { text: v ? 'true' : 'false' });

const COLUMNS: Column[] = [
  { name: 'agent_id', doc: 'agent id (machine-id, SMBIOS UUID or configured)', get: (r) => text(r.id) },
  { name: 'hostname', doc: 'guest hostname', get: (r) => text(r.hostname) },
  { name: 'system_uuid', doc: 'SMBIOS system UUID (= libvirt domain UUID)', get: (r) => text(r.systemUuid) },
  { name: 'labels', doc: 'labels as a JSON object with sorted keys', get: (r) => text(JSON.stringify(Object.fromEntries(Object.entries(r.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))) },
  { name: 'status', doc: 'status at the end of the period: compliant, warning, noncompliant, stale, unknown', get: (r) => text(r.status) },
  ...CSV_CHECK_IDS.map<Column>((id) => ({
    name: `check_${id.replace(/-/g, '_')}`,
    doc: `status of the ${id} check at the end of the period: pass, warn, fail, unknown; empty when not evaluated`,
    get: (r) => text(r.checks[id]),
  })),
  { name: 'offset_ms', doc: 'latest offset, guest − host, ms (positive: guest ahead)', get: (r) => num(r.offsetMs) },
  { name: 'uncertainty_ms', doc: 'uncertainty of offset_ms, ± ms', get: (r) => num(r.uncertaintyMs) },
  { name: 'worst_offset_ms', doc: 'offset with the largest magnitude in the period, signed, ms', get: (r) => num(r.worstOffsetMs) },
  { name: 'worst_uncertainty_ms', doc: 'uncertainty of worst_offset_ms, ± ms', get: (r) => num(r.worstUncertaintyMs) },
  { name: 'worst_at_utc', doc: 'when the worst offset was measured (host time), ISO 8601 UTC; empty when only its hourly rollup is left', get: (r) => text(r.worstSample ? isoUtc(r.worstSample.atMs) : null) },
  { name: 'worst_report_id', doc: 'reportId of the report that carried the worst offset', get: (r) => text(r.worstSample?.reportId) },
  { name: 'rtc_offset_s', doc: 'latest RTC reading (as if UTC) − host UTC, s', get: (r) => num(r.rtcOffsetS) },
  { name: 'rtc_mode', doc: 'configured RTC mode: UTC or LOCAL', get: (r) => text(r.rtcMode) },
  { name: 'clocksource', doc: 'current clocksource', get: (r) => text(r.clocksource) },
  { name: 'timezone', doc: 'IANA timezone name', get: (r) => text(r.timezone) },
  { name: 'ntp_daemon', doc: 'chronyd, ntpd, systemd-timesyncd, w32time or none', get: (r) => text(r.ntp.daemon) },
  { name: 'ntp_synchronized', doc: 'true or false; empty when unknown', get: (r) => bool(r.ntp.synchronized) },
  { name: 'ntp_server', doc: 'NTP server the daemon follows', get: (r) => text(r.ntp.server) },
  {
    name: 'compliant_share',
    doc: "share of the agent's reports in the period whose status at ingest was compliant, 0..1 (reports, not time: hours without a report do not count)",
    get: (r) => num(r.compliantShare),
  },
  { name: 'drift_ppm', doc: 'drift rate of the offset over the period, ppm (positive: guest gains)', get: (r) => num(r.driftPpm) },
  { name: 'last_report_utc', doc: 'time of the last report, ISO 8601 UTC', get: (r) => text(r.lastReportMs === null ? null : isoUtc(r.lastReportMs)) },
  { name: 'last_report_ms', doc: 'time of the last report, ms since the Unix epoch', get: (r) => num(r.lastReportMs) },
  {
    name: 'problems',
    doc: 'reasons of the checks that did not pass, "check: reason" joined with " | "',
    get: (r) => text(Object.entries(r.reasons ?? {}).filter(([id]) => r.checks[id] !== 'pass').map(([id, why]) => `${id}: ${why}`).join(' | ') || null),
  },
  { name: 'period_start_utc', doc: 'start of the period (inclusive), ISO 8601 UTC', get: (_r, d) => text(isoUtc(d.period.fromMs)) },
  { name: 'period_end_utc', doc: 'end of the period (exclusive), ISO 8601 UTC', get: (_r, d) => text(isoUtc(d.period.toMs)) },
  {
    name: 'evidence',
    doc: "where the verdict comes from: agent; both (the host audit read its domain too); host audit (a guest without an agent, agent_id domain:<uuid>, as of the host audit's latest pass, last_report_utc its time)",
    get: (r) => text(r.evidence ?? 'agent'),
  },
];

/** The documented column list: name and meaning, in file order. */
export const CSV_COLUMNS: readonly { name: string; doc: string }[] = Object.freeze(COLUMNS.map(({ name, doc }) => Object.freeze({ name, doc })));

const FORMULA_START = /^[=+\-@\t\r]/;

/** One RFC 4180 field. Text that a spreadsheet would run as a formula gets a leading single quote. */
export function csvField(cell: Cell): string {
  if (cell === null) return '';
  let s: string;
  if ('num' in cell) {
    // Shortest round-trip decimal, so the CSV states exactly the number the API and JSON state.
    s = Number.isFinite(cell.num) ? String(cell.num) : '';
  } else {
    s = FORMULA_START.test(cell.text) ? `'${cell.text}` : cell.text;
  }
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows per chunk of a streamed file: ~100 KB, big enough for few writes, small enough to yield often. */
const ROWS_PER_CHUNK = 200;

/** The CSV as chunks: the header, then rows a chunk at a time. */
export function* csvChunks(data: ExportData): Generator<string> {
  yield COLUMNS.map((c) => csvField({ text: c.name })).join(',') + '\r\n';
  let lines: string[] = [];
  for (const r of withAgentless(data)) {
    lines.push(COLUMNS.map((c) => csvField(c.get(r, data))).join(','));
    if (lines.length >= ROWS_PER_CHUNK) {
      yield lines.join('\r\n') + '\r\n';
      lines = [];
    }
  }
  if (lines.length > 0) yield lines.join('\r\n') + '\r\n';
}

/** The agents, then the guests without an agent (exports/agentless.ts). */
function* withAgentless(data: ExportData): Generator<ExportRow> {
  yield* data.rows;
  for (const g of data.agentless ?? []) yield agentlessCsvRow(g);
}

export function renderCsv(data: ExportData): string {
  return [...csvChunks(data)].join('');
}

/** Columns of the detail CSV: one line per stored sample, as the store holds it. */
const DETAIL_COLUMNS: { name: string; doc: string; get: (s: HistoryRow, r: ExportRow) => Cell }[] = [
  { name: 'agent_id', doc: 'agent id', get: (_s, r) => text(r.id) },
  { name: 'hostname', doc: 'guest hostname', get: (_s, r) => text(r.hostname) },
  { name: 'at_utc', doc: 'when the sample was measured (host time), ISO 8601 UTC', get: (s) => text(isoUtc(s.atMs)) },
  { name: 'at_ms', doc: 'the same, ms since the Unix epoch (sub-ms)', get: (s) => num(s.atMs) },
  { name: 'received_at_ms', doc: 'when the collector received the report, ms', get: (s) => num(s.receivedAtMs) },
  { name: 'report_id', doc: 'the reportId the agent gave the report', get: (s) => text(s.reportId) },
  { name: 'seq', doc: "the agent's sequence number", get: (s) => num(s.seq) },
  { name: 'offset_ms', doc: 'offset, guest − host, ms', get: (s) => num(s.offsetMs) },
  { name: 'uncertainty_ms', doc: 'uncertainty of offset_ms, ± ms', get: (s) => num(s.uncertaintyMs) },
  { name: 'rtc_offset_s', doc: 'RTC reading (as if UTC) − host UTC, s', get: (s) => num(s.rtcOffsetS) },
  { name: 'ntp_synchronized', doc: "the guest's NTP daemon said synchronised", get: (s) => bool(s.ntpSynchronized) },
  { name: 'ntp_offset_ms', doc: "the guest's NTP daemon's own offset estimate, ms", get: (s) => num(s.ntpOffsetMs) },
  { name: 'status', doc: 'status at ingest', get: (s) => text(s.status) },
  ...CSV_CHECK_IDS.filter((id) => id !== 'libvirt-clock').map((id) => ({
    name: `check_${id}`,
    doc: `the ${id} check at ingest`,
    get: (s: HistoryRow) => text((s.checks as Record<string, CheckStatus | undefined>)[id]),
  })),
  { name: 'steps', doc: 'clock steps the agent saw since its previous report', get: (s) => num(s.stepCount) },
];

export const DETAIL_CSV_COLUMNS: readonly { name: string; doc: string }[] = Object.freeze(DETAIL_COLUMNS.map(({ name, doc }) => Object.freeze({ name, doc })));

const DAY_MS = 86_400_000;

/**
 * Every stored sample of the period, agent by agent in the export's row order, each agent read a
 * day at a time (a year of one agent at one a minute is half a million rows: never all at once).
 */
export async function* detailCsvChunks(store: Pick<Store, 'history'>, data: ExportData): AsyncGenerator<string> {
  yield DETAIL_COLUMNS.map((c) => csvField({ text: c.name })).join(',') + '\r\n';
  for (const r of data.rows) {
    for (let from = data.period.fromMs; from < data.period.toMs; from += DAY_MS) {
      const to = Math.min(from + DAY_MS, data.period.toMs);
      // One sample a second for a day is 86,400: more than any agent reports (the interval is ≥ 1 s).
      const page = await store.history(r.id, { fromMs: from, toMs: to, limit: 86_400 * 2 });
      if (page.truncated) throw new Error(`detail export: more than ${86_400 * 2} samples of ${r.id} in one day; refusing to leave any out`);
      // history() includes its `to`; the period, and so each day of it, is [from, to): a sample at
      // a day's end belongs to the next day (or, at the period's end, to no day of this export).
      const rows = page.rows.filter((s) => s.atMs < to);
      if (rows.length === 0) continue;
      yield rows.map((s) => DETAIL_COLUMNS.map((c) => csvField(c.get(s, r))).join(',')).join('\r\n') + '\r\n';
    }
  }
}
