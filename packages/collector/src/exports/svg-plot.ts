/**
 * A small inline SVG plot of one agent's offset over the export period: the offset line, its
 * ±uncertainty band, the zero line, and the warn (dashed) and fail (solid) limits on both sides,
 * with the zones beyond them shaded. Pure: points in, markup out; no scripts, no external refs.
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

const M = { left: 70, right: 14, top: 10, bottom: 42 };

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

export function renderOffsetPlot(o: PlotOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 220;
  const pw = width - M.left - M.right;
  const ph = height - M.top - M.bottom;
  const span = Math.max(1, o.toMs - o.fromMs);
  const pts = o.points.filter((p) => p.atMs >= o.fromMs && p.atMs <= o.toMs && Number.isFinite(p.offsetMs) && Number.isFinite(p.uncertaintyMs)).sort((a, b) => a.atMs - b.atMs);
  const extent = pts.reduce((m, p) => Math.max(m, Math.abs(p.offsetMs) + Math.abs(p.uncertaintyMs)), 0);
  const yMax = Math.max(o.failMs * 1.25, extent * 1.1, 1e-3);
  const x = (t: number) => M.left + ((t - o.fromMs) / span) * pw;
  const y = (v: number) => M.top + ((yMax - v) / (2 * yMax)) * ph;
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
  zone('zone-fail', '#fde2e1', yMax, o.failMs);
  zone('zone-warn', '#fff3d6', o.failMs, o.warnMs);
  zone('zone-warn', '#fff3d6', -o.warnMs, -o.failMs);
  zone('zone-fail', '#fde2e1', -o.failMs, -yMax);
  const hline = (cls: string, v: number, stroke: string, dash: string) =>
    parts.push(`<line class="${cls}" data-value-ms="${v}" x1="${M.left}" x2="${M.left + pw}" y1="${f1(y(v))}" y2="${f1(y(v))}" stroke="${stroke}" stroke-width="1"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
  hline('zero', 0, '#6b7280', '');
  for (const s of [1, -1]) {
    hline('limit-warn', s * o.warnMs, '#d97706', '5 3');
    hline('limit-fail', s * o.failMs, '#dc2626', '');
  }
  // Axis labels: top/bottom of the scale, zero, and each limit when there is room for it.
  const labels: { v: number; cls: string }[] = [
    { v: yMax, cls: 'axis' },
    { v: -yMax, cls: 'axis' },
    { v: 0, cls: 'axis' },
    { v: o.failMs, cls: 'fail' },
    { v: -o.failMs, cls: 'fail' },
    { v: o.warnMs, cls: 'warn' },
    { v: -o.warnMs, cls: 'warn' },
  ];
  const used: number[] = [];
  for (const l of labels) {
    const py = y(l.v);
    if (used.some((u) => Math.abs(u - py) < 11)) continue;
    used.push(py);
    const fill = l.cls === 'fail' ? '#b91c1c' : l.cls === 'warn' ? '#b45309' : '#374151';
    parts.push(`<text class="ylabel" x="${M.left - 6}" y="${f1(py + 3.5)}" text-anchor="end" font-size="10" fill="${fill}">${escapeHtml(formatAxisMs(l.v))}</text>`);
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
      `<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="#2563eb" fill-opacity="0.22" stroke="none"/>`,
      `<polyline class="offset" points="${b.map((p) => `${f1(x(p.atMs))},${f1(y(p.offsetMs))}`).join(' ')}" fill="none" stroke="#1d4ed8" stroke-width="1.4" stroke-linejoin="round"/>`,
    );
  }
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
