/**
 * The period of an on-demand export, pure: the rules the API (`POST /v1/exports`) and the
 * `export` command share, and the reading of the API's body. Every refusal names the field it is
 * about, so a client can say which of its inputs was wrong.
 *
 * The rules: `from` < `to` (the period is [from, to), model.ts); `to` not after now (the state at
 * the end of a period is not known before its end); at most MAX_EXPORT_PERIOD_MS long.
 *
 * Why 366 days: the longest period an audit asks for is a year (a leap year has 366 days), and
 * the hourly rollups an export is built from are kept 400 days by default
 * (--rollup-retention-days), so a year is there to export. Longer asks are refused rather than
 * exported half-empty, and a run holds the export queue (the scheduler's runs wait behind it),
 * so it should not be unbounded. Raw samples are kept 30 days (--retention-days): in an older
 * period the worst sample is only its hour's rollup, which the CSV says (worst_at_utc empty).
 */
import { DAY_MS } from '@clockwatch/shared';
import { FieldError, instantFromJson } from '../instant.js';
import type { ExportPeriod } from './model.js';

export const MAX_EXPORT_PERIOD_MS = 366 * DAY_MS;


const iso = (ms: number) => new Date(ms).toISOString();

/** Checks a period against the rules above; `names` are what the caller's inputs are called. */
export function checkExportPeriod(p: ExportPeriod, nowMs: number, names: { from: string; to: string } = { from: 'from', to: 'to' }): ExportPeriod {
  if (!(p.toMs > p.fromMs)) throw new FieldError(names.to, `${iso(p.toMs)} is not after ${names.from} ${iso(p.fromMs)}: the period is [${names.from}, ${names.to})`);
  if (p.toMs > nowMs) throw new FieldError(names.to, `the period ends ${iso(p.toMs)}, in the future (now ${iso(nowMs)}): the state at its end is not known yet`);
  if (p.toMs - p.fromMs > MAX_EXPORT_PERIOD_MS) {
    const days = (p.toMs - p.fromMs) / DAY_MS;
    throw new FieldError(names.from, `${iso(p.fromMs)} is ${days.toFixed(days < 1000 ? 1 : 0)} days before ${names.to}: a period is at most ${MAX_EXPORT_PERIOD_MS / DAY_MS} days`);
  }
  return p;
}

/** The fields of the body: `from`/`to` (ms or ISO 8601), or the older `fromMs`/`toMs` (ms); `detail`. */
export const EXPORT_BODY_FIELDS = ['from', 'to', 'fromMs', 'toMs', 'detail'] as const;

/** What a POST /v1/exports body asks for. */
export interface ExportRequest {
  /** null: none given (no body, `null` or `{}`): the caller's default, the last full period. */
  period: ExportPeriod | null;
  /** Also the full-resolution CSV of every sample of the period (`<name>-detail.csv`). */
  detail: boolean;
}

/** Reads and checks a POST /v1/exports body. Throws FieldError (instant.ts) naming the field. */
export function exportRequestFromBody(body: unknown, nowMs: number): ExportRequest {
  if (body === undefined || body === null) return { period: null, detail: false };
  if (typeof body !== 'object' || Array.isArray(body)) throw new FieldError('body', `expected a JSON object {"from": …, "to": …}, got ${Array.isArray(body) ? 'an array' : `a ${typeof body}`}`);
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).find((k) => !(EXPORT_BODY_FIELDS as readonly string[]).includes(k));
  if (unknown !== undefined) throw new FieldError(unknown.slice(0, 40), `unknown field: the body takes from and to (ms since the epoch or ISO 8601) or neither, and detail`);
  if (b.detail !== undefined && typeof b.detail !== 'boolean') throw new FieldError('detail', `expected true or false, got ${b.detail === null ? 'null' : `a ${typeof b.detail}`}`);
  const bound = (isoName: 'from' | 'to', msName: 'fromMs' | 'toMs'): { name: string; ms: number } | null => {
    if (b[isoName] !== undefined && b[msName] !== undefined) throw new FieldError(msName, `give ${isoName} or ${msName}, not both`);
    if (b[msName] !== undefined) {
      if (typeof b[msName] !== 'number') throw new FieldError(msName, `expected a number of ms since the epoch, got ${b[msName] === null ? 'null' : `a ${typeof b[msName]}`}`);
      return { name: msName, ms: instantFromJson(b[msName], msName) };
    }
    return b[isoName] === undefined ? null : { name: isoName, ms: instantFromJson(b[isoName], isoName) };
  };
  const from = bound('from', 'fromMs');
  const to = bound('to', 'toMs');
  const detail = b.detail === true;
  if (from === null && to === null) return { period: null, detail };
  if (from === null) throw new FieldError('from', `missing: give both from and to, or neither (the last full period)`);
  if (to === null) throw new FieldError('to', `missing: give both from and to, or neither (the last full period)`);
  return { period: checkExportPeriod({ fromMs: from.ms, toMs: to.ms }, nowMs, { from: from.name, to: to.name }), detail };
}
