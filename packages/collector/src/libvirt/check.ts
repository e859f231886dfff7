/**
 * How the host-side `libvirt-clock` check joins an agent's own verdict. Pure.
 *
 * - It counts like any other check: the agent's status is the worst of its status and this check's
 *   (fail → noncompliant, unknown → unknown, warn → warning), except that a stale agent stays stale
 *   (the same order as shared agentStatus()).
 * - An agent without a joined domain gets no libvirt-clock check at all (GET /v1/libvirt lists it
 *   as an agent without a domain): the check says something about a domain, and there is none.
 * - The guest's measured RTC and the domain's configured `<clock offset>` are one diagnosis: when
 *   the configuration explains (or contradicts) the RTC reading, the `rtc` check's reason names the
 *   cause in the domain XML instead of standing as a second, unrelated failure.
 */
import {
  familyFromPlatform,
  type AgentStatus,
  type CheckResult,
  type CheckStatus,
  type GuestFamily,
  type LibvirtClockResult,
  type LibvirtGuestMeasurement,
} from '@clockwatch/shared';

export const LIBVIRT_CHECK_ID = 'libvirt-clock';

const STATUS_RANK: Record<Exclude<AgentStatus, 'stale'>, number> = { compliant: 0, warning: 1, unknown: 2, noncompliant: 3 };
const FROM_CHECK: Record<CheckStatus, Exclude<AgentStatus, 'stale'>> = { pass: 'compliant', warn: 'warning', unknown: 'unknown', fail: 'noncompliant' };

/** The agent's status once one more check is counted. */
export function combineStatus(status: AgentStatus, check: CheckStatus): AgentStatus {
  if (status === 'stale') return 'stale';
  const other = FROM_CHECK[check];
  return STATUS_RANK[other] > STATUS_RANK[status] ? other : status;
}

/** Statuses that `combineStatus` can turn into one of `wanted` (for filtering before the overlay). */
export function statusesBefore(wanted: readonly AgentStatus[]): AgentStatus[] {
  const out = new Set<AgentStatus>();
  for (const w of wanted) {
    if (w === 'stale') {
      out.add('stale');
      continue;
    }
    for (const [s, r] of Object.entries(STATUS_RANK) as [Exclude<AgentStatus, 'stale'>, number][]) if (r <= STATUS_RANK[w]) out.add(s);
  }
  return [...out];
}

/** What evaluateLibvirtClock needs about the guest, from an agent's stored static parts and a sample. */
export interface GuestClockFacts {
  family: GuestFamily | null;
  measured: LibvirtGuestMeasurement;
  /** The policy's rtc.maxDriftS for this agent. */
  toleranceS: number;
}

interface StaticLike {
  os?: { platform?: string } | { error: unknown };
  timezone?: { name?: string | null; offsetS?: number } | { error: unknown };
  rtc?: { mode?: 'UTC' | 'LOCAL' | null } | { error: unknown };
}

/** Facts from the static parts the store keeps per report version (see ingest staticPartsOf). */
export function factsFromStatic(staticParts: Record<string, unknown> | null, sample: { rtcOffsetS: number | null; atMs: number | null }, toleranceS: number): GuestClockFacts {
  const sp = (staticParts ?? {}) as StaticLike;
  const os = sp.os && !('error' in sp.os) ? sp.os : null;
  const tz = sp.timezone && !('error' in sp.timezone) ? sp.timezone : null;
  const rtc = sp.rtc && !('error' in sp.rtc) ? sp.rtc : null;
  return {
    family: familyFromPlatform(os?.platform ?? null),
    measured: {
      rtcOffsetS: sample.rtcOffsetS,
      atMs: sample.atMs,
      zoneName: tz?.name ?? null,
      zoneOffsetS: typeof tz?.offsetS === 'number' ? tz.offsetS : null,
      rtcMode: rtc?.mode ?? null,
    },
    toleranceS,
  };
}

// Findings of evaluateLibvirtClock that tie the configured offset to the RTC the guest reads.
const TIES_RTC = /explains the RTC reading|^inconsistent: |RTC reads /;

/**
 * The one diagnosis: when the guest's `rtc` check did not pass and the libvirt-clock check has a
 * finding about that same RTC reading, the rtc reason says where the cause is. Returns new checks.
 */
export function linkRtcDiagnosis(checks: readonly CheckResult[], libvirt: Pick<LibvirtClockResult, 'status' | 'findings'>): CheckResult[] {
  const tie = libvirt.status === 'pass' ? undefined : libvirt.findings.find((f) => TIES_RTC.test(f.text));
  return checks.map((c) => {
    if (c.id !== 'rtc' || c.status === 'pass' || !tie) return c;
    return { ...c, reason: `${c.reason}; same cause as libvirt-clock: ${tie.text}` };
  });
}
