/**
 * The export service: one period's ExportData built from the store, rendered in the requested
 * formats and written with writeExport (atomically, manifest last, signed when a key is given,
 * retention applied). The scheduler, `POST /v1/exports` and `clockwatch-collector export` all go
 * through it, so the three say the same thing.
 *
 * Row by row (model.ts documents the fields): when the last report measured before the end of the
 * period is the agent's latest, its status, checks and reasons are the judge's verdict as of the
 * end of the period (compliance.ts → shared judge(): the policy and libvirt domain the collector
 * holds now, the reporting check against the last delivery before the end) — the same verdict
 * every other surface shows; the stored latest-state columns, which are that verdict's cache, pick
 * the agents that get a plot. When the period ended before the latest report, the status is that
 * of the checks stored with the last report of the period (judged at its ingest) and the reporting
 * check at the period's end. The latest offset is the last one measured in the period. Only
 * agents that are not compliant get plot points, at most `plotPoints` per agent.
 *
 * What keeps an export of 10,000 agents small and fast (issue 12 item 4): every agent's series is
 * its hourly rollups (min/max offset, worst uncertainty, compliant share) plus its worst sample in
 * full; only the `plotCap` worst agents that are not compliant get plot points (at most
 * `plotPoints` each, read per agent through the index); the files are written as streams, row by
 * row, never as one string; and every sample at full resolution is the detail CSV (`--detail`).
 */
import type { KeyObject } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { agentStatus, DEFAULT_SETTINGS, isStaleAt, measureReport, normalizeUuid, resolvePolicy, type AgentStatus, type CheckStatus, type LibvirtClockResult } from '@clockwatch/shared';
import type { Compliance } from '../compliance.js';
import { auditedGuests } from '../libvirt/agentless.js';
import type { LibvirtAudit } from '../libvirt/audit.js';
import { agentlessForExport, markBothEvidence } from './agentless.js';
import type { AgentPeriodRecord, AgentSummary, PeriodAgentState, PeriodWorstSample, RollupRow, Store } from '../store/types.js';
import type { ExportAbout, ExportData, ExportHour, ExportLibvirt, ExportNtp, ExportPeriod, ExportRow, ExportWorstSample } from './model.js';
import { buildExportData, checkExportData, DEFAULT_PLOT_CAP, needsPlot, plotRows } from './model.js';
import { htmlChunks } from './render-html.js';
import { csvChunks, detailCsvChunks } from './render-csv.js';
import { jsonChunks } from './render-json.js';
import { writeExport, type ExportChunks, type WriteExportResult } from './write-export.js';
import { exportBaseName, keyIdOf, manifestCanonicalJson } from './manifest.js';
import { COLLECTOR_VERSION } from '../version.js';
import { sha256Hex } from '../canonical.js';

