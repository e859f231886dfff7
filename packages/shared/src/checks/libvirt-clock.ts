/**
 * `libvirt-clock`: the host's view of the guest's `<clock>` in its libvirt domain XML
 * (docs/formatdomain.rst "Time keeping", virt-manager virtinst/domain/clock.py; domain.md §7),
 * joined to the agent by SMBIOS UUID. Only the host sees the domain XML, so this check applies only
 * when the collector's libvirt audit has a domain for the agent.
 */
import Type from 'typebox';
import { familyFromPlatform, type GuestFamily, type LibvirtClock, type LibvirtDomain } from '../libvirt.js';
import type { ReportMeasurement } from '../measure.js';
import { isOk, type Report } from '../schema/report.js';
import { formatUtcOffset, isKnownZone, sameZone, zoneDaylightOffsetS, zoneOffsetS } from '../timezone.js';
import { defineCheck, formatSeconds, type CheckResult, type CheckStatus } from './types.js';

export interface LibvirtGuestMeasurement {
  /** Measured RTC reading − host UTC, s (ReportMeasurement.rtcOffsetS). */
  rtcOffsetS: number | null;
  /** Host time of the measurement (to evaluate offset='timezone' zones at that instant). */
  atMs?: number | null;
  /** The guest's own zone and its UTC offset at atMs, from the report. */
  zoneName?: string | null;
  zoneOffsetS?: number | null;
  /** The guest's configured RTC mode (/etc/adjtime, RealTimeIsUniversal). */
  rtcMode?: 'UTC' | 'LOCAL' | null;
}

export interface LibvirtClockOptions {
  /** How far an RTC reading may be from an explained value, s (the policy's rtc.maxDriftS). */
  toleranceS?: number;
  /**
   * The inactive definition (`virsh dumpxml --inactive`): what the domain boots with next. A domain
   * redefined while running keeps its old <clock> until it is shut down and started again.
   */
  nextBoot?: LibvirtDomain | null;
}

export interface LibvirtFinding {
  status: Exclude<CheckStatus, 'pass'>;
  text: string;
}

export interface LibvirtClockResult {
  id: 'libvirt-clock';
  status: CheckStatus;
  /** One line: every finding, worst first, each naming the XML to write. */
  reason: string;
  findings: LibvirtFinding[];
  family: GuestFamily | null;
  familySource: 'agent' | 'libosinfo' | null;
  /** The whole `<clock>` element virt-manager would write for this family (null when unknown). */
  recommendedXml: string | null;
}

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, unknown: 2, fail: 3 };

/** An attribute value as it must be written inside '...' (values from a file are shown, capped, re-escaped). */
const xmlAttr = (v: string) => (v.length > 100 ? `${v.slice(0, 100)}…` : v).replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;');

/** The `<clock>` virt-manager writes (virtinst/domain/clock.py set_defaults, domain.md §7.2). */
export function recommendedClockXml(family: GuestFamily, zone?: string): string {
  const offset = family === 'windows' ? (zone ? `offset='timezone' timezone='${xmlAttr(zone)}'` : "offset='localtime'") : "offset='utc'";
  const hv = family === 'windows' ? "<timer name='hypervclock' present='yes'/>" : '';
  return `<clock ${offset}><timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/>${hv}</clock>`;
}

/** The RTC figure as the rtc check shows it (one rounding for both reasons: formatSeconds). */
const secs = formatSeconds;

/** The nonzero whole-quarter-hour offset the reading is near, else null (timezones are quarter hours). */
function quarterHour(s: number, tol: number): number | null {
  const q = Math.round(s / 900);
  return q !== 0 && Math.abs(q) <= 72 && Math.abs(s - q * 900) <= tol ? q * 900 : null;
}

function describeOffset(c: LibvirtClock): string {
  const parts = [`offset='${xmlAttr(c.offset)}'`];
  if (c.timezone !== null) parts.push(`timezone='${xmlAttr(c.timezone)}'`);
  if (c.basis !== null) parts.push(`basis='${xmlAttr(c.basis)}'`);
  if (c.adjustment !== null) parts.push(`adjustment='${xmlAttr(c.adjustment)}'`);
  if (c.start !== null) parts.push(`start='${xmlAttr(c.start)}'`);
  return `<clock ${parts.join(' ')}>`;
}

