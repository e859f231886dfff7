/**
 * The one judge. Every verdict clockwatch shows — the ingest reply, the API, /metrics, the fleet
 * page, the status CLI, the exports — is made here and only shown elsewhere:
 *
 *   report + measurement + resolved policy + joined libvirt domain + instant → verdict
 *
 * Each check is evaluated by its own definition in checks/<id>.ts, in registry order; the agent's
 * status is derived from the checks (agentStatus); the few diagnoses that span two checks (the
 * guest's RTC reading explained by the domain's `<clock offset>`) are joined here so that one cause
 * is named once. Pure: no I/O, no Date.now().
 */
import {
  CHECKS,
  STORED_CHECK_IDS,
  type AgentStatus,
  type CheckContext,
  type CheckId,
  type CheckResult,
  type JoinedDomain,
  type LibvirtClockCheckResult,
  type LibvirtClockResult,
} from './checks/index.js';
import {
  hostAuditFamily,
  hostLibvirtClock,
  hostOffsetResult,
  hostRtcResult,
  hostZoneResult,
  NO_AGENT,
  rtcDisagreement,
  type HostAuditEvidence,
  type HostAuditPolicy,
} from './checks/host-audit.js';
import type { ReportMeasurement } from './measure.js';
import type { ResolvedPolicy } from './policy.js';
import type { Report } from './schema/report.js';

export interface Verdict {
  status: AgentStatus;
  checks: CheckResult<CheckId>[];
  /** Policy rules that applied to this agent. */
  rules: string[];
  /** Details of the libvirt-clock check (findings, the `<clock>` to write), when a domain is joined. */
  libvirt?: LibvirtClockResult;
  /** Where the evidence came from: absent means the agent's report alone; 'host audit' (no agent); 'both'. */
  evidence?: 'agent' | 'host audit' | 'both';
}

export interface JudgeInput {
  report: Report;
  measurement: ReportMeasurement;
  policy: ResolvedPolicy;
  /** The libvirt domain the host audit joined to this agent, if any. */
  libvirt?: JoinedDomain | null;
  /** The agent's last delivery (host ms); default the measurement's receive time. */
  lastSeenMs?: number;
  nowMs: number;
  /** What the host audit read of this guest (QEMU's RTC, the guest agent), if it ran. */
  hostAudit?: HostAuditEvidence | null;
  /** 'stored': only the checks that do not depend on the instant (what is stored per sample). Default 'all'. */
  only?: 'all' | 'stored';
}

/** The agent's status from its checks: stale beats everything, then fail, unknown, warn. */
export function agentStatus(checks: readonly { id: string; status: CheckResult['status'] }[]): AgentStatus {
  if (checks.some((c) => c.id === 'reporting' && c.status === 'fail')) return 'stale';
  if (checks.some((c) => c.status === 'fail')) return 'noncompliant';
  if (checks.some((c) => c.status === 'unknown')) return 'unknown';
  if (checks.some((c) => c.status === 'warn')) return 'warning';
  return 'compliant';
}

// Findings of the libvirt-clock check that tie the configured offset to the RTC the guest reads.
const TIES_RTC = /explains the RTC reading|^inconsistent: |RTC reads /;

