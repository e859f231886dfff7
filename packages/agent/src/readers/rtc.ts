/**
 * The hardware clock (RTC), read without privileges and without waiting:
 *
 * 1. sysfs (Documentation/ABI/testing/sysfs-class-rtc, drivers/rtc/sysfs.c): the device under
 *    /sys/class/rtc whose `hctosys` is 1 (the one that set the system clock at boot; systemd's
 *    50-udev-default.rules points /dev/rtc at it), else rtc0. `since_epoch` is the RTC's fields
 *    through rtc_tm_to_time64() — a UTC mktime — so an RTC that keeps local time reads as local
 *    time "as if UTC"; that is exactly the report's convention. Resolution: 1 s.
 * 2. /proc/driver/rtc (drivers/rtc/proc.c, only for the hctosys RTC): `rtc_time : hh:mm:ss`,
 *    `rtc_date : YYYY-MM-DD`, same "as if UTC" reading.
 * 3. `hwclock --show --utc --noadjfile` only when enabled and running as root (it opens /dev/rtc,
 *    may wait up to a second for a tick, and must never be run with --systohc/--hctosys/--adjust).
 *    With --utc and TZ=UTC it prints the RTC fields unchanged; --noadjfile keeps it away from
 *    /etc/adjtime. domain.md §2.
 * The configured mode (UTC/LOCAL) comes from rtc-mode.ts and is attached whether or not a value
 * could be read. No RTC at all (containers, Firecracker, some ARM boards) is an answer:
 * { error: { code: CW_ERR_RTC_ABSENT } }, never a 0.
 */
import { readdirSync } from 'node:fs';
import { ErrorCodes, LIMITS, type ErrorInfo, type RtcSection } from '@clockwatch/shared';
import { DEFAULT_COMMAND_TIMEOUT_MS, readText, underRoot, type ReaderContext } from '../context.js';
import { readRtcMode } from './rtc-mode.js';

export const RTC_CLASS_DIR = '/sys/class/rtc';
export const PROC_RTC = '/proc/driver/rtc';

export interface RtcDeviceInfo {
  device: string;
  hctosys: boolean | null;
}

/** The hctosys RTC, else rtc0, else the lowest-numbered one (null when there is none). */
export function chooseRtcDevice(devices: readonly RtcDeviceInfo[]): string | null {
  const hc = devices.find((d) => d.hctosys === true);
  if (hc) return hc.device;
  if (devices.some((d) => d.device === 'rtc0')) return 'rtc0';
  const sorted = [...devices].sort((a, b) => Number(a.device.slice(3)) - Number(b.device.slice(3)));
  return sorted[0]?.device ?? null;
}

/** `since_epoch`: integer seconds and a newline. */
export function parseSinceEpoch(text: string): number | null {
  const t = text.trim();
  return /^\d{1,12}$/.test(t) ? Number(t) : null;
}

function fieldsToMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number | null {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** /proc/driver/rtc → the RTC fields read as if UTC, ms; null when the two lines are not there. */
export function parseProcDriverRtc(text: string): number | null {
  const time = /^rtc_time\s*:\s*(\d{1,2}):(\d{2}):(\d{2})\s*$/m.exec(text);
  const date = /^rtc_date\s*:\s*(\d{4})-(\d{2})-(\d{2})\s*$/m.exec(text);
  if (!time || !date) return null;
  return fieldsToMs(Number(date[1]), Number(date[2]), Number(date[3]), Number(time[1]), Number(time[2]), Number(time[3]));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `hwclock --show` output → ms, the RTC time as of hwclock's start. hwclock waits for the RTC's
 * next seconds tick (up to ~1 s, synchronize_to_clock_tick), reads the clock at that edge and
 * reports it moved back by the time it spent since it started (util-linux hwclock.c
 * display_time(): `hwclocktime - (read_time - startup_time)`). util-linux ≥ 2.29 prints the
 * result as ISO 8601 with the zone offset (`2026-11-25 12:39:30.123456+00:00`, commit 7c678f819);
 * older releases print the whole second at the edge and the correction as a suffix
 * (`Wed Nov 25 12:39:30 2026  -0.329272 seconds`), which is added here. The ctime-like text is
 * read as UTC in the C locale because the runner sets LC_ALL=C and TZ=UTC for every command.
 */
export function parseHwclockShow(text: string): number | null {
  const iso = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?([+-])(\d{2}):?(\d{2})\s*$/m.exec(text);
  if (iso) {
    const base = fieldsToMs(+iso[1]!, +iso[2]!, +iso[3]!, +iso[4]!, +iso[5]!, +iso[6]!);
    if (base === null) return null;
    const frac = iso[7] ? Number(iso[7]) * 1000 : 0;
    const off = (iso[8] === '-' ? -1 : 1) * (Number(iso[9]) * 3600 + Number(iso[10]) * 60) * 1000;
    return base + frac - off;
  }
  const old = /^\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})/m.exec(text);
  if (old) {
    const mo = MONTHS.indexOf(old[1]!) + 1;
    if (mo === 0) return null;
    const base = fieldsToMs(+old[6]!, mo, +old[2]!, +old[3]!, +old[4]!, +old[5]!);
    const corr = /\d{4}\s+(-?\d+\.\d+) seconds\s*$/m.exec(text);
    return base === null ? null : base + (corr ? Number(corr[1]) * 1000 : 0);
  }
  return null;
}

