/**
 * Policy evaluation: report + measurement + policy + now → verdict. Pure: the instant is passed in.
 * Every check yields pass, warn, fail or unknown with a one-line reason; diagnoses (what is wrong
 * and the fix) are part of the reason, not left to the reader.
 */
import { ErrorCodes } from './errors.js';
import type { ReportMeasurement } from './measure.js';
import { platformFamily } from './measure.js';
import { resolvePolicy, type PolicyDocument, type ResolvedPolicy } from './policy.js';
import { rtcFixFor } from './rtc.js';
import { isOk, type Report } from './schema/report.js';
import { checkZoneAgreement, formatUtcOffset, sameZone } from './timezone.js';

/**
 * Every check id a verdict can hold. evaluate() produces the first six from a report; the
 * collector adds `libvirt-clock` (libvirt.ts, evaluateLibvirtClock) for agents joined to a libvirt
 * domain, since only the host sees the domain XML.
 */
export const CHECK_IDS = ['clocksource', 'offset', 'rtc', 'timezone', 'ntp', 'reporting', 'libvirt-clock'] as const;
export type CheckId = (typeof CHECK_IDS)[number];
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'unknown';
export type AgentStatus = 'compliant' | 'warning' | 'noncompliant' | 'stale' | 'unknown';
export const AGENT_STATUSES: readonly AgentStatus[] = ['compliant', 'warning', 'noncompliant', 'stale', 'unknown'];

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  reason: string;
}

export interface Verdict {
  status: AgentStatus;
  checks: CheckResult[];
  /** Policy rules that applied to this agent. */
  rules: string[];
}

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, unknown: 2, fail: 3 };
const worst = (a: CheckStatus, b: CheckStatus): CheckStatus => (RANK[a] >= RANK[b] ? a : b);

