/**
 * The drift fit of a period from sums kept at write time, so that an export need not read every
 * sample of every agent (issue 12). Pure: sums and points in, the fit out.
 *
 * The fit it must equal is shared driftPpm with PLAIN_FIT over the period's (atMs, offsetMs)
 * points: the points split into segments at every recorded step (a suspend is recorded as a step
 * too: agent steps.ts), one intercept per segment, one pooled slope
 *   slope = Σ_seg Σ (t − t̄_seg)(o − ō_seg) / Σ_seg Σ (t − t̄_seg)²,
 * segments of fewer than two points left out. Each hourly rollup keeps, over its rows with an
 * offset, n, Σo and Σdt, Σdt², Σdt·o with dt = atMs − hour (whole ms, so Σdt² of an hour stays
 * exact in a double). Per hour those become centred sums (mean t, mean o, Stt, Sto), and centred
 * sums of disjoint sets combine exactly (Chan, Golub, LeVeque, "Algorithms for computing the
 * sample variance", 1983: the pairwise update, extended to the co-moment):
 *   Stt = Stt_a + Stt_b + δt² · n_a n_b / n,   Sto = Sto_a + Sto_b + δt δo · n_a n_b / n.
 * An hour that a step falls inside is not one segment: its points are read and placed one by one.
 */

/** Centred least-squares sums of a set of (t, o) points; t relative to the period's start. */
export interface FitSums {
  n: number;
  meanT: number;
  meanO: number;
  /** Σ (t − t̄)², ms². */
  stt: number;
  /** Σ (t − t̄)(o − ō), ms². */
  sto: number;
}

/** One hourly rollup's sums over its rows with an offset (dt = atMs − hourMs); null sums: not known. */
export interface HourSums {
  hourMs: number;
  n: number;
  offsetSumMs: number | null;
  dtSumMs: number | null;
  dtSqSumMs2: number | null;
  dtOffsetSumMs2: number | null;
}

export interface DriftFit {
  ppm: number;
  points: number;
}

const HOUR_MS = 3_600_000;
export const NO_POINTS: Readonly<FitSums> = Object.freeze({ n: 0, meanT: 0, meanO: 0, stt: 0, sto: 0 });

/** The union of two disjoint sets' sums. */
export function mergeFits(a: FitSums, b: FitSums): FitSums {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const dt = b.meanT - a.meanT;
  const dO = b.meanO - a.meanO;
  const w = (a.n * b.n) / n;
  return { n, meanT: a.meanT + (dt * b.n) / n, meanO: a.meanO + (dO * b.n) / n, stt: a.stt + b.stt + dt * dt * w, sto: a.sto + b.sto + dt * dO * w };
}

/** An hour's sums, centred, with t relative to originMs (the period's start). Null: not known. */
export function fitOfHour(h: HourSums, originMs: number): FitSums | null {
  if (h.n === 0) return NO_POINTS;
  if (h.offsetSumMs === null || h.dtSumMs === null || h.dtSqSumMs2 === null || h.dtOffsetSumMs2 === null) return null;
  const meanDt = h.dtSumMs / h.n;
  return {
    n: h.n,
    meanT: h.hourMs - originMs + meanDt,
    meanO: h.offsetSumMs / h.n,
    stt: Math.max(0, h.dtSqSumMs2 - h.dtSumMs * meanDt),
    sto: h.dtOffsetSumMs2 - meanDt * h.offsetSumMs,
  };
}

/** Centred sums of some points (two passes: the mean, then the deviations). */
export function fitOfPoints(points: readonly (readonly [atMs: number, offsetMs: number])[], originMs: number): FitSums {
  const n = points.length;
  if (n === 0) return NO_POINTS;
  let mt = 0;
  let mo = 0;
  for (const [t, o] of points) {
    mt += t - originMs;
    mo += o;
  }
  mt /= n;
  mo /= n;
  let stt = 0;
  let sto = 0;
  for (const [t, o] of points) {
    const d = t - originMs - mt;
    stt += d * d;
    sto += d * (o - mo);
  }
  return { n, meanT: mt, meanO: mo, stt, sto };
}

/** The pooled slope over segments (those of fewer than two points left out), as driftPpm gives it with PLAIN_FIT. */
export function pooledDrift(segments: readonly FitSums[]): DriftFit | null {
  let points = 0;
  let stt = 0;
  let sto = 0;
  for (const s of segments) {
    if (s.n < 2) continue;
    points += s.n;
    stt += s.stt;
    sto += s.sto;
  }
  // Whole-ms times: two distinct instants give Stt ≥ 0.5 ms²; below that every point is at one
  // instant (driftPpm: Sxx = 0, no fit), whatever rounding the merges left.
  if (points < 2 || stt < 0.25) return null;
  return { ppm: (sto / stt) * 1e6, points };
}

/**
 * The period's drift from its hourly rollups (in hour order, every hour of the period that has
 * one) and the recorded steps in it. `pointsIn(fromMs, toMs)` reads the (atMs, offsetMs) points of
 * an hour a step falls inside. Null result: some hour's sums are not known (written before the
 * store kept them); the caller fits the samples instead.
 */
export function driftFromHours(
  hours: readonly HourSums[],
  stepsAtMs: readonly number[],
  originMs: number,
  pointsIn: (fromMs: number, toMs: number) => readonly (readonly [number, number])[],
): { fit: DriftFit | null } | null {
  const steps = [...stepsAtMs].sort((a, b) => a - b);
  // Segment of an instant: the number of steps at or before it (driftSegments: a step at t starts
  // a new segment with the point at t).
  const segmentOf = (t: number) => {
    let lo = 0;
    let hi = steps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((steps[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const segs: FitSums[] = Array.from({ length: steps.length + 1 }, () => NO_POINTS);
  for (const h of hours) {
    if (h.n === 0) continue;
    const first = segmentOf(h.hourMs);
    if (segmentOf(h.hourMs + HOUR_MS - 1) === first) {
      const f = fitOfHour(h, originMs);
      if (f === null) return null;
      segs[first] = mergeFits(segs[first] as FitSums, f);
      continue;
    }
    // A step inside the hour: its points, each to its segment.
    const bySeg = new Map<number, [number, number][]>();
    for (const [t, o] of pointsIn(h.hourMs, h.hourMs + HOUR_MS)) {
      const s = segmentOf(t);
      let list = bySeg.get(s);
      if (!list) bySeg.set(s, (list = []));
      list.push([t, o]);
    }
    for (const [s, pts] of bySeg) segs[s] = mergeFits(segs[s] as FitSums, fitOfPoints(pts, originMs));
  }
  return { fit: pooledDrift(segs) };
}
