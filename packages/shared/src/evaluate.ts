/**
 * evaluate(): the judge (judge.ts) without a libvirt domain, for callers that have a report, its
 * measurement, a policy and an instant. The checks themselves live in checks/<id>.ts.
 */
import { judge, type Verdict } from './judge.js';
import type { ReportMeasurement } from './measure.js';
import { resolvePolicy, type PolicyDocument, type ResolvedPolicy } from './policy.js';
import { isOk, type Report } from './schema/report.js';

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
  return judge({ report, measurement: m, policy: p, nowMs });
}