const ms = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(Math.abs(v) < 10 ? 3 : 1)} ms`;
const unc = (v: number) => `±${v.toFixed(v < 10 ? 3 : 1)} ms`;

/** '42 s', '12 min', '3.5 h', '2.0 d' */
export function formatAge(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

function sectionUnknown(id: CheckId, what: string, error: { code: string; message: string }): CheckResult {
  return { id, status: 'unknown', reason: `${what} could not be read: ${error.message} (${error.code})` };
}

function checkClocksource(report: Report, p: ResolvedPolicy['clocksource']): CheckResult {
  const cs = report.clocksource;
  if (!isOk(cs)) return sectionUnknown('clocksource', 'clocksource', cs.error);
  const allowed = p.allowed.join(', ');
  if (p.allowed.includes(cs.current)) return { id: 'clocksource', status: 'pass', reason: `clocksource ${cs.current}` };
  const wanted = p.allowed.find((a) => cs.available.includes(a));
  const fix = wanted
    ? `${wanted} is available: boot with clocksource=${wanted} (kernel command line) or write it to /sys/devices/system/clocksource/clocksource0/current_clocksource`
    : `none of them is available (available: ${cs.available.join(' ') || 'none'}): check the domain's <timer name='kvmclock'/> and the guest kernel's KVM guest support`;
  return { id: 'clocksource', status: 'fail', reason: `clocksource is ${cs.current}, policy allows ${allowed}; ${fix}` };
}

function checkOffset(report: Report, m: ReportMeasurement, p: ResolvedPolicy['offset']): CheckResult {
  if (m.offsetMs === null || m.uncertaintyMs === null) {
    return { id: 'offset', status: 'unknown', reason: m.offsetError ?? 'no offset measured' };
  }
  const o = m.offsetMs;
  const u = m.uncertaintyMs;
  const lo = Math.max(0, Math.abs(o) - u);
  const hi = Math.abs(o) + u;
  const shown = `offset ${ms(o)} ${unc(u)}`;
  let status: CheckStatus;
  let reason: string;
  if (lo > p.failMs) {
    status = 'fail';
    reason = `${shown}: beyond the ${p.failMs} ms limit (guest ${o > 0 ? 'ahead of' : 'behind'} the host)`;
  } else if (hi <= p.warnMs) {
    status = 'pass';
    reason = `${shown}, within ${p.warnMs} ms`;
  } else if (u > p.warnMs) {
    status = 'unknown';
    reason = `${shown}: the uncertainty alone exceeds the ${p.warnMs} ms limit, so this sample proves nothing (slow or congested path to the collector)`;
  } else if (hi <= p.failMs) {
    status = 'warn';
    reason = `${shown}: beyond the ${p.warnMs} ms warning limit`;
  } else {
    status = 'warn';
    reason = `${shown}: may exceed the ${p.failMs} ms limit`;
  }
  const steps = report.events.filter((e) => e.kind === 'step' && Math.abs(e.stepMs) > p.warnMs);
  if (steps.length > 0) {
    const big = steps.reduce((a, b) => (Math.abs(b.stepMs) > Math.abs(a.stepMs) ? b : a));
    status = worst(status, 'warn');
    reason += `; the guest clock stepped ${steps.length} time(s) since the last report (largest ${ms(big.stepMs)})`;
  }
  if (m.hostSynchronized === false) {
    if (status === 'pass') status = 'warn';
    reason += '; reference unreliable: the collector host itself is not NTP-synchronised';
  }
  return { id: 'offset', status, reason };
}

function checkRtc(report: Report, m: ReportMeasurement, p: ResolvedPolicy['rtc']): CheckResult {
  const family = platformFamily(report);
  const expect = p.expect === 'auto' ? (family === 'windows' ? 'localtime' : 'utc') : p.expect;
  const fix = rtcFixFor(expect === 'localtime' ? 'windows' : 'linux');
  const who = p.expect === 'auto' ? (family === 'windows' ? 'Windows guests keep' : 'Linux guests keep') : 'policy expects';
  const wantText = expect === 'utc' ? 'UTC' : 'local time';
  const wantMode = expect === 'utc' ? 'UTC' : 'LOCAL';
  const rtc = report.rtc;
  const problems: { status: CheckStatus; text: string }[] = [];

  // Configured mode (/etc/adjtime, /etc/sysconfig/clock, RealTimeIsUniversal).
  const mode = rtc.mode ?? null;
  const configWrong = mode !== null && mode !== wantMode;
  const cfgFix =
    family === 'windows'
      ? `RealTimeIsUniversal=${expect === 'utc' ? 1 : 0} in the registry`
      : `'${wantMode}' on line 3 of /etc/adjtime (timedatectl set-local-rtc ${expect === 'utc' ? 0 : 1})`;
  const configText = `${mode} in ${rtc.modeSource ?? 'the configuration'}`;
  const modes = new Set((rtc.modeSources ?? []).map((s) => s.mode).filter((x) => x !== null));
  if (modes.size > 1) {
    const list = (rtc.modeSources ?? []).map((s) => `${s.source}=${s.mode ?? '?'}`).join(', ');
    problems.push({ status: 'warn', text: `RTC mode sources disagree (${list})` });
  }

  // What the RTC actually keeps, measured against host UTC. When the configuration explains the
  // reading (Linux guest, LOCAL configured, RTC reads local time) it is one diagnosis, not two.
  let configExplained = false;
  if (!isOk(rtc)) {
    if (rtc.error.code !== ErrorCodes.RTC_ABSENT) {
      problems.push({ status: 'unknown', text: `RTC could not be read: ${rtc.error.message} (${rtc.error.code})` });
    } else if (!configWrong && problems.length === 0) {
      return { id: 'rtc', status: 'pass', reason: `no RTC device in this guest (${rtc.error.message}): nothing can set the clock from a wrong RTC` };
    }
  } else if (m.rtc === null || m.rtcOffsetS === null) {
    problems.push({ status: 'unknown', text: `RTC read, but no offset against the host: ${m.offsetError ?? 'no time exchange'}` });
  } else {
    const a = m.rtc;
    const off = formatSeconds(m.rtcOffsetS);
    const measuredLocal = a.inferred === 'guest-local' || a.inferred === 'guest-standard';
    if (expect === 'utc' && measuredLocal) {
      configExplained = configWrong;
      problems.push({
        status: 'fail',
        text:
          `RTC keeps local time (rtcOffsetS ${off}, the guest's zone offset${configExplained ? `; ${configText}` : ''}); ` +
          `${who} it in UTC: set ${fix} in the domain XML and ${cfgFix}`,
      });
    } else if (expect === 'localtime' && a.inferred === 'utc') {
      configExplained = configWrong;
      problems.push({
        status: 'fail',
        text: `RTC keeps UTC (rtcOffsetS ${off}${configExplained ? `; ${configText}` : ''}); ${who} it in local time: set ${fix} in the domain XML${configExplained ? ` and ${cfgFix}` : ''}`,
      });
    } else if (expect === 'localtime' && a.inferred === 'guest-standard') {
      problems.push({ status: 'warn', text: `${a.explanation}: DST is not applied to the RTC` });
    } else if (a.inferred === 'other-offset') {
      problems.push({ status: 'fail', text: `${a.explanation}; ${who} it in ${wantText}: set ${fix} in the domain XML` });
    } else if (a.inferred === 'drifting') {
      problems.push({ status: 'fail', text: `${a.explanation} (${p.maxDriftS} s allowed)` });
    }
  }
  if (configWrong && !configExplained) {
    problems.unshift({ status: 'fail', text: `configured RTC mode is ${configText}; ${who} it in ${wantText}: set ${cfgFix}` });
  }
  if (problems.length === 0) {
    const measured = m.rtc ? m.rtc.explanation : 'RTC';
    return { id: 'rtc', status: 'pass', reason: `${measured}; expected ${wantText}${mode ? `, configured ${mode}` : ''}` };
  }
  const status = problems.reduce<CheckStatus>((s, x) => worst(s, x.status), 'pass');
  return { id: 'rtc', status, reason: problems.map((x) => x.text).join('; ') };
}

