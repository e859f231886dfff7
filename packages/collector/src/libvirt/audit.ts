/**
 * The libvirt clock audit as the collector runs it: the domains read from `--libvirt-xml-dir`
 * and/or `virsh` (`--libvirt-uri`) at start and every `--libvirt-refresh` (5 min, unref'ed timer,
 * never two reads at once), indexed by UUID, and the `libvirt-clock` verdict of each domain for the
 * agent whose SMBIOS system UUID it is.
 *
 * The fleet view shows the verdict for every joined agent without reading each agent's latest
 * report per request: the guest facts that rarely change (OS family, zone, configured RTC mode, the
 * policy's tolerance) are cached per agent until the next refresh, and the RTC reading comes from
 * the fleet row itself. The agent view evaluates from the latest report.
 */
import {
  evaluateLibvirtClock,
  libvirtInputsFromReport,
  normalizeUuid,
  type CommandRunner,
  type LibvirtClockResult,
  type Report,
  type ReportMeasurement,
} from '@clockwatch/shared';
import type { Compliance } from '../compliance.js';
import type { AgentSummary, Store } from '../store/types.js';
import { combineStatus, factsFromStatic, LIBVIRT_CHECK_ID, type GuestClockFacts } from './check.js';
import { createExecFileRunner } from './command-runner.js';
import { readLibvirtDomains, type DomainEntry, type DomainSourceError } from './source.js';

export interface LibvirtAuditOptions {
  xmlDir?: string | null;
  uri?: string | null;
  /** Runs virsh (default: execFile without a shell, a minimal environment). */
  runner?: CommandRunner;
  /** How often the domains are read again, ms (default 5 min). */
  refreshMs?: number;
  nowMs: () => number;
  onRefresh?: (r: { domains: number; errors: readonly DomainSourceError[]; durationMs: number }) => void;
  onError?: (err: unknown) => void;
}

export interface LibvirtSnapshot {
  refreshedAtMs: number | null;
  domains: readonly DomainEntry[];
  errors: readonly DomainSourceError[];
}

export class LibvirtAudit {
  readonly xmlDir: string | null;
  readonly uri: string | null;
  readonly refreshMs: number;
  private readonly runner: CommandRunner | undefined;
  private entries: DomainEntry[] = [];
  private errors: DomainSourceError[] = [];
  private byUuid = new Map<string, DomainEntry>();
  private refreshedAtMs: number | null = null;
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly facts = new Map<string, Omit<GuestClockFacts, 'measured'> & { measured: Omit<GuestClockFacts['measured'], 'rtcOffsetS' | 'atMs'> }>();

  constructor(private readonly o: LibvirtAuditOptions) {
    this.xmlDir = o.xmlDir ?? null;
    this.uri = o.uri ?? null;
    if (!this.xmlDir && !this.uri) throw new Error('LibvirtAudit needs an XML directory or a libvirt URI');
    this.refreshMs = o.refreshMs ?? 300_000;
    this.runner = this.uri ? (o.runner ?? createExecFileRunner()) : o.runner;
  }

  /** Reads the domains now (joins a read already in flight). Never rejects: failures are in snapshot().errors. */
  refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    const started = performance.now();
    this.inflight = (async () => {
      try {
        const r = await readLibvirtDomains({ xmlDir: this.xmlDir, uri: this.uri, runner: this.runner });
        const byUuid = new Map<string, DomainEntry>();
        for (const e of r.domains) {
          const u = normalizeUuid(e.domain.uuid);
          if (u && !byUuid.has(u)) byUuid.set(u, e);
        }
        this.entries = r.domains;
        this.errors = r.errors;
        this.byUuid = byUuid;
        this.refreshedAtMs = this.o.nowMs();
        this.facts.clear();
        this.o.onRefresh?.({ domains: r.domains.length, errors: r.errors, durationMs: performance.now() - started });
      } catch (err) {
        this.o.onError?.(err);
      } finally {
        this.inflight = null;
      }
    })();
    return this.inflight;
  }

  /** Reads the domains, then again every refreshMs (the timer never keeps the process alive). */
  async start(): Promise<void> {
    await this.refresh();
    if (this.stopped || this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a read in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inflight;
  }

  snapshot(): LibvirtSnapshot {
    return { refreshedAtMs: this.refreshedAtMs, domains: this.entries, errors: this.errors };
  }

  /** The domain whose UUID is this SMBIOS system UUID (any case, hyphens, braces), or null. */
  domainFor(systemUuid: string | null | undefined): DomainEntry | null {
    const u = normalizeUuid(systemUuid);
    return u ? (this.byUuid.get(u) ?? null) : null;
  }

  get hasDomains(): boolean {
    return this.byUuid.size > 0;
  }

  evaluate(entry: DomainEntry, facts: GuestClockFacts | null): LibvirtClockResult {
    return evaluateLibvirtClock(entry.domain, facts?.family ?? null, facts?.measured, { toleranceS: facts?.toleranceS ?? 5, nextBoot: entry.nextBoot ?? null });
  }

  /** The verdict for an agent's latest report and its measurement (the agent view). */
  evaluateReport(entry: DomainEntry, report: Report, m: ReportMeasurement, compliance: Compliance): LibvirtClockResult {
    const { family, measured } = libvirtInputsFromReport(report, m);
    return this.evaluate(entry, { family, measured, toleranceS: compliance.resolve(report).rtc.maxDriftS });
  }

  /** The verdict from an agent's stored static parts and one of its samples (exports). */
  evaluateStatic(entry: DomainEntry, staticParts: Record<string, unknown> | null, sample: { rtcOffsetS: number | null; atMs: number | null }, toleranceS: number): LibvirtClockResult {
    return this.evaluate(entry, factsFromStatic(staticParts, sample, toleranceS));
  }

  /**
   * Fleet rows with the libvirt-clock check of each joined agent counted (see check.ts). The
   * guest facts that rarely change are read once per agent per refresh.
   */
  async overlay(rows: readonly AgentSummary[], store: Store, compliance: Compliance, nowMs: number): Promise<AgentSummary[]> {
    if (!this.hasDomains) return [...rows];
    const out: AgentSummary[] = [];
    for (const row of rows) {
      const entry = this.domainFor(row.systemUuid);
      if (!entry) {
        out.push(row);
        continue;
      }
      let f = this.facts.get(row.id);
      if (!f) {
        const a = await store.getAgent(row.id, nowMs);
        if (a) {
          const { family, measured } = libvirtInputsFromReport(a.report, { rtcOffsetS: row.rtcOffsetS, receivedAtMs: row.atMs } as ReportMeasurement);
          f = { family, measured: { zoneName: measured.zoneName, zoneOffsetS: measured.zoneOffsetS, rtcMode: measured.rtcMode }, toleranceS: compliance.resolve(a.report).rtc.maxDriftS };
          if (this.facts.size > 100_000) this.facts.clear();
          this.facts.set(row.id, f);
        }
      }
      const r = this.evaluate(entry, f ? { ...f, measured: { ...f.measured, rtcOffsetS: row.rtcOffsetS, atMs: row.atMs } } : null);
      out.push({ ...row, status: combineStatus(row.status, r.status), checks: { ...row.checks, [LIBVIRT_CHECK_ID]: r.status } });
    }
    return out;
  }
}
