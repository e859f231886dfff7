/**
 * Host-audit evidence: what the host reads about a running guest without an agent inside it
 * (issue 17) — the RTC through QMP `qom-get /machine rtc-time` (QEMU hw/rtc/mc146818rtc.c aliases
 * the RTC's `date` property, a struct tm, onto the machine as `rtc-time`), the guest's system time
 * through qemu-guest-agent (`virsh domtime`, guest-get-time), its zone (`guest-get-timezone`) and
 * OS (`guest-get-osinfo`) — and the check results that evidence supports, under the registry's
 * ids. The judge (judge.ts judgeAgentless) makes the verdict; this file only turns evidence into
 * results. Pure: no I/O, no Date.now().
 *
 * What cannot be known from the host (the clocksource the guest kernel uses, its NTP daemon) is
 * `unknown` with the reason "no agent in this guest".
 */
import type { GuestFamily } from '../libvirt.js';
import { checkZoneAgreement, formatUtcOffset, zoneOffsetS } from '../timezone.js';
import { evaluateLibvirtClock, type LibvirtClockResult } from './libvirt-clock.js';
import { fmtMs, fmtUnc, formatSeconds, type CheckResult, type CheckStatus, type JoinedDomain } from './types.js';

export const NO_AGENT = 'no agent in this guest';

export interface EvidenceError {
  code: string;
  message: string;
}

/** The RTC as the host read it: (RTC fields read as if UTC) − host UTC, bracketed by host timestamps. */
export interface HostRtcReading {
  rtcOffsetS: number;
  /** Half-width: half the host bracket plus half the RTC's 1 s resolution. */
  uncertaintyS: number;
  /** Host time at the middle of the bracket, ms. */
  atMs: number;
}

/** The guest's system time as the guest agent gave it: guest − host, bracketed by host timestamps. */
export interface GuestTimeReading {
  offsetMs: number;
  uncertaintyMs: number;
  atMs: number;
  /** How the time was read ('virsh domtime': whole seconds). */
  via: string;
}

export interface GuestZoneReading {
  /** What guest-get-timezone names: on Linux an abbreviation (tzname[], e.g. 'CST'), on Windows a display name. */
  name: string | null;
  /** Seconds east of UTC. */
  offsetS: number;
  atMs: number;
}

export interface GuestOsReading {
  /** guest-get-osinfo `id` (os-release ID, 'mswindows'). */
  id: string | null;
  prettyName: string | null;
  family: GuestFamily | null;
}

/** A jump of the RTC offset between two audit passes: the guest (or someone) wrote the RTC. */
export interface RtcChange {
  atMs: number;
  fromS: number;
  toS: number;
}

type Read<T> = T | { error: EvidenceError } | null;

export interface HostAuditEvidence {
  /** When this pass ended (host ms). */
  auditedAtMs: number;
  /** null: that part was not audited (not enabled on --host-audit). */
  rtc: Read<HostRtcReading>;
  guestTime: Read<GuestTimeReading>;
  zone: Read<GuestZoneReading>;
  os: Read<GuestOsReading>;
  /** RTC writes seen across passes, newest last (bounded). */
  rtcChanges: RtcChange[];
}

export const isRead = <T extends object>(r: Read<T>): r is T => r !== null && !('error' in r);
const whyNot = (r: Read<object>, what: string): string => (r === null ? `${what} is not audited (--host-audit)` : `${what} could not be read: ${(r as { error: EvidenceError }).error.message} (${(r as { error: EvidenceError }).error.code})`);

/** Family of the agentless guest: the guest agent's osinfo first, then the libosinfo metadata. */
export function hostAuditFamily(domain: JoinedDomain, ev: HostAuditEvidence): { family: GuestFamily | null; source: 'guest-agent' | 'libosinfo' | null } {
  if (isRead(ev.os) && ev.os.family) return { family: ev.os.family, source: 'guest-agent' };
  if (domain.domain.osFamilyHint) return { family: domain.domain.osFamilyHint, source: 'libosinfo' };
  return { family: null, source: null };
}

/** guest-get-osinfo `id` → family ('mswindows' is what qga/commands-win32.c writes). */
export function familyFromOsinfoReply(id: string | null, kernelName: string | null): GuestFamily | null {
  if (id === 'mswindows' || /windows/i.test(kernelName ?? '')) return 'windows';
  if (/^linux$/i.test(kernelName ?? '') || (id !== null && id !== '')) return 'linux';
  return null;
}

