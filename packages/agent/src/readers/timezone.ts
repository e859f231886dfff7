/**
 * The guest's timezone, from every source that names one (domain.md §4), so that disagreements are
 * visible rather than resolved silently:
 *   TZ (the agent's environment; only meaningful when reading the running system, root `/`),
 *   /etc/localtime as a symlink (one hop, as timedatectl reports it, and fully resolved, as
 *   Node/ICU do), /etc/localtime as a copied TZif file (named by content under the root's
 *   zoneinfo tree, every match reported), /etc/timezone (Debian), /etc/sysconfig/clock ZONE= (EL6).
 * The offset, DST flag and abbreviation come from the TZif file glibc uses when the zone comes from
 * /etc/localtime (or from the zone's file under the root), else from Intl — at the report's instant.
 */
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { ErrorCodes, formatUtcOffset, isDst, isKnownZone, sameZone, zoneOffsetS, type ErrorInfo, type TimezoneSection, type TimezoneSourceInfo } from '@clockwatch/shared';
import { fsErrorInfo, readOptional, underRoot, type ReaderContext } from '../context.js';
import { parseSysconfigClock } from './rtc-mode.js';
import { isTzif, parsePosixTz, parseTzif, posixTzAt, tzifAt, type Tzif, type TzType } from './tzif.js';
import { findZoneMatches, realpathUnderRoot, ZONEINFO_DIR, zoneNameFromPath, type ZoneMatch } from './zoneinfo.js';

export type LocaltimeFacts =
  | { kind: 'symlink'; target: string; resolved: string | null; tzif: Tzif | null }
  | { kind: 'file'; tzif: Tzif | null; match: ZoneMatch | null }
  | { kind: 'missing' }
  | { kind: 'error'; error: ErrorInfo };

export interface TimezoneFacts {
  tzEnv?: string | undefined;
  localtime: LocaltimeFacts;
  etcTimezone: string | null;
  sysconfigZone: string | null;
  /** TZif of a zone by name from the root's zoneinfo tree (offsets for names not from /etc/localtime). */
  zoneFile?: (name: string) => Tzif | null;
}

/** /etc/timezone: one line, the zone name (Debian); comments and blank lines ignored. */
export function parseEtcTimezone(text: string): string | null {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('#'));
  return line && /^[A-Za-z0-9_+\-/]+$/.test(line) ? line : null;
}

