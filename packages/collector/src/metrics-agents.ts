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
 * blocked event loop per scrape of a 10,000-agent fleet, which would stall the time service. The
 * text is written directly instead, and kept per agent between scrapes (AgentMetricsRenderer): an
 * agent's lines are written again only for the parts of its row that changed (its identity, its
 * status and checks, its numbers), and the page is one join of the kept pieces. Building it as one
 * string by `+=` made a rope of ~150,000 pieces at 10,000 agents, whose garbage cost more than the
 * text itself.
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

/** The families in the order of the page, each with its help text. */
const FAMILIES = [
  ['clockwatch_agent_info', 'Identity of the agent (value 1): join on (instance, agent) for the hostname'],
  ['clockwatch_agent_labels', "The agent's own labels as label_<key> (value 1): join on (instance, agent)"],
  ['clockwatch_agent_status', 'The agent status at scrape time (value 1, status in the label: compliant, warning, noncompliant, stale, unknown)'],
  ['clockwatch_agent_check_status', 'Each check of the agent at scrape time (value 1, status in the label: pass, warn, fail, unknown)'],
  ['clockwatch_agent_offset_seconds', 'Guest clock minus collector clock (positive: guest ahead), latest report'],
  ['clockwatch_agent_offset_uncertainty_seconds', 'Bound of the offset error (half round trip + resolution), latest report'],
  ['clockwatch_agent_rtc_offset_seconds', 'Guest RTC (read as UTC) minus host UTC, latest report'],
  ['clockwatch_agent_ntp_synchronized', "1 when the guest's NTP daemon says it is synchronised, 0 when not (absent: unknown)"],
  ['clockwatch_agent_last_report_timestamp_seconds', 'When the collector last received a report from the agent'],
  ['clockwatch_agent_measured_timestamp_seconds', 'Host time of the latest report measurement'],
  ['clockwatch_agent_report_interval_seconds', 'The report interval the agent announces'],
  ['clockwatch_agent_clocksource_info', 'Current clocksource of the guest (value 1)'],
  ['clockwatch_agent_timezone_info', 'Time zone of the guest (value 1)'],
] as const;
const FLEET_FAMILY = ['clockwatch_fleet_agents', 'Agents by status at scrape time'] as const;
const header = ([name, help]: readonly [string, string]) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
const HEADERS = FAMILIES.map(header);
const NAMES = FAMILIES.map(([name]) => name);
// Indexes into FAMILIES, by the part of the row they are written from.
const [INFO, LABELS, STATUS, CHECK, OFFSET, UNC, RTC, NTP, LAST, MEASURED, INTERVAL, CS, TZ] = FAMILIES.map((_, i) => i) as number[] as [
  number, number, number, number, number, number, number, number, number, number, number, number, number,
];

/**
 * V8 keeps the result of a template literal or `+` as a tree of its pieces (a cons string), and
 * Array.prototype.join walks every tree again on every page: ~4× the cost of joining flat
 * strings at 10,000 agents. Reading a character flattens a cons string in place (V8's
 * String::Flatten), once, when the part is written.
 */
function flat(s: string): string {
  if (s.length > 0) s.charCodeAt(0);
  return s;
}

/** One agent's lines, family by family ('' where it has none), and the row they were written from. */
interface AgentLines {
  src: AgentSummary;
  parts: string[];
  seen: number;
}

const sameRecord = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
};

const sameIdentity = (a: AgentSummary, b: AgentSummary) =>
  a.hostname === b.hostname && a.systemUuid === b.systemUuid && (a.collector ?? null) === (b.collector ?? null) && a.clocksource === b.clocksource && a.timezone === b.timezone && sameRecord(a.labels, b.labels);
const sameState = (a: AgentSummary, b: AgentSummary) => a.status === b.status && sameRecord(a.checks, b.checks);
const sameNumbers = (a: AgentSummary, b: AgentSummary) =>
  a.offsetMs === b.offsetMs && a.uncertaintyMs === b.uncertaintyMs && a.rtcOffsetS === b.rtcOffsetS && a.ntpSynchronized === b.ntpSynchronized && a.lastSeenMs === b.lastSeenMs && a.atMs === b.atMs && a.intervalS === b.intervalS;

