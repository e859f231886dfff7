/** `timezone`: the guest's IANA zone equals the expected one (when the policy names one), and its offset agrees with tzdata. */
import Type from 'typebox';
import { platformFamily } from '../measure.js';
import { isOk, type Report } from '../schema/report.js';
import { checkZoneAgreement, formatUtcOffset, sameZone } from '../timezone.js';
import { ianaToWindows } from '../windows-zones.js';
import { defineCheck, sectionUnknown, type CheckResult } from './types.js';

/**
 * How to set the zone, by the report's OS. Linux: /etc/localtime is a symlink into
 * /usr/share/zoneinfo (localtime(5)). Windows: `tzutil /s` takes the Windows zone name, which CLDR
 * windowsZones maps from IANA (domain.md §8); `tzutil /l` lists the names the guest knows.
 */
function zoneFix(report: Report, zone: string): string {
  if (platformFamily(report) === 'windows') {
    const win = ianaToWindows(zone);
    return win
      ? `tzutil /s "${win}" (the Windows name of ${zone} in CLDR windowsZones)`
      : `tzutil /s with the Windows name of ${zone} (CLDR windowsZones has none; tzutil /l lists the guest's zones)`;
  }
  return `link /etc/localtime to /usr/share/zoneinfo/${zone}`;
}

export interface TimezoneSettings {
  enabled: boolean;
  expected: string | null;
}

export const timezoneCheck = defineCheck<'timezone', TimezoneSettings>({
  id: 'timezone',
  title: 'Timezone',
  policySchema: Type.Object(
    { enabled: Type.Optional(Type.Boolean()), expected: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()])) },
    { additionalProperties: false },
  ),
  defaults: { enabled: true, expected: null },
  dependsOnNow: false,
  column: 'c_timezone',
  metricLabel: 'timezone',
  runbook: 'docs/checks/timezone.md',
  evaluate({ report, settings: p }): CheckResult<'timezone'> {
    const tz = report.timezone;
    if (!isOk(tz)) return sectionUnknown('timezone', 'timezone', tz.error);
    const shown = `${tz.name ?? 'unnamed zone'} (${formatUtcOffset(tz.offsetS)})`;
    if (tz.name === null) {
      return {
        id: 'timezone',
        status: p.expected ? 'fail' : 'warn',
        reason: `the zone could not be named (offset ${formatUtcOffset(tz.offsetS)}, source ${tz.source})${p.expected ? `; policy expects ${p.expected}` : ''}`,
      };
    }
    if (p.expected && !sameZone(tz.name, p.expected)) {
      return { id: 'timezone', status: 'fail', reason: `timezone is ${shown}, policy expects ${p.expected}: ${zoneFix(report, p.expected)}` };
    }
    const agreement = checkZoneAgreement(tz.name, tz.offsetS, report.systemTime.epochMs);
    if (!agreement.ok) {
      if (agreement.reason === 'unknown-zone') {
        return { id: 'timezone', status: 'warn', reason: `timezone ${shown} is not a zone this collector knows` };
      }
      const head = `guest applies ${formatUtcOffset(tz.offsetS)} but ${tz.name} is ${formatUtcOffset(agreement.expectedOffsetS)} at that instant`;
      // Windows can switch DST off for a zone (DynamicDaylightTimeDisabled=1, what tzutil's _dstoff
      // suffix sets); `tzutil /s "<id>"` without the suffix turns the adjustment back on.
      const win = platformFamily(report) === 'windows' ? ianaToWindows(tz.name) : null;
      if (win && tz.disagreements.some((d) => d.startsWith('DynamicDaylightTimeDisabled=1'))) {
        return {
          id: 'timezone',
          status: 'warn',
          reason: `${head}: "Adjust for daylight saving time automatically" is off (DynamicDaylightTimeDisabled=1); turn it back on: tzutil /s "${win}" (without the _dstoff suffix)`,
        };
      }
      return { id: 'timezone', status: 'warn', reason: `${head}: the guest's tzdata is probably outdated` };
    }
    if (tz.disagreements.length > 0) {
      return { id: 'timezone', status: 'warn', reason: `timezone ${shown}, but sources disagree: ${tz.disagreements.join('; ')}` };
    }
    return { id: 'timezone', status: 'pass', reason: `timezone ${shown}${p.expected ? ', as the policy expects' : ''}` };
  },
});
