/**
 * Prometheus metrics (prom-client, one registry per app so several apps can live in one process).
 *
 * Per-agent series are written at scrape time from the store's latest-state table (metrics-agents.ts
 * writes them; the SQLite store reads in full only the rows that changed since the last
 * scrape), so they cost nothing on the ingest path, survive a restart, and `stale` is the
 * store's verdict at the scrape instant. Units are base units
 * (seconds), as Prometheus conventions ask, even though the API speaks milliseconds.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isOk } from '@clockwatch/shared';
import type { HostClock } from './host-clock.js';
import { AgentMetricsRenderer } from './metrics-agents.js';
import type { AgentSummary, Store } from './store/types.js';

export interface MetricsOptions {
  store: Store;
  hostClock: HostClock;
  nowMs: () => number;
  /** process_* and nodejs_* metrics (off in tests that build many apps). */
  defaultMetrics?: boolean;
  /**
   * Per-agent series for the agents this collector measured ('own', the default: with a store
   * shared by many collectors each one is scraped for its own guests, and no series is doubled),
   * or for the whole fleet ('fleet': one collector answers for all).
   */
  scope?: { kind: 'own' | 'fleet'; collector: string };
  /** Wall-clock steps the collector's own sub-ms clock detected. */
  clockSteps?: () => number;
}

/**
 * prom-client's default collectors that `promtool check metrics` rejects: gauges named `_total`
 * ("non-counter metrics should not have _total suffix"). Each is the sum of its per-type
 * sibling (`nodejs_active_handles{type}` etc.), so `sum(nodejs_active_handles)` gives it; the
 * prom-client maintainers prefer deleting them too (prometheus/client_js#283).
 */
export const DROPPED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;
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
  /** The per-agent lines, kept between scrapes. */
  private readonly agentLines = new AgentMetricsRenderer();
  /** The host audit's families (metrics-host-audit.ts), given the fleet's rows; set once the libvirt audit exists. */
  hostAudit: ((rows: readonly AgentSummary[]) => string) | null = null;

  constructor(private readonly options: MetricsOptions) {
    const registers = [this.registry];
    if (options.defaultMetrics) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of DROPPED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }

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

  /**
   * Prometheus text exposition: the collector's own metrics, then the fleet's, as the Buffers of
   * the page in order (the per-agent lines are kept encoded between scrapes; see metrics-agents.ts).
   */
  async renderBuffers(): Promise<Buffer[]> {
    const own = await this.registry.metrics();
    const all = await this.fleetRows();
    const scope = this.options.scope;
    // A row without a collector comes from a store of one collector: this one.
    const rows = scope?.kind === 'own' ? all.filter((r) => r.collector == null || r.collector === scope.collector) : all;
    const out = [Buffer.from(own, 'utf8'), ...this.agentLines.renderBuffers(rows)];
    const audit = this.hostAudit?.(all) ?? '';
    if (audit !== '') out.push(Buffer.from(audit, 'utf8'));
    return out;
  }

  /**
   * Every agent's latest state at now. A store that keeps its rows (SQLite: one row cache for this
   * and the fleet view, store/sqlite-fleet-rows.ts) reads only the rows that changed since the
   * last scrape and gives the unchanged ones as the same objects, which the renderer skips by
   * identity; on the writer connection the page's keys come from memory, not SQL.
   */
  private async fleetRows(): Promise<readonly AgentSummary[]> {
    return (await this.options.store.listAgents({ nowMs: this.options.nowMs(), offset: 0, limit: MAX_AGENT_SERIES })).rows;
  }

  /** The exposition as text. */
  async render(): Promise<string> {
    return Buffer.concat(await this.renderBuffers()).toString('utf8');
  }
}
