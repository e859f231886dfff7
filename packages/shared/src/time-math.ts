/**
 * Time math of the NTP-style exchange (RFC 5905 §8) with clockwatch's sign convention:
 *
 *   offsetMs = guest clock − host clock   (positive: the guest is ahead)
 *
 * RFC 5905 defines θ = ((T2 − T1) + (T3 − T4)) / 2 as the offset of the *server* relative to the
 * client, so offsetMs = −θ. The round-trip delay is δ = (T4 − T1) − (T3 − T2); whatever the path
 * asymmetry, the true offset lies within θ ± δ/2 (RFC 5905 §8), plus timestamp quantisation.
 */
import type { Sample } from './schema/report.js';

export interface SampleResult {
  offsetMs: number;
  delayMs: number;
}

export interface Measurement {
  offsetMs: number;
  /** δ/2 of the chosen sample plus timestamp resolution (whole ns, rounded up; see roundToNs). */
  uncertaintyMs: number;
  delayMs: number;
  /** Index of the chosen (minimum-delay) sample. */
  sampleIndex: number;
  samples: number;
}

/**
 * Measured values are stated in whole nanoseconds: the offset rounded to the nearest ns, the
 * uncertainty rounded up to the next one, with the half-ns the rounding can move the offset added
 * to the bound. That is far below what the exchange resolves (its epoch-ms timestamps are doubles
 * with ~0.24 µs between neighbours at today's epoch, and each side's resolution is at least 1 µs),
 * so nothing measured is lost, and a value of n ns is exactly the double n / 1e6 (division is
 * correctly rounded), which lets the store keep it as a small integer and read it back bit for bit
 * (collector store/sqlite-schema.ts). Beyond ±2^53 ns (~104 days) a double cannot hold whole ns:
 * the value is kept as it is.
 */
export const NS_PER_MS = 1e6;
export const NS_PER_S = 1e9;
const HALF_NS_MS = 0.5 / NS_PER_MS;

/** `x` (in units with `perUnit` ns) rounded to the nearest ns. */
export function roundToNs(x: number, perUnit: number = NS_PER_MS): number {
  const n = Math.round(x * perUnit);
  return Number.isSafeInteger(n) ? n / perUnit : x;
}

/** `x` rounded up to the next ns (never below `x`). */
export function ceilToNs(x: number, perUnit: number = NS_PER_MS): number {
  const n = Math.round(x * perUnit);
  if (!Number.isSafeInteger(n)) return x;
  return n / perUnit < x ? (n + 1) / perUnit : n / perUnit;
}

/** Offset (guest − host) and delay of one sample. t1, t4 are guest clock; t2, t3 host clock. */
export function sampleOffset(s: Sample): SampleResult {
  const offsetMs = (s.t1 - s.t2 + (s.t4 - s.t3)) / 2;
  const delayMs = s.t4 - s.t1 - (s.t3 - s.t2);
  return { offsetMs, delayMs };
}

/**
 * The clock filter of RFC 5905 §10 keeps the sample with the minimum delay: it has the tightest
 * error bound. Samples with a negative delay (impossible unless a clock stepped mid-exchange, or
 * the host answered t3 < t2) are discarded as evidence of a broken exchange.
 *
 * @param resolutionMs worst timestamp resolution of the two sides (1 for Date.now()).
 * @returns null when no sample is usable.
 */
export function measureSamples(samples: readonly Sample[], resolutionMs: number): Measurement | null {
  let best: SampleResult | null = null;
  let bestIndex = -1;
  samples.forEach((s, i) => {
    if (s.t3 < s.t2 || s.t4 < s.t1) return;
    const r = sampleOffset(s);
    if (r.delayMs < 0) return;
    if (best === null || r.delayMs < best.delayMs) {
      best = r;
      bestIndex = i;
    }
  });
  if (best === null) return null;
  const b: SampleResult = best;
  return {
    offsetMs: roundToNs(b.offsetMs),
    uncertaintyMs: ceilToNs(b.delayMs / 2 + resolutionMs + HALF_NS_MS),
    delayMs: b.delayMs,
    sampleIndex: bestIndex,
    samples: samples.length,
  };
}

export interface OffsetPoint {
  /** Host time of the measurement, ms since epoch. */
  atMs: number;
  offsetMs: number;
  /** The measurement's uncertainty (± bound, ms); absent: 0. */
  uncertaintyMs?: number | null;
  /** The report's seq: a seq that does not increase means the agent restarted (a new series). */
  seq?: number | null;
  /** Guest boot instant (guest wall − uptime), ms: a change of more than a second is a reboot. */
  bootAtMs?: number | null;
}

export interface DriftResult {
  /** Rate of change of the offset in parts per million (µs per s); positive: the guest gains. */
  ppm: number;
  /**
   * Standard uncertainty of ppm: the least-squares standard error from the residuals combined with
   * the points' own uncertainties (each ± bound taken as uniform, σ = u/√3, GUM 4.3.7).
   */
  uncertaintyPpm: number;
  /** Points that contributed (segments of fewer than two points contribute nothing). */
  points: number;
  /** Time covered by the contributing segments, ms. */
  spanMs: number;
  segments: number;
}

export interface DriftOptions {
  /** No drift below this covered span, ms (default 5 min, five one-minute reports: two points a minute apart say nothing). */
  minSpanMs?: number;
  /**
   * The fastest rate a clock can drift, ppm (default 500: the kernel's MAXFREQ, kernel/time/ntp.c);
   * a jump between neighbours beyond it (plus their uncertainties) is a step nobody recorded.
   */
  maxRatePpm?: number;
  /** Give no drift when its uncertainty exceeds it (default true). */
  requireSignificant?: boolean;
}

