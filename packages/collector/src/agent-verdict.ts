/**
 * One agent as the collector judges it now: the latest report's measurement and verdict (the
 * reporting check against the last delivery), plus — when the agent is joined to a libvirt domain —
 * the libvirt-clock check, counted like the others and tied to the rtc check when both are about
 * the same RTC reading. Used by GET /v1/agents/:id and by `status --db`, so both say the same.
 */
import { agentStatus, type LibvirtClock, type ReportMeasurement, type Verdict } from '@clockwatch/shared';
import type { Compliance } from './compliance.js';
import type { LibvirtAudit } from './libvirt/audit.js';
import { combineStatus, LIBVIRT_CHECK_ID, linkRtcDiagnosis } from './libvirt/check.js';
import type { AgentDetailRecord, AgentSummary } from './store/types.js';

export interface LibvirtView {
  domain: { name: string | null; uuid: string | null; source: string; live: boolean } | null;
  /** The domain's <clock> as configured (null: no <clock> element, libvirt then uses offset='utc'). */
  clock?: LibvirtClock | null;
  check: { status: string; reason: string; findings: { status: string; text: string }[]; family: string | null; familySource: string | null; recommendedXml: string | null } | null;
  /** Why there is no check (no domain has the agent's UUID, or it reports none). */
  note: string | null;
}

export interface AgentVerdict {
  agent: AgentSummary;
  verdict: Verdict;
  measurement: ReportMeasurement;
  /** Present when the libvirt audit is configured. */
  libvirt?: LibvirtView;
}

export function agentVerdict(
  deps: { compliance: Compliance; libvirt: LibvirtAudit | null; hostResolutionMs: number },
  a: AgentDetailRecord,
  nowMs: number,
): AgentVerdict {
  const { measurement, verdict } = deps.compliance.judge(
    a.report,
    { receivedAtMs: a.receivedAtMs, hostSynchronized: a.hostSynchronized, hostResolutionMs: deps.hostResolutionMs },
    a.summary.lastSeenMs,
    nowMs,
  );
  const audit = deps.libvirt;
  if (!audit) return { agent: a.summary, verdict, measurement };
  const entry = audit.domainFor(a.summary.systemUuid);
  if (!entry) {
    return {
      agent: a.summary,
      verdict,
      measurement,
      libvirt: {
        domain: null,
        check: null,
        note: a.summary.systemUuid
          ? `no libvirt domain read by this collector has the UUID ${a.summary.systemUuid}: no libvirt-clock check`
          : 'the agent reports no SMBIOS system UUID, so it cannot be joined to a libvirt domain: no libvirt-clock check',
      },
    };
  }
  const lv = audit.evaluateReport(entry, a.report, measurement, deps.compliance);
  const checks = [...linkRtcDiagnosis(verdict.checks, lv), { id: LIBVIRT_CHECK_ID, status: lv.status, reason: lv.reason }] as Verdict["checks"];
  return {
    agent: { ...a.summary, status: combineStatus(a.summary.status, lv.status), checks: { ...a.summary.checks, [LIBVIRT_CHECK_ID]: lv.status } },
    verdict: { ...verdict, status: agentStatus(checks), checks },
    measurement,
    libvirt: {
      domain: { name: entry.domain.name, uuid: entry.domain.uuid, source: entry.source, live: entry.domain.live },
      clock: entry.domain.clock,
      check: { status: lv.status, reason: lv.reason, findings: lv.findings, family: lv.family, familySource: lv.familySource, recommendedXml: lv.recommendedXml },
      note: null,
    },
  };
}