/**
 * The offset rule of the offset check (an interval |o| ± u against warnMs/failMs): pass when the
 * whole interval is within warnMs, fail when all of it is beyond failMs, unknown when the
 * uncertainty alone exceeds warnMs, warn otherwise.
 */
export function offsetByInterval(offsetMs: number, uncertaintyMs: number, warnMs: number, failMs: number): { status: CheckStatus; text: string } {
  const lo = Math.max(0, Math.abs(offsetMs) - uncertaintyMs);
  const hi = Math.abs(offsetMs) + uncertaintyMs;
  const shown = `offset ${fmtMs(offsetMs)} ${fmtUnc(uncertaintyMs)}`;
  if (lo > failMs) return { status: 'fail', text: `${shown}: beyond the ${failMs} ms limit (guest ${offsetMs > 0 ? 'ahead of' : 'behind'} the host)` };
  if (hi <= warnMs) return { status: 'pass', text: `${shown}, within ${warnMs} ms` };
  if (uncertaintyMs > warnMs) return { status: 'unknown', text: `${shown}: the uncertainty alone exceeds the ${warnMs} ms limit, so this reading proves nothing` };
  if (hi <= failMs) return { status: 'warn', text: `${shown}: beyond the ${warnMs} ms warning limit` };
  return { status: 'warn', text: `${shown}: may exceed the ${failMs} ms limit` };
}

export interface HostAuditPolicy {
  offset: { enabled: boolean; warnMs: number; failMs: number };
  rtc: { enabled: boolean; expect: 'auto' | 'utc' | 'localtime'; maxDriftS: number };
  timezone: { enabled: boolean; expected: string | null };
}

/** The rtc check from the host's RTC reading: Linux keeps UTC, Windows the guest's local time. */
export function hostRtcResult(ev: HostAuditEvidence, family: GuestFamily | null, p: HostAuditPolicy['rtc']): CheckResult<'rtc'> {
  if (!isRead(ev.rtc)) return { id: 'rtc', status: 'unknown', reason: whyNot(ev.rtc, 'the RTC (QMP qom-get rtc-time)') };
  const r = ev.rtc;
  const tol = p.maxDriftS + r.uncertaintyS;
  const shown = `host audit: RTC reads ${formatSeconds(r.rtcOffsetS)} ±${r.uncertaintyS.toFixed(1)} s against host UTC`;
  const expect = p.expect === 'auto' ? (family === null ? null : family === 'windows' ? 'localtime' : 'utc') : p.expect;
  const changes = ev.rtcChanges.length > 0 ? `; the RTC was written ${ev.rtcChanges.length} time(s) between audit passes (last ${formatSeconds(ev.rtcChanges[ev.rtcChanges.length - 1]!.fromS)} → ${formatSeconds(ev.rtcChanges[ev.rtcChanges.length - 1]!.toS)})` : '';
  if (expect === null) return { id: 'rtc', status: 'unknown', reason: `${shown}; cannot tell whether the guest runs Linux or Windows (${NO_AGENT}, no libosinfo metadata, no guest agent)${changes}` };
  const zone = isRead(ev.zone) ? ev.zone.offsetS : null;
  const nearUtc = Math.abs(r.rtcOffsetS) <= tol;
  const nearZone = zone !== null && Math.abs(r.rtcOffsetS - zone) <= tol;
  let status: CheckStatus;
  let text: string;
  if (expect === 'utc') {
    if (nearUtc) [status, text] = ['pass', `${shown}: keeps UTC, as ${p.expect === 'auto' ? 'Linux guests do' : 'the policy expects'}`];
    else if (nearZone) [status, text] = ['fail', `${shown}: keeps the guest's local time (${formatUtcOffset(zone as number)}); ${p.expect === 'auto' ? 'Linux guests keep' : 'policy expects'} it in UTC: set <clock offset='utc'> in the domain XML`];
    else [status, text] = ['fail', `${shown}: more than ${p.maxDriftS} s off UTC; ${p.expect === 'auto' ? 'Linux guests keep' : 'policy expects'} it in UTC: set <clock offset='utc'> in the domain XML`];
  } else if (zone === null) {
    [status, text] = nearUtc && p.expect === 'auto' ? ['unknown', `${shown}: reads UTC, but the guest's zone is unknown (no guest agent answered), so local time cannot be told from UTC`] : ['unknown', `${shown}; the guest's zone is unknown (no guest agent answered)`];
  } else if (nearZone) {
    [status, text] = ['pass', `${shown}: the guest's local time (${formatUtcOffset(zone)}), as expected`];
  } else {
    [status, text] = ['fail', `${shown}, but the guest's local time is ${formatUtcOffset(zone)}; ${p.expect === 'auto' ? 'Windows guests keep' : 'policy expects'} it in local time: set <clock offset='localtime'> in the domain XML`];
  }
  if (changes && status === 'pass') status = 'warn';
  return { id: 'rtc', status, reason: text + changes };
}

