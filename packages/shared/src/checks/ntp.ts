/**
 * `ntp`: a daemon (or a periodic one-shot sync) keeps the clock synchronised to a real source,
 * recently enough, often enough (the KVM guidance: "an internal NTP server, synchronise every five
 * minutes"), with enough sources, to an allowed server, within a provable error bound.
 */
import Type from 'typebox';
import { isOk, type NtpInfo } from '../schema/report.js';
import { defineCheck, formatAge, sectionUnknown, worst, type CheckResult, type CheckStatus } from './types.js';

const Str = Type.String({ minLength: 1, maxLength: 256 });

export interface NtpSettings {
  enabled: boolean;
  maxLastSyncAgeS: number;
  allowedServers: string[];
  /** Longest acceptable poll interval (or one-shot period), s. */
  maxPollIntervalS: number;
  /** Fewest reachable and selectable sources (PCI DSS 10.4.1 setups use 3). */
  minSources: number;
}

/** The fix that caps the poll interval, per daemon (chrony.conf(5) / ntp.conf(5) maxpoll is log2 s: 8 = 256 s ≤ 300). */
export function pollFix(daemon: string, maxPollIntervalS: number): string {
  const exp = Math.max(4, Math.floor(Math.log2(maxPollIntervalS)));
  switch (daemon) {
    case 'chronyd':
      return `add 'maxpoll ${exp}' to the server line in chrony.conf (2^${exp} = ${2 ** exp} s)`;
    case 'ntpd':
      return `add 'maxpoll ${exp}' to the server line in ntp.conf (2^${exp} = ${2 ** exp} s)`;
    case 'systemd-timesyncd':
      return `set PollIntervalMaxSec=${2 ** exp} in /etc/systemd/timesyncd.conf (timesyncd.conf(5))`;
    case 'w32time':
      // Windows Time: a peer flagged 0x1 (SpecialInterval) is polled every SpecialPollInterval s;
      // other peers between 2^MinPollInterval and 2^MaxPollInterval s (W32Time\Config, REG_DWORD,
      // log2 s, made effective by `w32tm /config /update`; Microsoft "Windows Time service tools
      // and settings", Config\MaxPollInterval).
      return (
        `set SpecialPollInterval=${Math.floor(maxPollIntervalS)} under HKLM\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\TimeProviders\\NtpClient and flag the peer 0x1 (w32tm /config /manualpeerlist:"<server>,0x9" /update), ` +
        `or, for a peer without 0x1, MaxPollInterval=${exp} (2^${exp} = ${2 ** exp} s; MinPollInterval no higher) under HKLM\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\Config, then w32tm /config /update`
      );
    default:
      return `run it at least every ${formatAge(maxPollIntervalS)}`;
  }
}

/**
 * The w32time commands that set a real peer and sync now: /manualpeerlist with /syncfromflags:manual
 * makes w32time use that list (not the domain hierarchy), /update applies it, /resync samples now.
 * The server is the policy's first allowed one, when it names one.
 */
export function w32timePeerFix(allowedServers: readonly string[]): string {
  const server = allowedServers[0] ?? '<server>';
  return `w32tm /config /manualpeerlist:${server} /syncfromflags:manual /update, then w32tm /resync`;
}

const LEAP_TEXT: Record<string, string> = { insert: 'a leap second is to be inserted at the end of the UTC day', delete: 'a leap second is to be deleted at the end of the UTC day' };

/** The configured name and the address in use, each once. */
function serverIds(ntp: NtpInfo): string[] {
  const ids = [ntp.serverName, ntp.serverAddress, ntp.server].filter((x): x is string => typeof x === 'string' && x !== '');
  return [...new Set(ids.map((x) => x.toLowerCase()))];
}

function serverShown(ntp: NtpInfo): string | null {
  const name = ntp.serverName ?? null;
  const addr = ntp.serverAddress ?? ntp.server ?? null;
  if (name && addr && name.toLowerCase() !== addr.toLowerCase()) return `${name} (${addr})`;
  return name ?? addr;
}

