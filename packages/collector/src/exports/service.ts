/**
 * The export service: one period's ExportData built from the store, rendered in the requested
 * formats and written with writeExport (atomically, manifest last, signed when a key is given,
 * retention applied). The scheduler, `POST /v1/exports` and `clockwatch-collector export` all go
 * through it, so the three say the same thing.
 *
 * Row by row (model.ts documents the fields): the status and checks are those of the last report
 * measured before the end of the period, with the reporting check evaluated at the end of the
 * period against the last delivery (as GET /v1/agents does at now); the latest offset is the last
 * one measured in the period; the reasons of checks that did not pass are re-evaluated from the
 * stored report when that report is still the agent's latest; the libvirt-clock check is counted
 * for agents joined to a domain (its configuration as read now). Only agents that are not
 * compliant get plot points, at most `plotPoints` per agent.
 */
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { DEFAULT_SETTINGS, measureReport, normalizeUuid, resolvePolicy, type AgentStatus, type CheckStatus, type LibvirtClockResult } from '@clockwatch/shared';
import type { Compliance } from '../compliance.js';
import { combineStatus, LIBVIRT_CHECK_ID, linkRtcDiagnosis } from '../libvirt/check.js';
import type { LibvirtAudit } from '../libvirt/audit.js';
import type { AgentPeriodRecord, PeriodAgentState, Store } from '../store/types.js';
import type { ExportData, ExportLibvirt, ExportNtp, ExportPeriod, ExportRow } from './model.js';
import { buildExportData, checkExportData } from './model.js';
import { needsPlot, renderHtml } from './render-html.js';
import { renderCsv } from './render-csv.js';
import { renderJson } from './render-json.js';
import { writeExport, type WriteExportResult } from './write-export.js';
import { exportBaseName } from './manifest.js';

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
  /**
   * Render large exports on a worker thread and yield while building rows, so that the event loop
   * keeps answering (the served collector sets it; the CLI has nothing else to do).
   */
  offThread?: boolean;
}

export interface BuildOptions {
  onProgress?: (done: number, total: number) => void;
}

export interface RenderedFile {
  format: ExportFormat;
  name: string;
  /** Text, or its UTF-8 bytes when rendered on a worker thread. */
  content: string | Uint8Array;
}

export interface RunExportOptions extends BuildOptions {
  dir: string;
  period: ExportPeriod;
  generatedAtMs: number;
  formats?: readonly ExportFormat[];
  signingKey?: KeyObject | null;
  keep?: number | null;
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
  libvirt: LibvirtClockResult | null;
}

const ok = <T extends object>(v: T | { error: unknown } | undefined): T | null => (v && !('error' in v) ? (v as T) : null);

export class ExportService {
  readonly store: Store;
  private readonly compliance: Compliance;
  private readonly libvirt: LibvirtAudit | null;
  private readonly hostResolutionMs: number;
  private readonly plotPoints: number;
  private readonly offThread: boolean;

