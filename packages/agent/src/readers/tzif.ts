/**
 * TZif files (RFC 8536), the format of /etc/localtime and /usr/share/zoneinfo/*: enough to tell a
 * zone file from anything else and to compute the UTC offset, DST flag and abbreviation that glibc
 * applies at an instant — from the file itself, which is what the guest's processes use, even when
 * the file matches no name (a copied /etc/localtime from an older tzdata, domain.md §4.2).
 */

export interface TzType {
  utoffS: number;
  isDst: boolean;
  abbreviation: string;
}

export interface Tzif {
  version: number;
  /** Transition times (s since epoch) and the type in effect from each. */
  transitions: number[];
  typeIndexes: number[];
  types: TzType[];
  /** The POSIX TZ string of v2+ files (RFC 8536 §3.3), e.g. `CET-1CEST,M3.5.0,M10.5.0/3`. */
  footer: string | null;
}

/** Magic "TZif" and a version byte of NUL, '2', '3' or '4' (RFC 8536 §3.1). */
export function isTzif(buf: Uint8Array): boolean {
  return buf.length >= 44 && buf[0] === 0x54 && buf[1] === 0x5a && buf[2] === 0x69 && buf[3] === 0x66 && [0, 0x32, 0x33, 0x34].includes(buf[4]!);
}

export function parseTzif(input: Uint8Array): Tzif | null {
  if (!isTzif(input)) return null;
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const version = buf[4] === 0 ? 1 : buf[4]! - 0x30;
  const counts = (o: number) => ({
    isut: buf.readUInt32BE(o + 20),
    isstd: buf.readUInt32BE(o + 24),
    leap: buf.readUInt32BE(o + 28),
    time: buf.readUInt32BE(o + 32),
    type: buf.readUInt32BE(o + 36),
    char: buf.readUInt32BE(o + 40),
  });
  const blockSize = (c: ReturnType<typeof counts>, t: number) => c.time * t + c.time + c.type * 6 + c.char + c.leap * (t + 4) + c.isstd + c.isut;
  try {
    let o = 0;
    let c = counts(0);
    let tsize = 4;
    if (version >= 2) {
      // Skip the v1 block: the v2+ block has 64-bit times and is followed by the footer.
      o = 44 + blockSize(c, 4);
      if (buf.toString('latin1', o, o + 4) !== 'TZif') return null;
      c = counts(o);
      tsize = 8;
    }
    if (c.type === 0 || c.type > 256 || c.char === 0) return null;
    let p = o + 44;
    const transitions: number[] = [];
    for (let i = 0; i < c.time; i++, p += tsize) transitions.push(tsize === 8 ? Number(buf.readBigInt64BE(p)) : buf.readInt32BE(p));
    const typeIndexes: number[] = [];
    for (let i = 0; i < c.time; i++, p++) typeIndexes.push(buf[p]!);
    const raw: { utoff: number; dst: boolean; idx: number }[] = [];
    for (let i = 0; i < c.type; i++, p += 6) raw.push({ utoff: buf.readInt32BE(p), dst: buf[p + 4] === 1, idx: buf[p + 5]! });
    const chars = buf.toString('latin1', p, p + c.char);
    p += c.char + c.leap * (tsize + 4) + c.isstd + c.isut;
    const abbr = (idx: number) => {
      const end = chars.indexOf('\0', idx);
      return chars.slice(idx, end < 0 ? undefined : end);
    };
    const types = raw.map((r) => ({ utoffS: r.utoff, isDst: r.dst, abbreviation: abbr(r.idx) }));
    let footer: string | null = null;
    if (version >= 2 && buf[p] === 0x0a) {
      const end = buf.indexOf(0x0a, p + 1);
      if (end > p) footer = buf.toString('latin1', p + 1, end) || null;
    }
    if (typeIndexes.some((i) => i >= types.length)) return null;
    return { version, transitions, typeIndexes, types, footer };
  } catch {
    return null; // RangeError: truncated file
  }
}

interface PosixRule {
  kind: 'J' | 'n' | 'M';
  a: number;
  b: number;
  c: number;
  timeS: number;
}
interface PosixTz {
  std: string;
  stdOffS: number;
  dst: string | null;
  dstOffS: number;
  start: PosixRule | null;
  end: PosixRule | null;
}

