/**
 * Prometheus text exposition (format 0.0.4) of one report, for `GET /metrics` on the pull endpoint.
 * Names carry their unit (`_seconds`); a section that could not be read shows up as
 * clockwatch_section_error{section,code} 1 and no invented value.
 */
import { isOk, type Report } from '@clockwatch/shared';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export interface AgentCounters {
  stepsTotal: number;
  spawnsTotal: number;
}

export function reportToPrometheus(r: Report, c: AgentCounters): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, type: 'gauge' | 'counter', samples: Array<[Record<string, string>, number | null | undefined]>) => {
    const present = samples.filter((s): s is [Record<string, string>, number] => typeof s[1] === 'number' && Number.isFinite(s[1]));
    if (present.length === 0) return;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of present) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${esc(x)}"`).join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${v}`);
    }
  };
  const bool = (b: boolean | null | undefined) => (b === null || b === undefined ? null : b ? 1 : 0);
  metric('clockwatch_agent_info', 'Agent identity.', 'gauge', [[{ id: r.agent.id, hostname: r.agent.hostname, version: r.agent.version }, 1]]);
  metric('clockwatch_system_time_seconds', 'Guest wall clock at collection.', 'gauge', [[{}, r.systemTime.epochMs / 1000]]);
  metric('clockwatch_uptime_seconds', 'Seconds since boot.', 'gauge', [[{}, r.systemTime.uptimeS]]);
  const errors: Array<[Record<string, string>, number]> = [];
  for (const s of ['os', 'clocksource', 'rtc', 'timezone', 'ntp', 'timeProbe'] as const) {
    const sec = r[s] as object;
    if (!isOk(sec)) errors.push([{ section: s, code: (sec as { error: { code: string } }).error.code }, 1]);
  }
  metric('clockwatch_section_error', 'A report section that could not be read.', 'gauge', errors);
  if (isOk(r.clocksource)) metric('clockwatch_clocksource_info', 'Current clocksource.', 'gauge', [[{ current: r.clocksource.current }, 1]]);
  if (isOk(r.rtc)) metric('clockwatch_rtc_time_seconds', 'RTC fields read as if UTC.', 'gauge', [[{ device: r.rtc.device, source: r.rtc.source }, r.rtc.epochMs / 1000]]);
  const mode = r.rtc.mode ?? null;
  metric('clockwatch_rtc_mode_local', 'RTC configured to keep local time (1) or UTC (0).', 'gauge', [[{ source: r.rtc.modeSource ?? '' }, mode === null ? null : mode === 'LOCAL' ? 1 : 0]]);
  if (isOk(r.timezone)) {
    metric('clockwatch_timezone_offset_seconds', 'UTC offset of the guest zone now.', 'gauge', [[{ name: r.timezone.name ?? '', source: r.timezone.source }, r.timezone.offsetS]]);
    metric('clockwatch_timezone_disagreements', 'Timezone sources that disagree.', 'gauge', [[{}, r.timezone.disagreements.length]]);
  }
  if (isOk(r.ntp)) {
    const d = { daemon: r.ntp.daemon };
    metric('clockwatch_ntp_synchronized', 'NTP daemon says synchronised.', 'gauge', [[d, bool(r.ntp.synchronized)]]);
    metric('clockwatch_ntp_offset_seconds', 'Guest minus NTP reference, per the daemon.', 'gauge', [[d, r.ntp.offsetMs === null ? null : r.ntp.offsetMs / 1000]]);
    metric('clockwatch_ntp_last_sync_age_seconds', 'Seconds since the last NTP update.', 'gauge', [[d, r.ntp.lastSyncAgeS]]);
    metric('clockwatch_ntp_poll_interval_seconds', 'NTP poll interval.', 'gauge', [[d, r.ntp.pollIntervalS]]);
    metric('clockwatch_ntp_max_error_seconds', 'Bound on the clock error, per the daemon.', 'gauge', [[d, r.ntp.maxErrorMs === null ? null : r.ntp.maxErrorMs / 1000]]);
    metric('clockwatch_ntp_stratum', 'NTP stratum.', 'gauge', [[d, r.ntp.stratum]]);
  }
  metric('clockwatch_clock_steps_total', 'Wall-clock steps seen since the agent started.', 'counter', [[{}, c.stepsTotal]]);
  metric('clockwatch_agent_spawns_total', 'Processes the agent started.', 'counter', [[{}, c.spawnsTotal]]);
  const sp = r.agent.spool;
  if (sp) {
    metric('clockwatch_spool_pending', 'Reports waiting in the spool.', 'gauge', [[{}, sp.pending]]);
    metric('clockwatch_spool_dropped_total', 'Reports dropped because the spool was full.', 'counter', [[{}, sp.dropped]]);
    metric('clockwatch_spool_rejected_total', 'Reports the collector refused.', 'counter', [[{}, sp.rejected]]);
  }
  return lines.join('\n') + '\n';
}
