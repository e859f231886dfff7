/**
 * One agent's stored samples from SQLite, in the two forms the history route answers: rows
 * (HistoryRow, one object per point) and columns (SampleColumns, one array per field,
 * history-columns.ts). Both read the samples table in its key order, newest first, and decode the
 * `flags` integer here rather than through its virtual columns (status, placed_by, ntp_sync,
 * checks: sqlite-schema.ts SAMPLE_FLAGS and the samples DDL), so that one agent's day is one walk
 * over a few dozen neighbouring leaf pages and one pass in JS.
 *
 * The columns form reads only what its answer holds: without detail, at_ms, the three measured
 * values, flags and steps (seq only when reports share an ms) — not `report_id`, whose virtual column
 * hex-encodes a blob per row, nor an object per point. The two forms give the same points, in the
 * same order, with the same `truncated` (test/collector/history-columns.test.ts).
 */
import type Database from 'better-sqlite3';
import { STORED_CHECK_IDS, type CheckStatus } from '@clockwatch/shared';
import { decodeChecks, decodeStatus } from './codes.js';
import { SAMPLE_FLAGS } from './sqlite-schema.js';
import { PLACED_BY, type HistoryPage, type HistoryRow, type PlacedBy, type TimeRange } from './types.js';
import { LEGEND, type SampleColumns } from '../history-columns.js';

type Stmt = Database.Statement;

/**
 * Raw sample rows of the statements below (arrays: half the cost of named-column objects for a
 * thousand points), all with the same first six columns, so one loop fills the columns of any.
 * The lean row has no seq: it orders only reports tied at one ms, which are rare, and a value
 * less a row is ~15% of the read (better-sqlite3 makes a JS value of each).
 */
type Lean = [flags: number, atMs: number, offsetMs: number | null, uncertaintyMs: number | null, rtcOffsetS: number | null, steps: number];
type LeanRow = [...Lean, ...more: unknown[]];
type SeqRow = [...Lean, seq: number, ...more: unknown[]];
type FullRow = [...Lean, seq: number, reportId: string, recvMs: number, guestMs: number, ntpOffsetMs: number | null];
const AT = 1;
const SEQ = 6;

const LEAN_COLUMNS = 'flags, at_ms, offset_ms, uncertainty_ms, rtc_offset_s, steps';
const SEQ_COLUMNS = `${LEAN_COLUMNS}, seq`;
const FULL_COLUMNS = `${SEQ_COLUMNS}, report_id, recv_ms, guest_ms, ntp_offset_ms`;

/**
 * History's order, at_ms DESC, seq DESC, then the later arrival first (tie DESC), from rows in
 * the table's key order (at_ms DESC, tie DESC, `rows`, at most `limit` of them): asking SQLite
 * for seq within each ms costs a sorter per ms, ~1/3 of the whole query for a day. Rows of one ms
 * are sorted by seq here (a stable sort keeps tie DESC among equal seqs); when the limit cut into
 * the last ms, that ms is read whole (`atMs(ms)`, tie DESC) first, so the cut falls in the full
 * order. Returns at most `limit` rows. `at` and `seq`: their positions in a row.
 */
export function historyOrder<R extends readonly unknown[]>(rows: R[], limit: number, atMs: (ms: number) => R[], at = AT, seq = SEQ): R[] {
  const atOf = (r: R) => r[at] as number;
  let out = rows;
  if (rows.length === limit && limit > 0) {
    const last = atOf(rows[rows.length - 1] as R);
    let start = rows.length - 1;
    while (start > 0 && atOf(rows[start - 1] as R) === last) start--;
    out = [...rows.slice(0, start), ...atMs(last)];
  }
  for (let i = 0; i < out.length; ) {
    let j = i + 1;
    while (j < out.length && atOf(out[j] as R) === atOf(out[i] as R)) j++;
    if (j - i > 1) {
      const group = out.slice(i, j).sort((a, b) => (b[seq] as number) - (a[seq] as number));
      for (let k = 0; k < group.length; k++) out[i + k] = group[k] as R;
    }
    i = j;
  }
  return out.length > limit ? out.slice(0, limit) : out;
}

