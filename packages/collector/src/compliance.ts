/**
 * Policy evaluation for the collector, on top of the pure shared core: the policy is parsed once
 * at start, each agent's settings are resolved once and cached by subject (id, hostname,
 * platform, labels), and the `reporting` check, which depends on *now*, is recomputed at query
 * time from the last delivery without touching history.
 */
import {
  DEFAULT_POLICY,
  evaluate,
  measureReport,
  resolvePolicy,
  subjectOf,
  type PolicyDocument,
  type Report,
  type ReportMeasurement,
  type ResolvedPolicy,
  type Verdict,
} from '@clockwatch/shared';

const MAX_CACHED = 50_000;

type Entry = { full: ResolvedPolicy; reportingOnly: ResolvedPolicy };

/** Same labels (a map: order does not matter). */
function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  if (a === b) return true;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

export class Compliance {
  readonly policy: PolicyDocument;
  private readonly cache = new Map<string, Entry>();
  /**
   * The entry last used per agent, with the subject it was resolved for. The ingest path asks
   * three times per report; comparing three fields beats building the cache key (JSON of the
   * labels) each time.
   */
  private readonly lastByAgent = new Map<string, { hostname: string; platform: string | null; labels: Record<string, string>; e: Entry }>();

  constructor(policy: PolicyDocument = DEFAULT_POLICY) {
    this.policy = policy;
  }

  private entry(report: Report): Entry {
    const s = subjectOf(report);
    const last = this.lastByAgent.get(s.agentId);
    if (last && last.hostname === s.hostname && last.platform === s.platform && sameLabels(last.labels, s.labels)) return last.e;
    const e = this.resolveEntry(s);
    if (this.lastByAgent.size >= MAX_CACHED) this.lastByAgent.clear();
    this.lastByAgent.set(s.agentId, { hostname: s.hostname, platform: s.platform, labels: s.labels, e });
    return e;
  }

  private resolveEntry(s: ReturnType<typeof subjectOf>): Entry {
    const key = `${s.agentId}\u0000${s.hostname}\u0000${s.platform ?? ''}\u0000${JSON.stringify(s.labels)}`;
    let e = this.cache.get(key);
    if (!e) {
      const full = resolvePolicy(this.policy, s);
      const off = { enabled: false };
      const reportingOnly: ResolvedPolicy = {
        ...full,
        clocksource: { ...full.clocksource, ...off },
        offset: { ...full.offset, ...off },
        rtc: { ...full.rtc, ...off },
        timezone: { ...full.timezone, ...off },
        ntp: { ...full.ntp, ...off },
      };
      e = { full, reportingOnly };
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(key, e);
    }
    return e;
  }

  /** The settings that apply to the report's agent. */
  resolve(report: Report): ResolvedPolicy {
    return this.entry(report).full;
  }

  evaluate(report: Report, m: ReportMeasurement, nowMs: number): Verdict {
    return evaluate(report, m, this.entry(report).full, nowMs);
  }

  /** How long after a delivery the agent turns stale, ms; null when the reporting check is off. */
  staleAfterMs(report: Report): number | null {
    const p = this.entry(report).full.reporting;
    return p.enabled ? p.staleAfterIntervals * report.agent.intervalS * 1000 : null;
  }

  /**
   * The measurement and verdict of a stored report as of `nowMs`: recomputed from the report, its
   * receive time and the host's NTP state then, with the reporting check evaluated against the
   * last delivery (`lastSeenMs`, which a late spooled report may have moved past the receipt of
   * the newest one).
   */
  judge(report: Report, stored: { receivedAtMs: number; hostSynchronized: boolean | null; hostResolutionMs: number }, lastSeenMs: number, nowMs: number) {
    const policy = this.entry(report).full;
    const measurement = measureReport(report, {
      receivedAtMs: stored.receivedAtMs,
      hostSynchronized: stored.hostSynchronized,
      hostResolutionMs: stored.hostResolutionMs,
      rtcToleranceS: policy.rtc.maxDriftS,
    });
    const verdict = evaluate(report, { ...measurement, receivedAtMs: lastSeenMs }, policy, nowMs);
    return { measurement, verdict };
  }
}
