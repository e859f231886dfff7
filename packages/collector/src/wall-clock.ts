/**
 * A sub-millisecond wall clock tied to the OS clock (domain.md §6.3).
 *
 * `Date.now()` reads CLOCK_REALTIME but is floored to whole milliseconds. `performance.timeOrigin +
 * performance.now()` has sub-ms resolution but is "wall clock at process start + monotonic
 * elapsed": after a step of the system clock (chrony makestep, VM resume, settimeofday) it is off
 * by the step for the rest of the process. So: anchor `performance.now()` to `Date.now()` at a
 * millisecond edge (median of a few anchors, discarding preempted ones), and on every read check
 * that the result still floors to `Date.now()`; if not, the OS clock stepped: re-anchor.
 * Slews move CLOCK_REALTIME and CLOCK_MONOTONIC at the same rate (clock_gettime(2)), so between
 * steps the anchor holds.
 */
import { performance } from 'node:perf_hooks';

export interface WallClock {
  /** Milliseconds since the Unix epoch, with a fraction, consistent with Date.now(). */
  now(): number;
  /** Half-width of the anchor's uncertainty, ms. */
  readonly resolutionMs: number;
}

/** How far (ms) a read may fall outside [Date.now(), Date.now() + 1) before we call it a step. */
const STEP_TOLERANCE_MS = 0.25;
const ANCHORS = 5;

/** An anchor whose error bound exceeds this was disturbed (preempted): take another. */
const MAX_ANCHOR_ERR_MS = 0.02;

function oneAnchor(): { anchor: number; err: number } {
  // Spin until Date.now() ticks: the edge of a millisecond is the only instant at which the
  // floored value says exactly where the wall clock is. The tick happened after the previous
  // Date.now() call (which began after `prevP1`) and before the current one returned (before
  // `p2`): the anchor is the middle of that window and its error half its width. A preemption
  // between the calls widens the window, which the error then shows. Costs at most ~1 ms.
  let prevP1 = performance.now();
  const start = Date.now();
  for (;;) {
    const p1 = performance.now();
    const d = Date.now();
    const p2 = performance.now();
    if (d !== start) return { anchor: d - (prevP1 + p2) / 2, err: (p2 - prevP1) / 2 };
    prevP1 = p1;
  }
}

function goodAnchor(): { anchor: number; err: number } {
  let best = oneAnchor();
  for (let i = 0; i < 5 && best.err > MAX_ANCHOR_ERR_MS; i++) {
    const a = oneAnchor();
    if (a.err < best.err) best = a;
  }
  return best;
}

export class AnchoredWallClock implements WallClock {
  private anchor = 0;
  private errMs = 1;
  private anchoredAt = 0;
  /** Number of times a step of the OS clock was detected (for metrics and tests). */
  steps = 0;
  /** A step was seen and the clock is not re-anchored yet: further disagreeing reads are the same step. */
  private stepping = false;

  constructor() {
    this.reanchor();
  }

  get resolutionMs(): number {
    // While a step is being absorbed, now() answers Date.now() + 0.5 (the true time lies anywhere
    // in that millisecond): claim ±0.5 ms then, not the anchor's µs.
    if (this.stepping) return 0.5;
    // Timestamps are µs-resolution reads of a clock anchored within errMs.
    return Math.max(0.001, this.errMs);
  }

  reanchor(): void {
    const anchors: { anchor: number; err: number }[] = [];
    for (let i = 0; i < ANCHORS; i++) anchors.push(goodAnchor());
    // The median of a few good anchors: robust to one that was disturbed anyway.
    anchors.sort((a, b) => a.anchor - b.anchor);
    const mid = anchors[Math.floor(anchors.length / 2)] as { anchor: number; err: number };
    this.anchor = mid.anchor;
    const errs = anchors.map((a) => a.err).sort((a, b) => a - b);
    this.errMs = Math.min(1, errs[Math.floor(errs.length / 2)] as number);
    this.anchoredAt = performance.now();
    this.stepping = false;
  }

  now(): number {
    const d = Date.now();
    const w = this.anchor + performance.now();
    if (w < d - STEP_TOLERANCE_MS || w >= d + 1 + STEP_TOLERANCE_MS) {
      if (!this.stepping) this.steps++;
      this.stepping = true;
      // Re-anchoring spins up to ~5 ms; if the clock keeps disagreeing (stepping repeatedly),
      // answer with the coarse clock instead of spinning on every request.
      if (performance.now() - this.anchoredAt < 1000) return d + 0.5;
      this.reanchor();
      return this.anchor + performance.now();
    }
    return w;
  }
}

/** A clock tests control. */
export function fixedClock(startMs: number): WallClock & { set(ms: number): void; advance(ms: number): void } {
  let t = startMs;
  return {
    now: () => t,
    resolutionMs: 0.001,
    set(ms: number) {
      t = ms;
    },
    advance(ms: number) {
      t += ms;
    },
  };
}
