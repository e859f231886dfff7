/**
 * A small inline SVG plot of one agent's offset over the export period: the offset line, its
 * ±uncertainty band, the zero line, and the warn (dashed) and fail (solid) limits, with the zones
 * beyond them shaded. Pure: points in, markup out; no scripts, no external refs.
 *
 * The vertical axis is scaled to the data (offset ± uncertainty, padded), so that an agent at
 * +0.04 ms ± 0.2 ms shows its band, not a flat line on a ±1.25 s axis. A limit is brought onto the
 * chart when it lies within twice the data's magnitude, on a side the data reaches; the limits left
 * off the chart are named in a line under it, with the data's range and uncertainty in numbers.
 *
 * Long series are reduced to one bucket per horizontal pixel: the band keeps the bucket's extreme
 * offset ± uncertainty and the line the bucket's largest |offset|, so no excursion is hidden.
 * A gap longer than three times the median spacing (the agent was down) breaks the line.
 */
import { escapeHtml } from './escape.js';
import type { ExportPoint } from './model.js';

export interface PlotOptions {
  points: readonly ExportPoint[];
  fromMs: number;
  toMs: number;
  warnMs: number;
  failMs: number;
  width?: number;
  height?: number;
  /** Accessible name, e.g. the hostname. */
  title?: string;
}

interface Bucket {
  atMs: number;
  offsetMs: number;
  lowMs: number;
  highMs: number;
}

const M = { left: 70, right: 14, top: 10, bottom: 56 };

/** '250 ms', '1.5 s', '8 h' — compact axis labels. */
export function formatAxisMs(v: number): string {
  const a = Math.abs(v);
  const sign = v < 0 ? '−' : v > 0 ? '+' : '';
  const trim = (x: number) => String(Number(x.toPrecision(3)));
  if (a === 0) return '0';
  if (a < 1000) return `${sign}${trim(a)} ms`;
  if (a < 120_000) return `${sign}${trim(a / 1000)} s`;
  if (a < 7_200_000) return `${sign}${trim(a / 60_000)} min`;
  return `${sign}${trim(a / 3_600_000)} h`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
}

function segments(points: readonly ExportPoint[]): ExportPoint[][] {
  const gaps = points.slice(1).map((p, i) => p.atMs - (points[i] as ExportPoint).atMs);
  const maxGap = Math.max(3 * median(gaps), 1);
  const out: ExportPoint[][] = [];
  let cur: ExportPoint[] = [];
  points.forEach((p, i) => {
    if (i > 0 && (gaps[i - 1] as number) > maxGap && cur.length > 0) {
      out.push(cur);
      cur = [];
    }
    cur.push(p);
  });
  if (cur.length > 0) out.push(cur);
  return out;
}

function bucketize(seg: readonly ExportPoint[], x: (t: number) => number): Bucket[] {
  const out: Bucket[] = [];
  let key = NaN;
  for (const p of seg) {
    const k = Math.round(x(p.atMs));
    const last = out[out.length - 1];
    if (last && k === key) {
      if (Math.abs(p.offsetMs) > Math.abs(last.offsetMs)) {
        last.offsetMs = p.offsetMs;
        last.atMs = p.atMs;
      }
      last.lowMs = Math.min(last.lowMs, p.offsetMs - p.uncertaintyMs);
      last.highMs = Math.max(last.highMs, p.offsetMs + p.uncertaintyMs);
    } else {
      key = k;
      out.push({ atMs: p.atMs, offsetMs: p.offsetMs, lowMs: p.offsetMs - p.uncertaintyMs, highMs: p.offsetMs + p.uncertaintyMs });
    }
  }
  return out;
}

const TICK_STEPS = [60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000, 2_592_000_000];

