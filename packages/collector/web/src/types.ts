/**
 * What the page reads from the collector's JSON API. These mirror the response schemas
 * (packages/shared/src/schema/api.ts, packages/collector/src/schemas.ts); fields another version of
 * the collector may not send are optional, and the page shows "—" for them. The browser tests run
 * the page against a live collector, so a drift between the two fails there.
 */
export type AgentStatus = 'compliant' | 'warning' | 'noncompliant' | 'stale' | 'unknown';
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'unknown';

export const STATUSES: readonly AgentStatus[] = ['noncompliant', 'stale', 'unknown', 'warning', 'compliant'];

export interface AgentRow {
  id: string;
  hostname: string;
  status: AgentStatus;
  lastSeenMs: number;
  atMs?: number;
  intervalS?: number;
  offsetMs: number | null;
  uncertaintyMs: number | null;
  rtcOffsetS: number | null;
  clocksource: string | null;
  timezone: string | null;
  ntpSynchronized: boolean | null;
  systemUuid: string | null;
  labels: Record<string, string>;
  checks: Record<string, CheckStatus>;
  /** Per-row collector, when one store holds several collectors' agents. */
  collector?: string;
  measuredBy?: string;
}

export interface AgentList {
  collector?: string;
  total: number;
  offset: number;
  limit: number;
  agents: AgentRow[];
}

export interface Compliance {
  atMs: number;
  agents: number;
  byStatus: Record<string, number>;
  host: { synchronized: boolean | null; daemon: string | null };
  /** true when the collector runs the host audit: /v1/libvirt lists guests without an agent. */
  hostAudit?: boolean;
}

export interface CheckResult {
  id: string;
  status: CheckStatus;
  reason: string;
  fix?: string;
  runbook?: string;
  runbookUrl?: string;
}

export interface LibvirtClockConfig {
  offset: string;
  adjustment?: string | null;
  basis?: string | null;
  timezone?: string | null;
  start?: string | null;
  timers?: { name: string; present?: string | null; tickpolicy?: string | null; [k: string]: unknown }[];
}

export interface AgentDetail {
  agent: AgentRow;
  reportId?: string;
  collector?: string;
  firstSeenMs: number;
  verdict: { status: AgentStatus; checks: CheckResult[]; rules: string[] };
  measurement: {
    offsetMs: number | null;
    uncertaintyMs: number | null;
    delayMs: number | null;
    offsetError: string | null;
    rtcOffsetS: number | null;
    rtcInference: string | null;
    rtcExplanation: string | null;
    receivedAtMs: number;
    hostSynchronized: boolean | null;
  };
  drift: {
    ppm: number;
    uncertaintyPpm?: number | null;
    points: number;
    spanMs: number;
    segments: number;
    steps: number;
    fromMs: number;
    toMs: number;
  } | null;
  limits?: { offset: { enabled: boolean; warnMs: number; failMs: number } };
  libvirt?: {
    domain: { name: string | null; uuid: string | null; source: string; live: boolean } | null;
    /** The domain's <clock> as configured; null: it has none (libvirt then uses offset='utc'). */
    clock?: LibvirtClockConfig | null;
    check: {
      status: CheckStatus;
      reason: string;
      findings: { status: string; text: string }[];
      family: string | null;
      familySource: string | null;
      recommendedXml: string | null;
    } | null;
    note: string | null;
  };
  report: {
    events?: { kind: string; atMs: number; stepMs?: number; durationMs?: number }[];
    os?: { platform?: string; distro?: string; release?: string; kernel?: string };
    ntp?: { daemon?: string | null; server?: string | null };
    [k: string]: unknown;
  };
}

export interface HistoryPoint {
  atMs?: number;
  receivedAtMs: number;
  offsetMs: number | null;
  uncertaintyMs: number | null;
  status: AgentStatus;
  stepCount: number;
}

export interface History {
  agentId: string;
  fromMs: number;
  toMs: number;
  truncated: boolean;
  points: HistoryPoint[];
}

/** GET /v1/libvirt, the parts the fleet page shows (guests without an agent, from --host-audit). */
export interface LibvirtDomainRow {
  name: string | null;
  uuid: string | null;
  evidence: 'agent' | 'host audit' | 'both' | 'domain XML';
  hostAudit: {
    auditedAtMs: number;
    rtc: { rtcOffsetS: number; uncertaintyS: number } | { error: { code: string; message: string } } | null;
    guestTime: { offsetMs: number; uncertaintyMs: number } | { error: { code: string; message: string } } | null;
    zone: { name: string | null; offsetS: number } | { error: { code: string; message: string } } | null;
  } | null;
  verdict: { status: AgentStatus; checks: { id: string; status: CheckStatus; reason: string }[] } | null;
  hostAuditEvidence: { has: string[]; lacks: string[] } | null;
}

export interface LibvirtBody {
  domains: LibvirtDomainRow[];
}
