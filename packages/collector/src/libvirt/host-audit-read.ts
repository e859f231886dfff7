/**
 * Host audit readers: what the host can read of a running guest's clocks through virsh, each a pure
 * parse of the command's output plus one run through the injected CommandRunner, bracketed by host
 * timestamps so every reading carries an honest uncertainty.
 *
 * - RTC: `virsh qemu-monitor-command DOM '{"execute":"qom-get","arguments":{"path":"/machine",
 *   "property":"rtc-time"}}'`. QEMU's hw/rtc/mc146818rtc.c registers the RTC's `date` property as a
 *   struct tm (object_property_add_tm, fields as in <time.h>: tm_year since 1900, tm_mon 0–11) and
 *   aliases it onto the machine as `rtc-time`, so no device path (`/machine/unattached/device[N]`)
 *   has to be looked up. The value is the RTC registers, updated to the instant of the read
 *   (rtc_update_time), in whole seconds. libvirt refuses this on a read-only connection ("read only
 *   access prevents virDomainQemuMonitorCommand") and marks the domain "tainted: custom-monitor" in
 *   its log the first time it is used.
 * - Guest system time: `virsh domtime DOM` (guest-get-time through qemu-guest-agent; virsh prints
 *   whole seconds, libvirt src/qemu/qemu_agent.c qemuAgentGetTime splits the nanoseconds off).
 * - Zone: `virsh guestinfo --timezone DOM` (guest-get-timezone: an abbreviation and seconds east).
 * - OS: `virsh guestinfo --os DOM` (guest-get-osinfo: os-release ID, kernel name).
 */
import { ErrorCodes, familyFromOsinfoReply, type CommandRunner, type EvidenceError, type GuestOsReading, type GuestTimeReading, type GuestZoneReading, type HostRtcReading } from '@clockwatch/shared';

export const QOM_GET_RTC_TIME = '{"execute":"qom-get","arguments":{"path":"/machine","property":"rtc-time"}}';

export interface ReadOptions {
  uri: string;
  /** Host UTC now, ms (injected: tests and the collector's own clock). */
  nowMs: () => number;
  virsh?: string;
  timeoutMs?: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: EvidenceError };
const parseError = (message: string): { ok: false; error: EvidenceError } => ({ ok: false, error: { code: ErrorCodes.PARSE, message } });

export interface RtcTm {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The QMP reply of qom-get rtc-time: `{"return":{"tm_year":126,"tm_mon":11,...}}`. */
export function parseQomRtcTime(stdout: string): Parsed<RtcTm> {
  let j: unknown;
  try {
    j = JSON.parse(stdout.trim());
  } catch {
    return parseError(`qom-get rtc-time: not JSON: '${stdout.trim().slice(0, 120)}'`);
  }
  const r = (j as { return?: Record<string, unknown>; error?: { desc?: string } }) ?? {};
  if (r.error) return parseError(`qom-get rtc-time: QEMU error: ${String(r.error.desc ?? JSON.stringify(r.error)).slice(0, 200)}`);
  const t = r.return;
  const f = (k: string) => (t && Number.isInteger(t[k]) ? (t[k] as number) : null);
  const y = f('tm_year'), mo = f('tm_mon'), d = f('tm_mday'), h = f('tm_hour'), mi = f('tm_min'), s = f('tm_sec');
  if (y === null || mo === null || d === null || h === null || mi === null || s === null) return parseError(`qom-get rtc-time: not a struct tm: '${stdout.trim().slice(0, 120)}'`);
  if (mo < 0 || mo > 11 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || h < 0 || mi < 0 || s < 0) return parseError(`qom-get rtc-time: fields out of range: '${stdout.trim().slice(0, 120)}'`);
  return { ok: true, value: { year: y + 1900, month: mo + 1, day: d, hour: h, minute: mi, second: s } };
}

/**
 * The RTC's offset from a reading taken between two host instants. The RTC fields, read as if
 * UTC, give R (whole seconds; the RTC is somewhere in [R, R+1)); the read happened somewhere in
 * [beforeMs, afterMs]. So rtcOffsetS lies in [R − after, R + 1 − before]: its middle, and half its width.
 */
export function rtcReadingFrom(tm: RtcTm, beforeMs: number, afterMs: number): HostRtcReading {
  const rS = Date.UTC(tm.year, tm.month - 1, tm.day, tm.hour, tm.minute, tm.second) / 1000;
  const lo = rS - afterMs / 1000;
  const hi = rS + 1 - beforeMs / 1000;
  return { rtcOffsetS: round3((lo + hi) / 2), uncertaintyS: round3((hi - lo) / 2), atMs: Math.round((beforeMs + afterMs) / 2) };
}

/** `Time: 1796120457` (virsh domtime, whole seconds). */
export function parseDomtime(stdout: string): Parsed<number> {
  const m = /^Time:\s*(\d+)\s*$/m.exec(stdout);
  return m ? { ok: true, value: Number(m[1]) } : parseError(`domtime: no 'Time: N' line in '${stdout.trim().slice(0, 120)}'`);
}

/** Guest time G whole seconds (the guest was in [G, G+1)) read between two host instants. */
export function guestTimeFrom(seconds: number, beforeMs: number, afterMs: number): GuestTimeReading {
  const lo = seconds * 1000 - afterMs;
  const hi = (seconds + 1) * 1000 - beforeMs;
  return { offsetMs: (lo + hi) / 2, uncertaintyMs: (hi - lo) / 2, atMs: Math.round((beforeMs + afterMs) / 2), via: 'virsh domtime, whole seconds' };
}

/** `key : value` lines of `virsh guestinfo`. */
export function parseGuestinfo(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([a-z0-9._-]+)\s*:\s?(.*)$/i.exec(line.trim());
    if (m) out.set(m[1] as string, (m[2] as string).trim());
  }
  return out;
}

