/**
 * Timezone helpers built on Intl only (no Date.now(), no files): the instant is always passed in.
 * Abbreviations are never parsed back into zones (CST is China, US Central and Cuba); offsets are.
 */

const formatters = new Map<string, Intl.DateTimeFormat | null>();

function offsetFormatter(zone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    } catch {
      f = null; // RangeError: invalid time zone
    }
    if (formatters.size > 1000) formatters.clear();
    formatters.set(zone, f);
  }
  return f;
}

/** True when Intl knows the zone (IANA name or alias). */
export function isKnownZone(zone: string): boolean {
  return zone.length > 0 && zone.length <= 128 && offsetFormatter(zone) !== null;
}

/** Parses Intl's longOffset ('GMT', 'GMT+08:00', 'GMT-03:30', 'GMT+05:45') into seconds east of UTC. */
export function parseGmtOffset(text: string): number | null {
  if (text === 'GMT' || text === 'UTC') return 0;
  const m = /^(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$/.exec(text);
  if (!m) return null;
  const sign = m[1] === '-' ? -1 : 1;
  return sign * (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0));
}

/**
 * Offsets change only at transitions, which tzdata places on whole minutes; answers are kept per
 * zone and minute. formatToParts costs ~10 µs and a collector asks for the same few zones at the
 * same few minutes (now, and 1 January and 1 July of the year for the DST checks) for every report
 * it ingests: one entry per zone would be evicted by each of those three instants in turn.
 */
const offsets = new Map<string, number | null>();

/** UTC offset of an IANA zone at an instant, seconds east of UTC; null for an unknown zone. */
export function zoneOffsetS(zone: string, atMs: number): number | null {
  const minute = Math.floor(atMs / 60_000);
  const key = `${minute}\u0000${zone}`;
  const hit = offsets.get(key);
  if (hit !== undefined) return hit;
  const f = offsetFormatter(zone);
  let offsetS: number | null = null;
  if (f && Number.isFinite(atMs)) {
    const part = f.formatToParts(new Date(atMs)).find((p) => p.type === 'timeZoneName');
    offsetS = part ? parseGmtOffset(part.value) : null;
  }
  if (offsets.size >= 4096) offsets.clear();
  offsets.set(key, offsetS);
  return offsetS;
}

const standardOffsets = new Map<string, number | null>();

/**
 * The zone's standard offset in the year of the instant: the smaller of the offsets at the two
 * solstice-side dates (DST moves clocks forward in both hemispheres). Zones with "negative DST"
 * in tzdata (Europe/Dublin) are reported by ICU with the conventional summer-time shift.
 */
export function zoneStandardOffsetS(zone: string, atMs: number): number | null {
  const year = new Date(atMs).getUTCFullYear();
  const key = `${zone}\u0000${year}`;
  const cached = standardOffsets.get(key);
  if (cached !== undefined) return cached;
  const f = offsetFormatter(zone);
  const at = (ms: number) => {
    const part = f?.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName');
    return part ? parseGmtOffset(part.value) : null;
  };
  const jan = at(Date.UTC(year, 0, 1));
  const jul = at(Date.UTC(year, 6, 1));
  const std = jan === null || jul === null ? null : Math.min(jan, jul);
  if (standardOffsets.size > 1000) standardOffsets.clear();
  standardOffsets.set(key, std);
  return std;
}

/**
 * The zone's summer (DST) offset of that year — the larger of its January and July offsets — or
 * null when the zone has no DST. An RTC kept in local time by a guest that was off when DST ended
 * still reads this offset in winter (hwclock(8): "the Hardware Clock … is not adjusted for DST
 * changes" unless the system writes it again).
 */
export function zoneDaylightOffsetS(zone: string, atMs: number): number | null {
  const year = new Date(atMs).getUTCFullYear();
  const jan = zoneOffsetS(zone, Date.UTC(year, 0, 1));
  const jul = zoneOffsetS(zone, Date.UTC(year, 6, 1));
  if (jan === null || jul === null || jan === jul) return null;
  return Math.max(jan, jul);
}

/** Whether DST is in effect in a zone at an instant; null for an unknown zone. */
export function isDst(zone: string, atMs: number): boolean | null {
  const now = zoneOffsetS(zone, atMs);
  const std = zoneStandardOffsetS(zone, atMs);
  if (now === null || std === null) return null;
  return now !== std;
}

/** 'UTC+08:00', 'UTC-03:30', 'UTC' — for reasons and reports. */
export function formatUtcOffset(offsetS: number): string {
  if (offsetS === 0) return 'UTC';
  const sign = offsetS < 0 ? '-' : '+';
  const abs = Math.abs(Math.round(offsetS));
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const s = abs % 60;
  const base = `UTC${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
  return s ? `${base}:${String(s).padStart(2, '0')}` : base;
}

export type ZoneAgreement =
  | { ok: true; expectedOffsetS: number }
  | { ok: false; reason: 'unknown-zone' }
  | { ok: false; reason: 'offset-mismatch'; expectedOffsetS: number };

/** Checks that a reported zone name and the offset the guest applies agree at an instant. */
export function checkZoneAgreement(name: string, offsetS: number, atMs: number): ZoneAgreement {
  const expected = zoneOffsetS(name, atMs);
  if (expected === null) return { ok: false, reason: 'unknown-zone' };
  if (expected !== offsetS) return { ok: false, reason: 'offset-mismatch', expectedOffsetS: expected };
  return { ok: true, expectedOffsetS: expected };
}

/**
 * Canonical comparison of zone names: ICU canonicalises aliases (Asia/Kolkata ↔ Asia/Calcutta,
 * Europe/Kyiv ↔ Europe/Kiev, Etc/UTC ↔ UTC), so two names are the same zone when Intl resolves
 * them to the same id.
 */
export function sameZone(a: string, b: string): boolean {
  if (a === b) return true;
  const fa = offsetFormatter(a);
  const fb = offsetFormatter(b);
  if (!fa || !fb) return false;
  return fa.resolvedOptions().timeZone === fb.resolvedOptions().timeZone;
}