function xTicks(fromMs: number, toMs: number): { atMs: number; label: string }[] {
  const span = toMs - fromMs;
  const step = TICK_STEPS.find((s) => span / s <= 8) ?? span;
  const first = Math.ceil(fromMs / step) * step;
  const ticks: { atMs: number; label: string }[] = [];
  for (let t = first; t <= toMs && ticks.length < 20; t += step) {
    const iso = new Date(t).toISOString();
    ticks.push({ atMs: t, label: step >= 86_400_000 ? iso.slice(5, 10) : iso.slice(11, 16) });
  }
  return ticks;
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** '0.25 ms', '−1.5 s': a value for the text under the plot (3 significant digits). */
function valueText(v: number): string {
  const a = Math.abs(v);
  const sign = v < 0 ? '−' : v > 0 ? '+' : '';
  const p = (x: number) => String(Number(x.toPrecision(3)));
  if (a === 0) return '0 ms';
  if (a < 1000) return `${sign}${p(a)} ms`;
  return `${sign}${p(a / 1000)} s`;
}

/** The axis range: the data padded, zero kept when it is near, limits brought in when they are close. */
export function yRange(pts: readonly ExportPoint[], warnMs: number, failMs: number): { lo: number; hi: number; shown: number[]; off: number[] } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of pts) {
    lo = Math.min(lo, p.offsetMs - Math.abs(p.uncertaintyMs));
    hi = Math.max(hi, p.offsetMs + Math.abs(p.uncertaintyMs));
  }
  if (!(hi >= lo)) {
    // No data: the limits are all there is to show.
    lo = -failMs;
    hi = failMs;
  }
  const span0 = Math.max(hi - lo, 1e-3);
  // Zero within three spans of the data: keep it, so the sign of the offset reads at a glance.
  if (lo > 0 && lo <= 3 * span0) lo = 0;
  if (hi < 0 && -hi <= 3 * span0) hi = 0;
  const mag = Math.max(Math.abs(lo), Math.abs(hi), 1e-3);
  const limits = [warnMs, -warnMs, failMs, -failMs];
  for (const v of limits) {
    const sideReached = v > 0 ? hi > 0 : lo < 0;
    if (sideReached && Math.abs(v) <= 2 * mag) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const pad = Math.max((hi - lo) * 0.08, 5e-4);
  lo -= pad;
  hi += pad;
  const shown = limits.filter((v) => v >= lo && v <= hi);
  return { lo, hi, shown, off: limits.filter((v) => !shown.includes(v)) };
}

const UNITS: readonly { ms: number; name: string }[] = [
  { ms: 3_600_000, name: 'h' },
  { ms: 60_000, name: 'min' },
  { ms: 1000, name: 's' },
  { ms: 1, name: 'ms' },
];

/**
 * About five round ticks (1, 2, 5 × 10^k of a unit) over [lo, hi], labelled with as many decimals
 * as the step needs: the unit is the largest one (h, min, s, ms) in which the step is at least 0.01,
 * so a narrow range far from zero (+8 h ± 3 ms) reads in ms, not as five times "+8 h".
 */
export function yTicks(lo: number, hi: number): { v: number; label: string }[] {
  const rawMs = (hi - lo) / 5;
  const mag = Math.max(Math.abs(lo), Math.abs(hi));
  const unit = (UNITS.find((u) => mag >= (u.ms === 1 ? 0 : u.ms === 3_600_000 ? 7_200_000 : u.ms === 60_000 ? 120_000 : 1000) && rawMs / u.ms >= 0.01) ?? UNITS[3]) as { ms: number; name: string };
  const raw = rawMs / unit.ms;
  const p10 = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p10).find((x) => x >= raw) ?? 10 * p10;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const out: { v: number; label: string }[] = [];
  for (let k = Math.ceil(lo / unit.ms / step); k * step * unit.ms <= hi && out.length < 12; k++) {
    const vu = k * step;
    const v = vu * unit.ms;
    const sign = vu < 0 ? '−' : vu > 0 ? '+' : '';
    out.push({ v: k === 0 ? 0 : v, label: k === 0 ? '0' : `${sign}${Math.abs(vu).toFixed(decimals)} ${unit.name}` });
  }
  return out;
}

