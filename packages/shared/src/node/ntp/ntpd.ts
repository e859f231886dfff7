/**
 * ntpd (ntp.org 4.2.x, ntpsec) through `ntpq -n -c rv`: the system variables as comma-separated
 * `name=value` pairs after the status line (ntpq(1) "System Variables"; 4.2.8 names `rootdisp`,
 * `tc`, `sys_jitter`; 4.2.4–4.2.6 (EL6) `rootdispersion`, `poll`, `jitter`). Units: rootdelay,
 * rootdisp and offset in ms; tc/poll log2 s; reftime and clock NTP timestamps in hex
 * (seconds since 1900 . fraction). `offset` is the "combined offset of server relative to this
 * host", i.e. server − guest. domain.md §5.4.
 */
import { ErrorCodes, type CommandResult, type ErrorInfo, type NtpInfo } from '@clockwatch/shared';
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../runner.js';
import { unreadNtp, type NtpReaderContext as ReaderContext } from './context.js';

/** Seconds between the NTP era-0 epoch (1900-01-01) and the Unix epoch (RFC 5905 §6). */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** `name=value` pairs; quoted values keep their commas, a date after a hex timestamp is dropped. */
export function parseNtpqVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|[^,\n]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let v = m[2]!.trim();
    if (v.startsWith('"')) v = v.slice(1, -1);
    out[m[1]!.toLowerCase()] = v;
  }
  return out;
}

/** `e25a6793.087b11c2  Mon, May  4 2020 …` or `0xeb1d2a1c.5e76f2c0` → seconds since 1900; null for 0. */
export function parseNtpTimestamp(v: string | undefined): number | null {
  const m = v ? /^(?:0x)?([0-9a-f]{8})\.([0-9a-f]{8})/i.exec(v) : null;
  if (!m) return null;
  const s = parseInt(m[1]!, 16) + parseInt(m[2]!, 16) / 2 ** 32;
  return s === 0 ? null : s;
}

const finite = (v: string | undefined): number | null => {
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};
const round = (x: number, digits = 6) => Number(x.toFixed(digits));

/**
 * Pure: `ntpq -c rv` → the NTP section.
 * - synchronised: leap indicator ≠ 11 (alarm, RFC 5905 §7.3) and stratum 1..15 (16 = unsynchronised).
 * - offsetMs (guest − server) = −offset.
 * - lastSyncAgeS = clock − reftime, both ntpd's own timestamps from the same answer.
 * - maxErrorMs = root distance rootdelay/2 + rootdisp (RFC 5905 §A.5.5.2), when synchronised.
 * - A sys_peer that is the undisciplined local clock (refclock driver 1, 127.127.1.0; refid
 *   `LOCL`, shown `LOCAL(0)` by older ntpq) is no time source: the clock is free-running, so the
 *   daemon is reported as not synchronised with localReferenceOnly (ntp.org refclock_local.c:
 *   "this driver … should be used only … as a backup").
 * - leap: the leap bits (RFC 5905 §7.3 LI: 00 none, 01 insert, 10 delete, 11 alarm).
 * - pollIntervalS: 2^tc, the system poll exponent ntpd uses for its peers (ntpq(1) `tc`, EL6 `poll`).
 */
export function ntpqToNtp(text: string): NtpInfo | null {
  const v = parseNtpqVars(text);
  if (v.stratum === undefined && v.leap === undefined) return null;
  const leap = v.leap ?? null;
  const stratum = finite(v.stratum);
  const refidRaw = v.refid ?? '';
  const localOnly = /^\.?(LOCL|LOCAL\(\d+\))\.?$|^127\.127\.1\.\d+$/.test(refidRaw);
  const synced = leap !== '11' && leap !== '3' && stratum !== null && stratum >= 1 && stratum <= 15 && !localOnly;
  const ref = parseNtpTimestamp(v.reftime);
  const clock = parseNtpTimestamp(v.clock);
  const tc = finite(v.tc ?? v.poll);
  const offset = finite(v.offset);
  const rootDelay = finite(v.rootdelay);
  const rootDisp = finite(v.rootdisp ?? v.rootdispersion);
  // refid is the server's address when synchronised to one (ntpq -n keeps it numeric), or a refclock/kiss code.
  const refid = v.refid && /^[\x20-\x7e]+$/.test(v.refid) ? v.refid.replace(/^\.(.*)\.$/, '$1') : null;
  const leapBits = leap === null ? null : leap.length === 1 ? Number(leap).toString(2).padStart(2, '0') : leap;
  const leapName = ({ '00': 'none', '01': 'insert', '10': 'delete', '11': 'unsynchronised' } as const)[leapBits as '00'] ?? null;
  const out: NtpInfo = {
    daemon: 'ntpd',
    synchronized: synced,
    server: synced ? refid : null,
    stratum: synced ? stratum : null,
    offsetMs: synced && offset !== null ? round(-offset) : null,
    lastSyncAgeS: ref !== null && clock !== null && clock >= ref ? round(clock - ref, 3) : null,
    pollIntervalS: tc !== null ? 2 ** tc : null,
    maxErrorMs: synced && rootDelay !== null && rootDisp !== null ? round(rootDelay / 2 + rootDisp) : null,
    // ntpd's refid of a server is its address (IPv4; an IPv6 server's refid is a hash); no name.
    serverAddress: synced && refid !== null && /^\d+\.\d+\.\d+\.\d+$/.test(refid) ? refid : null,
    leap: leapName,
  };
  if (localOnly) out.localReferenceOnly = true;
  return out;
}

function ntpqFailure(res: CommandResult): ErrorInfo {
  if (res.error === 'ENOENT') return { code: ErrorCodes.NOT_FOUND, message: 'ntpd runs but ntpq is not installed' };
  if (res.error === 'TIMEOUT') return { code: ErrorCodes.COMMAND_TIMEOUT, message: 'ntpq did not answer in time' };
  const text = `${res.stderr}\n${res.stdout}`.trim().split('\n').filter((l) => l.trim()).join('; ');
  if (/Connection refused|timed out|nothing received/i.test(text)) return { code: ErrorCodes.DAEMON_DOWN, message: `ntpq: ${text.slice(0, 300)}` };
  return { code: ErrorCodes.COMMAND_FAILED, message: `ntpq exited ${res.code ?? res.error ?? '?'}: ${text.slice(0, 300)}` };
}

export async function readNtpd(ctx: ReaderContext): Promise<NtpInfo> {
  const res = await ctx.run('ntpq', ['-n', '-c', 'rv'], { timeoutMs: ctx.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS });
  const parsed = res.code === 0 ? ntpqToNtp(res.stdout) : null;
  if (parsed) return parsed;
  const statusError =
    res.code === 0 && !res.error && !/refused|timed out/i.test(res.stdout + res.stderr)
      ? { code: ErrorCodes.PARSE, message: `ntpq printed no system variables: ${JSON.stringify(res.stdout.slice(0, 200))}` }
      : ntpqFailure(res);
  return unreadNtp('ntpd', { statusError });
}
