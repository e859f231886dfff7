/**
 * The export directory of a running collector: the scheduler (`--export-every`) and on-demand runs
 * (`POST /v1/exports`) over one ExportService, never two runs at once (the scheduler's queue, and
 * a refusal for a second on-demand run while one is queued or running), listing and downloads.
 *
 * Scheduled exports are evidence: written into --export-dir with link(2) (never replacing a file
 * already there), listed in their signed manifest as `kind: scheduled`, and removed only by their
 * own retention (--export-keep). Manual runs go to --export-dir/manual under names of their own
 * (`…-manual-<generated>`), with their own retention (--export-manual-keep): a manual run can
 * neither replace nor push out a scheduled export.
 *
 * Which periods the schedule has done is in its own record, `.schedule.json` in the directory
 * (the end of the last period it exported), not derived from the manifests there: retention
 * deleting old exports never makes the scheduler export those periods again. A directory from an
 * older version, without a record, is read once the old way (the newest manifest one period long).
 *
 * On a store shared by many collectors (PostgreSQL) the schedule runs once per period across all
 * of them: a scheduled run goes through the store's oncePerPeriod('exports'), keyed by the end of
 * the period (not the instant the timer fired, so a late timer never skips or repeats a period),
 * and a collector that finds the period done or in progress elsewhere skips it (onElsewhere).
 * Manual runs are this collector's own and always run.
 */
import type { KeyObject } from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { isSharedStore } from '../store/types.js';
import { exportBaseName } from './manifest.js';
import { isoUtc } from './model.js';
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
  /** Scheduled exports kept (--export-keep); null: all. */
  keep?: number | null;
  /** Manual exports kept in <dir>/manual (--export-manual-keep); null: all. */
  manualKeep?: number | null;
  signingKey?: KeyObject | null;
  formats?: readonly ExportFormat[];
  nowMs: () => number;
  /** Scheduler knobs for tests. */
  settleMs?: number;
  retryMs?: number;
  onWritten?: (r: WriteExportResult, info: ExportRunInfo, durationMs: number) => void;
  onError?: (err: unknown, period: ExportPeriod | null) => void;
  onSkipped?: (periods: ExportPeriod[]) => void;
  /** A scheduled period another collector sharing the store has exported (or is exporting): not written here. */
  onElsewhere?: (period: ExportPeriod) => void;
}

export class ExportBusyError extends Error {
  constructor() {
    super('an export is already running');
    this.name = 'ExportBusyError';
  }
}

/** The scheduler's record (see the header). */
export const SCHEDULE_RECORD = '.schedule.json';
export const MANUAL_DIR = 'manual';

interface ScheduleRecord {
  version: 1;
  /** End of the last period the schedule exported (ms). */
  lastEndMs: number;
  lastName: string;
}

export class ExportManager {
  readonly dir: string;
  readonly manualDir: string;
  readonly everyMs: number;
  readonly signed: boolean;
  private readonly scheduler: ExportScheduler;
  private readonly schedule: boolean;
  private manualPending = false;
  private started = false;

  constructor(private readonly o: ExportManagerOptions) {
    this.dir = o.dir;
    this.manualDir = join(o.dir, MANUAL_DIR);
    this.everyMs = o.everyMs;
    this.signed = !!o.signingKey;
    this.schedule = o.schedule ?? true;
    this.scheduler = createExportScheduler({
      everyMs: o.everyMs,
      now: o.nowMs,
      settleMs: o.settleMs,
      retryMs: o.retryMs,
      run: async (period, info) => {
        const store = o.service.store;
        if (info.reason === 'manual' || !isSharedStore(store)) {
          await this.write(period, info);
          return;
        }
        const r = await store.oncePerPeriod('exports', o.everyMs, period.toMs, () => this.write(period, info));
        if (!r.ran) o.onElsewhere?.(period);
      },
      lastCompletedPeriodEnd: () => this.lastScheduledEnd(),
      onError: o.onError,
      onSkipped: o.onSkipped,
    });
  }

  /** The result of the on-demand run (at most one at a time). */
  private manualResult: WriteExportResult | null = null;
  /** Whether the on-demand run in flight includes the detail CSV. */
  private manualDetail = false;