export const EXPORT_FORMATS = ['csv', 'json', 'html'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportServiceOptions {
  store: Store;
  compliance: Compliance;
  libvirt?: LibvirtAudit | null;
  /** Resolution of the host's timestamps, ms (re-evaluated reasons quote uncertainties). */
  hostResolutionMs?: number;
  /** Plot points per non-compliant agent at most (default 400; the plot is 636 px wide and keeps each bucket's extreme). */
  plotPoints?: number;
  /** Most agents plotted in the HTML (default 200, the worst first; the others are listed). */
  plotCap?: number;
  /**
   * Yield to the event loop while building rows (the served collector sets it; the CLI has
   * nothing else to do). Writing is a stream either way, which yields between chunks.
   */
  offThread?: boolean;
  /** Where the policy came from (a file name, or 'built-in defaults'), for the export's header. */
  policySource?: string;
  /** The collector's host name as the export names it (default os.hostname()). */
  collectorHostname?: string;
}

export interface BuildOptions {
  onProgress?: (done: number, total: number) => void;
  /** Key id of the manifest's signer, named in the export (null: unsigned). */
  signerKeyId?: string | null;
  /** The detail CSV's file name when this export includes it. */
  detailFile?: string | null;
}

export interface RenderedFile {
  format: ExportFormat | 'detail';
  name: string;
  /** Text (render()), or chunks to stream into the file (files()). */
  content: string | ExportChunks;
}

export interface RunExportOptions extends BuildOptions {
  dir: string;
  period: ExportPeriod;
  generatedAtMs: number;
  formats?: readonly ExportFormat[];
  signingKey?: KeyObject | null;
  keep?: number | null;
  /** Also write the full-resolution CSV of every sample (`<name>-detail.csv`, in the manifest). */
  detail?: boolean;
  /** Stem of the file names (default: exportBaseName(period)). */
  name?: string;
  /** Recorded in the manifest; scheduled exports are written with noReplace (never overwritten). */
  kind?: 'scheduled' | 'manual';
  noReplace?: boolean;
}

type StaticParts = {
  agent?: { hostname?: string; systemUuid?: string | null; labels?: Record<string, string> };
  clocksource?: { current?: string } | { error: unknown };
  rtc?: { mode?: 'UTC' | 'LOCAL' | null } | { error: unknown };
  timezone?: { name?: string | null } | { error: unknown };
  ntp?: { daemon?: string; server?: string | null } | { error: unknown };
};

interface EndState {
  status: AgentStatus;
  checks: Record<string, CheckStatus>;
}

const ok = <T extends object>(v: T | { error: unknown } | undefined): T | null => (v && !('error' in v) ? (v as T) : null);

export class ExportService {
  readonly store: Store;
  private readonly compliance: Compliance;
  private readonly libvirt: LibvirtAudit | null;
  private readonly hostResolutionMs: number;
  private readonly plotPoints: number;
  private readonly plotCap: number;
  private readonly offThread: boolean;
  private readonly policySource: string;
  private readonly collectorHostname: string;

  constructor(o: ExportServiceOptions) {
    this.store = o.store;
    this.compliance = o.compliance;
    this.libvirt = o.libvirt ?? null;
    this.hostResolutionMs = o.hostResolutionMs ?? 0.001;
    this.plotPoints = o.plotPoints ?? 400;
    this.plotCap = o.plotCap ?? DEFAULT_PLOT_CAP;
    this.offThread = o.offThread ?? false;
    this.policySource = o.policySource ?? 'built-in defaults';
    this.collectorHostname = o.collectorHostname ?? osHostname();
  }

  /** The export's header: collector, policy and its SHA-256, signer. */
  about(period: ExportPeriod, options: BuildOptions = {}): ExportAbout {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      collector: { hostname: this.collectorHostname, version: COLLECTOR_VERSION },
      // Canonical JSON (sorted keys, no whitespace): the same policy hashes the same however its file is laid out.
      policy: { source: this.policySource, sha256: sha256Hex(manifestCanonicalJson(this.compliance.policy)) },
      signerKeyId: options.signerKeyId ?? null,
      plotCap: this.plotCap,
      detail: {
        file: options.detailFile ?? null,
        command: `clockwatch-collector export --detail --from ${iso(period.fromMs)} --to ${iso(period.toMs)}`,
      },
    };
  }

  /** The offset limits drawn on the plots: the policy's defaults (rules may differ per agent). */
  limits(): { warnMs: number; failMs: number } {
    const o = { ...DEFAULT_SETTINGS.offset, ...this.compliance.policy.defaults?.offset };
    return { warnMs: Math.min(o.warnMs, o.failMs), failMs: o.failMs };
  }

  async buildData(period: ExportPeriod, generatedAtMs: number, options: BuildOptions = {}): Promise<ExportData> {
    if (!(period.toMs > period.fromMs)) throw new RangeError('the export period must end after it starts');
    // The state at the end of the period decides who gets a plot, before the pass over the samples.
    const ends = new Map<string, EndState>();
    const cached = await this.latestVerdicts(period.toMs);
    const records = await this.store.periodAgents({
      fromMs: period.fromMs,
      toMs: period.toMs,
      onProgress: options.onProgress,
      series: {
        maxPoints: this.plotPoints,
        want: (state) => {
          const end = this.endState(state, period, cached);
          ends.set(state.id, end);
          // Plot points are read afterwards, for the plotCap worst only (plotSeries).
          return false;
        },
      },
    });
    const rows: ExportRow[] = [];
    let slice = performance.now();
    for (const rec of records) {
      rows.push(await this.row(rec, ends.get(rec.id) ?? this.endState(rec, period, cached), period));
      if (this.offThread && performance.now() - slice > 50) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
    // The worst samples the store read with the period (the others are looked up per agent).
    const worstSamples = new Map<string, PeriodWorstSample>();
    for (const rec of records) if (rec.worst?.sample && !rec.worst.fromRollup) worstSamples.set(rec.id, rec.worst.sample);
    // The hours the store read with the period (the others are read per agent).
    const hoursRead = new Map<string, readonly RollupRow[]>();
    for (const rec of records) if (rec.hours) hoursRead.set(rec.id, rec.hours);
    await this.addEvidence(rows, period, worstSamples, hoursRead);
    await this.plotSeries(rows, period);
    // Guests the host audit read (--host-audit): the agents it read too say 'both'; the others are listed apart.
    const audited = auditedGuests(this.libvirt, this.compliance, rows, generatedAtMs);
    markBothEvidence(rows, audited);
    const data = buildExportData({
      period,
      generatedAtMs,
      limits: this.limits(),
      rows,
      ...(this.libvirt ? { libvirt: this.libvirtLists(rows) } : {}),
      ...(audited ? { agentless: agentlessForExport(audited) } : {}),
      about: this.about(period, options),
    });
    const problems = checkExportData(data);
    if (problems.length > 0) throw new Error(`export data is inconsistent: ${problems.slice(0, 5).join('; ')}`);
    return data;
  }

  /** A breath for the event loop every 50 ms of work (served collector only). */
  private breather(): () => Promise<void> {
    let slice = performance.now();
    return async () => {
      if (this.offThread && performance.now() - slice > 50) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    };
  }

  /**
   * Per agent, the hourly rollups of the period and the worst sample in full (the stored row of the
   * hour whose extreme it is). Hours only partly inside the period are included whole: a rollup
   * cannot be cut. The hour that starts at the end of the period is not in it (rollups() takes
   * its range inclusive of the end, like history()).
   */
  private async addEvidence(rows: ExportRow[], period: ExportPeriod, worstSamples: ReadonlyMap<string, PeriodWorstSample>, hoursRead: ReadonlyMap<string, readonly RollupRow[]>): Promise<void> {
    const breathe = this.breather();
    const fromHour = Math.floor(period.fromMs / 3_600_000) * 3_600_000;
    for (const row of rows) {
      const rollups = hoursRead.get(row.id) ?? (await this.store.rollups(row.id, { fromMs: fromHour, toMs: period.toMs, limit: 100_000 })).filter((h) => h.hourMs < period.toMs);
      const hours: ExportHour[] = rollups.map((h) => ({
        hourMs: h.hourMs,
        reports: h.reports,
        measured: h.measured,
        offsetMinMs: h.offsetMinMs,
        offsetMaxMs: h.offsetMaxMs,
        uncertaintyMaxMs: h.uncertaintyMaxMs,
        compliantShare: h.compliantShare,
      }));
      row.hours = hours;
      const known = worstSamples.get(row.id);
      row.worstSample =
        row.worstOffsetMs === null || row.worstUncertaintyMs === null
          ? null
          : known
            ? { reportId: known.reportId, atMs: known.atMs, offsetMs: row.worstOffsetMs, uncertaintyMs: row.worstUncertaintyMs, status: known.status, checks: { ...known.checks } }
            : await this.worstSample(row, hours, period);
      await breathe();
    }
  }

  private async worstSample(row: ExportRow, hours: readonly ExportHour[], period: ExportPeriod): Promise<ExportWorstSample | null> {
    const w = row.worstOffsetMs as number;
    // The hour whose extreme is the worst value; or, for a period that starts or ends inside an
    // hour, that edge hour, whose extremes may come from samples outside the period.
    const partial = (h: ExportHour) => h.hourMs < period.fromMs || h.hourMs + 3_600_000 > period.toMs;
    const candidates = hours.filter(
      (h) => h.offsetMaxMs === w || h.offsetMinMs === w || (partial(h) && h.offsetMinMs !== null && h.offsetMaxMs !== null && h.offsetMinMs <= w && w <= h.offsetMaxMs),
    );
    for (const hour of candidates) {
      const page = await this.store.history(row.id, { fromMs: Math.max(hour.hourMs, period.fromMs), toMs: Math.min(hour.hourMs + 3_600_000, period.toMs), limit: 100_000 });
      // The earliest sample of that value inside the period (history() includes its end; the
      // period does not); its uncertainty is the one the period reader reported.
      const inPeriod = page.rows.filter((r) => r.atMs < period.toMs);
      const s = inPeriod.find((r) => r.offsetMs === w && r.uncertaintyMs === row.worstUncertaintyMs);
      if (s && s.uncertaintyMs !== null) return { reportId: s.reportId, atMs: s.atMs, offsetMs: w, uncertaintyMs: s.uncertaintyMs, status: s.status, checks: { ...s.checks } as Record<string, CheckStatus> };
    }
    return null;
  }

  /** Plot points for the plotCap worst agents that are not compliant, per agent through the index. */
  private async plotSeries(rows: ExportRow[], period: ExportPeriod): Promise<void> {
    const breathe = this.breather();
    for (const row of plotRows(rows, this.plotCap)) {
      row.series = await this.store.periodSeries(row.id, period.fromMs, period.toMs, this.plotPoints);
      await breathe();
    }
  }

  /** Domains that no exported agent reports, and exported agents that no domain has. */
  private libvirtLists(rows: readonly ExportRow[]): ExportLibvirt {
    const audit = this.libvirt as LibvirtAudit;
    const snap = audit.snapshot();
    const reported = new Set(rows.map((r) => normalizeUuid(r.systemUuid)).filter((u): u is string => u !== null));
    return {
      readAtMs: snap.refreshedAtMs,
      domainsWithoutAgent: snap.domains
        .filter((e) => {
          const u = normalizeUuid(e.domain.uuid);
          return u === null || !reported.has(u);
        })
        .map((e) => ({ name: e.domain.name, uuid: e.domain.uuid, source: e.source })),
      agentsWithoutDomain: rows.filter((r) => !audit.domainFor(r.systemUuid)).map((r) => ({ id: r.id, hostname: r.hostname, systemUuid: r.systemUuid })),
    };
  }

  /** The stored latest-state verdicts (the judge's cache) by agent id. */
  private async latestVerdicts(nowMs: number): Promise<Map<string, AgentSummary>> {
    const out = new Map<string, AgentSummary>();
    for (let offset = 0; ; offset += 10_000) {
      const page = await this.store.listAgents({ nowMs, offset, limit: 10_000 });
      for (const r of page.rows) out.set(r.id, r);
      if (page.rows.length < 10_000) break;
    }
    return out;
  }

  /** Status and checks at the end of the period (see the module comment); the reporting check against the last delivery before it. */
  private endState(rec: PeriodAgentState, period: ExportPeriod, cached: ReadonlyMap<string, AgentSummary>): EndState {
    const latest = rec.lastIsLatest ? cached.get(rec.id) : undefined;
    const checks: Record<string, CheckStatus> = { ...(latest ? latest.checks : (rec.last?.checks ?? {})) };
    delete checks.reporting;
    if (rec.staleAfterMs !== null && rec.lastSeenMs !== null) checks.reporting = isStaleAt(rec.lastSeenMs, rec.staleAfterMs, period.toMs) ? 'fail' : 'pass';
    const list = Object.entries(checks).map(([id, status]) => ({ id, status }));
    return { status: rec.last === null ? 'unknown' : agentStatus(list), checks };
  }

  private async row(rec: AgentPeriodRecord, end: EndState, period: ExportPeriod): Promise<ExportRow> {
    const sp = (rec.staticParts ?? {}) as StaticParts;
    const last = rec.last;
    const inPeriod = last !== null && last.atMs >= period.fromMs;
    let { status, checks } = end;
    let reasons: Record<string, string> = {};
    if (rec.lastIsLatest && Object.values(checks).some((s) => s !== 'pass')) {
      // The reasons, and with them the statuses, from the judge (the cache said something did not pass).
      const judged = await this.judgeAtEnd(rec, period.toMs);
      if (judged) ({ status, checks, reasons } = judged);
    }

    const ntpSection = ok(sp.ntp);
    const ntp: ExportNtp = {
      daemon: ntpSection?.daemon ?? null,
      synchronized: last?.ntpSynchronized ?? null,
      server: ntpSection?.server ?? null,
    };
    const row: ExportRow = {
      id: rec.id,
      hostname: sp.agent?.hostname ?? rec.id,
      systemUuid: sp.agent?.systemUuid ?? null,
      labels: sp.agent?.labels ?? {},
      status,
      checks,
      reasons,
      offsetMs: inPeriod && last.offsetMs !== null && last.uncertaintyMs !== null ? last.offsetMs : null,
      uncertaintyMs: inPeriod && last.offsetMs !== null && last.uncertaintyMs !== null ? last.uncertaintyMs : null,
      worstOffsetMs: rec.worst?.offsetMs ?? null,
      worstUncertaintyMs: rec.worst?.uncertaintyMs ?? null,
      rtcOffsetS: inPeriod ? last.rtcOffsetS : null,
      rtcMode: ok(sp.rtc)?.mode ?? null,
      clocksource: ok(sp.clocksource)?.current ?? null,
      timezone: ok(sp.timezone)?.name ?? null,
      ntp,
      compliantShare: rec.reports > 0 ? rec.compliantReports / rec.reports : null,
      driftPpm: rec.drift?.ppm ?? null,
      lastReportMs: rec.lastSeenMs,
      series: needsPlot({ status } as ExportRow) ? (rec.series ?? []) : [],
    };
    return row;
  }

  /** The judge's verdict on the agent's latest report as of the end of the period, against its last delivery before it. */
  private async judgeAtEnd(rec: AgentPeriodRecord, atMs: number): Promise<EndState & { reasons: Record<string, string> } | null> {
    const a = await this.store.getAgent(rec.id, atMs);
    if (!a) return null;
    const { verdict } = this.compliance.judgeStored({ ...a, lastSeenMs: rec.lastSeenMs ?? a.lastSeenMs }, atMs);
    const checks: Record<string, CheckStatus> = {};
    const reasons: Record<string, string> = {};
    for (const c of verdict.checks) {
      checks[c.id] = c.status;
      if (c.status !== 'pass') reasons[c.id] = c.reason;
    }
    return { status: verdict.status, checks, reasons };
  }

  /** The files as chunk streams (nothing is rendered until a chunk is asked for). */
  files(data: ExportData, formats: readonly ExportFormat[] = EXPORT_FORMATS, baseName = exportBaseName(data.period)): RenderedFile[] {
    return formats.map((format) => ({
      format,
      name: `${baseName}.${format}`,
      content: format === 'csv' ? csvChunks(data) : format === 'json' ? jsonChunks(data) : htmlChunks(data),
    }));
  }

  /** The files as whole strings (tests, small exports). */
  render(data: ExportData, formats: readonly ExportFormat[] = EXPORT_FORMATS, baseName = exportBaseName(data.period)): (RenderedFile & { content: string })[] {
    return this.files(data, formats, baseName).map((f) => ({ ...f, content: [...(f.content as Iterable<string>)].join('') }));
  }

  /** The detail CSV's name for an export. */
  static detailName(baseName: string): string {
    return `${baseName}-detail.csv`;
  }

  /** The full-resolution CSV of every stored sample of the period, agent by agent, read a day at a time. */
  detail(data: ExportData, baseName = exportBaseName(data.period)): RenderedFile {
    return { format: 'detail', name: ExportService.detailName(baseName), content: detailCsvChunks(this.store, data) };
  }

  /** Builds, renders and writes one export; resolves with the manifest written. */
  async run(o: RunExportOptions): Promise<WriteExportResult & { data: ExportData }> {
    const baseName = o.name ?? exportBaseName(o.period);
    const data = await this.buildData(o.period, o.generatedAtMs, {
      ...o,
      signerKeyId: o.signingKey ? keyIdOf(o.signingKey) : null,
      detailFile: o.detail ? ExportService.detailName(baseName) : null,
    });
    const files = this.files(data, o.formats ?? EXPORT_FORMATS, baseName);
    if (o.detail) files.push(this.detail(data, baseName));
    const result = await writeExport({
      name: o.name,
      kind: o.kind,
      noReplace: o.noReplace,
      dir: o.dir,
      period: o.period,
      generatedAtMs: o.generatedAtMs,
      files: files.map((f) => ({ name: f.name, content: f.content })),
      signingKey: o.signingKey ?? null,
      keep: o.keep ?? null,
    });
    return { ...result, data };
  }
}