/** TZ=":Europe/Berlin" → Europe/Berlin; a file (":/etc/localtime") or a POSIX string names no zone. */
/** The zone name TZ would load from the zoneinfo directory (tzset(3): `:name` or `name`), before any check. */
export function tzEnvCandidate(raw: string): string | null {
  const v = raw.startsWith(':') ? raw.slice(1) : raw;
  if (!v || v.startsWith('/')) return null;
  return v.replace(/^(posix|right)\//, '');
}

/**
 * What glibc makes of TZ (tzset(3)): a name is loaded from the guest's own zoneinfo directory when
 * a file of that name exists there; otherwise the value is read as a POSIX TZ rule (`CST-8` is
 * UTC+08:00), and a bare abbreviation without an offset (`CST`, `BST`, `IST`) is no rule at all:
 * glibc then runs on UTC (+0000) under that abbreviation. So `TZ=CST` is never US Central.
 * `zoneFile` looks a name up in the guest's tzdata; without it (pure callers) only names Intl
 * knows that are not bare abbreviations count.
 */
export function zoneFromTzEnv(raw: string, zoneFile?: (name: string) => Tzif | null, atMs: number = Date.now()): { name: string | null; detail: string; fixed?: TzType } {
  const v = raw.startsWith(':') ? raw.slice(1) : raw;
  if (v.startsWith('/')) return { name: null, detail: `TZ=${raw} points at a file (Node loses DST with TZ=:/etc/localtime, nodejs/node#37271)` };
  const stripped = tzEnvCandidate(raw);
  const bareAbbreviation = stripped !== null && /^[A-Z]{2,5}$/.test(stripped) && stripped !== 'UTC' && stripped !== 'GMT';
  if (stripped) {
    const inGuestTzdata = zoneFile ? zoneFile(stripped) !== null : isKnownZone(stripped) && !bareAbbreviation;
    if (inGuestTzdata) return { name: stripped, detail: `TZ=${raw}` };
  }
  if (!raw.startsWith(':')) {
    const posix = parsePosixTz(v);
    if (posix) {
      const at = posixTzAt(posix, atMs);
      return { name: null, detail: `TZ=${raw} is a POSIX TZ rule, not an IANA zone: ${formatUtcOffset(at.utoffS)} (${at.abbreviation})`, fixed: at };
    }
    if (/^[A-Za-z]{3,}$/.test(v)) {
      return {
        name: null,
        detail: `TZ=${raw} is not a zone in the guest's tzdata and has no offset: glibc runs on UTC+00:00 under the abbreviation ${v} (abbreviations are ambiguous: CST is China, US Central and Cuba)`,
        fixed: { utoffS: 0, isDst: false, abbreviation: v },
      };
    }
  }
  return { name: null, detail: `TZ=${raw} is not an IANA zone name (POSIX rule or unknown)` };
}

function agrees(a: string, b: string, aliases: readonly string[]): boolean {
  return a === b || aliases.includes(a) || sameZone(a, b);
}

/** Pure: picks the zone and lists what each source said and where they disagree. */
export function decideTimezone(f: TimezoneFacts, atMs: number): TimezoneSection {
  const sources: TimezoneSourceInfo[] = [];
  const disagreements: string[] = [];
  let chosen: { name: string | null; source: string; tzif: Tzif | null; fixed?: TzType } | null = null;
  let matches: string[] | undefined;

  if (f.tzEnv !== undefined) {
    const z = zoneFromTzEnv(f.tzEnv, f.zoneFile, atMs);
    sources.push({ source: 'TZ', name: z.name, detail: z.detail });
    if (z.name) chosen = { name: z.name, source: 'TZ', tzif: null };
    else if (z.fixed) {
      chosen = { name: null, source: 'TZ', tzif: null, fixed: z.fixed };
      disagreements.push(`${z.detail}; it overrides /etc/localtime for every process that inherits it`);
    }
  }

  const lt = f.localtime;
  let ltName: string | null = null;
  if (lt.kind === 'symlink') {
    const hop = zoneNameFromPath(lt.target);
    const full = lt.resolved ? zoneNameFromPath(lt.resolved) : null;
    sources.push({ source: '/etc/localtime symlink', name: hop?.name ?? null, detail: `-> ${lt.target}` });
    sources.push({ source: '/etc/localtime realpath', name: full?.name ?? null, detail: lt.resolved ?? 'does not resolve under the root' });
    // right/ zones count the leap seconds in time_t (tzfile(5)); with a POSIX system clock local
    // time is then off by the leap seconds since 1972: 27 s since 2017-01-01 (IERS Bulletin C).
    if (hop?.right || full?.right) disagreements.push('/etc/localtime is a right/ zone: it counts leap seconds, so local time shown is 27 s off (the leap seconds inserted since 1972); link a zone outside right/');
    if (!lt.resolved) disagreements.push(`/etc/localtime -> ${lt.target} is a dangling link: glibc falls back to UTC`);
    // A link that resolves to a zone file names a zone (its tzif is that file): Intl is asked only
    // when it does not (ICU's zone data would stay resident, see below).
    ltName = hop && (lt.tzif !== null || isKnownZone(hop.name)) ? hop.name : (full?.name ?? hop?.name ?? null);
    if (!chosen && !lt.resolved) chosen = { name: 'UTC', source: 'default', tzif: null };
    else if (!chosen && (ltName || lt.tzif)) chosen = { name: ltName, source: '/etc/localtime symlink', tzif: lt.tzif };
  } else if (lt.kind === 'file') {
    const names = lt.match?.names ?? [];
    const hint = [f.sysconfigZone, f.etcTimezone].find((h): h is string => !!h && names.includes(h));
    // A copy of UTC matches UTC, Etc/UTC, Etc/UCT, Zulu …: name it Etc/UTC (tzdata's canonical
    // zone; UCT is a backward-compatibility link).
    const utcName = names.includes('Etc/UTC') && names.some((n) => /^(Etc\/)?(UTC|UCT|Zulu|Universal)$/.test(n)) ? 'Etc/UTC' : null;
    ltName = hint ?? utcName ?? lt.match?.canonical[0] ?? names[0] ?? null;
    const detail = !lt.tzif
      ? 'a regular file that is not TZif'
      : names.length === 0
        ? `copied zone file matching no file under ${ZONEINFO_DIR}${lt.tzif.footer ? ` (rule ${lt.tzif.footer})` : ''}`
        : `copied zone file, identical to ${names.slice(0, 8).join(', ')}${names.length > 8 ? ` and ${names.length - 8} more` : ''}`;
    sources.push({ source: '/etc/localtime content', name: ltName, detail });
    if (names.length > 1) matches = names.slice(0, 64);
    if (!chosen && lt.tzif) chosen = { name: ltName, source: '/etc/localtime content', tzif: lt.tzif };
  } else if (lt.kind === 'missing') {
    sources.push({ source: '/etc/localtime', name: null, detail: 'absent (glibc uses UTC)' });
  } else {
    sources.push({ source: '/etc/localtime', name: null, detail: lt.error.message });
  }

  if (f.sysconfigZone !== null) {
    sources.push({ source: '/etc/sysconfig/clock', name: f.sysconfigZone, detail: `ZONE=${f.sysconfigZone}` });
    if (!chosen) chosen = { name: f.sysconfigZone, source: '/etc/sysconfig/clock', tzif: null };
  }
  if (f.etcTimezone !== null) {
    sources.push({ source: '/etc/timezone', name: f.etcTimezone });
    if (!chosen) chosen = { name: f.etcTimezone, source: '/etc/timezone', tzif: null };
  }
  if (!chosen && lt.kind === 'missing') chosen = { name: 'UTC', source: 'default', tzif: null };
  if (!chosen) {
    const error = lt.kind === 'error' ? lt.error : { code: ErrorCodes.PARSE, message: 'no source names a timezone and /etc/localtime is not a zone file' };
    return { error };
  }

  // Every named source must name the chosen zone (or one byte-identical to it).
  const aliases = matches ?? [];
  const chosenName = chosen.name;
  const reported = new Set<string>();
  for (const s of sources) {
    if (!s.name || !chosenName || s.source === chosen.source) continue;
    if (s.source === '/etc/localtime realpath' && (chosen.source === '/etc/localtime symlink' || reported.has(s.name))) continue;
    reported.add(s.name);
    if (!agrees(s.name, chosenName, aliases)) disagreements.push(`${s.source} says ${s.name}, but ${chosen.source} says ${chosenName}`);
  }

  let info: TzType | null = chosen.fixed ?? (chosen.tzif ? tzifAt(chosen.tzif, atMs) : null);
  if (!info && chosenName) {
    const file = f.zoneFile?.(chosenName) ?? null;
    info = file ? tzifAt(file, atMs) : null;
  }
  // Intl only when no zone file answers: the guest's zone file is what its libc applies, and the
  // collector checks the name against the offset with its own tz database. Loading ICU's zone data
  // costs the agent ~8 MiB of RSS for as long as it runs (bench/README.md, "Agent memory").
  const intlOffset = !info && chosenName ? zoneOffsetS(chosenName, atMs) : null;
  const offsetS = info?.utoffS ?? intlOffset;
  if (offsetS === null) {
    return { error: { code: ErrorCodes.PARSE, message: `${chosen.source} names ${chosenName ?? 'no zone'}, which neither a zone file nor Intl knows` } };
  }
  const dst = info ? info.isDst : chosenName ? isDst(chosenName, atMs) : null;
  const section: TimezoneSection = {
    name: chosenName,
    offsetS,
    abbreviation: info?.abbreviation ?? null,
    dst,
    source: chosen.source,
    sources: sources.slice(0, 16),
    disagreements: disagreements.slice(0, 16),
  };
  if (matches) section.matches = matches;
  return section;
}

async function readTzifFile(root: string, guestPath: string): Promise<Tzif | null> {
  try {
    return parseTzif(readFileSync(underRoot(root, guestPath)));
  } catch {
    return null;
  }
}

async function readLocaltime(root: string): Promise<LocaltimeFacts> {
  const p = '/etc/localtime';
  let st;
  try {
    st = lstatSync(underRoot(root, p));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'error', error: fsErrorInfo(err, p) };
  }
  if (st.isSymbolicLink()) {
    const target = readlinkSync(underRoot(root, p));
    const resolved = await realpathUnderRoot(root, p);
    return { kind: 'symlink', target, resolved, tzif: resolved ? await readTzifFile(root, resolved) : null };
  }
  let content: Buffer;
  try {
    content = readFileSync(underRoot(root, p));
  } catch (err) {
    return { kind: 'error', error: fsErrorInfo(err, p) };
  }
  if (!isTzif(content)) return { kind: 'file', tzif: null, match: null };
  return { kind: 'file', tzif: parseTzif(content), match: await findZoneMatches(root, content) };
}