/** Whether two neighbouring rows share an ms (their order then needs seq). */
function hasTies(rows: readonly LeanRow[]): boolean {
  for (let i = 1; i < rows.length; i++) if ((rows[i] as LeanRow)[AT] === (rows[i - 1] as LeanRow)[AT]) return true;
  return false;
}

// The virtual columns of the samples table (sqlite-schema.ts), decoded from `flags` in JS.
// `status`: flags & 7 (codes.ts encodeStatus).
const statusOf = (flags: number): number => flags & 7;
/** `placed_by`: the PLACED_BY index in bits 3–5; 7 (rows written before schema 2) is not known. */
const placedCodeOf = (flags: number): number => (flags >> SAMPLE_FLAGS.placedShift) & 7;
/** `ntp_sync`: bits 6–7, 0 not known, 1 false, 2 true (nullif(…, 0) − 1, read as a boolean). */
function ntpSyncOf(flags: number): boolean | null {
  const v = (flags >> SAMPLE_FLAGS.ntpShift) & 3;
  return v === 0 ? null : v !== 1;
}
/** `checks`: bit 9 up. Division, not `>>`: with ten checks the field reaches bit 39, past JS's 32-bit shifts. */
const checksOf = (flags: number): number => Math.floor(flags / 2 ** SAMPLE_FLAGS.checksShift);

/** Rows written before placed_by was kept: placed by the probe, or (no offset) at receipt. */
function placedByOf(code: number, offsetMs: number | null): PlacedBy {
  return code === SAMPLE_FLAGS.placedUnknown ? (offsetMs === null ? 'receipt' : 'probe') : (PLACED_BY[code] ?? 'receipt');
}

// Legend indexes of every code, so the columns form does one array lookup a point
// (what sampleColumns gives for the row form's strings: -1 for a string not in the legend).
const STATUS_LEGEND = Array.from({ length: 8 }, (_, n) => LEGEND.status.indexOf(decodeStatus(n)));
const placedLegend = (measured: boolean) => Array.from({ length: 8 }, (_, p) => LEGEND.placedBy.indexOf(placedByOf(p, measured ? 0 : null)));
const PLACED_LEGEND_MEASURED = placedLegend(true);
const PLACED_LEGEND_UNMEASURED = placedLegend(false);

export class SqliteHistoryReader {
  private readonly lean: Stmt;
  private readonly seq: Stmt;
  private readonly seqAt: Stmt;
  private readonly full: Stmt;
  private readonly fullAt: Stmt;

  constructor(db: Database.Database) {
    // In the table's key order, newest first, with no sort (historyOrder puts one ms's reports in seq order).
    const range = 'FROM samples WHERE agent_key = ? AND at_ms >= ? AND at_ms <= ? ORDER BY at_ms DESC, tie DESC LIMIT ?';
    const at = 'FROM samples WHERE agent_key = ? AND at_ms = ? ORDER BY tie DESC';
    this.lean = db.prepare(`SELECT ${LEAN_COLUMNS} ${range}`).raw();
    this.seq = db.prepare(`SELECT ${SEQ_COLUMNS} ${range}`).raw();
    this.seqAt = db.prepare(`SELECT ${SEQ_COLUMNS} ${at}`).raw();
    this.full = db.prepare(`SELECT ${FULL_COLUMNS} ${range}`).raw();
    this.fullAt = db.prepare(`SELECT ${FULL_COLUMNS} ${at}`).raw();
  }

  /** The latest `limit` rows of the range in history's order, newest first, and whether the range held more. */
  private read<R extends SeqRow>(all: Stmt, at: Stmt, key: number, range: TimeRange): { raw: R[]; truncated: boolean } {
    const raw = historyOrder(all.all(key, range.fromMs, range.toMs, range.limit + 1) as R[], range.limit + 1, (ms) => at.all(key, ms) as R[]);
    return cut(raw, range.limit);
  }

  /**
   * read() without seq: in the key order, rows of different ms are already in history's order.
   * When two neighbours share an ms, the range is read again with seq. (Without neighbours that
   * share an ms, a cut into the last ms drops only the row past the limit: nothing kept moves.)
   */
  private readLean(key: number, range: TimeRange): { raw: LeanRow[]; truncated: boolean } {
    const raw = this.lean.all(key, range.fromMs, range.toMs, range.limit + 1) as LeanRow[];
    return hasTies(raw) ? this.read<SeqRow>(this.seq, this.seqAt, key, range) : cut(raw, range.limit);
  }

