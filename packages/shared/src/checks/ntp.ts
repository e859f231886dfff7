/** `ntp`: a daemon (or a periodic one-shot sync) keeps the clock synchronised to a real source, recently enough, to an allowed server. */
import Type from 'typebox';
import { isOk } from '../schema/report.js';
import { defineCheck, formatAge, sectionUnknown, type CheckResult } from './types.js';

const Str = Type.String({ minLength: 1, maxLength: 256 });

export interface NtpSettings {
  enabled: boolean;
  maxLastSyncAgeS: number;
  allowedServers: string[];
}

export const ntpCheck = defineCheck<'ntp', NtpSettings>({
  id: 'ntp',
  title: 'NTP synchronisation',
  policySchema: Type.Object(
    {
      enabled: Type.Optional(Type.Boolean()),
      maxLastSyncAgeS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      allowedServers: Type.Optional(Type.Array(Str, { maxItems: 64 })),
    },
    { additionalProperties: false },
  ),
  defaults: { enabled: true, maxLastSyncAgeS: 600, allowedServers: [] },
  dependsOnNow: false,
  column: 'c_ntp',
  metricLabel: 'ntp',
  runbook: 'docs/checks/ntp.md',
  evaluate({ report, settings: p }): CheckResult<'ntp'> {
    const ntp = report.ntp;
    if (!isOk(ntp)) return sectionUnknown('ntp', 'NTP state', ntp.error);
    if (ntp.daemon === 'none') {
      return { id: 'ntp', status: 'fail', reason: 'no NTP daemon runs (chronyd, ntpd, systemd-timesyncd or w32time): the clock is free-running' };
    }
    if (ntp.statusError) {
      return { id: 'ntp', status: 'unknown', reason: `${ntp.daemon} runs but its status could not be read: ${ntp.statusError.message} (${ntp.statusError.code})` };
    }
    if (ntp.synchronized === null) return { id: 'ntp', status: 'unknown', reason: `${ntp.daemon} runs; whether it is synchronised is unknown` };
    if (!ntp.synchronized) return { id: 'ntp', status: 'fail', reason: `${ntp.daemon} runs but is not synchronised${ntp.server ? ` (last server ${ntp.server})` : ''}` };
    if (ntp.lastSyncAgeS !== null && ntp.lastSyncAgeS > p.maxLastSyncAgeS) {
      return { id: 'ntp', status: 'fail', reason: `${ntp.daemon} last synchronised ${formatAge(ntp.lastSyncAgeS)} ago (limit ${formatAge(p.maxLastSyncAgeS)})` };
    }
    if (p.allowedServers.length > 0) {
      const server = ntp.server;
      const ok = server !== null && p.allowedServers.some((a) => a.toLowerCase() === server.toLowerCase());
      if (!ok) {
        return { id: 'ntp', status: 'fail', reason: `${ntp.daemon} is synchronised to ${server ?? 'an unnamed source'}, not to an allowed server (${p.allowedServers.join(', ')})` };
      }
    }
    const parts = [`${ntp.daemon} synchronised${ntp.server ? ` to ${ntp.server}` : ''}`];
    if (ntp.stratum !== null) parts.push(`stratum ${ntp.stratum}`);
    if (ntp.lastSyncAgeS !== null) parts.push(`last sync ${formatAge(ntp.lastSyncAgeS)} ago`);
    return { id: 'ntp', status: 'pass', reason: parts.join(', ') };
  },
});