export function judge(input: JudgeInput): Verdict {
  const { report, measurement, policy, nowMs } = input;
  const libvirt = input.libvirt ?? null;
  const lastSeenMs = input.lastSeenMs ?? measurement.receivedAtMs;
  const stored = input.only === 'stored';
  const checks: CheckResult<CheckId>[] = [];
  let libvirtDetails: LibvirtClockResult | undefined;
  for (const def of CHECKS) {
    const settings = policy[def.id] as { enabled: boolean };
    if (!settings.enabled) continue;
    if (stored && def.dependsOnNow) continue;
    const ctx: CheckContext<never> = {
      report,
      measurement,
      settings: settings as never,
      policy: policy as unknown as Record<string, unknown>,
      libvirt,
      lastSeenMs,
      nowMs,
    };
    const r = (def.evaluate as (c: CheckContext<never>) => CheckResult<CheckId> | null)(ctx);
    if (r === null) continue;
    if (r.id === 'libvirt-clock') {
      libvirtDetails = (r as LibvirtClockCheckResult).details;
      checks.push({ id: r.id, status: r.status, reason: r.reason });
    } else {
      checks.push(r);
    }
  }
  // One cause, one diagnosis: when the guest's rtc check did not pass and the domain's <clock>
  // explains that same RTC reading, the rtc reason says where the cause is.
  const tie = libvirtDetails && libvirtDetails.status !== 'pass' ? libvirtDetails.findings.find((f) => TIES_RTC.test(f.text)) : undefined;
  if (tie) {
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      if (c.id === 'rtc' && c.status !== 'pass') checks[i] = { ...c, reason: `${c.reason}; same cause as libvirt-clock: ${tie.text}` };
    }
  }
  // Both views of one RTC: a disagreement between the agent's reading and the host's is a finding.
  const disagree = input.hostAudit ? rtcDisagreement(measurement.rtcOffsetS, input.hostAudit, policy.rtc.maxDriftS) : null;
  if (disagree) {
    for (let i = 0; i < checks.length; i++) {
      const c = checks[i]!;
      if (c.id === 'rtc') checks[i] = { ...c, status: c.status === 'fail' ? 'fail' : 'warn', reason: `${c.reason}; ${disagree}` };
    }
  }
  const verdict: Verdict = { status: agentStatus(checks), checks, rules: policy.rules };
  if (input.hostAudit) verdict.evidence = 'both';
  if (libvirtDetails) verdict.libvirt = libvirtDetails;
  return verdict;
}

export interface AgentlessInput {
  /** The domain as the host read it (XML, age, read error). */
  domain: JoinedDomain;
  hostAudit: HostAuditEvidence;
  policy: ResolvedPolicy;
  nowMs: number;
}

/**
 * The verdict of a guest without an agent, from the host audit alone, in registry order under the
 * registry's ids: what only an agent can see (clocksource, NTP, its reporting) is unknown with
 * the reason "no agent in this guest"; the RTC, the offset (through the guest agent), the zone
 * and the domain's <clock> are judged (checks/host-audit.ts).
 */
export function judgeAgentless(input: AgentlessInput): Verdict {
  const { domain, hostAudit: ev, policy, nowMs } = input;
  const { family } = hostAuditFamily(domain, ev);
  const p = policy as unknown as HostAuditPolicy;
  const checks: CheckResult<CheckId>[] = [];
  let libvirtDetails: LibvirtClockResult | undefined;
  const ageS = Math.max(0, Math.round((nowMs - ev.auditedAtMs) / 1000));
  for (const def of CHECKS) {
    if (!(policy[def.id] as { enabled: boolean }).enabled) continue;
    switch (def.id) {
      case 'offset':
        checks.push(hostOffsetResult(ev, p.offset));
        break;
      case 'rtc':
        checks.push(hostRtcResult(ev, family, p.rtc));
        break;
      case 'timezone':
        checks.push(hostZoneResult(ev, p.timezone));
        break;
      case 'reporting':
        checks.push({ id: 'reporting', status: 'unknown', reason: `${NO_AGENT}; the host audited it ${ageS} s ago` });
        break;
      case 'libvirt-clock': {
        const r = hostLibvirtClock(domain, ev, p.rtc.maxDriftS);
        libvirtDetails = r;
        const stale = domain.readError ? ` (domain XML as last read by the host; the latest read failed: ${domain.readError})` : '';
        checks.push({ id: 'libvirt-clock', status: r.status, reason: r.reason + stale });
        break;
      }
      default:
        checks.push({ id: def.id, status: 'unknown', reason: NO_AGENT });
    }
  }
  const verdict: Verdict = { status: agentStatus(checks), checks, rules: policy.rules, evidence: 'host audit' };
  if (libvirtDetails) verdict.libvirt = libvirtDetails;
  return verdict;
}

/** The per-check statuses a verdict stores (a check the policy disabled, or that does not apply, is absent). */
export function storedChecksOf(verdict: Verdict): Partial<Record<CheckId, CheckResult['status']>> {
  const out: Partial<Record<CheckId, CheckResult['status']>> = {};
  for (const c of verdict.checks) if ((STORED_CHECK_IDS as readonly string[]).includes(c.id)) out[c.id] = c.status;
  return out;
}