export function zoneFromGuestinfo(stdout: string, atMs: number): Parsed<GuestZoneReading> {
  const g = parseGuestinfo(stdout);
  const off = g.get('timezone.offset');
  if (off === undefined || !/^[+-]?\d+$/.test(off)) return parseError(`guestinfo --timezone: no timezone.offset in '${stdout.trim().slice(0, 120)}'`);
  return { ok: true, value: { name: g.get('timezone.name') || null, offsetS: Number(off), atMs } };
}

export function osFromGuestinfo(stdout: string): Parsed<GuestOsReading> {
  const g = parseGuestinfo(stdout);
  if (![...g.keys()].some((k) => k.startsWith('os.'))) return parseError(`guestinfo --os: no os.* fields in '${stdout.trim().slice(0, 120)}'`);
  const id = g.get('os.id') ?? null;
  const kernel = g.get('os.kernel-release') ?? null;
  // qga commands-posix.c fills kernel-release from uname(2); a Linux release looks like N.N.N.
  const kernelName = g.get('os.kernel-name') ?? (kernel && /^\d+\.\d+/.test(kernel) && !/windows/i.test(g.get('os.name') ?? '') ? 'Linux' : null);
  return { ok: true, value: { id, prettyName: g.get('os.pretty-name') ?? g.get('os.name') ?? null, family: familyFromOsinfoReply(id, kernelName) } };
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** A failed virsh run as evidence: the last stderr lines ("error: ... : cause"). */
export function virshError(what: string, r: { code: number | null; stderr: string; error?: string }): EvidenceError {
  if (r.error === 'TIMEOUT') return { code: ErrorCodes.COMMAND_TIMEOUT, message: `${what}: timed out` };
  if (r.error === 'ENOENT') return { code: ErrorCodes.COMMAND_FAILED, message: `${what}: virsh is not installed (Debian: libvirt-clients)` };
  const lines = r.stderr.split('\n').map((l) => l.trim().replace(/^error: /, '')).filter(Boolean);
  const detail = lines.length > 0 ? lines.slice(-2).join(': ') : (r.error ?? `exit code ${r.code}`);
  return { code: ErrorCodes.COMMAND_FAILED, message: `${what}: ${detail.slice(0, 300)}` };
}

async function runVirsh(runner: CommandRunner, o: ReadOptions, args: string[]) {
  const beforeMs = o.nowMs();
  let r;
  try {
    r = await runner(o.virsh ?? 'virsh', ['-c', o.uri, ...args], { timeoutMs: o.timeoutMs ?? 10_000 });
  } catch (e) {
    r = { code: null, stdout: '', stderr: '', error: (e as Error).message };
  }
  return { r, beforeMs, afterMs: o.nowMs() };
}

type Outcome<T> = T | { error: EvidenceError };

/** The domain's RTC (by UUID: nothing read from the host's output goes back into argv except UUIDs). */
export async function readRtc(runner: CommandRunner, o: ReadOptions, uuid: string): Promise<Outcome<HostRtcReading>> {
  const { r, beforeMs, afterMs } = await runVirsh(runner, o, ['qemu-monitor-command', uuid, QOM_GET_RTC_TIME]);
  if (r.code !== 0 || r.error) return { error: virshError('qemu-monitor-command qom-get rtc-time', r) };
  const p = parseQomRtcTime(r.stdout);
  return p.ok ? rtcReadingFrom(p.value, beforeMs, afterMs) : { error: p.error };
}

export async function readGuestTime(runner: CommandRunner, o: ReadOptions, uuid: string): Promise<Outcome<GuestTimeReading>> {
  const { r, beforeMs, afterMs } = await runVirsh(runner, o, ['domtime', uuid]);
  if (r.code !== 0 || r.error) return { error: virshError('domtime', r) };
  const p = parseDomtime(r.stdout);
  return p.ok ? guestTimeFrom(p.value, beforeMs, afterMs) : { error: p.error };
}

export async function readGuestZone(runner: CommandRunner, o: ReadOptions, uuid: string): Promise<Outcome<GuestZoneReading>> {
  const { r, beforeMs, afterMs } = await runVirsh(runner, o, ['guestinfo', '--timezone', uuid]);
  if (r.code !== 0 || r.error) return { error: virshError('guestinfo --timezone', r) };
  const p = zoneFromGuestinfo(r.stdout, Math.round((beforeMs + afterMs) / 2));
  return p.ok ? p.value : { error: p.error };
}

export async function readGuestOs(runner: CommandRunner, o: ReadOptions, uuid: string): Promise<Outcome<GuestOsReading>> {
  const { r } = await runVirsh(runner, o, ['guestinfo', '--os', uuid]);
  if (r.code !== 0 || r.error) return { error: virshError('guestinfo --os', r) };
  const p = osFromGuestinfo(r.stdout);
  return p.ok ? p.value : { error: p.error };
}
