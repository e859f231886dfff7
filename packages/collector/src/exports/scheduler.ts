/**
 * The export scheduler (`--export-every`), modelled on OpenTelemetry's periodic exporters: runs
 * never overlap (one queue), a period missed while the collector was down is exported at start,
 * the timer is unref'ed so it never keeps the process alive, and stop() waits for the run in flight.
 *
 * Periods are aligned to UTC: a period of `everyMs` starts at a multiple of everyMs since
 * 1970-01-01T00:00Z (so 24h is a UTC day, 1h a UTC hour); periods of whole weeks start on Monday
 * 00:00 UTC. A period is exported `settleMs` after it ends, so reports in flight at the boundary
 * are stored first.
 */
import { ClockwatchError, DAY_MS, ErrorCodes, parseDuration as parseShared, WEEK_MS } from '@clockwatch/shared';
import type { ExportPeriod } from './model.js';

/** 1970-01-05T00:00Z was a Monday. */
const MONDAY_ANCHOR_MS = 4 * DAY_MS;
/** setTimeout's delay is a signed 32-bit number of ms (about 24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Parses '24h', '1h', '30m', '7d', '90s', '1h30m' into ms. Throws ClockwatchError
 * (CW_ERR_CONFIG_INVALID) naming the option for anything else.
 */
export function parseDuration(text: string, option = 'duration'): number {
  const t = String(text).trim();
  const bad = () =>
    new ClockwatchError(ErrorCodes.CONFIG_INVALID, `${option}: '${t}' is not a duration: write a whole number and a unit (ms, s, m, h, d, w), e.g. 24h, 1h, 30m, 7d`);
  // Whole numbers only: an export period lines up with UTC days (validateExportInterval).
  if (!/^(?:\d{1,9}(?:ms|s|m|h|d|w))+$/.test(t)) throw bad();
  try {
    return parseShared(t);
  } catch {
    throw bad();
  }
}

/**
 * Checks an export interval: at least a minute, at most a year, and either dividing a day (1h,
 * 30m, 6h) or a whole number of days (24h, 7d), so every period lines up with UTC days.
 */
export function validateExportInterval(everyMs: number, option = '--export-every'): number {
  const shown = `${everyMs} ms`;
  if (!Number.isSafeInteger(everyMs) || everyMs < 60_000 || everyMs > 366 * DAY_MS) {
    throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `${option}: ${shown} is outside 1m..366d`);
  }
  if (DAY_MS % everyMs !== 0 && everyMs % DAY_MS !== 0) {
    throw new ClockwatchError(ErrorCodes.CONFIG_INVALID, `${option}: ${shown} neither divides a day (e.g. 30m, 1h, 6h) nor is a whole number of days (e.g. 24h, 7d), so periods would not line up with UTC days`);
  }
  return everyMs;
}

const anchorOf = (everyMs: number) => (everyMs % WEEK_MS === 0 ? MONDAY_ANCHOR_MS : 0);

/** The period boundary at or before `t`. */
export function periodBoundaryAtOrBefore(t: number, everyMs: number): number {
  const a = anchorOf(everyMs);
  return Math.floor((t - a) / everyMs) * everyMs + a;
}

/** The last full period before `nowMs` (24h → the last full UTC day). */
export function lastFullPeriod(nowMs: number, everyMs: number): ExportPeriod {
  const toMs = periodBoundaryAtOrBefore(nowMs, everyMs);
  return { fromMs: toMs - everyMs, toMs };
}

export type TimerHandle = unknown;

export interface ExportRunInfo {
  reason: 'scheduled' | 'catch-up' | 'manual';
}

export interface ExportSchedulerOptions {
  everyMs: number;
  /** Writes one export for the period; must reject on failure. */
  run: (period: ExportPeriod, info: ExportRunInfo) => Promise<void>;
  now: () => number;
  /** End (toMs) of the last period exported by the schedule, from the store; null when none yet. */
  lastCompletedPeriodEnd: () => Promise<number | null>;
  setTimer?: (fn: () => void, delayMs: number) => TimerHandle;
  clearTimer?: (handle: TimerHandle) => void;
  /** Wait after a period ends before exporting it. Default 30 s. */
  settleMs?: number;
  /** At most this many missed periods are exported at start (the newest ones). Default 7. */
  maxCatchUp?: number;
  /** After a failed run, try again this much later (or at the next period, if sooner). Default min(everyMs, 10 min). */
  retryMs?: number;
  onError?: (error: unknown, period: ExportPeriod | null) => void;
  /** Periods skipped because more than maxCatchUp were missed. */
  onSkipped?: (periods: ExportPeriod[]) => void;
}