/** hh[:mm[:ss]] with optional sign, as seconds. */
function hms(text: string): number {
  const m = /^([+-]?)(\d{1,3})(?::(\d{1,2}))?(?::(\d{1,2}))?$/.exec(text);
  if (!m) throw new Error('bad time');
  const s = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  return m[1] === '-' ? -s : s;
}

function parseRule(text: string): PosixRule {
  const [date, time] = text.split('/') as [string, string | undefined];
  const timeS = time === undefined ? 7200 : hms(time); // default 02:00:00 (POSIX)
  let m = /^J(\d{1,3})$/.exec(date);
  if (m) return { kind: 'J', a: Number(m[1]), b: 0, c: 0, timeS };
  m = /^(\d{1,3})$/.exec(date);
  if (m) return { kind: 'n', a: Number(m[1]), b: 0, c: 0, timeS };
  m = /^M(\d{1,2})\.(\d)\.(\d)$/.exec(date);
  if (m) return { kind: 'M', a: Number(m[1]), b: Number(m[2]), c: Number(m[3]), timeS };
  throw new Error('bad rule');
}

/** POSIX TZ string (POSIX XBD 8.3, with the RFC 8536 §3.3.1 extensions: hours up to 167, signed rule times). */
export function parsePosixTz(text: string): PosixTz | null {
  const m = /^(<[^>]+>|[A-Za-z]{3,})([+-]?\d{1,3}(?::\d{1,2}){0,2})(?:(<[^>]+>|[A-Za-z]{3,})([+-]?\d{1,3}(?::\d{1,2}){0,2})?(?:,([^,]+),([^,]+))?)?$/.exec(text);
  if (!m) return null;
  try {
    const name = (s: string) => s.replace(/^<|>$/g, '');
    const stdOffS = -hms(m[2]!); // POSIX offsets are west-positive
    const dst = m[3] ? name(m[3]) : null;
    const dstOffS = m[4] ? -hms(m[4]) : stdOffS + 3600;
    return { std: name(m[1]!), stdOffS, dst, dstOffS, start: m[5] ? parseRule(m[5]) : null, end: m[6] ? parseRule(m[6]) : null };
  } catch {
    return null;
  }
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** UTC ms of local midnight + rule time, for a rule in a year, given the offset in effect before it. */
function ruleInstantMs(r: PosixRule, year: number, offS: number): number {
  let dayMs: number;
  if (r.kind === 'J') dayMs = Date.UTC(year, 0, r.a + (isLeap(year) && r.a >= 60 ? 1 : 0));
  else if (r.kind === 'n') dayMs = Date.UTC(year, 0, 1 + r.a);
  else {
    const firstWday = new Date(Date.UTC(year, r.a - 1, 1)).getUTCDay();
    let day = 1 + ((r.c - firstWday + 7) % 7) + 7 * (r.b - 1);
    const daysInMonth = new Date(Date.UTC(year, r.a, 0)).getUTCDate();
    while (day > daysInMonth) day -= 7;
    dayMs = Date.UTC(year, r.a - 1, day);
  }
  return dayMs + (r.timeS - offS) * 1000;
}

export function posixTzAt(tz: PosixTz, atMs: number): TzType {
  const std = { utoffS: tz.stdOffS, isDst: false, abbreviation: tz.std };
  if (!tz.dst || !tz.start || !tz.end) return std;
  const year = new Date(atMs + tz.stdOffS * 1000).getUTCFullYear();
  const start = ruleInstantMs(tz.start, year, tz.stdOffS);
  const end = ruleInstantMs(tz.end, year, tz.dstOffS);
  const inDst = start < end ? atMs >= start && atMs < end : !(atMs >= end && atMs < start);
  return inDst ? { utoffS: tz.dstOffS, isDst: true, abbreviation: tz.dst } : std;
}

/** Offset, DST flag and abbreviation in effect at an instant (RFC 8536 §3.2, §3.3). */
export function tzifAt(tz: Tzif, atMs: number): TzType | null {
  const t = Math.floor(atMs / 1000);
  const n = tz.transitions.length;
  if (n === 0 || t >= tz.transitions[n - 1]!) {
    if (tz.footer) {
      const posix = parsePosixTz(tz.footer);
      if (posix) return posixTzAt(posix, atMs);
    }
    if (n === 0) return tz.types[0] ?? null;
    return tz.types[tz.typeIndexes[n - 1]!] ?? null;
  }
  if (t < tz.transitions[0]!) return tz.types[0] ?? null;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tz.transitions[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return tz.types[tz.typeIndexes[lo]!] ?? null;
}