export function hostOffsetResult(ev: HostAuditEvidence, p: HostAuditPolicy['offset']): CheckResult<'offset'> {
  if (!isRead(ev.guestTime)) return { id: 'offset', status: 'unknown', reason: `${NO_AGENT}; ${whyNot(ev.guestTime, 'the guest agent time')}` };
  const g = ev.guestTime;
  const r = offsetByInterval(g.offsetMs, g.uncertaintyMs, p.warnMs, p.failMs);
  return { id: 'offset', status: r.status, reason: `guest agent (${g.via}): ${r.text}` };
}

export function hostZoneResult(ev: HostAuditEvidence, p: HostAuditPolicy['timezone']): CheckResult<'timezone'> {
  if (!isRead(ev.zone)) return { id: 'timezone', status: 'unknown', reason: `${NO_AGENT}; ${whyNot(ev.zone, 'the guest zone (guest-get-timezone)')}` };
  const z = ev.zone;
  const shown = `guest agent: zone ${z.name ?? 'unnamed'} (${formatUtcOffset(z.offsetS)})`;
  if (p.expected) {
    const want = zoneOffsetS(p.expected, z.atMs);
    if (want === null) return { id: 'timezone', status: 'unknown', reason: `${shown}; policy expects ${p.expected}, a zone this collector does not know` };
    // guest-get-timezone names an abbreviation, not an IANA zone: only the offset can be compared.
    if (want !== z.offsetS) return { id: 'timezone', status: 'fail', reason: `${shown}; policy expects ${p.expected} (${formatUtcOffset(want)} then): link /etc/localtime to /usr/share/zoneinfo/${p.expected}` };
    return { id: 'timezone', status: 'pass', reason: `${shown}: the offset of ${p.expected}, as the policy expects (the agent gives an abbreviation, not the IANA name)` };
  }
  if (z.name && /\//.test(z.name)) {
    const a = checkZoneAgreement(z.name, z.offsetS, z.atMs);
    if (!a.ok && a.reason !== 'unknown-zone') return { id: 'timezone', status: 'warn', reason: `${shown}, but ${z.name} is ${formatUtcOffset(a.expectedOffsetS)} at that instant: the guest's tzdata is probably outdated` };
  }
  return { id: 'timezone', status: 'pass', reason: shown };
}

/** libvirt-clock with the host's RTC reading and the guest agent's zone standing in for the agent's report. */
export function hostLibvirtClock(domain: JoinedDomain, ev: HostAuditEvidence, toleranceS: number): LibvirtClockResult {
  const rtc = isRead(ev.rtc) ? ev.rtc : null;
  const zone = isRead(ev.zone) ? ev.zone : null;
  // The guest agent's osinfo stands where an agent's report would (it is the guest's own word).
  const fam = isRead(ev.os) ? (ev.os.family ?? null) : null;
  return evaluateLibvirtClock(domain.domain, fam, {
    rtcOffsetS: rtc?.rtcOffsetS ?? null,
    atMs: rtc?.atMs ?? null,
    zoneName: null,
    zoneOffsetS: zone?.offsetS ?? null,
  }, { toleranceS: toleranceS + (rtc?.uncertaintyS ?? 0) });
}

/**
 * The finding when an agent's own RTC reading and the host's disagree beyond both uncertainties
 * and the drift limit (a guest RTC driver that reads another device, or a measurement fault).
 * null when they agree or either is missing.
 */
export function rtcDisagreement(agentRtcOffsetS: number | null, ev: HostAuditEvidence | null | undefined, maxDriftS: number): string | null {
  if (agentRtcOffsetS === null || !ev || !isRead(ev.rtc)) return null;
  const d = agentRtcOffsetS - ev.rtc.rtcOffsetS;
  if (Math.abs(d) <= maxDriftS + ev.rtc.uncertaintyS) return null;
  return `the agent reads the RTC at ${formatSeconds(agentRtcOffsetS)} but the host audit reads QEMU's RTC at ${formatSeconds(ev.rtc.rtcOffsetS)} ±${ev.rtc.uncertaintyS.toFixed(1)} s (${formatSeconds(d)} apart)`;
}