/**
 * The facts of the last read, reused while the files they came from are unchanged (same inode,
 * size, mtime and link target), so that a long-running agent does not re-read and re-parse zone
 * files or re-walk the zoneinfo tree every cycle; the offset is still computed at each instant.
 */
export interface TimezoneCache {
  key?: string;
  facts?: TimezoneFacts;
}

function statKey(root: string): string {
  const parts: string[] = [];
  for (const p of ['/etc/localtime', '/etc/timezone', '/etc/sysconfig/clock']) {
    try {
      const st = lstatSync(underRoot(root, p));
      parts.push(`${st.ino}:${st.size}:${st.mtimeMs}:${st.isSymbolicLink() ? readlinkSync(underRoot(root, p)) : ''}`);
    } catch {
      parts.push('-');
    }
  }
  if (root === '/') {
    // The zone file behind the link (a tzdata update rewrites it in place).
    try {
      const st = statSync('/etc/localtime');
      parts.push(`${st.ino}:${st.size}:${st.mtimeMs}`);
    } catch {
      parts.push('-');
    }
  }
  return parts.join('|');
}

export async function readTimezone(ctx: ReaderContext, atMs: number): Promise<TimezoneSection> {
  // The agent's own TZ says something about the running system only, never about a mounted root.
  const tzEnv = ctx.root === '/' ? ctx.env?.TZ : undefined;
  const cache = ctx.timezoneCache;
  const key = cache ? `${statKey(ctx.root)}|${tzEnv ?? ''}` : '';
  if (cache?.facts && cache.key === key) return decideTimezone(cache.facts, atMs);
  const [localtime, etcTz, sysconfig] = await Promise.all([
    readLocaltime(ctx.root),
    readOptional(ctx.root, '/etc/timezone'),
    readOptional(ctx.root, '/etc/sysconfig/clock'),
  ]);
  const zoneFiles = new Map<string, Tzif | null>();
  const facts: TimezoneFacts = {
    tzEnv,
    localtime,
    etcTimezone: etcTz === null ? null : parseEtcTimezone(etcTz),
    sysconfigZone: sysconfig === null ? null : parseSysconfigClock(sysconfig).zone,
  };
  // Offsets for a zone named by TZ or a hint come from the root's own zone file when it has one.
  for (const name of [facts.tzEnv ? tzEnvCandidate(facts.tzEnv) : null, facts.sysconfigZone, facts.etcTimezone]) {
    if (name && /^[A-Za-z0-9_+\-/]+$/.test(name) && !name.includes('..')) zoneFiles.set(name, await readTzifFile(ctx.root, `${ZONEINFO_DIR}/${name}`));
  }
  facts.zoneFile = (name) => zoneFiles.get(name) ?? null;
  if (cache) Object.assign(cache, { key, facts });
  return decideTimezone(facts, atMs);
}