/**
 * What the configured offset means for the RTC: `kind` 'utc' (UTC, maybe plus `adjustS`),
 * 'host-local' (the host's local time plus adjustS), 'zone' (a named zone's local time), or
 * 'fixed' / 'invalid'.
 */
type Effective =
  | { kind: 'utc'; adjustS: number; persistsGuestWrites: boolean }
  | { kind: 'host-local'; adjustS: number; persistsGuestWrites: boolean }
  | { kind: 'zone'; zone: string }
  | { kind: 'fixed' }
  | { kind: 'invalid'; why: string };

function effectiveOffset(c: LibvirtClock | null): Effective {
  if (!c) return { kind: 'utc', adjustS: 0, persistsGuestWrites: false };
  const adj = c.adjustment;
  const numericAdj = adj !== null && adj !== 'reset' ? Number(adj) : 0;
  if (!Number.isFinite(numericAdj) || (adj !== null && adj !== 'reset' && !/^[+-]?\d+$/.test(adj.trim()))) {
    return { kind: 'invalid', why: `adjustment='${xmlAttr(adj ?? '')}' is neither a number of seconds nor 'reset'` };
  }
  switch (c.offset) {
    case 'utc':
    case 'localtime':
      // A numeric adjustment turns utc/localtime into variable (formatdomain.rst, since 0.9.11).
      return { kind: c.offset === 'utc' ? 'utc' : 'host-local', adjustS: numericAdj, persistsGuestWrites: adj !== null && adj !== 'reset' } as Effective;
    case 'variable':
      if (c.basis !== null && c.basis !== 'utc' && c.basis !== 'localtime') return { kind: 'invalid', why: `basis='${xmlAttr(c.basis)}' is neither utc nor localtime` };
      return { kind: c.basis === 'localtime' ? 'host-local' : 'utc', adjustS: numericAdj, persistsGuestWrites: true } as Effective;
    case 'timezone':
      if (!c.timezone) return { kind: 'invalid', why: "offset='timezone' without a timezone attribute" };
      return { kind: 'zone', zone: c.timezone };
    case 'absolute':
      return { kind: 'fixed' };
    default:
      return { kind: 'invalid', why: `offset='${xmlAttr(c.offset)}' is not one libvirt knows` };
  }
}

