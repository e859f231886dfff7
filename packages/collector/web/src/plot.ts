/**
 * The offset history plot, built in the browser as inline SVG: each sample's offset (line and
 * dots), its uncertainty band (offset ± uncertainty), zero, the policy's warn and fail limits when
 * they are on the chart, and the samples that reported clock steps. Axis maths in plot-scale.ts.
 */
import { h, s } from './dom.js';
import { offsetText, uncertaintyText } from './format.js';
import { limitLines, niceStep, offsetAxis, scale, type Sample } from './plot-scale.js';

const W = 760;
const H = 260;
const M = { left: 78, right: 16, top: 14, bottom: 34 };

function msLabel(v: number, step: number): string {
  const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  const text = Math.abs(v).toFixed(digits);
  return `${v < 0 ? '\u2212' : v > 0 ? '+' : ''}${text} ms`;
}

/** Time ticks on round UTC instants, about 3 to 6 of them; labels to the second below a minute's step. */
function timeTicks(fromMs: number, toMs: number): { ticks: number[]; label: (ms: number) => string } {
  const minute = 60_000;
  const steps = [10_000, 15_000, 30_000, minute, 2 * minute, 5 * minute, 10 * minute, 15 * minute, 30 * minute, 3_600_000, 2 * 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000, 86_400_000];
  const step = steps.find((st) => (toMs - fromMs) / st <= 6) ?? 86_400_000;
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) ticks.push(t);
  const iso = (ms: number) => new Date(ms).toISOString();
  return { ticks, label: step < minute ? (ms) => iso(ms).slice(11, 19) : (ms) => iso(ms).slice(11, 16) };
}

export interface PlotInput {
  samples: Sample[];
  steps: number[];
  limits: { warnMs: number; failMs: number } | null;
}

export function offsetPlot(input: PlotInput): HTMLElement {
  const { samples } = input;
  const fig = h('figure', { class: 'plot', 'data-points': samples.length });
  if (samples.length === 0) {
    fig.append(h('p', { class: 'muted' }, 'No measured offset in the last 24 hours.'));
    return fig;
  }
  const axis = offsetAxis(samples);
  let t0 = samples[0]!.atMs;
  let t1 = samples[samples.length - 1]!.atMs;
  if (t1 - t0 < 60_000) {
    t0 -= 30_000;
    t1 += 30_000;
  }
  const x = scale(t0, t1, M.left, W - M.right);
  const y = scale(axis.minMs, axis.maxMs, H - M.bottom, M.top);
  const step = axis.ticks.length > 1 ? (axis.ticks[1] as number) - (axis.ticks[0] as number) : niceStep(axis.maxMs - axis.minMs);
  const { inside, outside } = limitLines(axis, input.limits);
  const last = samples[samples.length - 1]!;
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': `Offset over time, ${samples.length} samples; latest ${offsetText(last.offsetMs, last.uncertaintyMs)}`,
    class: 'offset-plot',
  });
  const grid = s('g', { class: 'grid' });
  for (const v of axis.ticks) {
    grid.append(s('line', { x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: v === 0 ? 'zero' : 'tick' }));
    grid.append(s('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'label' }, msLabel(v, step)));
  }
  const time = timeTicks(t0, t1);
  for (const t of time.ticks) {
    grid.append(s('line', { x1: x(t), x2: x(t), y1: M.top, y2: H - M.bottom, class: 'tick' }));
    grid.append(s('text', { x: x(t), y: H - M.bottom + 16, 'text-anchor': 'middle', class: 'label' }, time.label(t)));
  }
  grid.append(s('text', { x: M.left - 6, y: H - M.bottom + 16, 'text-anchor': 'end', class: 'label' }, 'UTC'));
  svg.append(grid);
  const upper = samples.map((p) => `${x(p.atMs).toFixed(1)},${y(p.offsetMs + p.uncertaintyMs).toFixed(1)}`);
  const lower = samples.map((p) => `${x(p.atMs).toFixed(1)},${y(p.offsetMs - p.uncertaintyMs).toFixed(1)}`).reverse();
  if (samples.length > 1) svg.append(s('polygon', { points: [...upper, ...lower].join(' '), class: 'band' }));
  else svg.append(s('line', { x1: x(last.atMs), x2: x(last.atMs), y1: y(last.offsetMs + last.uncertaintyMs), y2: y(last.offsetMs - last.uncertaintyMs), class: 'band-bar' }));
  for (const l of inside) svg.append(s('line', { x1: M.left, x2: W - M.right, y1: y(l.valueMs), y2: y(l.valueMs), class: `limit limit-${l.kind}` }));
  // Labels at the right end: above a positive limit, below a negative one (above it when that
  // would run into the time axis); a ± pair closer than a line of text gets one "±" label.
  for (const kind of ['warn', 'fail'] as const) {
    const pair = inside.filter((l) => l.kind === kind);
    const text = (v: number) => s('text', { x: W - M.right - 4, y: v, 'text-anchor': 'end', class: `limit-label limit-${kind}` });
    if (pair.length === 2 && Math.abs(y(pair[0]!.valueMs) - y(pair[1]!.valueMs)) < 16) {
      const top = Math.min(y(pair[0]!.valueMs), y(pair[1]!.valueMs));
      const el = text(top - 4);
      el.textContent = `${kind} ±${Math.abs(pair[0]!.valueMs)} ms`;
      svg.append(el);
      continue;
    }
    for (const l of pair) {
      const below = y(l.valueMs) + 12;
      const el = text(l.valueMs >= 0 || below > H - M.bottom - 2 ? y(l.valueMs) - 4 : below);
      el.textContent = `${kind} ${msLabel(l.valueMs, Math.abs(l.valueMs))}`;
      svg.append(el);
    }
  }
  for (const at of input.steps) if (at >= t0 && at <= t1) svg.append(s('line', { x1: x(at), x2: x(at), y1: M.top, y2: H - M.bottom, class: 'step' }));
  svg.append(s('polyline', { points: samples.map((p) => `${x(p.atMs).toFixed(1)},${y(p.offsetMs).toFixed(1)}`).join(' '), class: 'line' }));
  if (samples.length <= 120) for (const p of samples) svg.append(s('circle', { cx: x(p.atMs).toFixed(1), cy: y(p.offsetMs).toFixed(1), r: 2.6, class: 'dot' }));
  fig.append(svg);
  const parts = [
    `Axis ${msLabel(axis.minMs, step)} to ${msLabel(axis.maxMs, step)}, scaled to the data; the band is each offset ± its uncertainty (${uncertaintyText(last.uncertaintyMs)} latest).`,
  ];
  if (!input.limits) parts.push('No offset limits in the policy for this agent.');
  else if (outside.length > 0) {
    const names = (['warn', 'fail'] as const).flatMap((kind) => {
      const off = outside.filter((l) => l.kind === kind);
      if (off.length === 0) return [];
      const v = input.limits![kind === 'warn' ? 'warnMs' : 'failMs'];
      return [`${kind} limit ${off.length === 2 ? '±' : off[0]!.valueMs < 0 ? '\u2212' : '+'}${v} ms`];
    });
    parts.push(`${names.join(' and ')} ${names.length > 1 ? 'are' : 'is'} off the chart.`);
  }
  if (input.steps.length > 0) parts.push(`Vertical marks: samples that reported a clock step (${input.steps.length}).`);
  fig.append(h('figcaption', {}, parts.join(' ')));
  return fig;
}