export function renderOffsetPlot(o: PlotOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 220;
  const pw = width - M.left - M.right;
  const ph = height - M.top - M.bottom;
  const span = Math.max(1, o.toMs - o.fromMs);
  const pts = o.points.filter((p) => p.atMs >= o.fromMs && p.atMs <= o.toMs && Number.isFinite(p.offsetMs) && Number.isFinite(p.uncertaintyMs)).sort((a, b) => a.atMs - b.atMs);
  const range = yRange(pts, o.warnMs, o.failMs);
  const { lo: yLo, hi: yHi } = range;
  const x = (t: number) => M.left + ((t - o.fromMs) / span) * pw;
  const y = (v: number) => M.top + ((yHi - v) / (yHi - yLo)) * ph;
  const title = o.title ? `Offset of ${o.title}` : 'Offset';
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="offset-plot" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<title>${escapeHtml(title)} over the period, with the warn and fail limits</title>`,
    `<rect class="plot-area" x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="#ffffff" stroke="#9aa3ad"/>`,
  );
  // Zones beyond the limits, clipped to the plot area.
  const zone = (cls: string, fill: string, a: number, b: number) => {
    const top = Math.max(M.top, Math.min(y(a), y(b)));
    const bottom = Math.min(M.top + ph, Math.max(y(a), y(b)));
    if (bottom - top > 0.05) parts.push(`<rect class="${cls}" x="${M.left}" y="${f1(top)}" width="${pw}" height="${f1(bottom - top)}" fill="${fill}"/>`);
  };
  zone('zone-fail', '#fde2e1', Math.max(yHi, o.failMs), o.failMs);
  zone('zone-warn', '#fff3d6', o.failMs, o.warnMs);
  zone('zone-warn', '#fff3d6', -o.warnMs, -o.failMs);
  zone('zone-fail', '#fde2e1', -o.failMs, Math.min(yLo, -o.failMs));
  const hline = (cls: string, v: number, stroke: string, dash: string) =>
    parts.push(`<line class="${cls}" data-value-ms="${v}" x1="${M.left}" x2="${M.left + pw}" y1="${f1(y(v))}" y2="${f1(y(v))}" stroke="${stroke}" stroke-width="1"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
  const ticks = yTicks(yLo, yHi);
  for (const t of ticks) if (t.v !== 0) hline('grid', t.v, '#eef0f3', '');
  if (yLo <= 0 && yHi >= 0) hline('zero', 0, '#6b7280', '');
  for (const v of range.shown) hline(Math.abs(v) === o.failMs ? 'limit-fail' : 'limit-warn', v, Math.abs(v) === o.failMs ? '#dc2626' : '#d97706', Math.abs(v) === o.failMs ? '' : '5 3');
  // Axis labels: the limits on the chart first, then the round ticks where there is room.
  const labels: { v: number; cls: string; label: string }[] = [
    ...range.shown.map((v) => ({ v, cls: Math.abs(v) === o.failMs ? 'fail' : 'warn', label: formatAxisMs(v) })),
    ...ticks.map((t) => ({ v: t.v, cls: 'axis', label: t.label })),
  ];
  const used: number[] = [];
  for (const l of labels) {
    const py = y(l.v);
    if (used.some((u) => Math.abs(u - py) < 11)) continue;
    used.push(py);
    const fill = l.cls === 'fail' ? '#b91c1c' : l.cls === 'warn' ? '#b45309' : '#374151';
    parts.push(`<text class="ylabel" x="${M.left - 6}" y="${f1(py + 3.5)}" text-anchor="end" font-size="10" fill="${fill}">${escapeHtml(l.label)}</text>`);
  }
  for (const t of xTicks(o.fromMs, o.toMs)) {
    const px = f1(x(t.atMs));
    parts.push(
      `<line class="xtick" x1="${px}" x2="${px}" y1="${M.top + ph}" y2="${M.top + ph + 4}" stroke="#6b7280"/>`,
      `<text class="xlabel" x="${px}" y="${M.top + ph + 15}" text-anchor="middle" font-size="10" fill="#374151">${t.label}</text>`,
    );
  }
  if (pts.length === 0) {
    parts.push(`<text class="no-data" x="${f1(M.left + pw / 2)}" y="${f1(M.top + ph * 0.3)}" text-anchor="middle" font-size="12" fill="#4b5563">no offset samples in this period</text>`);
  }
  for (const seg of segments(pts)) {
    const b = bucketize(seg, x);
    if (b.length === 1) {
      const p = b[0] as Bucket;
      parts.push(
        `<line class="band" x1="${f1(x(p.atMs))}" x2="${f1(x(p.atMs))}" y1="${f1(y(p.highMs))}" y2="${f1(y(p.lowMs))}" stroke="#2563eb" stroke-opacity="0.45" stroke-width="3"/>`,
        `<circle class="offset" cx="${f1(x(p.atMs))}" cy="${f1(y(p.offsetMs))}" r="2.5" fill="#1d4ed8"/>`,
      );
      continue;
    }
    const upper = b.map((p) => `${f1(x(p.atMs))},${f1(y(p.highMs))}`);
    const lower = b.map((p) => `${f1(x(p.atMs))},${f1(y(p.lowMs))}`).reverse();
    parts.push(
      // The outline keeps a band thinner than a pixel visible.
      `<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="#2563eb" fill-opacity="0.22" stroke="#2563eb" stroke-opacity="0.35" stroke-width="0.6"/>`,
      `<polyline class="offset" points="${b.map((p) => `${f1(x(p.atMs))},${f1(y(p.offsetMs))}`).join(' ')}" fill="none" stroke="#1d4ed8" stroke-width="1.4" stroke-linejoin="round"/>`,
    );
  }
  // The numbers, and what is off the chart: nothing an auditor needs is left to the eye.
  const uncs = pts.map((p) => Math.abs(p.uncertaintyMs));
  const offsets = pts.map((p) => p.offsetMs);
  const dataText =
    pts.length === 0
      ? 'no data'
      : `offset ${valueText(Math.min(...offsets))} … ${valueText(Math.max(...offsets))}, uncertainty ±${valueText(Math.min(...uncs)).replace('+', '')} … ±${valueText(Math.max(...uncs)).replace('+', '')}`;
  const offText = range.off.length === 0 ? 'limits on the chart' : `off the chart: ${range.off.map((v) => `${Math.abs(v) === o.failMs ? 'fail' : 'warn'} ${valueText(v)}`).join(', ')}`;
  parts.push(`<text class="plot-note" x="${M.left}" y="${height - 22}" font-size="10" fill="#374151">${escapeHtml(`${dataText} · ${offText}`)}</text>`);
  const ly = height - 8;
  parts.push(
    `<g class="legend" font-size="10" fill="#374151">`,
    `<line x1="${M.left}" x2="${M.left + 18}" y1="${ly - 3}" y2="${ly - 3}" stroke="#1d4ed8" stroke-width="1.4"/><text x="${M.left + 22}" y="${ly}">offset (guest − host)</text>`,
    `<rect x="${M.left + 140}" y="${ly - 8}" width="18" height="9" fill="#2563eb" fill-opacity="0.22"/><text x="${M.left + 162}" y="${ly}">± uncertainty</text>`,
    `<line x1="${M.left + 250}" x2="${M.left + 268}" y1="${ly - 3}" y2="${ly - 3}" stroke="#d97706" stroke-dasharray="5 3"/><text x="${M.left + 272}" y="${ly}">warn ±${escapeHtml(formatAxisMs(o.warnMs).replace('+', ''))}</text>`,
    `<line x1="${M.left + 370}" x2="${M.left + 388}" y1="${ly - 3}" y2="${ly - 3}" stroke="#dc2626"/><text x="${M.left + 392}" y="${ly}">fail ±${escapeHtml(formatAxisMs(o.failMs).replace('+', ''))}</text>`,
    `<text x="${M.left + pw}" y="${ly}" text-anchor="end">time (UTC)</text>`,
    `</g>`,
    `</svg>`,
  );
  return parts.join('');
}