function offsetFindings(d: LibvirtDomain, family: GuestFamily, m: LibvirtGuestMeasurement | undefined, tol: number): { findings: LibvirtFinding[]; ok: string } {
  const out: LibvirtFinding[] = [];
  const c = d.clock;
  const written = c ? describeOffset(c) : "no <clock> element (libvirt defaults to offset='utc')";
  const eff = effectiveOffset(c);
  const rtc = m?.rtcOffsetS ?? null;
  const atMs = m?.atMs ?? null;
  const want = family === 'windows' ? "<clock offset='localtime'>" : "<clock offset='utc'>";
  const who = family === 'windows' ? 'Windows guests keep the RTC in local time' : 'Linux guests keep the RTC in UTC';
  const reading = rtc === null ? '' : ` (RTC reads ${secs(rtc)})`;
  if (eff.kind === 'invalid') return { findings: [{ status: 'unknown', text: `${written}: ${eff.why}; ${who}: set ${want}` }], ok: '' };
  if (eff.kind === 'fixed') {
    return { findings: [{ status: 'fail', text: `${written} starts the RTC at the same instant at every boot; ${who}: set ${want}` }], ok: '' };
  }

  if (family === 'linux') {
    if (eff.kind === 'utc' && Math.abs(eff.adjustS) <= tol) {
      if (rtc !== null && Math.abs(rtc) > tol) {
        const restart = d.live ? '' : ', or the domain still runs with an older configuration (XML edits take effect at the next full restart; compare virsh dumpxml)';
        out.push({
          status: 'warn',
          text: `inconsistent: ${written} should give an RTC in UTC, but the guest's RTC reads ${secs(rtc)}: the guest has set its RTC since the domain started (hwclock --systohc with 'LOCAL' in /etc/adjtime)${restart}`,
        });
      } else if (eff.persistsGuestWrites) {
        out.push({ status: 'warn', text: `${written} keeps whatever the guest writes to its RTC across restarts${reading}; set <clock offset='utc'> so that QEMU starts the RTC at UTC every time` });
      }
      return { findings: out, ok: `${written}${rtc !== null ? `, RTC reads ${secs(rtc)}: consistent` : ''}` };
    }
    if (eff.kind === 'utc') {
      const explained = rtc !== null && Math.abs(rtc - eff.adjustS) <= tol;
      out.push({
        status: 'fail',
        text: explained
          ? `configured ${written} explains the RTC reading ${secs(rtc as number)}: the RTC runs ${secs(eff.adjustS)} off UTC; ${who}: set <clock offset='utc'>`
          : `${written} puts the RTC ${secs(eff.adjustS)} off UTC${reading}; ${who}: set <clock offset='utc'>`,
      });
      return { findings: out, ok: '' };
    }
    if (eff.kind === 'host-local') {
      const hostPart = rtc === null ? null : rtc - eff.adjustS;
      const q = hostPart === null ? null : quarterHour(hostPart, tol);
      let text: string;
      if (rtc !== null && q !== null) {
        text = `configured ${written} explains the RTC reading ${secs(rtc)} (the host's local time, ${formatUtcOffset(q)}${eff.adjustS ? ` plus ${secs(eff.adjustS)}` : ''}); set <clock offset='utc'>`;
      } else if (hostPart !== null && Math.abs(hostPart) <= tol) {
        text = `${written} on a Linux guest: the RTC reads ${secs(rtc as number)} now only because the host's zone is at UTC+00:00, and it will follow the host's zone; set <clock offset='utc'>`;
      } else {
        text = `${written} gives a Linux guest the host's local time in its RTC${rtc !== null ? `; the RTC reads ${secs(rtc)}, which that does not explain either (the guest wrote its RTC, or it drifts)` : ''}; set <clock offset='utc'>`;
      }
      out.push({ status: 'fail', text });
      return { findings: out, ok: '' };
    }
    // kind === 'zone'
    if (isKnownZone(eff.zone) && sameZone(eff.zone, 'UTC')) {
      out.push({ status: 'warn', text: `${written} is UTC under another name; write <clock offset='utc'>` });
      return { findings: out, ok: '' };
    }
    const zoneNow = atMs !== null ? zoneOffsetS(eff.zone, atMs) : null;
    if (!isKnownZone(eff.zone)) {
      out.push({ status: 'fail', text: `${written} names a zone this collector does not know; ${who}: set <clock offset='utc'>` });
    } else if (rtc !== null && zoneNow !== null && Math.abs(rtc - zoneNow) <= tol) {
      out.push({ status: 'fail', text: `configured ${written} explains the RTC reading ${secs(rtc)} (${eff.zone} is ${formatUtcOffset(zoneNow)} then); set <clock offset='utc'>` });
    } else {
      out.push({ status: 'fail', text: `${written} keeps ${eff.zone} local time in the RTC of a Linux guest${reading}; set <clock offset='utc'>` });
    }
    return { findings: out, ok: '' };
  }

  // Windows: the RTC should keep the guest's own local time.
  const guestZone = m?.zoneName ?? null;
  const guestOff = m?.zoneOffsetS ?? null;
  const zoneFix = guestZone ? `<clock offset='timezone' timezone='${xmlAttr(guestZone)}'>` : null;
  if (eff.kind === 'host-local') {
    if (eff.persistsGuestWrites && Math.abs(eff.adjustS) > tol) {
      out.push({ status: 'fail', text: `${written} puts the RTC ${secs(eff.adjustS)} off the host's local time${reading}; ${who}: set <clock offset='localtime'>` });
      return { findings: out, ok: '' };
    }
    if (eff.persistsGuestWrites) {
      out.push({ status: 'warn', text: `${written} keeps whatever the guest writes to its RTC across restarts; set <clock offset='localtime'>` });
    }
    if (rtc !== null && guestOff !== null && Math.abs(rtc - eff.adjustS - guestOff) > tol) {
      out.push({
        status: 'warn',
        text: `${written} gives the host's local time (RTC reads ${secs(rtc)}), but the guest's zone${guestZone ? ` ${guestZone}` : ''} is ${formatUtcOffset(guestOff)}: ${zoneFix ? `write ${zoneFix} to give the guest its own local time` : "the host's and the guest's zones differ"}`,
      });
    }
    return { findings: out, ok: `${written}${rtc !== null && guestOff !== null ? `, RTC reads ${secs(rtc)} = the guest's ${formatUtcOffset(guestOff)}: consistent` : ''}` };
  }
  if (eff.kind === 'zone') {
    if (!isKnownZone(eff.zone)) {
      out.push({ status: 'fail', text: `${written} names a zone this collector does not know; ${who}: set ${zoneFix ?? "<clock offset='localtime'>"}` });
    } else if (guestZone === null) {
      out.push({ status: 'warn', text: `${written}: the guest's own zone is not known, so whether ${eff.zone} is its local time cannot be confirmed` });
    } else if (!sameZone(eff.zone, guestZone)) {
      out.push({ status: 'fail', text: `${written} keeps ${eff.zone} time in the RTC, but the guest's zone is ${guestZone}; write ${zoneFix}` });
    }
    return { findings: out, ok: `${written}, the guest's own zone` };
  }
  // eff.kind === 'utc' on Windows
  if (guestOff !== null && guestOff !== 0 && Math.abs(eff.adjustS - guestOff) <= tol && Math.abs(eff.adjustS) > tol) {
    // offset='utc' adjustment=<the guest's UTC offset> starts the RTC at the guest's local time:
    // right for Windows, as long as the zone has no DST (the adjustment is fixed).
    const dst = guestZone && isKnownZone(guestZone) && atMs !== null ? zoneDaylightOffsetS(guestZone, atMs) : null;
    if (dst !== null) {
      out.push({ status: 'warn', text: `${written} gives the guest's local time now (${formatUtcOffset(guestOff)}), but a fixed adjustment does not follow ${guestZone}'s DST; write ${zoneFix}` });
      return { findings: out, ok: '' };
    }
    return { findings: out, ok: `${written}: UTC plus the guest's own offset ${formatUtcOffset(guestOff)}${rtc !== null ? `, RTC reads ${secs(rtc)}` : ''}: its local time, consistent` };
  }
  if (m?.rtcMode === 'UTC' && Math.abs(eff.adjustS) <= tol) {
    out.push({
      status: 'warn',
      text: `${written} matches the guest's RealTimeIsUniversal=1, which Microsoft does not support; ${who}: set <clock offset='localtime'> and remove RealTimeIsUniversal`,
    });
    return { findings: out, ok: '' };
  }
  const utcExplained = rtc !== null && Math.abs(eff.adjustS) <= tol && Math.abs(rtc) <= tol;
  out.push({
    status: 'fail',
    text:
      utcExplained && guestOff !== null && guestOff !== 0
        ? `configured ${written} explains the RTC reading ${secs(rtc as number)}: Windows reads that UTC value as its local time (${formatUtcOffset(guestOff)}); set ${zoneFix ? `<clock offset='localtime'> (or ${zoneFix})` : "<clock offset='localtime'>"}`
        : `${written}${reading}; ${who}: set ${zoneFix ? `${zoneFix} (or <clock offset='localtime'> when the host is in the guest's zone)` : "<clock offset='localtime'>"}`,
  });
  return { findings: out, ok: '' };
}

function timerFindings(d: LibvirtDomain, family: GuestFamily | null): LibvirtFinding[] {
  // virt-manager applies these defaults to x86 QEMU/KVM guests only (no PIT/HPET/CMOS RTC elsewhere).
  const x86 = d.arch === null || /^(x86_64|i[3-6]86)$/.test(d.arch);
  const qemu = d.type === null || d.type === 'kvm' || d.type === 'qemu';
  if (!x86 || !qemu) return [];
  const timers = d.clock?.timers ?? [];
  const get = (n: string) => timers.find((t) => t.name === n);
  const out: LibvirtFinding[] = [];
  const want = (name: string, key: 'tickpolicy' | 'present', value: string, why: string) => {
    const t = get(name);
    const xml = `<timer name='${name}' ${key}='${value}'/>`;
    if (!t) out.push({ status: 'warn', text: `add ${xml} (${why})` });
    else if (key === 'tickpolicy' && t.present === 'no') out.push({ status: 'warn', text: `<timer name='${name}' present='no'> removes the ${name}; write ${xml} (${why})` });
    else if (t[key] !== value) out.push({ status: 'warn', text: `set ${xml}${t[key] !== null ? ` instead of ${key}='${t[key]}'` : ''} (${why})` });
  };
  want('rtc', 'tickpolicy', 'catchup', 'lost RTC ticks are replayed faster');
  want('pit', 'tickpolicy', 'delay', 'no PIT tick reinjection');
  want('hpet', 'present', 'no', 'no emulated HPET');
  if (family === 'windows') want('hypervclock', 'present', 'yes', "Hyper-V reference time for Windows' clock");
  const kvm = get('kvmclock');
  if (family !== 'windows' && kvm?.present === 'no') {
    out.push({ status: 'warn', text: "<timer name='kvmclock' present='no'> hides kvm-clock from the guest; remove it or write <timer name='kvmclock' present='yes'/>" });
  }
  return out;
}

/**
 * The `libvirt-clock` check for one domain. `family` comes from the joined agent's report
 * (familyFromPlatform(report.os.platform)) and wins over the libosinfo hint; `measured` is the
 * joined agent's latest measurement, used to tie the configured offset to the RTC the guest reads:
 * a Linux guest under offset='localtime' whose RTC reads +28800 s is one diagnosis.
 */
export function evaluateLibvirtClock(
  domain: LibvirtDomain,
  family: GuestFamily | null,
  measured?: LibvirtGuestMeasurement,
  options: LibvirtClockOptions = {},
): LibvirtClockResult {
  const tol = options.toleranceS ?? 5;
  const fam = family ?? domain.osFamilyHint;
  const familySource = family ? 'agent' : domain.osFamilyHint ? 'libosinfo' : null;
  const findings: LibvirtFinding[] = [];
  let okText: string;
  if (fam === null) {
    findings.push({
      status: 'unknown',
      text: `cannot tell whether ${domain.name ?? 'this domain'} runs Linux or Windows (no agent joined, no libosinfo metadata): Linux guests need <clock offset='utc'>, Windows guests <clock offset='localtime'>`,
    });
    okText = '';
  } else if (domain.clock === null && timerFindings(domain, fam).length > 0) {
    // Nothing to amend: the whole element is missing, so name the whole element.
    findings.push({
      status: fam === 'windows' ? 'fail' : 'warn',
      text: `no <clock> element (libvirt defaults to offset='utc'${fam === 'windows' ? ', which Windows reads as local time' : ''}, without the recommended timers); write ${recommendedClockXml(fam)}`,
    });
    okText = '';
  } else {
    const r = offsetFindings(domain, fam, measured, tol);
    findings.push(...r.findings);
    okText = r.ok;
  }
  if (domain.clock !== null || fam === null) findings.push(...timerFindings(domain, fam));
  findings.sort((a, b) => RANK[b.status] - RANK[a.status]);
  const status = findings.reduce<CheckStatus>((s, f) => (RANK[f.status] > RANK[s] ? f.status : s), 'pass');
  const famText = fam === 'windows' ? 'Windows' : 'Linux';
  let reason: string;
  if (findings.length === 0) {
    reason = `${okText}; rtc catchup, pit delay, hpet off${fam === 'windows' ? ', hypervclock on' : ''}: as virt-manager recommends for ${famText} guests`;
  } else {
    reason = findings.map((f) => f.text).join('; ');
  }
  if (family && domain.osFamilyHint && family !== domain.osFamilyHint) {
    reason += ` (libosinfo metadata says ${domain.osFamilyHint} (${domain.osinfoId}), the agent reports ${family})`;
  }
  let finalStatus = status;
  const next = options.nextBoot;
  const clockText = (d: LibvirtDomain) => (d.clock ? describeOffset(d.clock) : 'no <clock> element');
  if (next && fam !== null && clockText(next) !== clockText(domain)) {
    // The pending definition judged on its own: the RTC reading reflects the running one, so it
    // is left out (it changes only at the next start).
    const nb = evaluateLibvirtClock({ ...next, live: false }, family, measured ? { ...measured, rtcOffsetS: null } : undefined, { toleranceS: tol });
    const verb = nb.status === 'pass' ? 'which will pass' : nb.status === 'fail' ? 'which will fail' : nb.status === 'warn' ? 'which will warn' : 'which cannot be judged';
    const why = nb.status === 'pass' ? '' : `: ${nb.findings[0]?.text ?? nb.reason}`;
    const text = `from the next boot: ${clockText(next)}, ${verb}${why}`;
    reason += `; ${text}`;
    if (nb.status !== 'pass') {
      // A pending change that will not pass is worth a warning now, before the restart makes it real.
      findings.push({ status: 'warn', text });
      finalStatus = RANK[finalStatus] >= RANK['warn'] ? finalStatus : 'warn';
    }
  }
  return { id: 'libvirt-clock', status: finalStatus, reason, findings, family: fam, familySource, recommendedXml: fam ? recommendedClockXml(fam) : null };
}

/**
 * What evaluateLibvirtClock needs from a joined agent's latest report and its measurement: the OS
 * family (null when the report's os section could not be read) and the measured RTC facts.
 */
export function libvirtInputsFromReport(report: Report, m: ReportMeasurement): { family: GuestFamily | null; measured: LibvirtGuestMeasurement } {
  const tz = report.timezone;
  return {
    family: isOk(report.os) ? familyFromPlatform(report.os.platform) : null,
    measured: {
      rtcOffsetS: m.rtcOffsetS,
      atMs: m.receivedAtMs,
      zoneName: isOk(tz) ? tz.name : null,
      zoneOffsetS: isOk(tz) ? tz.offsetS : null,
      rtcMode: report.rtc.mode ?? null,
    },
  };
}


export interface LibvirtClockSettings {
  enabled: boolean;
}

/** The check result with the details surfaces show next to it (findings, the XML to write). */
export type LibvirtClockCheckResult = CheckResult<'libvirt-clock'> & { details: LibvirtClockResult };

export const libvirtClockCheck = defineCheck<'libvirt-clock', LibvirtClockSettings>({
  id: 'libvirt-clock',
  title: 'libvirt domain clock',
  policySchema: Type.Object({ enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  defaults: { enabled: true },
  dependsOnNow: false,
  column: 'c_libvirt_clock',
  metricLabel: 'libvirt-clock',
  runbook: 'docs/checks/libvirt-clock.md',
  evaluate({ report, measurement, policy, libvirt }): LibvirtClockCheckResult | null {
    if (!libvirt) return null;
    const { family, measured } = libvirtInputsFromReport(report, measurement);
    const toleranceS = (policy['rtc'] as { maxDriftS?: number } | undefined)?.maxDriftS ?? 5;
    const r = evaluateLibvirtClock(libvirt.domain, family, measured, { toleranceS, nextBoot: libvirt.nextBoot ?? null });
    let reason = r.reason;
    // Stale evidence is marked, never dropped: the last domain state read still decides.
    if (libvirt.readError) reason += ` (domain XML as last read by the host; the latest read failed: ${libvirt.readError})`;
    return { id: 'libvirt-clock', status: r.status, reason, details: r };
  },
});
