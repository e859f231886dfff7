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
 * agent's line in a family is written again only when the fields it is written from changed. Runs
 * of ~32 agents keep each family's lines encoded as one Buffer, re-encoded when one of their
 * agents' line in that family changed, and the page is the list of those Buffers: no page-sized
 * string is joined or encoded on a scrape (13 MiB at 10,000 agents, whose garbage and UTF-8
 * encoding on the way out cost more than writing the lines).
 */
import { AGENT_STATUSES } from '@clockwatch/shared';
import type { AgentSummary } from './store/types.js';
import { sameRecord } from './same-record.js';

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
  /** Families (bit f) whose line was written since the last page. */
  changed: number;
  /** Ends a run of agents (see Run): decided by the agent id alone. */
  endsRun: boolean;
  /** The `agent` label of every line (the entry is the id's: it never changes). */
  id: string;
}

const bit = (f: number) => 1 << f;

/**
 * Writes the families of `a` that differ from `old` (all of them without `old`), field by field
 * (so any store's rows will do), and returns their bits: a new report changes the numbers, and
 * only those whose value moved are written (and their runs re-encoded, below).
 */
function write(a: AgentSummary, old: AgentSummary | null, id: string, parts: string[]): number {
  let changed = 0;
  if (!old || a.hostname !== old.hostname || a.systemUuid !== old.systemUuid || (a.collector ?? null) !== (old.collector ?? null)) {
    const by = a.collector ? `,collector="${escapeLabelValue(a.collector)}"` : '';
    parts[INFO] = flat(`${NAMES[INFO]}{${id},hostname="${escapeLabelValue(a.hostname)}",system_uuid="${escapeLabelValue(a.systemUuid ?? '')}"${by}} 1\n`);
    changed |= bit(INFO);
  }
  if (!old || !sameRecord(a.labels, old.labels)) {
    let own = '';
    const seen = new Set<string>();
    for (const k of Object.keys(a.labels).sort()) {
      const name = agentLabelName(k);
      if (seen.has(name)) continue;
      seen.add(name);
      own += `,${name}="${escapeLabelValue(a.labels[k] as string)}"`;
    }
    parts[LABELS] = flat(`${NAMES[LABELS]}{${id}${own}} 1\n`);
    changed |= bit(LABELS);
  }
  if (!old || a.clocksource !== old.clocksource) {
    parts[CS] = flat(a.clocksource !== null ? `${NAMES[CS]}{${id},clocksource="${escapeLabelValue(a.clocksource)}"} 1\n` : '');
    changed |= bit(CS);
  }
  if (!old || a.timezone !== old.timezone) {
    parts[TZ] = flat(a.timezone !== null ? `${NAMES[TZ]}{${id},timezone="${escapeLabelValue(a.timezone)}"} 1\n` : '');
    changed |= bit(TZ);
  }
  if (!old || a.status !== old.status) {
    parts[STATUS] = flat(`${NAMES[STATUS]}{${id},status="${a.status}"} 1\n`);
    changed |= bit(STATUS);
  }
  if (!old || !sameRecord(a.checks, old.checks)) {
    let checks = '';
    for (const c of Object.keys(a.checks).sort()) checks += `${NAMES[CHECK]}{${id},check="${escapeLabelValue(c)}",status="${a.checks[c]}"} 1\n`;
    parts[CHECK] = flat(checks);
    changed |= bit(CHECK);
  }
  if (!old || a.offsetMs !== old.offsetMs) {
    parts[OFFSET] = flat(a.offsetMs !== null ? `${NAMES[OFFSET]}{${id}} ${a.offsetMs / 1000}\n` : '');
    changed |= bit(OFFSET);
  }
  if (!old || a.uncertaintyMs !== old.uncertaintyMs) {
    parts[UNC] = flat(a.uncertaintyMs !== null ? `${NAMES[UNC]}{${id}} ${a.uncertaintyMs / 1000}\n` : '');
    changed |= bit(UNC);
  }
  if (!old || a.rtcOffsetS !== old.rtcOffsetS) {
    parts[RTC] = flat(a.rtcOffsetS !== null ? `${NAMES[RTC]}{${id}} ${a.rtcOffsetS}\n` : '');
    changed |= bit(RTC);
  }
  if (!old || a.ntpSynchronized !== old.ntpSynchronized) {
    parts[NTP] = flat(a.ntpSynchronized !== null ? `${NAMES[NTP]}{${id}} ${a.ntpSynchronized ? 1 : 0}\n` : '');
    changed |= bit(NTP);
  }
  if (!old || a.lastSeenMs !== old.lastSeenMs) {
    parts[LAST] = flat(`${NAMES[LAST]}{${id}} ${a.lastSeenMs / 1000}\n`);
    changed |= bit(LAST);
  }
  if (!old || a.atMs !== old.atMs) {
    parts[MEASURED] = flat(`${NAMES[MEASURED]}{${id}} ${a.atMs / 1000}\n`);
    changed |= bit(MEASURED);
  }
  if (!old || a.intervalS !== old.intervalS) {
    parts[INTERVAL] = flat(`${NAMES[INTERVAL]}{${id}} ${a.intervalS}\n`);
    changed |= bit(INTERVAL);
  }
  return changed;
}

