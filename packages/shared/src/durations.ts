/**
 * Durations: the unit constants every package uses, and the one parser of '24h', '90s', '1h30m'.
 * Pure (no I/O), so it lives in the core; both programs' option parsers and the export scheduler
 * use it.
 */
export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: SECOND_MS, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: WEEK_MS };

/**
 * '24h', '90s', '7d', '500ms', '1h30m', '1.5h' → ms (units ms, s, m, h, d, w, summed). Throws an
 * Error saying what a duration looks like for anything else, or for a total of zero.
 */
export function parseDuration(text: string): number {
  const t = String(text).trim();
  const re = /(\d{1,9}(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (t === '' || matched !== t.length || !(total > 0) || !Number.isSafeInteger(Math.round(total))) {
    throw new Error(`expected a duration such as 90s, 30m, 24h or 7d (units ms, s, m, h, d, w), got '${text}'`);
  }
  return total;
}
