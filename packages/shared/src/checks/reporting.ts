/** `reporting`: the agent reported recently (policy × its own intervalS). Judged at the instant of the verdict. */
import Type from 'typebox';
import { defineCheck, formatAge, type AgentStatus, type CheckResult, type CheckStatus } from './types.js';

export interface ReportingSettings {
  enabled: boolean;
  staleAfterIntervals: number;
}

export const reportingCheck = defineCheck<'reporting', ReportingSettings>({
  id: 'reporting',
  title: 'Reporting',
  policySchema: Type.Object(
    { enabled: Type.Optional(Type.Boolean()), staleAfterIntervals: Type.Optional(Type.Number({ minimum: 1 })) },
    { additionalProperties: false },
  ),
  defaults: { enabled: true, staleAfterIntervals: 3 },
  dependsOnNow: true,
  column: 'c_reporting',
  metricLabel: 'reporting',
  runbook: 'docs/checks/reporting.md',
  evaluate({ report, settings: p, lastSeenMs, nowMs }): CheckResult<'reporting'> {
    const ageS = Math.max(0, (nowMs - lastSeenMs) / 1000);
    const limitS = p.staleAfterIntervals * report.agent.intervalS;
    if (isStaleAt(lastSeenMs, limitS * 1000, nowMs)) {
      return {
        id: 'reporting',
        status: 'fail',
        reason: `no report for ${formatAge(ageS)} (expected every ${formatAge(report.agent.intervalS)}; stale after ${formatAge(limitS)})`,
      };
    }
    return { id: 'reporting', status: 'pass', reason: `last report ${formatAge(ageS)} ago (every ${formatAge(report.agent.intervalS)})` };
  },
});

/** How long after a delivery the agent turns stale, ms; null when the check is off. */
export function staleAfterMs(settings: ReportingSettings, intervalS: number): number | null {
  return settings.enabled ? settings.staleAfterIntervals * intervalS * 1000 : null;
}

/**
 * The stale rule of the reporting check: no delivery for longer than `staleAfterMs` (null: the
 * check is off, never stale). The stores compile the same comparison into SQL (STATUS_SQL in
 * store/sqlite-sql.ts and store/postgres-list.ts) to filter and order the fleet by it.
 */
export function isStaleAt(lastSeenMs: number, staleAfterMs: number | null, nowMs: number): boolean {
  return staleAfterMs !== null && nowMs - lastSeenMs > staleAfterMs;
}

/**
 * The reporting check's status read back from a fleet status (agentStatus: 'stale' exactly when
 * reporting fails); null when the check is off for the agent (it has no staleness limit).
 */
export function reportingStatusOf(status: AgentStatus, checkOn: boolean): CheckStatus | null {
  return checkOn ? (status === 'stale' ? 'fail' : 'pass') : null;
}
