/**
 * `offset`: |offsetMs| (guest − host, from the minimum-delay sample of the time exchange, RFC 5905
 * §8/§10) within the limits, proven by its uncertainty.
 */
import Type from 'typebox';
import { defineCheck, fmtMs, fmtUnc, worst, type CheckResult, type CheckStatus } from './types.js';

export interface OffsetSettings {
  enabled: boolean;
  warnMs: number;
  failMs: number;
}

export const offsetCheck = defineCheck<'offset', OffsetSettings>({
  id: 'offset',
  title: 'Offset to the host',
  policySchema: Type.Object(
    {
      enabled: Type.Optional(Type.Boolean()),
      warnMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      failMs: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    },
    { additionalProperties: false },
  ),
  defaults: { enabled: true, warnMs: 100, failMs: 1000 },
  dependsOnNow: false,
  column: 'c_offset',
  metricLabel: 'offset',
  runbook: 'docs/checks/offset.md',
  evaluate({ report, measurement: m, settings: p }): CheckResult<'offset'> {
    if (m.offsetMs === null || m.uncertaintyMs === null) {
      return { id: 'offset', status: 'unknown', reason: m.offsetError ?? 'no offset measured' };
    }
    const o = m.offsetMs;
    const u = m.uncertaintyMs;
    const lo = Math.max(0, Math.abs(o) - u);
    const hi = Math.abs(o) + u;
    // A clock days or years off (a guest that fell back to 1999 or 1970) is shown in days or years too.
    const far = Math.abs(o) >= 2 * 86_400_000 ? ` (${Math.abs(o) >= 2 * 31_557_600_000 ? `${(o / 31_557_600_000).toFixed(1)} years` : `${(o / 86_400_000).toFixed(1)} days`})` : '';
    const shown = `offset ${fmtMs(o)} ${fmtUnc(u)}${far}`;
    let status: CheckStatus;
    let reason: string;
    // The true |offset| lies in [|o| − u, |o| + u] (RFC 5905 §8: θ ± δ/2, plus quantisation). Judge
    // the interval: its lower end past a limit proves the limit is exceeded, whatever u is; only an
    // interval that straddles a limit with u larger than the limit itself decides nothing.
    const side = o > 0 ? 'ahead of' : 'behind';
    if (lo > p.failMs) {
      status = 'fail';
      reason = `${shown}: beyond the ${p.failMs} ms limit even at the near end of its uncertainty (guest ${side} the host): check the guest's NTP daemon`;
    } else if (lo > p.warnMs) {
      status = 'warn';
      reason =
        hi > p.failMs
          ? `${shown}: proven beyond the ${p.warnMs} ms warning limit and may exceed the ${p.failMs} ms limit (guest ${side} the host)`
          : `${shown}: beyond the ${p.warnMs} ms warning limit (guest ${side} the host)`;
    } else if (hi <= p.warnMs) {
      status = 'pass';
      reason = `${shown}, within ${p.warnMs} ms`;
    } else if (u > p.warnMs) {
      status = 'unknown';
      reason = `${shown}: the uncertainty alone exceeds the ${p.warnMs} ms limit, so this sample proves nothing (slow or congested path to the collector)`;
    } else if (hi <= p.failMs) {
      status = 'warn';
      reason = `${shown}: may exceed the ${p.warnMs} ms warning limit`;
    } else {
      status = 'warn';
      reason = `${shown}: may exceed the ${p.failMs} ms limit`;
    }
    // Wall-clock jumps the agent saw: steps warn; a suspend (CLOCK_BOOTTIME moved with the wall
    // clock while CLOCK_MONOTONIC stood still, clock_gettime(2)) is reported apart and does not.
    const suspends = report.events.filter((e) => e.kind === 'step' && e.cause === 'suspend');
    const steps = report.events.filter((e) => e.kind === 'step' && e.cause !== 'suspend' && Math.abs(e.stepMs) > p.warnMs);
    if (steps.length > 0) {
      const big = steps.reduce((a, b) => (Math.abs(b.stepMs) > Math.abs(a.stepMs) ? b : a));
      status = worst(status, 'warn');
      reason += `; the guest clock stepped ${steps.length} time(s) since the last report (largest ${fmtMs(big.stepMs)})`;
    }
    if (suspends.length > 0) {
      const totalS = suspends.reduce((a, e) => a + (e.suspendedMs ?? e.stepMs) / 1000, 0);
      reason += `; the guest was suspended ${suspends.length} time(s) for ${totalS.toFixed(0)} s in all (not a clock step)`;
    }
    if (m.hostSynchronized === false) {
      if (status === 'pass') status = 'warn';
      reason += '; reference unreliable: the collector host itself is not NTP-synchronised';
    }
    return { id: 'offset', status, reason };
  },
});