function inRange(ms: number): boolean {
  return ms >= LIMITS.minEpochMs && ms <= LIMITS.maxEpochMs;
}

function invalid(value: string, where: string): ErrorInfo {
  return { code: ErrorCodes.RTC_INVALID, message: `${where} holds ${value}, not a plausible time (battery or emulation problem)` };
}

async function listRtcDevices(root: string): Promise<RtcDeviceInfo[] | null> {
  let names: string[];
  try {
    names = readdirSync(underRoot(root, RTC_CLASS_DIR)).filter((n) => /^rtc\d+$/.test(n));
  } catch {
    return null;
  }
  return Promise.all(
    names.map(async (device) => {
      const h = await readText(root, `${RTC_CLASS_DIR}/${device}/hctosys`);
      return { device, hctosys: h.ok ? h.text.trim() === '1' : null };
    }),
  );
}

export interface RtcReadOptions {
  /** Allow `hwclock --show` as the last resort (needs root). */
  hwclock?: boolean;
  isRoot?: boolean;
}

type RtcValue = { epochMs: number; readAtMs: number; device: string; source: 'sysfs' | 'proc' | 'hwclock' };

export async function readRtc(ctx: ReaderContext, opts: RtcReadOptions = {}): Promise<RtcSection> {
  const now = ctx.nowMs ?? Date.now;
  const modeP = readRtcMode(ctx.root);
  const notes: string[] = [];
  let firstError: ErrorInfo | null = null;
  let value: RtcValue | null = null;

  const devices = await listRtcDevices(ctx.root);
  const device = devices ? chooseRtcDevice(devices) : null;
  if (device) {
    const p = `${RTC_CLASS_DIR}/${device}/since_epoch`;
    const r = await readText(ctx.root, p);
    const readAtMs = now();
    if (r.ok) {
      const s = parseSinceEpoch(r.text);
      if (s === null) firstError = { code: ErrorCodes.PARSE, message: `${p}: ${JSON.stringify(r.text.slice(0, 40))} is not a number of seconds` };
      else if (!inRange(s * 1000)) firstError = invalid(`${s} s (${new Date(s * 1000).toISOString()})`, p);
      else value = { epochMs: s * 1000, readAtMs, device, source: 'sysfs' };
    } else {
      // EINVAL from the driver means the RTC holds an invalid time (drivers/rtc/sysfs.c).
      firstError = r.errno === 'EINVAL' ? { code: ErrorCodes.RTC_INVALID, message: `${p}: the driver reports an invalid time (EINVAL)` } : r.error;
    }
  } else {
    notes.push(devices === null ? `${RTC_CLASS_DIR} does not exist` : `${RTC_CLASS_DIR} has no rtcN device`);
  }

  if (!value) {
    const r = await readText(ctx.root, PROC_RTC);
    const readAtMs = now();
    if (r.ok) {
      const ms = parseProcDriverRtc(r.text);
      if (ms === null) firstError ??= { code: ErrorCodes.PARSE, message: `${PROC_RTC}: no rtc_time/rtc_date lines` };
      else if (!inRange(ms)) firstError ??= invalid(new Date(ms).toISOString(), PROC_RTC);
      else value = { epochMs: ms, readAtMs, device: device ?? 'rtc', source: 'proc' };
    } else if (r.errno === 'ENOENT') {
      notes.push(`${PROC_RTC} does not exist`);
    } else {
      firstError ??= r.error;
    }
  }

  if (!value && opts.hwclock && opts.isRoot) {
    // The printed time is the RTC as of hwclock's start, so the reading is dated just before the
    // spawn — not at the exit, up to a second later while hwclock waited for the RTC tick (a
    // perfect RTC would read −0.9 s, or "drifting" on slow hardware).
    const readAtMs = now();
    const res = await ctx.run('hwclock', ['--show', '--utc', '--noadjfile'], { timeoutMs: ctx.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS });
    const ms = res.code === 0 ? parseHwclockShow(res.stdout) : null;
    if (ms !== null && inRange(ms)) value = { epochMs: ms, readAtMs, device: device ?? 'rtc', source: 'hwclock' };
    else if (ms !== null) firstError ??= invalid(new Date(ms).toISOString(), 'hwclock');
    else {
      const why = res.error ?? (res.stderr.trim().split('\n')[0] || `exit ${res.code}`);
      notes.push(`hwclock --show: ${why}`);
    }
  } else if (!value && opts.hwclock) {
    notes.push('hwclock skipped (needs root)');
  }

  const mode = await modeP;
  if (value) return { ...value, ...mode };
  const error: ErrorInfo = firstError ?? { code: ErrorCodes.RTC_ABSENT, message: `no RTC: ${notes.join('; ')}` };
  return { error, ...mode };
}
