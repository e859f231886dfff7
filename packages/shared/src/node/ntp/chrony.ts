/**
 * chronyd through `chronyc -c` (CSV: raw signed values in seconds, no DNS; mlichvar/chrony client.c
 * print_report(), doc/chronyc.adoc). One process per read: `-m` takes several commands, so
 * `chronyc -c -m tracking sources` prints the 14-field tracking line and then one 10-field line per
 * source. Over UDP 127.0.0.1:323 an unprivileged user may run these monitoring commands.
 * domain.md §5.2.
 */
import { ErrorCodes, type CommandResult, type ErrorInfo, type NtpInfo } from '@clockwatch/shared';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../runner.js';
import { unreadNtp, type ChronycTarget, type NtpReaderContext as ReaderContext } from './context.js';

export interface ChronyTracking {
  refId: string;
  /** Name/IP of the reference (IP in CSV mode; empty when unsynchronised). */
  address: string;
  stratum: number;
  /** Time of the last processed measurement, s since epoch; 0 when never. */
  refTimeS: number;
  /** "System time": correction still to apply; positive = system clock slow (behind). */
  systemTimeS: number;
  lastOffsetS: number;
  rmsOffsetS: number;
  frequencyPpm: number;
  residualFreqPpm: number;
  skewPpm: number;
  rootDelayS: number;
  rootDispersionS: number;
  updateIntervalS: number;
  leap: string;
}

export interface ChronySource {
  mode: string;
  state: string;
  address: string;
  stratum: number;
  /** log2 seconds (may be negative). */
  poll: number;
  /** 8-bit reach register, as chronyc prints it: octal. */
  reach: number;
  /** s since the last good sample; null when none (chronyc prints 4294967295). */
  lastRxS: number | null;
  adjustedOffsetS: number;
  measuredOffsetS: number;
  errorS: number;
}

const num = (s: string | undefined): number => (s !== undefined && s !== '' ? Number(s) : Number.NaN);