/**
 * The plain pooled least-squares slope, split only at recorded steps: what a store computes from
 * running sums (which cannot give the residuals). Callers that show a drift to people use the
 * defaults instead.
 */
export const PLAIN_FIT: Readonly<DriftOptions> = Object.freeze({ minSpanMs: 0, maxRatePpm: Infinity, requireSignificant: false });

/**
 * Splits the points into segments that share one clock history: at every recorded step (the
 * agent's step events, the collector's own clock steps), at an agent restart (seq not
 * increasing), at a reboot (boot instant moved), and at an offset jump between neighbours far
 * beyond any drift (an unseen step, e.g. chrony's makestep at boot).
 */
export function driftSegments(points: readonly OffsetPoint[], stepsAtMs: readonly number[] = [], maxRatePpm = 500): OffsetPoint[][] {
  const sorted = [...points].filter((p) => Number.isFinite(p.atMs) && Number.isFinite(p.offsetMs)).sort((a, b) => a.atMs - b.atMs);
  const steps = [...stepsAtMs].sort((a, b) => a - b);
  const segments: OffsetPoint[][] = [];
  let current: OffsetPoint[] = [];
  let stepIdx = 0;
  for (const p of sorted) {
    let crossed = false;
    while (stepIdx < steps.length && (steps[stepIdx] as number) <= p.atMs) {
      stepIdx++;
      crossed = true;
    }
    const prev = current[current.length - 1];
    if (prev && !crossed) {
      if (p.seq != null && prev.seq != null && p.seq <= prev.seq) crossed = true;
      else if (p.bootAtMs != null && prev.bootAtMs != null && Math.abs(p.bootAtMs - prev.bootAtMs) > 1000) crossed = true;
      else {
        const allowed = (maxRatePpm * 1e-6 * (p.atMs - prev.atMs)) + 3 * ((p.uncertaintyMs ?? 0) + (prev.uncertaintyMs ?? 0)) + 1;
        if (Math.abs(p.offsetMs - prev.offsetMs) > allowed) crossed = true;
      }
    }
    if (crossed && current.length > 0) {
      segments.push(current);
      current = [];
    }
    current.push(p);
  }
  if (current.length > 0) segments.push(current);
  return segments;
}

/**
 * Drift rate by least squares over a series of (time, offset) points. A step changes the offset
 * without any drift, so the series is cut into segments (driftSegments) and the slope is fitted
 * with a separate intercept per segment (pooled within-segment regression):
 *
 *   slope = Σ_seg Σ (t − t̄_seg)(o − ō_seg) / Σ_seg Σ (t − t̄_seg)² = Sxy / Sxx
 *   s² = SSR / (n − k − 1)  (k segment intercepts + one slope),  se(slope)² = s² / Sxx
 *   u_meas(slope)² = Σ (t − t̄)² σᵢ² / Sxx²,  σᵢ = uᵢ/√3
 *
 * @param stepsAtMs host times at which a step was recorded; a step between two points splits them.
 * @returns null when no segment has two points, the covered span is below minSpanMs, or the
 *   uncertainty exceeds the drift itself (the figure would say nothing).
 */
export function driftPpm(points: readonly OffsetPoint[], stepsAtMs: readonly number[] = [], options: DriftOptions = {}): DriftResult | null {
  const segments = driftSegments(points, stepsAtMs, options.maxRatePpm ?? 500);
  const minSpanMs = options.minSpanMs ?? 300_000;
  let sxy = 0;
  let sxx = 0;
  let used = 0;
  let span = 0;
  let usedSegments = 0;
  const centred: { dt: number; dev: number; seg: number; u: number }[] = [];
  for (const seg of segments) {
    if (seg.length < 2) continue;
    // Centre on the first point to keep the sums well conditioned for epoch-sized times.
    const t0 = (seg[0] as OffsetPoint).atMs;
    let mt = 0;
    let mo = 0;
    for (const p of seg) {
      mt += p.atMs - t0;
      mo += p.offsetMs;
    }
    mt /= seg.length;
    mo /= seg.length;
    for (const p of seg) {
      const dt = p.atMs - t0 - mt;
      sxy += dt * (p.offsetMs - mo);
      sxx += dt * dt;
      centred.push({ dt, dev: p.offsetMs - mo, seg: usedSegments, u: p.uncertaintyMs ?? 0 });
    }
    used += seg.length;
    usedSegments++;
    span += (seg[seg.length - 1] as OffsetPoint).atMs - t0;
  }
  if (used < 2 || sxx === 0) return null;
  const slope = sxy / sxx;
  let ssr = 0;
  let measVar = 0;
  for (const c of centred) {
    const r = c.dev - slope * c.dt;
    ssr += r * r;
    measVar += c.dt * c.dt * (c.u / Math.sqrt(3)) ** 2;
  }
  const dof = used - usedSegments - 1;
  const fitVar = dof > 0 ? ssr / dof / sxx : 0;
  const uncertainty = Math.sqrt(fitVar + measVar / (sxx * sxx)) * 1e6;
  // offset ms per elapsed ms → × 1e6 = ppm.
  const ppm = slope * 1e6;
  if (span < minSpanMs) return null;
  if ((options.requireSignificant ?? true) && uncertainty > Math.abs(ppm)) return null;
  return { ppm, uncertaintyPpm: uncertainty, points: used, spanMs: span, segments: usedSegments };
}