  rows(key: number, range: TimeRange): HistoryPage {
    const { raw, truncated } = this.read<FullRow>(this.full, this.fullAt, key, range);
    const n = raw.length;
    const rows = new Array<HistoryRow>(n);
    for (let i = 0; i < n; i++) {
      const r = raw[n - 1 - i] as FullRow;
      const flags = r[0];
      rows[i] = {
        reportId: r[7],
        seq: r[6],
        atMs: r[1],
        receivedAtMs: r[8],
        guestEpochMs: r[9],
        offsetMs: r[2],
        uncertaintyMs: r[3],
        rtcOffsetS: r[4],
        ntpSynchronized: ntpSyncOf(flags),
        ntpOffsetMs: r[10],
        status: decodeStatus(statusOf(flags)),
        checks: decodeChecks(checksOf(flags)),
        stepCount: r[5],
        placedBy: placedByOf(placedCodeOf(flags), r[2]),
      };
    }
    return { truncated, rows };
  }

  /** The same points as rows(), straight into columns (time order); `detail` adds the rest of the row form. */
  columns(key: number, range: TimeRange, detail: boolean): { truncated: boolean; columns: SampleColumns } {
    const { raw, truncated } = detail ? this.read<FullRow>(this.full, this.fullAt, key, range) : this.readLean(key, range);
    const n = raw.length;
    const atMs: number[] = [];
    const offsetMs: (number | null)[] = [];
    const uncertaintyMs: (number | null)[] = [];
    const rtcOffsetS: (number | null)[] = [];
    const status: number[] = [];
    const ntpSynchronized: (boolean | null)[] = [];
    const stepCount: number[] = [];
    const placedBy: number[] = [];
    // raw is newest first: point i is raw[n - 1 - i]. Arrays grown by push, not new Array(n): a
    // holey array (one made with a length) takes JSON.stringify's slow path, ~30% of its time here.
    for (let i = 0; i < n; i++) {
      const r = raw[n - 1 - i] as LeanRow;
      const flags = r[0];
      const offset = r[2];
      atMs.push(r[1]);
      offsetMs.push(offset);
      uncertaintyMs.push(r[3]);
      rtcOffsetS.push(r[4]);
      status.push(STATUS_LEGEND[statusOf(flags)] as number);
      ntpSynchronized.push(ntpSyncOf(flags));
      stepCount.push(r[5]);
      placedBy.push((offset === null ? PLACED_LEGEND_UNMEASURED : PLACED_LEGEND_MEASURED)[placedCodeOf(flags)] as number);
    }
    const columns: SampleColumns = { atMs, offsetMs, uncertaintyMs, rtcOffsetS, status, ntpSynchronized, stepCount, placedBy };
    if (detail) {
      const full = raw as FullRow[];
      const seq: number[] = [];
      const reportId: string[] = [];
      const receivedAtMs: number[] = [];
      const guestEpochMs: number[] = [];
      const ntpOffsetMs: (number | null)[] = [];
      const checks: Record<string, (CheckStatus | null)[]> = {};
      for (const id of STORED_CHECK_IDS) checks[id] = [];
      for (let i = 0; i < n; i++) {
        const r = full[n - 1 - i] as FullRow;
        seq.push(r[6]);
        reportId.push(r[7]);
        receivedAtMs.push(r[8]);
        guestEpochMs.push(r[9]);
        ntpOffsetMs.push(r[10]);
        const decoded = decodeChecks(checksOf(r[0])) as Record<string, CheckStatus | undefined>;
        for (const id of STORED_CHECK_IDS) (checks[id] as (CheckStatus | null)[]).push(decoded[id] ?? null);
      }
      Object.assign(columns, { seq, reportId, receivedAtMs, guestEpochMs, ntpOffsetMs, checks });
    }
    return { truncated, columns };
  }
}

/** The first `limit` of rows read with limit + 1, and whether there was one more. */
function cut<R>(raw: R[], limit: number): { raw: R[]; truncated: boolean } {
  const truncated = raw.length > limit;
  if (truncated) raw.pop();
  return { raw, truncated };
}
