/**
 * `clocksource`: the guest's current clocksource is one the policy allows
 * (/sys/devices/system/clocksource/clocksource0/current_clocksource, kernel/time/clocksource.c).
 */
import Type from 'typebox';
import { isOk } from '../schema/report.js';
import { defineCheck, sectionUnknown, type CheckResult } from './types.js';

const Str = Type.String({ minLength: 1, maxLength: 256 });

export interface ClocksourceSettings {
  enabled: boolean;
  allowed: string[];
}

export const clocksourceCheck = defineCheck<'clocksource', ClocksourceSettings>({
  id: 'clocksource',
  title: 'Clocksource',
  policySchema: Type.Object(
    { enabled: Type.Optional(Type.Boolean()), allowed: Type.Optional(Type.Array(Str, { minItems: 1, maxItems: 16 })) },
    { additionalProperties: false },
  ),
  defaults: { enabled: true, allowed: ['kvm-clock'] },
  dependsOnNow: false,
  column: 'c_clocksource',
  metricLabel: 'clocksource',
  runbook: 'docs/checks/clocksource.md',
  evaluate({ report, settings: p }): CheckResult<'clocksource'> {
    const cs = report.clocksource;
    if (!isOk(cs)) return sectionUnknown('clocksource', 'clocksource', cs.error);
    const allowed = p.allowed.join(', ');
    if (p.allowed.includes(cs.current)) return { id: 'clocksource', status: 'pass', reason: `clocksource ${cs.current}` };
    const wanted = p.allowed.find((a) => cs.available.includes(a));
    const fix = wanted
      ? `${wanted} is available: boot with clocksource=${wanted} (kernel command line) or write it to /sys/devices/system/clocksource/clocksource0/current_clocksource`
      : `none of them is available (available: ${cs.available.join(' ') || 'none'}): check the domain's <timer name='kvmclock'/> and the guest kernel's KVM guest support`;
    return { id: 'clocksource', status: 'fail', reason: `clocksource is ${cs.current}, policy allows ${allowed}; ${fix}` };
  },
});
