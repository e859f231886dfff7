/**
 * The per-agent metric families, written directly from the store's latest-state rows (the judged
 * fleet rows: each status and check status is the judge's output as the store keeps it; nothing
 * here derives a status). Pure: rows in, exposition text out.
 *
 * Naming follows https://prometheus.io/docs/practices/naming/ and what `promtool check metrics`
 * lints: base units (seconds), `_total` only on counters, `_info` for value-1 identity series,
 * snake_case label names.
 *
 * Every per-agent series carries the label `agent` (the agent id); the hostname and the agent's
 * own labels are on two info-like series (`clockwatch_agent_info`, `clockwatch_agent_labels`) and
 * are joined where needed, e.g.
 *   clockwatch_agent_offset_seconds * on(instance, agent) group_left(hostname) clockwatch_agent_info
 * so a renamed host does not split every series in two (the pattern of node_exporter's
 * node_uname_info and kube-state-metrics' kube_pod_labels).
 *
 * A state is one series with value 1 and the state in a label (`status`), one per agent and per
 * check: warn, fail and unknown stay apart. When a state changes, the old series disappears from
 * the next scrape and Prometheus ends it with a staleness marker, so `{status="fail"}` selects
 * exactly the checks failing now.
 *
 * prom-client needs ~40 µs per labelled series (hashing labels on set, then serialising): 0.5 s of
 * blocked event loop per scrape of a 10,000-agent fleet, which would stall the time service. This
 * is ~20× cheaper.
 */
import { AGENT_STATUSES } from '@clockwatch/shared';
import type { AgentSummary } from './store/types.js';

/** Label value escaping of the text format 0.0.4: backslash, double quote, line feed. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/**
 * An agent label key as a Prometheus label name: `label_` + the key in lower case with every
 * character outside [a-z0-9_] replaced by `_` (kube-state-metrics' convention). Two keys that map
 * to the same name: the first in sorted key order wins.
 */
export function agentLabelName(key: string): string {
  return `label_${key.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
}

interface Family {
  name: string;
  help: string;
  lines: string[];
}

export function renderAgentMetrics(rows: readonly AgentSummary[]): string {
  const fam = (name: string, help: string): Family => ({ name, help, lines: [] });
  const info = fam('clockwatch_agent_info', 'Identity of the agent (value 1): join on (instance, agent) for the hostname');
  const labels = fam('clockwatch_agent_labels', "The agent's own labels as label_<key> (value 1): join on (instance, agent)");
  const status = fam('clockwatch_agent_status', 'The agent status at scrape time (value 1, status in the label: compliant, warning, noncompliant, stale, unknown)');
  const check = fam('clockwatch_agent_check_status', 'Each check of the agent at scrape time (value 1, status in the label: pass, warn, fail, unknown)');
  const offset = fam('clockwatch_agent_offset_seconds', 'Guest clock minus collector clock (positive: guest ahead), latest report');
  const unc = fam('clockwatch_agent_offset_uncertainty_seconds', 'Bound of the offset error (half round trip + resolution), latest report');
  const rtc = fam('clockwatch_agent_rtc_offset_seconds', 'Guest RTC (read as UTC) minus host UTC, latest report');
  const ntp = fam('clockwatch_agent_ntp_synchronized', "1 when the guest's NTP daemon says it is synchronised, 0 when not (absent: unknown)");
  const last = fam('clockwatch_agent_last_report_timestamp_seconds', 'When the collector last received a report from the agent');
  const measured = fam('clockwatch_agent_measured_timestamp_seconds', 'Host time of the latest report measurement');
  const interval = fam('clockwatch_agent_report_interval_seconds', 'The report interval the agent announces');
  const cs = fam('clockwatch_agent_clocksource_info', 'Current clocksource of the guest (value 1)');
  const tz = fam('clockwatch_agent_timezone_info', 'Time zone of the guest (value 1)');
  const fleet = fam('clockwatch_fleet_agents', 'Agents by status at scrape time');
  const counts = new Map<string, number>(AGENT_STATUSES.map((x) => [x, 0]));
  for (const a of rows) {
    const id = `agent="${escapeLabelValue(a.id)}"`;
    const by = a.collector ? `,collector="${escapeLabelValue(a.collector)}"` : '';
    info.lines.push(`{${id},hostname="${escapeLabelValue(a.hostname)}",system_uuid="${escapeLabelValue(a.systemUuid ?? '')}"${by}} 1`);
    let own = '';
    const seen = new Set<string>();
    for (const k of Object.keys(a.labels).sort()) {
      const name = agentLabelName(k);
      if (seen.has(name)) continue;
      seen.add(name);
      own += `,${name}="${escapeLabelValue(a.labels[k] as string)}"`;
    }
    labels.lines.push(`{${id}${own}} 1`);
    status.lines.push(`{${id},status="${a.status}"} 1`);
    for (const c of Object.keys(a.checks).sort()) check.lines.push(`{${id},check="${escapeLabelValue(c)}",status="${a.checks[c]}"} 1`);
    if (a.offsetMs !== null) offset.lines.push(`{${id}} ${a.offsetMs / 1000}`);
    if (a.uncertaintyMs !== null) unc.lines.push(`{${id}} ${a.uncertaintyMs / 1000}`);
    if (a.rtcOffsetS !== null) rtc.lines.push(`{${id}} ${a.rtcOffsetS}`);
    if (a.ntpSynchronized !== null) ntp.lines.push(`{${id}} ${a.ntpSynchronized ? 1 : 0}`);
    last.lines.push(`{${id}} ${a.lastSeenMs / 1000}`);
    measured.lines.push(`{${id}} ${a.atMs / 1000}`);
    interval.lines.push(`{${id}} ${a.intervalS}`);
    if (a.clocksource !== null) cs.lines.push(`{${id},clocksource="${escapeLabelValue(a.clocksource)}"} 1`);
    if (a.timezone !== null) tz.lines.push(`{${id},timezone="${escapeLabelValue(a.timezone)}"} 1`);
    counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
  }
  for (const [st, n] of counts) fleet.lines.push(`{status="${st}"} ${n}`);
  let out = '';
  for (const f of [info, labels, status, check, offset, unc, rtc, ntp, last, measured, interval, cs, tz, fleet]) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} gauge\n`;
    for (const l of f.lines) out += `${f.name}${l}\n`;
  }
  return out;
}