/**
 * A run of consecutive agents of the page, with each family's lines of the run encoded once
 * (UTF-8), kept until one of its agents changes that family's line. The page is the families in
 * order, each the concatenation of its runs' bytes: at 10,000 agents ~2,000 Buffers instead of
 * ~130,000 strings joined and encoded again on every scrape.
 *
 * Where a run ends is decided by the agent ids alone (an id whose hash is 0 modulo RUN_AGENTS ends
 * one, as content-defined chunking does), so an agent that comes or goes changes only its own run;
 * the runs after it are the same agents as before and are kept.
 */
interface Run {
  agents: AgentLines[];
  bytes: Buffer[];
}
/** Agents in a run on average; at most RUN_MAX (a run of ids that all hash elsewhere). */
const RUN_AGENTS = 32;
const RUN_MAX = 128;
const EMPTY = Buffer.alloc(0);

/** FNV-1a (32 bits) of the id: spread ids over the runs' ends evenly. */
function endsRun(id: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % RUN_AGENTS === 0;
}

function encodeFamily(agents: readonly AgentLines[], f: number): Buffer {
  let s = '';
  for (const e of agents) s += e.parts[f] as string;
  return s.length === 0 ? EMPTY : Buffer.from(s, 'utf8');
}

const HEADER_BYTES = HEADERS.map((h) => Buffer.from(h, 'utf8'));
const FLEET_HEADER = Buffer.from(header(FLEET_FAMILY), 'utf8');

/**
 * The per-agent families of successive scrapes. Keeps each agent's lines by agent id with the row
 * they were written from; a row that differs in a family's fields has that family's line written
 * again, and the run holding it re-encoded. Agents absent from a scrape are forgotten.
 */
export class AgentMetricsRenderer {
  private readonly cache = new Map<string, AgentLines>();
  /** Last page's runs by their first agent. */
  private runs = new Map<AgentLines, Run>();
  private scrape = 0;

  /** The page as Buffers, in order (write them out one after the other; nothing is joined). */
  renderBuffers(rows: readonly AgentSummary[]): Buffer[] {
    const now = ++this.scrape;
    const lines: AgentLines[] = new Array(rows.length);
    const counts = new Map<string, number>(AGENT_STATUSES.map((x) => [x, 0]));
    for (let i = 0; i < rows.length; i++) {
      const a = rows[i] as AgentSummary;
      let e = this.cache.get(a.id);
      if (!e) {
        const parts = new Array<string>(FAMILIES.length);
        const id = `agent="${escapeLabelValue(a.id)}"`;
        const changed = write(a, null, id, parts);
        e = { src: a, parts, seen: now, changed, endsRun: endsRun(a.id), id };
        this.cache.set(a.id, e);
      } else if (e.src !== a) {
        e.changed |= write(a, e.src, e.id, e.parts);
        e.src = a;
      }
      // Twice in one page (not from a store, which has one row per id): the first row's lines twice.
      e.seen = now;
      lines[i] = e;
      counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
    }
    if (this.cache.size > rows.length) for (const [k, e] of this.cache) if (e.seen !== now) this.cache.delete(k);

    const runs: Run[] = [];
    const kept = new Map<AgentLines, Run>();
    for (let i = 0; i < lines.length; ) {
      let j = i;
      while (j < lines.length && j - i < RUN_MAX && !(lines[j] as AgentLines).endsRun) j++;
      if (j < lines.length && j - i < RUN_MAX) j++;
      const agents = lines.slice(i, j);
      const head = agents[0] as AgentLines;
      const old = this.runs.get(head);
      let run: Run;
      if (old && !kept.has(head) && old.agents.length === agents.length && old.agents.every((e, k) => e === agents[k])) {
        run = old;
        let changed = 0;
        for (const e of agents) changed |= e.changed;
        if (changed !== 0) for (let f = 0; f < FAMILIES.length; f++) if (changed & bit(f)) run.bytes[f] = encodeFamily(agents, f);
      } else {
        run = { agents, bytes: FAMILIES.map((_, f) => encodeFamily(agents, f)) };
      }
      if (!kept.has(head)) kept.set(head, run);
      runs.push(run);
      i = j;
    }
    for (const e of lines) e.changed = 0;
    this.runs = kept;

    const out: Buffer[] = [];
    for (let f = 0; f < FAMILIES.length; f++) {
      out.push(HEADER_BYTES[f] as Buffer);
      for (const run of runs) if ((run.bytes[f] as Buffer).length > 0) out.push(run.bytes[f] as Buffer);
    }
    out.push(FLEET_HEADER);
    let fleet = '';
    for (const [st, n] of counts) fleet += `${FLEET_FAMILY[0]}{status="${st}"} ${n}\n`;
    out.push(Buffer.from(fleet, 'utf8'));
    return out;
  }

  /** The page as one string (tests, and callers that want text). */
  render(rows: readonly AgentSummary[]): string {
    return Buffer.concat(this.renderBuffers(rows)).toString('utf8');
  }
}

/** The per-agent families of one scrape (nothing kept). */
export function renderAgentMetrics(rows: readonly AgentSummary[]): string {
  return new AgentMetricsRenderer().render(rows);
}