/** '+28800 s', '-0.4 s', '0.0 s' (no negative zero) */
function formatSeconds(v: number): string {
  const r = Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 10) / 10;
  if (r === 0) return '0.0 s';
  return `${r > 0 ? '+' : ''}${Math.abs(v) >= 100 ? r.toFixed(0) : r.toFixed(1)} s`;
}

function checkTimezone(report: Report, p: ResolvedPolicy['timezone']): CheckResult {
  const tz = report.timezone;
  if (!isOk(tz)) return sectionUnknown('timezone', 'timezone', tz.error);
  const shown = `${tz.name ?? 'unnamed zone'} (${formatUtcOffset(tz.offsetS)})`;
  if (tz.name === null) {
    return {
      id: 'timezone',
      status: p.expected ? 'fail' : 'warn',
      reason: `the zone could not be named (offset ${formatUtcOffset(tz.offsetS)}, source ${tz.source})${p.expected ? `; policy expects ${p.expected}` : ''}`,
    };
  }
  if (p.expected && !sameZone(tz.name, p.expected)) {
    return { id: 'timezone', status: 'fail', reason: `timezone is ${shown}, policy expects ${p.expected}: link /etc/localtime to /usr/share/zoneinfo/${p.expected}` };
  }
  const agreement = checkZoneAgreement(tz.name, tz.offsetS, report.systemTime.epochMs);
  if (!agreement.ok) {
    if (agreement.reason === 'unknown-zone') {
      return { id: 'timezone', status: 'warn', reason: `timezone ${shown} is not a zone this collector knows` };
    }
    return {
      id: 'timezone',
      status: 'warn',
      reason: `guest applies ${formatUtcOffset(tz.offsetS)} but ${tz.name} is ${formatUtcOffset(agreement.expectedOffsetS)} at that instant: the guest's tzdata is probably outdated`,
    };
  }
  if (tz.disagreements.length > 0) {
    return { id: 'timezone', status: 'warn', reason: `timezone ${shown}, but sources disagree: ${tz.disagreements.join('; ')}` };
  }
  return { id: 'timezone', status: 'pass', reason: `timezone ${shown}${p.expected ? ', as the policy expects' : ''}` };
}

