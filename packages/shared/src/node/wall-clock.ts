/**
 * Sub-millisecond wall-clock timestamps that stay tied to the OS clock (domain.md §6.3), for both
 * programs: the agent's t1/t4 and the collector's t2/t3.
 *
 * Date.now() reads CLOCK_REALTIME floored to whole ms; performance.now() is monotonic with ~µs
 * resolution but counts from a wall-clock origin captured once at process start, so
 * `performance.timeOrigin + performance.now()` drifts away from the OS clock after any step,
 * suspend or leap second. The anchor is taken at a millisecond edge of Date.now(): the edge lies
 * between the previous Date.now() call (returning s) and the call that returned s + 1, so
 * anchor = (s + 1) − midpoint of those two calls' performance.now() brackets, error = half the
 * bracket. A loose bracket (preempted) is retried.
 *
 * Every read checks that the result still floors to Date.now(); if not, the OS clock stepped
 * (chrony makestep, VM resume, settimeofday): the clock re-anchors. Slews move CLOCK_REALTIME and
 * CLOCK_MONOTONIC at the same rate (clock_gettime(2)), so between steps the anchor holds. When a
 * step is seen less than a second after the last anchor (the clock keeps stepping), the read is
 * Date.now() + 0.5 instead of a spin — and then the clock says so: `resolutionMs` is 0.5 ms (the
 * floored read's true bound) for `coarseHoldMs` after the last such read, never the anchor's µs.
 */

export interface ClockSources {
  dateNow: () => number;
  perfNow: () => number;
  /**
   * Waits about `ms` without using the CPU (a thread that may block: Atomics.wait). With it, a
   * re-anchor that knows where the next edge should be sleeps until just before it and spins only
   * the rest (see takeAnchor); without it, it spins the whole way.
   */
  idleWaitMs?: (ms: number) => void;
}

export interface Anchor {
  /** wall ms = anchor + performance.now() */
  anchorMs: number;
  /** Half-width of the bracket of the median anchor, ms. */
  errorMs: number;
  /** Spread (max − min) of the anchors taken, ms. */
  spreadMs: number;
}

export const SYSTEM_CLOCK_SOURCES: ClockSources = { dateNow: Date.now, perfNow: () => performance.now() };