export const ntpCheck = defineCheck<'ntp', NtpSettings>({
  id: 'ntp',
  title: 'NTP synchronisation',
  policySchema: Type.Object(
    {
      enabled: Type.Optional(Type.Boolean()),
      maxLastSyncAgeS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
      allowedServers: Type.Optional(Type.Array(Str, { maxItems: 64 })),
      maxPollIntervalS: Type.Optional(Type.Number({ minimum: 16 })),
      minSources: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
    },
    { additionalProperties: false },
  ),
  defaults: { enabled: true, maxLastSyncAgeS: 600, allowedServers: [], maxPollIntervalS: 300, minSources: 1 },
  dependsOnNow: false,
  column: 'c_ntp',
  metricLabel: 'ntp',
  runbook: 'docs/checks/ntp.md',
  evaluate({ report, settings: p, policy }): CheckResult<'ntp'> {
    const ntp = report.ntp;
    if (!isOk(ntp)) return sectionUnknown('ntp', 'NTP state', ntp.error);
    const offsetPolicy = (policy['offset'] ?? {}) as { warnMs?: number };
    const notes: { status: CheckStatus; text: string }[] = [];

    // Periodic one-shot sync (cron / systemd timer): judged by its schedule; the offset check judges
    // what it achieves (the measured offset).
    if (ntp.oneShot) {
      const o = ntp.oneShot;
      const head = `no NTP daemon; the clock is set by a periodic one-shot sync: ${o.tool} from ${o.source} (${o.schedule})`;
      if (o.intervalS === null) {
        return { id: 'ntp', status: 'warn', reason: `${head}, a schedule that is not a fixed period: run it at least every ${formatAge(p.maxPollIntervalS)} (e.g. '*/5 * * * *')` };
      }
      if (o.intervalS > p.maxPollIntervalS) {
        return {
          id: 'ntp',
          status: 'warn',
          reason: `${head}, every ${formatAge(o.intervalS)}, longer than the ${formatAge(p.maxPollIntervalS)} limit: run it at least every ${formatAge(p.maxPollIntervalS)} or run a daemon (chronyd with maxpoll 8)`,
        };
      }
      return { id: 'ntp', status: 'pass', reason: `${head}, every ${formatAge(o.intervalS)} (limit ${formatAge(p.maxPollIntervalS)}); the offset check judges what it achieves` };
    }
    if (ntp.daemon === 'none') {
      return {
        id: 'ntp',
        status: 'fail',
        reason: 'no NTP daemon runs (chronyd, ntpd, systemd-timesyncd or w32time) and no periodic one-shot sync is scheduled: the clock is free-running; install chrony and point it at the internal NTP server',
      };
    }
    if (ntp.statusError) {
      return { id: 'ntp', status: 'unknown', reason: `${ntp.daemon} runs but its status could not be read: ${ntp.statusError.message} (${ntp.statusError.code})` };
    }
    if (ntp.localReferenceOnly && ntp.daemon === 'w32time') {
      // w32tm's Source is the machine's own clock ("Local CMOS Clock", "Free-running System Clock"):
      // nothing disciplines it (domain.md §8).
      return {
        id: 'ntp',
        status: 'fail',
        reason: `w32time runs but is not synchronised: its source is ${ntp.serverName ?? "the machine's own clock"}, so the clock is free-running; point it at an NTP server: ${w32timePeerFix(p.allowedServers)}`,
      };
    }
    if (ntp.localReferenceOnly) {
      return {
        id: 'ntp',
        status: 'fail',
        reason:
          `${ntp.daemon} follows only its own local reference (${ntp.daemon === 'chronyd' ? "chrony 'local stratum', refid 7F7F0101 LOCL" : 'LOCAL(0), 127.127.1.0'}): ` +
          'the clock is free-running, not synchronised; make a real server reachable (server line, firewall UDP 123) and keep the local reference only as a fallback on the NTP server itself',
      };
    }
    if (ntp.synchronized === null) return { id: 'ntp', status: 'unknown', reason: `${ntp.daemon} runs; whether it is synchronised is unknown` };
    const counts = ntp.sources;
    if (!ntp.synchronized) {
      const why = counts && counts.total > 0 && counts.reachable === 0 ? `; none of its ${counts.total} source(s) answers: check that the server is reachable (UDP 123)` : '';
      // Windows names its own commands: w32tm /resync asks for a sample now (w32tm /?).
      const winFix = ntp.daemon === 'w32time' ? `; check the peer list and that the server answers (UDP 123): ${w32timePeerFix(p.allowedServers)}` : '';
      return { id: 'ntp', status: 'fail', reason: `${ntp.daemon} runs but is not synchronised${ntp.server ? ` (last server ${ntp.server})` : ''}${why}${winFix}` };
    }
    if (ntp.lastSyncAgeS !== null && ntp.lastSyncAgeS > p.maxLastSyncAgeS) {
      return { id: 'ntp', status: 'fail', reason: `${ntp.daemon} last synchronised ${formatAge(ntp.lastSyncAgeS)} ago (limit ${formatAge(p.maxLastSyncAgeS)}): check that its server is reachable` };
    }
    const shown = serverShown(ntp);
    if (p.allowedServers.length > 0) {
      // chrony reports an address, timesyncd a name and ntpd a refid address: the policy matches
      // the configured name or the address in use, whichever the daemon gives.
      const ids = serverIds(ntp);
      const ok = p.allowedServers.some((a) => ids.includes(a.toLowerCase()));
      if (!ok) {
        return { id: 'ntp', status: 'fail', reason: `${ntp.daemon} is synchronised to ${shown ?? 'an unnamed source'}, not to an allowed server (${p.allowedServers.join(', ')})` };
      }
    }
    if (counts) {
      const usable = Math.min(counts.reachable, counts.selectable);
      if (usable < p.minSources) {
        notes.push({
          status: 'warn',
          text: `${counts.reachable} reachable and ${counts.selectable} selectable source(s) of ${counts.total}, fewer than the ${p.minSources} required: configure at least ${p.minSources} servers`,
        });
      }
    }
    if (ntp.pollIntervalS !== null && ntp.pollIntervalS > p.maxPollIntervalS) {
      notes.push({ status: 'warn', text: `poll interval ${formatAge(ntp.pollIntervalS)}, longer than the ${formatAge(p.maxPollIntervalS)} limit: ${pollFix(ntp.daemon, p.maxPollIntervalS)}` });
    }
    // The daemon's own error bound (chronyc(1) tracking: |System time| + root dispersion + ½ root
    // delay; ntpd/timesyncd root distance) and the kernel's maxerror (adjtimex(2)): a bound past the
    // offset warning limit means the daemon cannot vouch for the clock to that limit.
    const warnMs = offsetPolicy.warnMs ?? 100;
    const bound = ntp.maxErrorMs;
    if (bound !== null && bound > warnMs) {
      notes.push({ status: 'warn', text: `${ntp.daemon}'s error bound is ±${bound.toFixed(1)} ms, more than the ${warnMs} ms offset limit: its server is far or unstable; use a closer server` });
    }
    if (ntp.kernel && ntp.kernel.maxErrorMs > warnMs) {
      notes.push({ status: 'warn', text: `the kernel's maxerror is ${ntp.kernel.maxErrorMs.toFixed(1)} ms (adjtimex), more than the ${warnMs} ms offset limit: the daemon has not updated the kernel discipline recently` });
    }
    const parts = [`${ntp.daemon} synchronised${shown ? ` to ${shown}` : ''}`];
    if (ntp.stratum !== null) parts.push(`stratum ${ntp.stratum}`);
    if (ntp.lastSyncAgeS !== null) parts.push(`last sync ${formatAge(ntp.lastSyncAgeS)} ago`);
    if (ntp.pollIntervalS !== null) parts.push(`poll ${formatAge(ntp.pollIntervalS)}`);
    if (counts) parts.push(`${counts.reachable}/${counts.total} sources reachable, ${counts.selectable} selectable`);
    if (bound !== null) parts.push(`error bound ±${bound.toFixed(3)} ms`);
    const leap = ntp.leap ?? ntp.kernel?.leap ?? null;
    if (leap === 'insert' || leap === 'delete') parts.push(`leap status: ${LEAP_TEXT[leap]}`);
    else if (leap === 'none') parts.push('leap status normal');
    const status = notes.reduce<CheckStatus>((s, n) => worst(s, n.status), 'pass');
    return { id: 'ntp', status, reason: [parts.join(', '), ...notes.map((n) => n.text)].join('; ') };
  },
});