function writeIdentity(a: AgentSummary, id: string, parts: string[]): void {
  const by = a.collector ? `,collector="${escapeLabelValue(a.collector)}"` : '';
  parts[INFO] = flat(`${NAMES[INFO]}{${id},hostname="${escapeLabelValue(a.hostname)}",system_uuid="${escapeLabelValue(a.systemUuid ?? '')}"${by}} 1\n`);
  let own = '';
  const seen = new Set<string>();
  for (const k of Object.keys(a.labels).sort()) {
    const name = agentLabelName(k);
    if (seen.has(name)) continue;
    seen.add(name);
    own += `,${name}="${escapeLabelValue(a.labels[k] as string)}"`;
  }
  parts[LABELS] = flat(`${NAMES[LABELS]}{${id}${own}} 1\n`);
  parts[CS] = flat(a.clocksource !== null ? `${NAMES[CS]}{${id},clocksource="${escapeLabelValue(a.clocksource)}"} 1\n` : '');
  parts[TZ] = flat(a.timezone !== null ? `${NAMES[TZ]}{${id},timezone="${escapeLabelValue(a.timezone)}"} 1\n` : '');
}

function writeState(a: AgentSummary, id: string, parts: string[]): void {
  parts[STATUS] = flat(`${NAMES[STATUS]}{${id},status="${a.status}"} 1\n`);
  let checks = '';
  for (const c of Object.keys(a.checks).sort()) checks += `${NAMES[CHECK]}{${id},check="${escapeLabelValue(c)}",status="${a.checks[c]}"} 1\n`;
  parts[CHECK] = flat(checks);
}

function writeNumbers(a: AgentSummary, id: string, parts: string[]): void {
  parts[OFFSET] = flat(a.offsetMs !== null ? `${NAMES[OFFSET]}{${id}} ${a.offsetMs / 1000}\n` : '');
  parts[UNC] = flat(a.uncertaintyMs !== null ? `${NAMES[UNC]}{${id}} ${a.uncertaintyMs / 1000}\n` : '');
  parts[RTC] = flat(a.rtcOffsetS !== null ? `${NAMES[RTC]}{${id}} ${a.rtcOffsetS}\n` : '');
  parts[NTP] = flat(a.ntpSynchronized !== null ? `${NAMES[NTP]}{${id}} ${a.ntpSynchronized ? 1 : 0}\n` : '');
  parts[LAST] = flat(`${NAMES[LAST]}{${id}} ${a.lastSeenMs / 1000}\n`);
  parts[MEASURED] = flat(`${NAMES[MEASURED]}{${id}} ${a.atMs / 1000}\n`);
  parts[INTERVAL] = flat(`${NAMES[INTERVAL]}{${id}} ${a.intervalS}\n`);
}

/**
 * The per-agent families of successive scrapes. Keeps each agent's lines by agent id with the row
 * they were written from; a row that differs in a part (compared field by field, so any store's
 * rows will do) has that part written again. Agents absent from a scrape are forgotten.
 */
export class AgentMetricsRenderer {
  private readonly cache = new Map<string, AgentLines>();
  private scrape = 0;

  render(rows: readonly AgentSummary[]): string {
    const now = ++this.scrape;
    const lines: AgentLines[] = new Array(rows.length);
    const counts = new Map<string, number>(AGENT_STATUSES.map((x) => [x, 0]));
    for (let i = 0; i < rows.length; i++) {
      const a = rows[i] as AgentSummary;
      let e = this.cache.get(a.id);
      if (!e) {
        const id = `agent="${escapeLabelValue(a.id)}"`;
        const parts = new Array<string>(FAMILIES.length);
        writeIdentity(a, id, parts);
        writeState(a, id, parts);
        writeNumbers(a, id, parts);
        e = { src: a, parts, seen: now };
        this.cache.set(a.id, e);
      } else if (e.src !== a) {
        const id = `agent="${escapeLabelValue(a.id)}"`;
        if (!sameIdentity(a, e.src)) writeIdentity(a, id, e.parts);
        if (!sameState(a, e.src)) writeState(a, id, e.parts);
        if (!sameNumbers(a, e.src)) writeNumbers(a, id, e.parts);
        e.src = a;
      }
      // Twice in one page (not from a store, which has one row per id): the first row's lines twice.
      e.seen = now;
      lines[i] = e;
      counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
    }
    if (this.cache.size > rows.length) for (const [k, e] of this.cache) if (e.seen !== now) this.cache.delete(k);
    // One array of pieces, joined once: a flat string, no rope.
    const pieces: string[] = [];
    for (let f = 0; f < FAMILIES.length; f++) {
      pieces.push(HEADERS[f] as string);
      for (const e of lines) {
        const p = e.parts[f] as string;
        if (p !== '') pieces.push(p);
      }
    }
    pieces.push(header(FLEET_FAMILY));
    for (const [st, n] of counts) pieces.push(`${FLEET_FAMILY[0]}{status="${st}"} ${n}\n`);
    return pieces.join('');
  }
}

/** The per-agent families of one scrape (nothing kept). */
export function renderAgentMetrics(rows: readonly AgentSummary[]): string {
  return new AgentMetricsRenderer().render(rows);
}