  private async write(period: ExportPeriod, info: ExportRunInfo): Promise<WriteExportResult> {
    const started = performance.now();
    const generatedAtMs = this.o.nowMs();
    const manual = info.reason === 'manual';
    if (manual) await mkdir(this.manualDir, { recursive: true });
    const name = manual ? `${exportBaseName(period)}-manual-${isoUtc(generatedAtMs).replace(/[-:.]/g, '')}` : exportBaseName(period);
    let r: WriteExportResult;
    try {
      r = await this.o.service.run({
        dir: manual ? this.manualDir : this.dir,
        name,
        kind: manual ? 'manual' : 'scheduled',
        noReplace: !manual,
        period,
        generatedAtMs,
        formats: this.o.formats,
        signingKey: this.o.signingKey ?? null,
        keep: manual ? (this.o.manualKeep ?? null) : (this.o.keep ?? null),
        detail: manual && this.manualDetail,
      });
    } catch (err) {
      // A scheduled export of this period is already there (the record was lost): it stays as it
      // is, and the record says the period is done.
      if (!manual && (err as NodeJS.ErrnoException).code === 'EEXIST') {
        await this.saveRecord({ version: 1, lastEndMs: period.toMs, lastName: name });
        this.o.onError?.(new Error(`${name} already exists in ${this.dir}: kept as it is, not overwritten`), period);
      }
      throw err;
    }
    if (manual) this.manualResult = r;
    else await this.saveRecord({ version: 1, lastEndMs: period.toMs, lastName: name });
    this.o.onWritten?.(r, info, performance.now() - started);
    return r;
  }

  private async saveRecord(rec: ScheduleRecord): Promise<void> {
    const file = join(this.dir, SCHEDULE_RECORD);
    const tmp = `${file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(JSON.stringify(rec) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  }

  private async readRecord(): Promise<ScheduleRecord | null> {
    let fh;
    try {
      fh = await open(join(this.dir, SCHEDULE_RECORD), 'r');
      const v = JSON.parse(await fh.readFile('utf8')) as Partial<ScheduleRecord>;
      return typeof v.lastEndMs === 'number' && Number.isFinite(v.lastEndMs) ? { version: 1, lastEndMs: v.lastEndMs, lastName: String(v.lastName ?? '') } : null;
    } catch {
      return null;
    } finally {
      await fh?.close();
    }
  }

  /**
   * End of the last period the schedule exported: from its record; without one (a directory of an
   * older version), the newest scheduled-looking manifest one period long.
   */
  async lastScheduledEnd(): Promise<number | null> {
    const rec = await this.readRecord();
    if (rec) return rec.lastEndMs;
    const { exports } = await listExports(this.dir);
    let end: number | null = null;
    for (const e of exports) {
      const p = e.manifest.period;
      if (e.manifest.kind !== 'manual' && p.toMs - p.fromMs === this.everyMs && (end === null || p.toMs > end)) end = p.toMs;
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

  /** Runs one export now (with the detail CSV when asked). Throws ExportBusyError when one is running or waiting. */
  async runNow(period: ExportPeriod = this.defaultPeriod(), o: { detail?: boolean } = {}): Promise<WriteExportResult> {
    if (this.busy) throw new ExportBusyError();
    this.manualPending = true;
    this.manualResult = null;
    this.manualDetail = o.detail === true;
    try {
      await this.scheduler.runNow(period);
      const result = this.manualResult as WriteExportResult | null;
      if (!result) throw new Error('the export run produced no result');
      return result;
    } finally {
      this.manualPending = false;
      this.manualResult = null;
      this.manualDetail = false;
    }
  }

  /** Scheduled and manual exports, newest first. */
  async list(): Promise<{ exports: ExportListing[]; errors: { name: string; message: string }[] }> {
    const [a, b] = await Promise.all([listExports(this.dir), listExports(this.manualDir)]);
    const exports = [...a.exports, ...b.exports].sort((x, y) => y.manifest.generatedAtMs - x.manifest.generatedAtMs || (x.manifestName < y.manifestName ? 1 : -1));
    return { exports, errors: [...a.errors, ...b.errors] };
  }

  /** Path of a regular file (never a symlink) that belongs to an export, or null. */
  async find(name: string): Promise<string | null> {
    return (await findExportFile(this.dir, name)) ?? (await findExportFile(this.manualDir, name));
  }
}
