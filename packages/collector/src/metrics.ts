/**
 * Prometheus metrics (prom-client, one registry per app so several apps can live in one process).
 *
 * Per-agent series are written at scrape time from the store's latest-state table (one query per
 * scrape), so they cost nothing on the ingest path, survive a restart, and `stale` is computed at
 * the scrape instant. Units are base units (seconds), as Prometheus
 * conventions ask, even though the API speaks milliseconds.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isOk, type AgentStatus } from '@clockwatch/shared';
import type { HostClock } from './host-clock.js';
import type { AgentSummary, Store } from './store/types.js';

export interface MetricsOptions {
  store: Store;
  hostClock: HostClock;
  nowMs: () => number;
  /** process_* and nodejs_* metrics (off in tests that build many apps). */
  defaultMetrics?: boolean;
  /** Wall-clock steps the collector's own sub-ms clock detected. */
  clockSteps?: () => number;
}

const STATUSES: readonly AgentStatus[] = ['compliant', 'warning', 'noncompliant', 'stale', 'unknown'];
/** More agents than this are not exported per agent (the scrape would be unusable anyway). */
const MAX_AGENT_SERIES = 100_000;

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly ingestDuration: Histogram<'result'>;
  readonly commitBatch: Histogram;
  readonly commitDuration: Histogram;
  readonly reports: Counter<'result'>;
  readonly rejected: Counter<'code'>;
  readonly timeRequests: Counter;

  constructor(private readonly options: MetricsOptions) {
    const registers = [this.registry];
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });

    this.ingestDuration = new Histogram({
      name: 'clockwatch_ingest_request_duration_seconds',
      help: 'POST /v1/reports from request to reply (includes waiting for the group commit)',
      labelNames: ['result'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.commitBatch = new Histogram({
      name: 'clockwatch_store_commit_reports',
      help: 'Reports written per group-commit transaction',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers,
    });
    this.commitDuration = new Histogram({
      name: 'clockwatch_store_commit_duration_seconds',
      help: 'Duration of one group-commit transaction',
      buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1],
      registers,
    });
    this.reports = new Counter({
      name: 'clockwatch_ingest_reports_total',
      help: 'Reports accepted, by result (stored, duplicate)',
      labelNames: ['result'],
      registers,
    });
    this.rejected = new Counter({
      name: 'clockwatch_ingest_rejected_total',
      help: 'Reports or report requests rejected, by error code',
      labelNames: ['code'],
      registers,
    });
    this.timeRequests = new Counter({ name: 'clockwatch_time_requests_total', help: 'Time exchanges answered', registers });

    // Host gauges carry the daemon as a label: an unlabelled gauge would read 0 when the value is
    // unknown, and 0 is an answer ("not synchronised", "0 s offset"), not "unknown".
    const host = options.hostClock;
    const hostGauge = (name: string, help: string, value: (s: ReturnType<HostClock['current']>) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['daemon'],
        registers,
        collect() {
          this.reset();
          const s = host.current();
          const v = value(s);
          const daemon = s.ntp && isOk(s.ntp) ? s.ntp.daemon : 'unknown';
          if (v !== null) this.set({ daemon }, v);
        },
      });
    hostGauge('clockwatch_host_ntp_synchronized', "1 when the collector host's own clock is NTP-synchronised, 0 when not (absent: unknown)", (s) =>
      s.synchronized === null ? null : s.synchronized ? 1 : 0,
    );
    hostGauge('clockwatch_host_ntp_offset_seconds', "The host NTP daemon's estimate of the host clock's offset", (s) =>
      s.ntp && isOk(s.ntp) && s.ntp.offsetMs !== null ? s.ntp.offsetMs / 1000 : null,
    );
    hostGauge('clockwatch_host_ntp_checked_timestamp_seconds', "When the host's NTP state was last read", (s) => (s.checkedAtMs === null ? null : s.checkedAtMs / 1000));
    new Gauge({
      name: 'clockwatch_host_ntp_info',
      help: "The host's NTP daemon and server (value 1)",
      labelNames: ['daemon', 'server'],
      registers,
      collect() {
        this.reset();
        const ntp = host.current().ntp;
        if (ntp && isOk(ntp)) this.set({ daemon: ntp.daemon, server: ntp.server ?? '' }, 1);
        else if (ntp) this.set({ daemon: 'unknown', server: '' }, 1);
      },
    });
    if (options.clockSteps) {
      const steps = options.clockSteps;
      new Gauge({
        name: 'clockwatch_collector_clock_steps',
        help: 'Steps of the OS clock the collector saw (its sub-ms clock re-anchored)',
        registers,
        collect() {
          this.set(steps());
        },
      });
    }
  }

  /** Prometheus text exposition: the collector's own metrics, then the fleet's. */
  async render(): Promise<string> {
    const own = await this.registry.metrics();
    const page = await this.options.store.listAgents({ nowMs: this.options.nowMs(), offset: 0, limit: MAX_AGENT_SERIES });
    return own + renderAgentMetrics(page.rows);
  }
}

