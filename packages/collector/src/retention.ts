/**
 * Retention: raw samples are kept `retentionDays`, hourly rollups `rollupRetentionDays`; agents not
 * heard from for the rollup retention are forgotten. `prune` runs it once; `serve` runs it on a
 * timer that never overlaps itself and is unref()ed (the OpenTelemetry periodic-exporter pattern).
 */
import { isSharedStore, type PruneResult, type Store } from './store/types.js';

export { DAY_MS } from '@clockwatch/shared';
import { DAY_MS } from '@clockwatch/shared';

export interface RetentionOptions {
  retentionDays: number;
  rollupRetentionDays: number;
}

export function pruneCutoffs(o: RetentionOptions, nowMs: number) {
  return { samplesBeforeMs: nowMs - o.retentionDays * DAY_MS, rollupsBeforeMs: nowMs - o.rollupRetentionDays * DAY_MS };
}

export function pruneOnce(store: Store, o: RetentionOptions, nowMs: number): Promise<PruneResult> {
  return store.prune(pruneCutoffs(o, nowMs));
}

export interface SchedulerOptions extends RetentionOptions {
  store: Store;
  nowMs: () => number;
  /** Period, ms (default 1 h). */
  everyMs?: number;
  /** Delay of the first run after start, ms (default 60 s: let start-up traffic settle). */
  firstAfterMs?: number;
  onResult?: (r: PruneResult, durationMs: number) => void;
  onError?: (err: unknown) => void;
}

export class RetentionScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly o: SchedulerOptions) {}

  start(): void {
    if (this.timer || this.stopped) return;
    const every = this.o.everyMs ?? 3_600_000;
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.runOnce().finally(() => {
          if (!this.stopped) tick();
        });
      }, every);
      this.timer.unref();
    };
    this.timer = setTimeout(() => {
      void this.runOnce().finally(() => {
        if (!this.stopped) tick();
      });
    }, this.o.firstAfterMs ?? 60_000);
    this.timer.unref();
  }

  runOnce(): Promise<void> {
    if (this.running) return this.running;
    const started = performance.now();
    const store = this.o.store;
    const now = this.o.nowMs();
    // A store shared by many collectors: retention runs once per period across all of them.
    const run: Promise<PruneResult | null> = isSharedStore(store)
      ? store.oncePerPeriod('retention', this.o.everyMs ?? 3_600_000, now, () => pruneOnce(store, this.o, now)).then((r) => (r.ran ? r.value : null))
      : pruneOnce(store, this.o, now);
    this.running = run
      .then((r) => {
        if (r) this.o.onResult?.(r, performance.now() - started);
      })
      .catch((err: unknown) => this.o.onError?.(err))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await this.running;
  }
}
