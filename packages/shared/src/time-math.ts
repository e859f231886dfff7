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
  /** δ/2 of the chosen sample plus timestamp resolution. */
  uncertaintyMs: number;
  delayMs: number;
  /** Index of the chosen (minimum-delay) sample. */
  sampleIndex: number;
  samples: number;
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
    offsetMs: b.offsetMs,
    uncertaintyMs: b.delayMs / 2 + resolutionMs,
    delayMs: b.delayMs,
    sampleIndex: bestIndex,
    samples: samples.length,
  };
}

export interface OffsetPoint {
  /** Host time of the measurement, ms since epoch. */
  atMs: number;
  offsetMs: number;
}

export interface DriftResult {
  /** Rate of change of the offset in parts per million (µs per s); positive: the guest gains. */
  ppm: number;
  /** Points that contributed (segments of fewer than two points contribute nothing). */
  points: number;
  /** Time covered by the contributing segments, ms. */
  spanMs: number;
  segments: number;
}

/**
 * Drift rate by least squares over a series of (time, offset) points. A recorded clock step
 * (e.g. NTP `makestep`) changes the offset without any drift, so the series is cut at every step
 * and the slope is fitted with a separate intercept per segment (pooled within-segment regression):
 *
 *   slope = Σ_seg Σ (t − t̄_seg)(o − ō_seg) / Σ_seg Σ (t − t̄_seg)²
 *
 * @param stepsAtMs host times at which a step was recorded; a step between two points splits them.
 * @returns null when fewer than two points share a segment or no time elapsed within one.
 */
export function driftPpm(points: readonly OffsetPoint[], stepsAtMs: readonly number[] = []): DriftResult | null {
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
    if (crossed && current.length > 0) {
      segments.push(current);
      current = [];
    }
    current.push(p);
  }
  if (current.length > 0) segments.push(current);

  let sxy = 0;
  let sxx = 0;
  let used = 0;
  let span = 0;
  let usedSegments = 0;
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
    }
    used += seg.length;
    usedSegments++;
    span += (seg[seg.length - 1] as OffsetPoint).atMs - t0;
  }
  if (used < 2 || sxx === 0) return null;
  // offset ms per elapsed ms → × 1e6 = ppm.
  return { ppm: (sxy / sxx) * 1e6, points: used, spanMs: span, segments: usedSegments };
}