  constructor(o: ExportServiceOptions) {
    this.store = o.store;
    this.compliance = o.compliance;
    this.libvirt = o.libvirt ?? null;
    this.hostResolutionMs = o.hostResolutionMs ?? 0.001;
    this.plotPoints = o.plotPoints ?? 400;
    this.offThread = o.offThread ?? false;
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
    const records = await this.store.periodAgents({
      fromMs: period.fromMs,
      toMs: period.toMs,
      onProgress: options.onProgress,
      series: {
        maxPoints: this.plotPoints,
        want: (state) => {
          const end = this.endState(state, period);
          ends.set(state.id, end);
          return needsPlot({ status: end.status } as ExportRow);
        },
      },
    });
    const rows: ExportRow[] = [];
    let slice = performance.now();
    for (const rec of records) {
      rows.push(await this.row(rec, ends.get(rec.id) ?? this.endState(rec, period), period));
      if (this.offThread && performance.now() - slice > 50) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
    const data = buildExportData({ period, generatedAtMs, limits: this.limits(), rows, ...(this.libvirt ? { libvirt: this.libvirtLists(rows) } : {}) });
    const problems = checkExportData(data);
    if (problems.length > 0) throw new Error(`export data is inconsistent: ${problems.slice(0, 5).join('; ')}`);
    return data;
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

  /**
   * Status and checks at the end of the period: the last report's stored checks, the reporting
   * check against the last delivery, and the libvirt-clock check of a joined domain.
   */
  private endState(rec: PeriodAgentState, period: ExportPeriod): EndState {
    const sp = (rec.staticParts ?? {}) as StaticParts;
    const last = rec.last;
    const checks: Record<string, CheckStatus> = { ...(last?.checks ?? {}) };
    let status: AgentStatus = last?.status ?? 'unknown';
    if (rec.staleAfterMs !== null && rec.lastSeenMs !== null) {
      const stale = period.toMs - rec.lastSeenMs > rec.staleAfterMs;
      checks.reporting = stale ? 'fail' : 'pass';
      if (stale) status = 'stale';
    }
    let libvirt: LibvirtClockResult | null = null;
    const entry = this.libvirt?.domainFor(sp.agent?.systemUuid ?? null) ?? null;
    if (entry && this.libvirt) {
      libvirt = this.libvirt.evaluateStatic(entry, rec.staticParts, { rtcOffsetS: last?.rtcOffsetS ?? null, atMs: last?.atMs ?? null }, this.toleranceFor(rec));
      checks[LIBVIRT_CHECK_ID] = libvirt.status;
      status = combineStatus(status, libvirt.status);
    }
    return { status, checks, libvirt };
  }

  private async row(rec: AgentPeriodRecord, end: EndState, period: ExportPeriod): Promise<ExportRow> {
    const sp = (rec.staticParts ?? {}) as StaticParts;
    const last = rec.last;
    const inPeriod = last !== null && last.atMs >= period.fromMs;
    const { status, checks, libvirt: lv } = end;
    let reasons: Record<string, string> = {};
    if (rec.lastIsLatest && Object.entries(checks).some(([id, s]) => s !== 'pass' && id !== LIBVIRT_CHECK_ID)) reasons = await this.reasons(rec, period.toMs);
    if (lv) {
      if (lv.status !== 'pass') reasons[LIBVIRT_CHECK_ID] = lv.reason;
      if (reasons.rtc && checks.rtc) {
        const [linked] = linkRtcDiagnosis([{ id: 'rtc', status: checks.rtc, reason: reasons.rtc }], lv);
        if (linked) reasons.rtc = linked.reason;
      }
    }
    for (const id of Object.keys(reasons)) if (checks[id] === undefined || checks[id] === 'pass') delete reasons[id];

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

  /** The policy's RTC tolerance for the agent (rules may match its labels, hostname or platform). */
  private toleranceFor(rec: PeriodAgentState): number {
    const sp = (rec.staticParts ?? {}) as StaticParts & { os?: { platform?: string } | { error: unknown } };
    return resolvePolicy(this.compliance.policy, {
      agentId: rec.id,
      hostname: sp.agent?.hostname ?? rec.id,
      labels: sp.agent?.labels ?? {},
      platform: ok(sp.os)?.platform ?? null,
    }).rtc.maxDriftS;
  }

  /**
   * Reasons of the checks of the agent's latest report, as of the end of the period: the report is
   * re-evaluated with the offset and uncertainty stored at ingest, so the reasons quote the numbers
   * the export states.
   */
  private async reasons(rec: AgentPeriodRecord, atMs: number): Promise<Record<string, string>> {
    const a = await this.store.getAgent(rec.id, atMs);
    if (!a || !rec.last) return {};
    const policy = this.compliance.resolve(a.report);
    const m = measureReport(a.report, {
      receivedAtMs: a.receivedAtMs,
      hostSynchronized: a.hostSynchronized,
      hostResolutionMs: this.hostResolutionMs,
      rtcToleranceS: policy.rtc.maxDriftS,
    });
    const stored = rec.last;
    const measured = { ...m, offsetMs: stored.offsetMs, uncertaintyMs: stored.uncertaintyMs, receivedAtMs: rec.lastSeenMs ?? a.receivedAtMs };
    const verdict = this.compliance.evaluate(a.report, measured, atMs);
    const out: Record<string, string> = {};
    for (const c of verdict.checks) if (c.status !== 'pass') out[c.id] = c.reason;
    return out;
  }

  render(data: ExportData, formats: readonly ExportFormat[] = EXPORT_FORMATS, baseName = exportBaseName(data.period)): RenderedFile[] {
    return formats.map((format) => ({
      format,
      name: `${baseName}.${format}`,
      content: format === 'csv' ? renderCsv(data) : format === 'json' ? renderJson(data) : renderHtml(data),
    }));
  }

  /** render() on a worker thread (for large exports when offThread is set). */
  async renderAsync(data: ExportData, formats: readonly ExportFormat[] = EXPORT_FORMATS, baseName = exportBaseName(data.period)): Promise<RenderedFile[]> {
    const points = data.rows.reduce((n, r) => n + r.series.length, 0);
    if (!this.offThread || data.rows.length + points / 10 < 2000) return this.render(data, formats, baseName);
    const files = formats.map((format) => ({ format, name: `${baseName}.${format}` }));
    // Handing the data over as one object would serialise it in one go (~0.2 s for 10,000 agents,
    // the event loop stopped); as JSON written row by row, with a breath every 30 ms, it does not.
    const parts: string[] = [];
    let slice = performance.now();
    for (const r of data.rows) {
      parts.push(JSON.stringify(r));
      if (performance.now() - slice > 30) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
    }
    const json = `{"head":${JSON.stringify({ ...data, rows: [] })},"rows":[${parts.join(',')}]}`;
    return new Promise((resolve, reject) => {
      const w = new Worker(new URL('./render-worker.js', import.meta.url), { workerData: { json, files } });
      let settled = false;
      w.once('message', (m: { ok: true; files: RenderedFile[] } | { ok: false; message: string }) => {
        settled = true;
        if (m.ok) resolve(m.files);
        else reject(new Error(`rendering the export: ${m.message}`));
      });
      w.once('error', (err) => {
        settled = true;
        reject(err);
      });
      w.once('exit', (code) => {
        if (!settled) reject(new Error(`export render worker exited with code ${code}`));
      });
    });
  }

  /** Builds, renders and writes one export; resolves with the manifest written. */
  async run(o: RunExportOptions): Promise<WriteExportResult & { data: ExportData }> {
    const data = await this.buildData(o.period, o.generatedAtMs, o);
    const files = await this.renderAsync(data, o.formats ?? EXPORT_FORMATS, o.name ?? exportBaseName(o.period));
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