export interface ExportScheduler {
  /** Exports missed periods (in the background queue) and arms the timer; resolves when the catch-up is done. */
  start(): Promise<void>;
  /** Runs one export now (default: the last full period), after whatever run is in flight. */
  runNow(period?: ExportPeriod): Promise<void>;
  /** Disarms the timer, drops queued scheduled runs and waits for the run in flight. */
  stop(): Promise<void>;
  /** True while a run is executing. */
  readonly running: boolean;
  /** When the timer will fire next (host ms), null when not armed. */
  readonly nextRunAtMs: number | null;
}

export function createExportScheduler(o: ExportSchedulerOptions): ExportScheduler {
  const everyMs = validateExportInterval(o.everyMs, 'everyMs');
  const settleMs = o.settleMs ?? 30_000;
  const maxCatchUp = o.maxCatchUp ?? 7;
  const retryMs = o.retryMs ?? Math.min(everyMs, 600_000);
  const setTimer =
    o.setTimer ??
    ((fn: () => void, ms: number) => {
      const t = setTimeout(fn, ms);
      t.unref();
      return t;
    });
  const clearTimer = o.clearTimer ?? ((h: TimerHandle) => clearTimeout(h as NodeJS.Timeout));
  const onError = o.onError ?? (() => undefined);

  let chain: Promise<void> = Promise.resolve();
  let running = false;
  let stopped = false;
  let started = false;
  let timer: TimerHandle | null = null;
  let nextRunAtMs: number | null = null;
  let lastDoneEnd: number | null = null;
  let failedAt: number | null = null;

  /** Serialises every run: never two at once. */
  const enqueue = (task: () => Promise<void>): Promise<void> => {
    const p = chain.then(async () => {
      running = true;
      try {
        await task();
      } finally {
        running = false;
      }
    });
    chain = p.catch(() => undefined);
    return p;
  };

  const runDue = async (reason: 'scheduled' | 'catch-up') => {
    if (stopped) return;
    const now = o.now();
    const dueEnd = periodBoundaryAtOrBefore(now - settleMs, everyMs);
    let stored: number | null;
    try {
      stored = await o.lastCompletedPeriodEnd();
    } catch (e) {
      failedAt = now;
      onError(e, null);
      return;
    }
    const last = Math.max(stored ?? -Infinity, lastDoneEnd ?? -Infinity);
    const ends: number[] = [];
    if (last === -Infinity) ends.push(dueEnd);
    else for (let end = periodBoundaryAtOrBefore(last, everyMs) + everyMs; end <= dueEnd; end += everyMs) ends.push(end);
    if (ends.length > maxCatchUp) {
      const skipped = ends.splice(0, ends.length - maxCatchUp);
      o.onSkipped?.(skipped.map((end) => ({ fromMs: end - everyMs, toMs: end })));
    }
    failedAt = null;
    for (const end of ends) {
      if (stopped) return;
      const period = { fromMs: end - everyMs, toMs: end };
      try {
        await o.run(period, { reason: reason === 'catch-up' || end < dueEnd ? 'catch-up' : 'scheduled' });
        lastDoneEnd = end;
      } catch (e) {
        failedAt = o.now();
        onError(e, period);
        return; // the rest waits for the retry, oldest first
      }
    }
  };

  const arm = () => {
    if (stopped) return;
    const now = o.now();
    let at = periodBoundaryAtOrBefore(now - settleMs, everyMs) + everyMs + settleMs;
    if (failedAt !== null) at = Math.min(at, failedAt + retryMs);
    const delay = Math.min(Math.max(0, at - now), MAX_TIMER_MS);
    nextRunAtMs = now + delay;
    timer = setTimer(() => {
      timer = null;
      nextRunAtMs = null;
      if (stopped) return;
      // A chained long wait (delay capped at MAX_TIMER_MS) or an early fire just re-arms.
      void enqueue(() => runDue('scheduled')).finally(arm);
    }, delay);
  };

  return {
    async start() {
      if (started) throw new Error('export scheduler already started');
      started = true;
      await enqueue(() => runDue('catch-up')).finally(arm);
    },
    runNow(period?: ExportPeriod) {
      if (stopped) return Promise.reject(new ClockwatchError(ErrorCodes.CONFIG_INVALID, 'the export scheduler is stopped'));
      const p = period ?? lastFullPeriod(o.now(), everyMs);
      return enqueue(() => o.run(p, { reason: 'manual' }));
    },
    async stop() {
      stopped = true;
      if (timer !== null) clearTimer(timer);
      timer = null;
      nextRunAtMs = null;
      await chain;
    },
    get running() {
      return running;
    },
    get nextRunAtMs() {
      return nextRunAtMs;
    },
  };
}
