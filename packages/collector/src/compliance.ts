/**
 * The collector's side of the one judge (shared judge.ts). Every surface that shows a status — the
 * ingest reply, /v1/agents, /v1/agents/:id, /v1/compliance, /v1/libvirt, /metrics, `status`, the
 * exports — gets it from here, and here only calls judge():
 *
 * - the policy is resolved once per agent subject (id, hostname, platform, labels) and cached
 *   until the policy is replaced (setPolicy, on SIGHUP);
 * - the libvirt domain joined to the agent by SMBIOS UUID comes from the audit's snapshot, with
 *   its age and the error of the latest read (stale evidence is marked by the check, never dropped);
 * - `storedOf()` is the part of a verdict the store keeps per latest state (every check that does
 *   not depend on the instant, the status without `reporting`, the staleness limit): the store's
 *   per-check columns are a cache of the judge's output, rebuilt by `rejudge` whenever the policy
 *   or the libvirt snapshot changes, and the store combines `reporting` with the query's instant by
 *   the same rule as the reporting check (now − last delivery > limit).
 */
import {
  agentStatus,
  DEFAULT_POLICY,
  judge,
  judgeAgentless,
  hostAuditFamily,
  measureReport,
  resolvePolicy,
  staleAfterMs,
  storedChecksOf,
  subjectOf,
  type CheckStatus,
  type HostAuditEvidence,
  type JoinedDomain,
  type PolicyDocument,
  type Report,
  type ReportMeasurement,
  type ResolvedPolicy,
  type CheckId,
  type Verdict,
} from '@clockwatch/shared';
import { sameRecord } from './same-record.js';

const MAX_CACHED = 50_000;

/** What the judge needs of a stored latest state (AgentDetailRecord and the store's rejudge rows have it). */
export interface StoredState {
  report: Report;
  receivedAtMs: number;
  hostSynchronized: boolean | null;
  /** Resolution of the host's timestamps when it was received, ms (null: the current one). */
  hostResolutionMs?: number | null;
  lastSeenMs: number;
}

/** The part of a verdict the store keeps (see the module comment). */
export interface StoredVerdict {
  baseStatus: Verdict['status'];
  checks: Partial<Record<CheckId, CheckStatus>>;
  staleAfterMs: number | null;
}

/** Where the collector finds the libvirt domain of an agent (the audit; null: not configured). */
export interface DomainSource {
  joinedDomain(systemUuid: string | null | undefined): JoinedDomain | null;
  /** The host audit's evidence for the domain (--host-audit), if any. */
  hostAuditFor?(uuid: string | null | undefined): HostAuditEvidence | null;
}

export class Compliance {
  private current: PolicyDocument;
  private domains: DomainSource | null;
  private readonly cache = new Map<string, ResolvedPolicy>();
  /** The settings last used per agent, with the subject they were resolved for (cheaper than the cache key). */
  private readonly lastByAgent = new Map<string, { hostname: string; platform: string | null; labels: Record<string, string>; p: ResolvedPolicy }>();

  constructor(policy: PolicyDocument = DEFAULT_POLICY, domains: DomainSource | null = null, readonly hostResolutionMs = 0.001) {
    this.current = policy;
    this.domains = domains;
  }

  get policy(): PolicyDocument {
    return this.current;
  }

  /** Replaces the policy (SIGHUP); the caller then re-judges the stored latest states. */
  setPolicy(policy: PolicyDocument): void {
    this.current = policy;
    this.cache.clear();
    this.lastByAgent.clear();
  }

  setDomains(domains: DomainSource | null): void {
    this.domains = domains;
  }

  /** The settings that apply to the report's agent. */
  resolve(report: Report): ResolvedPolicy {
    const s = subjectOf(report);
    const last = this.lastByAgent.get(s.agentId);
    if (last && last.hostname === s.hostname && last.platform === s.platform && sameRecord(last.labels, s.labels)) return last.p;
    const key = `${s.agentId}\u0000${s.hostname}\u0000${s.platform ?? ''}\u0000${JSON.stringify(s.labels)}`;
    let p = this.cache.get(key);
    if (!p) {
      p = resolvePolicy(this.current, s);
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(key, p);
    }
    if (this.lastByAgent.size >= MAX_CACHED) this.lastByAgent.clear();
    this.lastByAgent.set(s.agentId, { hostname: s.hostname, platform: s.platform, labels: s.labels, p });
    return p;
  }

  /** The libvirt domain joined to the agent, if the audit has one. */
  joined(report: Report): JoinedDomain | null {
    return this.domains?.joinedDomain(report.agent.systemUuid) ?? null;
  }

  measure(report: Report, at: { receivedAtMs: number; hostSynchronized: boolean | null; hostResolutionMs?: number | null }): ReportMeasurement {
    return measureReport(report, {
      receivedAtMs: at.receivedAtMs,
      hostSynchronized: at.hostSynchronized,
      hostResolutionMs: at.hostResolutionMs ?? this.hostResolutionMs,
      rtcToleranceS: this.resolve(report).rtc.maxDriftS,
    });
  }

  /** The verdict of a report and its measurement as of nowMs (the one call to judge()). */
  judgeReport(report: Report, measurement: ReportMeasurement, lastSeenMs: number, nowMs: number): { verdict: Verdict; joined: JoinedDomain | null } {
    const joined = this.joined(report);
    const hostAudit = joined ? (this.domains?.hostAuditFor?.(joined.domain.uuid) ?? null) : null;
    const verdict = judge({ report, measurement, policy: this.resolve(report), libvirt: joined, lastSeenMs, nowMs, ...(hostAudit ? { hostAudit } : {}) });
    return { verdict, joined };
  }

  /**
   * The verdict of a domain without an agent, from the host audit (judgeAgentless). Its policy
   * subject: agentId `domain:<uuid>`, hostname the domain name, platform the family the host knows
   * (guest agent osinfo, then libosinfo), no labels — so policy rules can match agentless guests.
   */
  judgeDomain(domain: JoinedDomain, hostAudit: HostAuditEvidence, nowMs: number): Verdict {
    const { family } = hostAuditFamily(domain, hostAudit);
    const policy = resolvePolicy(this.current, { agentId: `domain:${domain.domain.uuid ?? domain.source}`, hostname: domain.domain.name ?? '', platform: family, labels: {} });
    return judgeAgentless({ domain, hostAudit, policy, nowMs });
  }

  /** A stored latest state judged as of nowMs: its measurement (recomputed from the report and its receipt) and verdict. */
  judgeStored(s: StoredState, nowMs: number): { measurement: ReportMeasurement; verdict: Verdict; joined: JoinedDomain | null } {
    const measurement = this.measure(s.report, s);
    return { measurement, ...this.judgeReport(s.report, measurement, s.lastSeenMs, nowMs) };
  }

  /** What the store keeps of a verdict. */
  storedOf(report: Report, verdict: Verdict): StoredVerdict {
    return {
      baseStatus: agentStatus(verdict.checks.filter((c) => c.id !== 'reporting')),
      checks: storedChecksOf(verdict) as Partial<Record<CheckId, CheckStatus>>,
      staleAfterMs: staleAfterMs(this.resolve(report).reporting, report.agent.intervalS),
    };
  }

  /** The stored part of a latest state's verdict (what `rejudge` writes). */
  storedVerdictOf(s: StoredState): StoredVerdict {
    const { verdict } = this.judgeStored(s, s.lastSeenMs);
    return this.storedOf(s.report, verdict);
  }
}
