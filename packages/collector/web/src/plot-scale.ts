/**
 * The offset plot's axis, pure: scaled to the data (each offset ± its uncertainty), so an agent at
 * +0.04 ms ± 0.2 ms fills the plot instead of drawing a flat line on a ±1 s axis. The policy's
 * limits are drawn only when they fall inside that range; the caption says which are off the chart.
 */

export interface Sample {
  atMs: number;
  offsetMs: number;
  uncertaintyMs: number;
}

export interface Axis {
  minMs: number;
  maxMs: number;
  ticks: number[];
}

/** A "nice" step (1, 2 or 5 × 10^k) giving about `count` intervals over `span`. */
export function niceStep(span: number, count = 5): number {
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/** The y axis: the band of every sample, 8 % padding, at least ±0.01 ms around its centre, nice ticks. */
export function offsetAxis(samples: readonly Sample[]): Axis {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of samples) {
    lo = Math.min(lo, s.offsetMs - s.uncertaintyMs);
    hi = Math.max(hi, s.offsetMs + s.uncertaintyMs);
  }
  if (!Number.isFinite(lo)) {
    lo = -1;
    hi = 1;
  }
  const mid = (lo + hi) / 2;
  const half = Math.max((hi - lo) / 2, 0.01) * 1.08;
  lo = mid - half;
  hi = mid + half;
  const step = niceStep(hi - lo);
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { minMs: lo, maxMs: hi, ticks };
}

export interface LimitLine {
  kind: 'warn' | 'fail';
  valueMs: number;
}

/** Which of ±warn, ±fail lie inside the axis (drawn), and which do not (named in the caption). */
export function limitLines(axis: Axis, limits: { warnMs: number; failMs: number } | null): { inside: LimitLine[]; outside: LimitLine[] } {
  const inside: LimitLine[] = [];
  const outside: LimitLine[] = [];
  if (!limits) return { inside, outside };
  for (const kind of ['warn', 'fail'] as const) {
    const v = kind === 'warn' ? limits.warnMs : limits.failMs;
    for (const valueMs of [v, -v]) (valueMs >= axis.minMs && valueMs <= axis.maxMs ? inside : outside).push({ kind, valueMs });
  }
  return { inside, outside };
}

/** Linear map of [d0, d1] onto [r0, r1]. */
export function scale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}