/** Label value escaping of the text format: backslash, double quote, line feed. */
function esc(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

interface Family {
  name: string;
  help: string;
  lines: string[];
}

/**
 * The per-agent families, written directly from the latest-state rows. prom-client needs ~40 µs
 * per labelled series (hashing labels on set, then serialising): 0.5 s of blocked event loop per
 * scrape of a 10,000-agent fleet, which would stall the time service. This is ~20× cheaper.
 */
export function renderAgentMetrics(rows: readonly AgentSummary[]): string {
  const fam = (name: string, help: string): Family => ({ name, help, lines: [] });
  const offset = fam('clockwatch_agent_offset_seconds', 'Guest clock minus collector clock (positive: guest ahead), latest report');
  const unc = fam('clockwatch_agent_uncertainty_seconds', 'Bound of the offset error (half round trip + resolution), latest report');
  const rtc = fam('clockwatch_agent_rtc_offset_seconds', 'Guest RTC (read as UTC) minus host UTC, latest report');
  const last = fam('clockwatch_agent_last_report_timestamp_seconds', 'When the collector last received a report from the agent');
  const ntp = fam('clockwatch_agent_ntp_synchronized', "1 when the guest's NTP daemon says it is synchronised");
  const compliant = fam('clockwatch_agent_compliant', '1 when the agent status is compliant');
  const check = fam('clockwatch_agent_check_compliant', '1 when the check passes, 0 when it warns, fails or is unknown');
  const status = fam('clockwatch_agent_status', 'The agent status at scrape time (value 1, status in the label)');
  const info = fam('clockwatch_agent_info', 'Identity of the agent (value 1)');
  const cs = fam('clockwatch_agent_clocksource_info', 'Current clocksource of the guest (value 1)');
  const fleet = fam('clockwatch_fleet_agents', 'Agents by status at scrape time');
  const counts = new Map<string, number>(STATUSES.map((x) => [x, 0]));
  for (const a of rows) {
    const id = `agent_id="${esc(a.id)}"`;
    if (a.offsetMs !== null) offset.lines.push(`{${id}} ${a.offsetMs / 1000}`);
    if (a.uncertaintyMs !== null) unc.lines.push(`{${id}} ${a.uncertaintyMs / 1000}`);
    if (a.rtcOffsetS !== null) rtc.lines.push(`{${id}} ${a.rtcOffsetS}`);
    last.lines.push(`{${id}} ${a.lastSeenMs / 1000}`);
    if (a.ntpSynchronized !== null) ntp.lines.push(`{${id}} ${a.ntpSynchronized ? 1 : 0}`);
    compliant.lines.push(`{${id}} ${a.status === 'compliant' ? 1 : 0}`);
    for (const [c, st] of Object.entries(a.checks)) check.lines.push(`{${id},check="${esc(c)}"} ${st === 'pass' ? 1 : 0}`);
    status.lines.push(`{${id},status="${a.status}"} 1`);
    info.lines.push(`{${id},hostname="${esc(a.hostname)}",system_uuid="${esc(a.systemUuid ?? '')}"} 1`);
    if (a.clocksource !== null) cs.lines.push(`{${id},clocksource="${esc(a.clocksource)}"} 1`);
    counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
  }
  for (const [st, n] of counts) fleet.lines.push(`{status="${st}"} ${n}`);
  let out = '';
  for (const f of [offset, unc, rtc, last, ntp, compliant, check, status, info, cs, fleet]) {
    out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} gauge\n`;
    for (const l of f.lines) out += `${f.name}${l}\n`;
  }
  return out;
}