/** Atomics.wait on a private cell nobody notifies: a sleep of `ms` (fractional) that blocks the thread. */
export function atomicsIdleWait(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Before spinning for an edge, how close to the predicted edge to wake, ms: the futex timeout of
 * Atomics.wait is late by the thread's timer slack (50 µs by default, prctl(2) PR_SET_TIMERSLACK)
 * plus scheduling; waking after the edge costs a spin of up to 1 ms more, never a wrong anchor.
 */
const WAKE_BEFORE_EDGE_MS = 0.15;

/** One edge: spins until Date.now() changes (≤ 1 ms of CPU). */
function edge(src: ClockSources): { anchor: number; err: number } {
  let pPrev = src.perfNow();
  const start = src.dateNow();
  let p1 = src.perfNow();
  let d = src.dateNow();
  let p2 = src.perfNow();
  let guard = 0;
  while (d === start && guard++ < 5_000_000) {
    pPrev = p1;
    p1 = src.perfNow();
    d = src.dateNow();
    p2 = src.perfNow();
  }
  // The edge happened after the previous dateNow() (inside [pPrev, p1]) and before this one (inside [p1, p2]).
  return { anchor: d - (pPrev + p2) / 2, err: (p2 - pPrev) / 2 };
}

/**
 * The first edge whose bracket is tight (≤ goodErrorMs, 2 µs) decides: the bracket proves where
 * the edge was, so one such edge is enough (~0.5 ms of spinning on average). Otherwise up to
 * `maxEdges` are taken: the tightest decides when it is still usable (≤ usableErrorMs, 20 µs);
 * when preemption widened every bracket, the median is kept and the spread reported.
 */
export function takeAnchor(maxEdges = 5, src: ClockSources = SYSTEM_CLOCK_SOURCES, goodErrorMs = 0.002, usableErrorMs = 0.02, previous?: Anchor | null): Anchor {
  const edges: { anchor: number; err: number }[] = [];
  while (edges.length < maxEdges) {
    // The previous anchor predicts where Date.now() will next change. It is only a hint: the edge
    // found after the wait is measured as always, and a wrong prediction (the clock stepped) costs
    // at most one more millisecond of spinning.
    if (previous && src.idleWaitMs) {
      const untilEdgeMs = 1 - ((((previous.anchorMs + src.perfNow()) % 1) + 1) % 1);
      if (untilEdgeMs > WAKE_BEFORE_EDGE_MS + 0.05) src.idleWaitMs(untilEdgeMs - WAKE_BEFORE_EDGE_MS);
    }
    const e = edge(src);
    if (e.err <= goodErrorMs) return { anchorMs: e.anchor, errorMs: e.err, spreadMs: 0 };
    edges.push(e);
  }
  const tightest = edges.reduce((a, b) => (b.err < a.err ? b : a));
  if (tightest.err <= usableErrorMs) return { anchorMs: tightest.anchor, errorMs: tightest.err, spreadMs: 0 };
  const sorted = [...edges].sort((a, b) => a.anchor - b.anchor);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return { anchorMs: median.anchor, errorMs: median.err, spreadMs: sorted[sorted.length - 1]!.anchor - sorted[0]!.anchor };
}

export interface WallClock {
  /** Milliseconds since the Unix epoch, with a fraction, consistent with Date.now(). */
  now(): number;
  /** The resolution to claim for timestamps from now(), ms (at least 1 µs). */
  readonly resolutionMs: number;
}

export interface AnchoredWallClockOptions {
  sources?: ClockSources;
  /** Edges tried per anchor when every bracket is loose (default 5). */
  maxEdges?: number;
  /** How far (ms) a read may fall outside [Date.now(), Date.now() + 1) before it is a step (default 0.25). */
  stepToleranceMs?: number;
  /** How long after the last coarse read the clock claims 0.5 ms resolution (default 5 s: the exchanges of one report). */
  coarseHoldMs?: number;
}

export class AnchoredWallClock implements WallClock {
  private readonly src: ClockSources;
  private readonly maxEdges: number;
  private readonly tolMs: number;
  private readonly holdMs: number;
  // Taken on first use: `clockwatch-agent --print` never spins for it.
  private a: Anchor | null = null;
  private anchoredAt = 0;
  private coarseAt = Number.NEGATIVE_INFINITY;
  /** A step was seen and the clock is not re-anchored yet: further disagreeing reads are the same step. */
  private stepping = false;
  /** Number of times a step of the OS clock was detected (metrics, tests). */
  steps = 0;

  constructor(o: AnchoredWallClockOptions = {}) {
    this.src = o.sources ?? SYSTEM_CLOCK_SOURCES;
    this.maxEdges = o.maxEdges ?? 5;
    this.tolMs = o.stepToleranceMs ?? 0.25;
    this.holdMs = o.coarseHoldMs ?? 5000;
  }

  private anchor(): Anchor {
    return this.a ?? this.reanchor();
  }

  /** Re-reads the anchor (the agent does before every burst of exchanges); returns its quality. */
  reanchor(): Anchor {
    // The last anchor predicts the next edge (used only by sources that can wait idle: the agent's).
    this.a = takeAnchor(this.maxEdges, this.src, undefined, undefined, this.a);
    this.anchoredAt = this.src.perfNow();
    this.stepping = false;
    return this.a;
  }

  now(): number {
    const a = this.anchor();
    // Date.now() on both sides of the monotonic read: a thread preempted between two reads widens
    // the bracket instead of looking like a step of the OS clock (a step moves the bracket).
    const d1 = this.src.dateNow();
    const p = this.src.perfNow();
    const d = this.src.dateNow();
    const w = a.anchorMs + p;
    if (w >= d1 - this.tolMs && w < d + 1 + this.tolMs) return w;
    if (!this.stepping) this.steps++;
    this.stepping = true;
    // Re-anchoring spins up to ~1 ms; if the clock keeps disagreeing (stepping repeatedly),
    // answer with the floored clock — and claim its resolution (see resolutionMs).
    if (p - this.anchoredAt < 1000) {
      this.coarseAt = p;
      return d + 0.5;
    }
    return this.reanchor().anchorMs + this.src.perfNow();
  }

  get resolutionMs(): number {
    if (this.src.perfNow() - this.coarseAt < this.holdMs) return 0.5;
    const a = this.anchor();
    // The bracket bounds a tight anchor; a median of loose ones is only as good as their spread.
    return Math.max(0.001, Number((a.errorMs + a.spreadMs / 2).toFixed(4)));
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
