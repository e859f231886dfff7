/**
 * The export directory of a running collector: the scheduler (`--export-every`) and on-demand runs
 * (`POST /v1/exports`) over one ExportService, never two runs at once (the scheduler's queue, and
 * a refusal for a second on-demand run while one is queued or running), listing and downloads.
 *
 * Which periods the schedule has done is read from the directory itself: the newest manifest
 * whose period is one schedule period long. So a period missed while the collector was down is
 * exported at start (at most the scheduler's maxCatchUp of them), and nothing is kept elsewhere.
 */
import type { KeyObject } from 'node:crypto';
import { listExports, findExportFile, type ExportListing } from './retention.js';
import type { ExportPeriod } from './model.js';
import { createExportScheduler, lastFullPeriod, type ExportRunInfo, type ExportScheduler } from './scheduler.js';
import type { ExportFormat, ExportService } from './service.js';
import type { WriteExportResult } from './write-export.js';

export interface ExportManagerOptions {
  service: ExportService;
  dir: string;
  /** Schedule period, ms; also the length of an on-demand run's default period. */
  everyMs: number;
  /** Whether the schedule runs (false: on-demand only). Default true. */
  schedule?: boolean;
  keep?: number | null;
  signingKey?: KeyObject | null;
  formats?: readonly ExportFormat[];
  nowMs: () => number;
  /** Scheduler knobs for tests. */
  settleMs?: number;
  retryMs?: number;
  onWritten?: (r: WriteExportResult, info: ExportRunInfo, durationMs: number) => void;
  onError?: (err: unknown, period: ExportPeriod | null) => void;
  onSkipped?: (periods: ExportPeriod[]) => void;
}

export class ExportBusyError extends Error {
  constructor() {
    super('an export is already running');
    this.name = 'ExportBusyError';
  }
}

export class ExportManager {
  readonly dir: string;
  readonly everyMs: number;
  readonly signed: boolean;
  private readonly scheduler: ExportScheduler;
  private readonly schedule: boolean;
  private manualPending = false;
  private started = false;

  constructor(private readonly o: ExportManagerOptions) {
    this.dir = o.dir;
    this.everyMs = o.everyMs;
    this.signed = !!o.signingKey;
    this.schedule = o.schedule ?? true;
    this.scheduler = createExportScheduler({
      everyMs: o.everyMs,
      now: o.nowMs,
      settleMs: o.settleMs,
      retryMs: o.retryMs,
      run: async (period, info) => {
        await this.write(period, info);
      },
      lastCompletedPeriodEnd: () => this.lastScheduledEnd(),
      onError: o.onError,
      onSkipped: o.onSkipped,
    });
  }

  /** The result of the on-demand run (at most one at a time). */
  private manualResult: WriteExportResult | null = null;

  private async write(period: ExportPeriod, info: ExportRunInfo): Promise<WriteExportResult> {
    const started = performance.now();
    const r = await this.o.service.run({
      dir: this.dir,
      period,
      generatedAtMs: this.o.nowMs(),
      formats: this.o.formats,
      signingKey: this.o.signingKey ?? null,
      keep: this.o.keep ?? null,
    });
    if (info.reason === 'manual') this.manualResult = r;
    this.o.onWritten?.(r, info, performance.now() - started);
    return r;
  }

  /** End of the newest exported period that is one schedule period long, from the manifests on disk. */
  async lastScheduledEnd(): Promise<number | null> {
    const { exports } = await listExports(this.dir);
    let end: number | null = null;
    for (const e of exports) {
      const p = e.manifest.period;
      if (p.toMs - p.fromMs === this.everyMs && (end === null || p.toMs > end)) end = p.toMs;
    }
    return end;
  }

  /** Catches up on missed periods (in the background) and arms the timer; no-op when not scheduling. */
  start(): Promise<void> {
    if (!this.schedule || this.started) return Promise.resolve();
    this.started = true;
    return this.scheduler.start();
  }

  /** Disarms the timer and waits for the run in flight. */
  stop(): Promise<void> {
    return this.scheduler.stop();
  }

  /** True while a run executes or an on-demand run waits for its turn. */
  get busy(): boolean {
    return this.manualPending || this.scheduler.running;
  }

  get nextRunAtMs(): number | null {
    return this.scheduler.nextRunAtMs;
  }

  /** The last full period before now (what an on-demand run exports by default). */
  defaultPeriod(): ExportPeriod {
    return lastFullPeriod(this.o.nowMs(), this.everyMs);
  }

  /** Runs one export now. Throws ExportBusyError when one is running or waiting. */
  async runNow(period: ExportPeriod = this.defaultPeriod()): Promise<WriteExportResult> {
    if (this.busy) throw new ExportBusyError();
    this.manualPending = true;
    this.manualResult = null;
    try {
      await this.scheduler.runNow(period);
      const result = this.manualResult as WriteExportResult | null;
      if (!result) throw new Error('the export run produced no result');
      return result;
    } finally {
      this.manualPending = false;
      this.manualResult = null;
    }
  }

  list(): Promise<{ exports: ExportListing[]; errors: { name: string; message: string }[] }> {
    return listExports(this.dir);
  }

  /** Path of a file that belongs to an export, or null. */
  find(name: string): Promise<string | null> {
    return findExportFile(this.dir, name);
  }
}
