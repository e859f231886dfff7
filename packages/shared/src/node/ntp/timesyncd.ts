/**
 * systemd-timesyncd through timedatectl (two processes; both need a system bus):
 * - `timedatectl show` → `NTPSynchronized=yes|no` — timedated's rule: adjtimex() maxerror < 16 s,
 *   ignoring STA_UNSYNC since systemd v243 (PR systemd#13245), and `NTP=yes|no` (a unit is active).
 * - `timedatectl show-timesync` → ServerName, ServerAddress, PollIntervalUSec and NTPMessage
 *   (org.freedesktop.timesync1(5); field order from src/timesync/timesyncd-bus.c).
 * Timespans are printed formatted (`17min 4s`, `8.926ms`) and timestamps formatted to the second
 * in the caller's zone (the runner sets TZ=UTC), so the last sync time is good to a second and
 * the NTP offset cannot be recomputed from the message: offsetMs stays null. domain.md §3.2.
 */
import { ErrorCodes, type CommandResult, type ErrorInfo, type NtpInfo } from '@clockwatch/shared';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../runner.js';
import { unreadNtp, type NtpReaderContext as ReaderContext } from './context.js';

/** `Key=Value` lines. */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

const SPAN_UNITS: Record<string, number> = {
  us: 1e-6, usec: 1e-6, 'µs': 1e-6, ms: 1e-3, msec: 1e-3, s: 1, sec: 1, min: 60, m: 60, h: 3600, hr: 3600, d: 86400, w: 604800, M: 2629800, month: 2629800, y: 31557600,
};

/** systemd timespan (`1min 4s`, `30.517us`, `34min 8s`; src/basic/time-util.c format_timespan) → seconds. */
export function parseTimespanS(text: string): number | null {
  const t = text.trim();
  if (!t || t === 'infinity') return null;
  let total = 0;
  let rest = t;
  const re = /^(\d+(?:\.\d+)?)\s*(usec|us|µs|msec|ms|month|min|sec|hr|s|m|h|d|w|M|y)\s*/;
  while (rest.length > 0) {
    const m = re.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * SPAN_UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** `Fri 2023-09-15 10:05:40 UTC` → ms; null for a zone abbreviation other than UTC (never parsed). */
export function parseSystemdTimestamp(text: string): number | null {
  const m = /^(?:\w{3} )?(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))? (UTC|GMT|[+-]\d{2}:?\d{2})$/.exec(text.trim());
  if (!m) return null;
  let ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + (m[7] ? Number(`0.${m[7]}`) * 1000 : 0);
  const z = m[8]!;
  if (/^[+-]/.test(z)) {
    const d = z.replace(':', '');
    ms -= (z[0] === '-' ? -1 : 1) * (Number(d.slice(1, 3)) * 3600 + Number(d.slice(3, 5)) * 60) * 1000;
  }
  return ms;
}

export interface NtpMessageFields {
  leap: number | null;
  stratum: number | null;
  rootDelayS: number | null;
  rootDispersionS: number | null;
  destinationMs: number | null;
  packetCount: number | null;
}

/** The `NTPMessage={ Leap=0, …, Jitter=… }` property (some systemd versions miss the comma before PacketCount). */
export function parseNtpMessage(text: string): NtpMessageFields {
  const get = (key: string): string | null => new RegExp(`\\b${key}=([^,}]*?)(?=,|\\s+[A-Z]\\w*=|\\s*}|$)`).exec(text)?.[1]?.trim() ?? null;
  const int = (k: string) => {
    const v = get(k);
    return v !== null && /^-?\d+$/.test(v) ? Number(v) : null;
  };
  const span = (k: string) => {
    const v = get(k);
    return v === null ? null : parseTimespanS(v);
  };
  const dest = get('DestinationTimestamp');
  return {
    leap: int('Leap'),
    stratum: int('Stratum'),
    rootDelayS: span('RootDelay'),
    rootDispersionS: span('RootDispersion'),
    destinationMs: dest ? parseSystemdTimestamp(dest) : null,
    packetCount: int('PacketCount'),
  };
}

const round = (x: number, digits = 6) => Number(x.toFixed(digits));

/** Pure: `timedatectl show` + `show-timesync` outputs → the NTP section. */
export function timesyncdToNtp(showText: string, timesyncText: string | null, nowMs: number): NtpInfo {
  const show = parseKeyValues(showText);
  const ts = timesyncText === null ? {} : parseKeyValues(timesyncText);
  const synced = show.NTPSynchronized === 'yes' ? true : show.NTPSynchronized === 'no' ? false : null;
  const msg = ts.NTPMessage ? parseNtpMessage(ts.NTPMessage) : null;
  const heard = msg !== null && (msg.packetCount ?? 0) > 0;
  const poll = ts.PollIntervalUSec ? parseTimespanS(ts.PollIntervalUSec) : null;
  const stratum = heard && msg.stratum !== null && msg.stratum > 0 && msg.stratum < 16 ? msg.stratum : null;
  const distance = heard && msg.rootDelayS !== null && msg.rootDispersionS !== null ? (msg.rootDelayS / 2 + msg.rootDispersionS) * 1000 : null;
  return {
    daemon: 'systemd-timesyncd',
    synchronized: synced,
    server: ts.ServerName || ts.ServerAddress || null,
    // timesyncd names the server it was configured with (NTP= / FallbackNTP=) and the address it
    // resolved; the policy matches either (org.freedesktop.timesync1(5) ServerName, ServerAddress).
    serverName: ts.ServerName || null,
    serverAddress: ts.ServerAddress || null,
    stratum,
    offsetMs: null,
    lastSyncAgeS: heard && msg.destinationMs !== null ? round(Math.max(0, (nowMs - msg.destinationMs) / 1000), 3) : null,
    pollIntervalS: poll,
    // Root distance (RFC 5905 §A.5.5.2: root delay / 2 + root dispersion), timesyncd's own quality limit (RootDistanceMaxSec).
    maxErrorMs: synced && distance !== null ? round(distance) : null,
    ...(heard && msg.leap !== null ? { leap: (['none', 'insert', 'delete', 'unsynchronised'] as const)[msg.leap & 3]! } : {}),
  };
}

function timedatectlFailure(res: CommandResult): ErrorInfo {
  if (res.error === 'ENOENT') return { code: ErrorCodes.NOT_FOUND, message: 'systemd-timesyncd runs but timedatectl is not installed' };
  if (res.error === 'TIMEOUT') return { code: ErrorCodes.COMMAND_TIMEOUT, message: 'timedatectl did not answer in time' };
  const text = `${res.stderr}\n${res.stdout}`.trim().split('\n').filter((l) => l.trim()).join('; ');
  return { code: ErrorCodes.COMMAND_FAILED, message: `timedatectl exited ${res.code ?? res.error ?? '?'}: ${text.slice(0, 300)}` };
}

export async function readTimesyncd(ctx: ReaderContext): Promise<NtpInfo> {
  const timeoutMs = ctx.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const show = await ctx.run('timedatectl', ['show'], { timeoutMs });
  if (show.code !== 0 || !/NTPSynchronized=/.test(show.stdout)) {
    return unreadNtp('systemd-timesyncd', { statusError: timedatectlFailure(show) });
  }
  const ts = await ctx.run('timedatectl', ['show-timesync'], { timeoutMs });
  return timesyncdToNtp(show.stdout, ts.code === 0 ? ts.stdout : null, (ctx.nowMs ?? Date.now)());
}
