/**
 * Sub-millisecond wall-clock timestamps that stay tied to the OS clock (domain.md §6.3).
 *
 * Date.now() reads CLOCK_REALTIME floored to whole ms; performance.now() is monotonic with ~µs
 * resolution but counts from a wall-clock origin captured once at process start, so
 * `performance.timeOrigin + performance.now()` drifts away from the OS clock after any step,
 * suspend or leap second. The anchor is taken at a millisecond edge of Date.now(): the edge lies
 * between the previous Date.now() call (returning s) and the call that returned s + 1, so
 * anchor = (s + 1) − midpoint of those two calls' performance.now() brackets, error = half the
 * bracket. A loose bracket (preempted) is retried. Re-anchor before every burst.
 */

export interface ClockSources {
  dateNow: () => number;
  perfNow: () => number;
}

export interface Anchor {
  /** wall ms = anchor + performance.now() */
  anchorMs: number;
  /** Half-width of the bracket of the median anchor, ms. */
  errorMs: number;
  /** Spread (max − min) of the anchors taken, ms. */
  spreadMs: number;
}

const defaultSources: ClockSources = { dateNow: Date.now, perfNow: () => performance.now() };

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
 * The first edge whose bracket is tight (≤ goodErrorMs) decides: the bracket proves where the edge
 * was, so one such edge is enough (~0.5 ms of spinning on average). When preemption widens every
 * bracket, up to `maxEdges` are taken and the median kept, and the spread is reported.
 */
export function takeAnchor(maxEdges = 5, src: ClockSources = defaultSources, goodErrorMs = 0.02): Anchor {
  const edges: { anchor: number; err: number }[] = [];
  while (edges.length < maxEdges) {
    const e = edge(src);
    if (e.err <= goodErrorMs) return { anchorMs: e.anchor, errorMs: e.err, spreadMs: 0 };
    edges.push(e);
  }
  const sorted = [...edges].sort((a, b) => a.anchor - b.anchor);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return { anchorMs: median.anchor, errorMs: median.err, spreadMs: sorted[sorted.length - 1]!.anchor - sorted[0]!.anchor };
}

export interface WallClock {
  /** Sub-ms wall-clock ms, consistent with Date.now() as of the last anchor. */
  now(): number;
  /** Re-reads the anchor; returns its quality. */
  reanchor(): Anchor;
  /** Resolution to claim for timestamps from now(): the anchor's error bound, at least 1 µs. */
  resolutionMs(): number;
}

export function createWallClock(src: ClockSources = defaultSources, maxEdges = 5): WallClock {
  let a: Anchor | null = null; // taken on first use: --print never spins for it
  const anchor = () => (a ??= takeAnchor(maxEdges, src));
  return {
    now: () => anchor().anchorMs + src.perfNow(),
    reanchor() {
      a = takeAnchor(maxEdges, src);
      return a;
    },
    // The bracket bounds a tight anchor; a median of loose ones is only as good as their spread.
    resolutionMs: () => Math.max(0.001, Number((anchor().errorMs + anchor().spreadMs / 2).toFixed(4))),
  };
}