function checkNtp(report: Report, p: ResolvedPolicy['ntp']): CheckResult {
  const ntp = report.ntp;
  if (!isOk(ntp)) return sectionUnknown('ntp', 'NTP state', ntp.error);
  if (ntp.daemon === 'none') {
    return { id: 'ntp', status: 'fail', reason: 'no NTP daemon runs (chronyd, ntpd, systemd-timesyncd or w32time): the clock is free-running' };
  }
  if (ntp.statusError) {
    return { id: 'ntp', status: 'unknown', reason: `${ntp.daemon} runs but its status could not be read: ${ntp.statusError.message} (${ntp.statusError.code})` };
  }
  if (ntp.synchronized === null) return { id: 'ntp', status: 'unknown', reason: `${ntp.daemon} runs; whether it is synchronised is unknown` };
  if (!ntp.synchronized) return { id: 'ntp', status: 'fail', reason: `${ntp.daemon} runs but is not synchronised${ntp.server ? ` (last server ${ntp.server})` : ''}` };
  if (ntp.lastSyncAgeS !== null && ntp.lastSyncAgeS > p.maxLastSyncAgeS) {
    return { id: 'ntp', status: 'fail', reason: `${ntp.daemon} last synchronised ${formatAge(ntp.lastSyncAgeS)} ago (limit ${formatAge(p.maxLastSyncAgeS)})` };
  }
  if (p.allowedServers.length > 0) {
    const server = ntp.server;
    const ok = server !== null && p.allowedServers.some((a) => a.toLowerCase() === server.toLowerCase());
    if (!ok) {
      return { id: 'ntp', status: 'fail', reason: `${ntp.daemon} is synchronised to ${server ?? 'an unnamed source'}, not to an allowed server (${p.allowedServers.join(', ')})` };
    }
  }
  const parts = [`${ntp.daemon} synchronised${ntp.server ? ` to ${ntp.server}` : ''}`];
  if (ntp.stratum !== null) parts.push(`stratum ${ntp.stratum}`);
  if (ntp.lastSyncAgeS !== null) parts.push(`last sync ${formatAge(ntp.lastSyncAgeS)} ago`);
  return { id: 'ntp', status: 'pass', reason: parts.join(', ') };
}

function checkReporting(report: Report, m: ReportMeasurement, p: ResolvedPolicy['reporting'], nowMs: number): CheckResult {
  const ageS = Math.max(0, (nowMs - m.receivedAtMs) / 1000);
  const limitS = p.staleAfterIntervals * report.agent.intervalS;
  if (ageS > limitS) {
    return { id: 'reporting', status: 'fail', reason: `no report for ${formatAge(ageS)} (expected every ${formatAge(report.agent.intervalS)}; stale after ${formatAge(limitS)})` };
  }
  return { id: 'reporting', status: 'pass', reason: `last report ${formatAge(ageS)} ago (every ${formatAge(report.agent.intervalS)})` };
}

export function agentStatus(checks: readonly CheckResult[]): AgentStatus {
  if (checks.some((c) => c.id === 'reporting' && c.status === 'fail')) return 'stale';
  if (checks.some((c) => c.status === 'fail')) return 'noncompliant';
  if (checks.some((c) => c.status === 'unknown')) return 'unknown';
  if (checks.some((c) => c.status === 'warn')) return 'warning';
  return 'compliant';
}

export function subjectOf(report: Report) {
  return {
    agentId: report.agent.id,
    hostname: report.agent.hostname,
    labels: report.agent.labels,
    platform: isOk(report.os) ? report.os.platform : null,
  };
}

/**
 * Evaluates one report. `policy` is either a policy document (resolved here for this agent) or
 * settings already resolved by the caller.
 */
export function evaluate(report: Report, m: ReportMeasurement, policy: PolicyDocument | ResolvedPolicy, nowMs: number): Verdict {
  const p: ResolvedPolicy = 'version' in policy ? resolvePolicy(policy, subjectOf(report)) : policy;
  const checks: CheckResult[] = [];
  if (p.clocksource.enabled) checks.push(checkClocksource(report, p.clocksource));
  if (p.offset.enabled) checks.push(checkOffset(report, m, p.offset));
  if (p.rtc.enabled) checks.push(checkRtc(report, m, p.rtc));
  if (p.timezone.enabled) checks.push(checkTimezone(report, p.timezone));
  if (p.ntp.enabled) checks.push(checkNtp(report, p.ntp));
  if (p.reporting.enabled) checks.push(checkReporting(report, m, p.reporting, nowMs));
  return { status: agentStatus(checks), checks, rules: p.rules };
}