/** Splits `chronyc -c` output into the tracking line (14 fields) and source lines (10 fields). */
export function parseChronyCsv(text: string): { tracking: ChronyTracking | null; sources: ChronySource[] } {
  let tracking: ChronyTracking | null = null;
  const sources: ChronySource[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(',');
    if (f.length === 14 && /^[0-9A-Fa-f]{8}$/.test(f[0]!)) {
      const t: ChronyTracking = {
        refId: f[0]!.toUpperCase(),
        address: f[1]!,
        stratum: num(f[2]),
        refTimeS: num(f[3]),
        systemTimeS: num(f[4]),
        lastOffsetS: num(f[5]),
        rmsOffsetS: num(f[6]),
        frequencyPpm: num(f[7]),
        residualFreqPpm: num(f[8]),
        skewPpm: num(f[9]),
        rootDelayS: num(f[10]),
        rootDispersionS: num(f[11]),
        updateIntervalS: num(f[12]),
        leap: f[13]!,
      };
      if ([t.stratum, t.refTimeS, t.systemTimeS, t.rootDelayS, t.rootDispersionS].every(Number.isFinite)) tracking = t;
    } else if (f.length === 10 && /^[\^=#]$/.test(f[0]!)) {
      const lastRx = num(f[6]);
      sources.push({
        mode: f[0]!,
        state: f[1]!,
        address: f[2]!,
        stratum: num(f[3]),
        poll: num(f[4]),
        reach: parseInt(f[5]!, 8),
        lastRxS: lastRx === 4294967295 || !Number.isFinite(lastRx) ? null : lastRx,
        adjustedOffsetS: num(f[7]),
        measuredOffsetS: num(f[8]),
        errorS: num(f[9]),
      });
    }
  }
  return { tracking, sources };
}

/** The reference ID as text when it is printable ASCII (refclocks: 50484330 = "PHC0"). */
export function refIdText(refId: string): string | null {
  const bytes = Buffer.from(refId, 'hex');
  const text = bytes.toString('latin1').replace(/\0+$/, '');
  return text.length > 0 && /^[\x20-\x7e]+$/.test(text) ? text : null;
}

const round = (x: number, digits = 6) => Number(x.toFixed(digits));

/** chrony's refid of its own `local` reference: 127.127.1.1, "LOCL" (reference.c, LOCAL_REFERENCE_ID 0x7F7F0101). */
export const CHRONY_LOCAL_REFID = '7F7F0101';

/** chronyc "Leap status" (client.c print_report: Normal, Insert second, Delete second, Not synchronised). */
export function chronyLeap(text: string): 'none' | 'insert' | 'delete' | 'unsynchronised' | null {
  switch (text) {
    case 'Normal':
      return 'none';
    case 'Insert second':
      return 'insert';
    case 'Delete second':
      return 'delete';
    case 'Not synchronised':
      return 'unsynchronised';
    default:
      return null;
  }
}

/**
 * Source counts. chronyc(1) "sources": state `*` selected, `+` combined, `-` selectable but not
 * combined, `?` unusable (no reply yet / lost), `x` falseticker, `~` too variable; Reach is the
 * 8-bit register of the last eight polls (octal), so reach ≠ 0 = answered at least once recently.
 * Local refclocks (`#`) count like servers; peers (`=`) too.
 */
export function chronySourceCounts(sources: readonly ChronySource[]): { total: number; reachable: number; selectable: number } {
  return {
    total: sources.length,
    reachable: sources.filter((s) => s.reach > 0).length,
    selectable: sources.filter((s) => s.state === '*' || s.state === '+' || s.state === '-').length,
  };
}

/**
 * Pure: tracking + sources → the report's NTP section.
 * - synchronised: leap status other than "Not synchronised", stratum > 0, a reference ID, and a
 *   reference other than chrony's own `local stratum N` (refid 7F7F0101, "LOCL"): chronyd then
 *   follows nothing but its own clock, which is free-running (chrony.conf(5) `local`: "the
 *   computer … will appear synchronised … even though it has no real reference").
 * - offsetMs (guest − reference) = −"System time" (positive System time = clock slow).
 * - maxErrorMs: chronyc(1) "the absolute bound on the computer's clock accuracy … is
 *   |system time offset| + root dispersion + 0.5 × root delay"; reported only when synchronised
 *   (unsynchronised chrony prints placeholder delay/dispersion of 1 s).
 * - pollIntervalS: 2^poll of the selected (`*`) source; tracking's update interval is not the poll.
 * - stratum: RFC 5905 §7.3 stratum 0 is "unspecified or invalid": reported as null.
 * - server: the address in use (chronyc -c prints addresses, no DNS); serverName the configured
 *   name of that address when known (`chronyc sourcename`, chrony ≥ 4.0).
 */
export function chronyToNtp(tracking: ChronyTracking, sources: readonly ChronySource[], nowMs: number, serverName: string | null = null): NtpInfo {
  const localOnly = tracking.refId === CHRONY_LOCAL_REFID;
  const synced = tracking.leap !== 'Not synchronised' && tracking.stratum > 0 && tracking.refId !== '00000000' && !localOnly;
  const selected = sources.find((s) => s.state === '*') ?? null;
  const address = tracking.address || null;
  const server = address || (synced ? refIdText(tracking.refId) : null) || null;
  let lastSyncAgeS: number | null = null;
  if (tracking.refTimeS > 0) lastSyncAgeS = round(Math.max(0, nowMs / 1000 - tracking.refTimeS), 3);
  else if (selected?.lastRxS != null) lastSyncAgeS = selected.lastRxS;
  const out: NtpInfo = {
    daemon: 'chronyd',
    synchronized: synced,
    server: synced ? server : null,
    stratum: synced && tracking.stratum <= 16 ? tracking.stratum : null,
    offsetMs: synced ? round(-tracking.systemTimeS * 1000) : null,
    lastSyncAgeS,
    pollIntervalS: selected && Number.isFinite(selected.poll) ? 2 ** selected.poll : null,
    maxErrorMs: synced ? round((Math.abs(tracking.systemTimeS) + tracking.rootDispersionS + tracking.rootDelayS / 2) * 1000) : null,
    serverName: synced ? serverName : null,
    serverAddress: synced ? address : null,
    sources: chronySourceCounts(sources),
    leap: chronyLeap(tracking.leap),
  };
  if (localOnly) out.localReferenceOnly = true;
  return out;
}

export function chronycArgs(target: ChronycTarget | undefined, commands: readonly string[]): string[] {
  const args: string[] = [];
  if (target?.host) args.push('-h', target.host);
  if (target?.port) args.push('-p', String(target.port));
  args.push('-c');
  if (commands.length > 1) args.push('-m');
  return [...args, ...commands];
}

/** Turns a failed chronyc run into the statusError of a running chronyd. */
export function chronycFailure(res: CommandResult): ErrorInfo {
  if (res.error === 'ENOENT') return { code: ErrorCodes.NOT_FOUND, message: 'chronyd runs but chronyc is not installed' };
  if (res.error === 'TIMEOUT') return { code: ErrorCodes.COMMAND_TIMEOUT, message: 'chronyc did not answer in time' };
  const text = `${res.stdout}\n${res.stderr}`.trim().split('\n').find((l) => l.trim()) ?? '';
  if (/Cannot talk to daemon|506/.test(text)) return { code: ErrorCodes.DAEMON_DOWN, message: `chronyc: ${text.trim()}` };
  if (/Not authori[sz]ed|501/.test(text)) return { code: ErrorCodes.PERMISSION, message: `chronyc: ${text.trim()}` };
  return { code: ErrorCodes.COMMAND_FAILED, message: `chronyc exited ${res.code ?? res.error ?? '?'}: ${text.trim().slice(0, 300)}` };
}

/** Runs chronyc once (twice only for a chronyc too old for -m) and maps the result. */
export async function readChrony(ctx: ReaderContext): Promise<NtpInfo> {
  const timeoutMs = ctx.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const down = (statusError: ErrorInfo): NtpInfo => unreadNtp('chronyd', { statusError });
  let res = await ctx.run('chronyc', chronycArgs(ctx.chrony, ['tracking', 'sources']), { timeoutMs });
  let parsed = parseChronyCsv(res.stdout);
  const first = parsed.tracking ? null : chronycFailure(res);
  if (first && first.code === ErrorCodes.COMMAND_FAILED) {
    // A chronyc that refuses -m (older releases): one command per process.
    const [t, s] = [await ctx.run('chronyc', chronycArgs(ctx.chrony, ['tracking']), { timeoutMs }), await ctx.run('chronyc', chronycArgs(ctx.chrony, ['sources']), { timeoutMs })];
    res = t;
    parsed = { tracking: parseChronyCsv(t.stdout).tracking, sources: parseChronyCsv(s.stdout).sources };
  }
  if (!parsed.tracking) {
    if (res.code === 0 && !res.error) return down({ code: ErrorCodes.PARSE, message: `chronyc printed no tracking line: ${JSON.stringify(res.stdout.slice(0, 200))}` });
    return down(chronycFailure(res));
  }
  const address = parsed.tracking.address;
  let name: string | null = null;
  if (address && address !== '' && parsed.tracking.refId !== CHRONY_LOCAL_REFID) {
    // The configured name of the address in use (chrony.conf `server ntp1.example.net`), asked once
    // per address and kept in the daemon cache: a server name in the policy then matches.
    const cache = ctx.daemonCache;
    if (cache?.chronyNames?.[address] !== undefined) name = cache.chronyNames[address] ?? null;
    else {
      const r = await ctx.run('chronyc', chronycArgs(ctx.chrony, [`sourcename ${address}`]), { timeoutMs });
      const line = r.code === 0 ? r.stdout.trim().split('\n')[0]?.trim() ?? '' : '';
      name = line && /^[A-Za-z0-9._:-]+$/.test(line) ? line : null;
      // Kept even when chronyc cannot answer (chrony < 4.0 has no sourcename): asked once per address.
      if (cache && r.error !== 'TIMEOUT') cache.chronyNames = { ...(cache.chronyNames ?? {}), [address]: name };
    }
  }
  return chronyToNtp(parsed.tracking, parsed.sources, (ctx.nowMs ?? Date.now)(), name);
}
