/**
 * The one home of instant parsing: query parameters (`?from=&to=`), the body of POST /v1/exports
 * and the `export` command's --from/--to all take an instant as ms since the epoch or as an
 * ISO 8601 date / date-time, and all read it here.
 *
 * Strict on purpose: `Date.parse` takes "2026-02-30" as 2 March and a date-time without a zone
 * as the collector's local time, so an audit period typed by hand would silently be another one.
 * Accepted: RFC 3339 §5.6 date-times (`2026-11-30T00:00:00Z`, `…+01:00`, fraction optional,
 * seconds optional, `t`/`z` or a space as RFC 3339 allows) and full dates (`2026-11-30`, UTC
 * midnight, as ECMA-262 §21.4.3.2 reads a date-only form). A date-time must name its offset.
 * A leap second (`:60`) is refused: an ECMAScript time value cannot hold it (ECMA-262 §21.4.1.1).
 */

/** The range of an ECMAScript Date (ECMA-262 §21.4.1.22, TimeClip): ±8.64e15 ms from the epoch. */
export const MAX_INSTANT_MS = 8.64e15;

/** A refused input value; `field` is what the caller calls it (`from`, `to`, `--from`). */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'FieldError';
  }
}

const MS_TEXT = /^-?\d+(\.\d+)?$/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2})))?$/;
const EXPECTED = 'expected ms since the epoch or an ISO 8601 date-time with its offset (2026-11-30T00:00:00Z)';

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** ISO 8601 text → ms, or a message saying what is wrong with it. */
function parseIso(text: string): number | string {
  const m = ISO.exec(text);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?$/.test(text)) return `'${text}' has no offset: add Z (UTC) or ±hh:mm`;
    return `${EXPECTED}, got '${text.slice(0, 40)}'`;
  }
  const [, y, mo, d, hh, mi, ss, frac, z, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12) return `'${text}': month ${mo} does not exist`;
  if (day < 1 || day > daysIn(year, month)) return `'${text}': ${y}-${mo} has no day ${d}`;
  if (hh === undefined) return Date.UTC(year, month - 1, day);
  if (z === undefined && sign === undefined) return `'${text}' has no offset: add Z (UTC) or ±hh:mm`;
  const hour = Number(hh);
  const minute = Number(mi);
  const second = ss === undefined ? 0 : Number(ss);
  if (hour > 23 || minute > 59) return `'${text}': no such time of day`;
  if (second === 60) return `'${text}': a leap second cannot be held by a time value; use :59.999 or the next minute`;
  if (second > 59) return `'${text}': no such second`;
  let offsetMin = 0;
  if (sign !== undefined) {
    if (Number(oh) > 23 || Number(om) > 59) return `'${text}': offset ${sign}${oh}:${om} does not exist`;
    offsetMin = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  }
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const dt = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  dt.setUTCFullYear(year);
  const fracMs = frac === undefined ? 0 : Number(`0.${frac}`) * 1000;
  return dt.getTime() + fracMs - offsetMin * 60_000;
}

/** Text (ms or ISO 8601) → ms since the epoch; throws FieldError naming `field`. */
export function instantFromText(text: string, field: string): number {
  const v = text.trim();
  const n = MS_TEXT.test(v) ? Number(v) : parseIso(v);
  if (typeof n === 'string') throw new FieldError(field, n);
  if (!Number.isFinite(n) || Math.abs(n) > MAX_INSTANT_MS) throw new FieldError(field, `${v.slice(0, 40)} is outside ±${MAX_INSTANT_MS} ms from the epoch`);
  return n;
}

/** A JSON value (a number of ms, or text as instantFromText takes it) → ms; throws FieldError naming `field`. */
export function instantFromJson(value: unknown, field: string): number {
  if (typeof value === 'string') return instantFromText(value, field);
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || Math.abs(value) > MAX_INSTANT_MS) throw new FieldError(field, `${value} is outside ±${MAX_INSTANT_MS} ms from the epoch`);
    return value;
  }
  throw new FieldError(field, `${EXPECTED}, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`);
}

/** A query instant (absent stays absent); throws FieldError naming `name`. */
export function parseInstant(value: string | undefined, name: string): number | undefined {
  return value === undefined ? undefined : instantFromText(value, name);
}
