/** The inline SVG plot: limits drawn where they belong, band and line, gaps, decimation, escaping, well-formed XML. */
import t from 'tap';
import { parseXml, type XmlElement } from '@clockwatch/shared';
import { formatAxisMs, renderOffsetPlot, type ExportPoint } from '@clockwatch/collector/exports';

const FROM = Date.UTC(2026, 10, 24);
const TO = FROM + 86_400_000;
const all = (el: XmlElement, cls: string): XmlElement[] => [...(el.attrs.class?.split(' ').includes(cls) ? [el] : []), ...el.children.flatMap((c) => all(c, cls))];
const pts = (n: number, f: (i: number) => number, u = 5): ExportPoint[] =>
  Array.from({ length: n }, (_, i) => ({ atMs: FROM + ((i + 0.5) * (TO - FROM)) / n, offsetMs: f(i), uncertaintyMs: u }));

t.test('limits, zero line, band and offset line', async (t) => {
  const svg = renderOffsetPlot({ points: pts(100, (i) => i * 5), fromMs: FROM, toMs: TO, warnMs: 100, failMs: 1000, width: 720, height: 220 });
  const root = parseXml(svg); // well-formed XML
  t.equal(root.name, 'svg');
  t.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
  const fail = all(root, 'limit-fail');
  const warn = all(root, 'limit-warn');
  const zero = all(root, 'zero')[0] as XmlElement;
  t.same(fail.map((l) => Number(l.attrs['data-value-ms'])).sort((a, b) => a - b), [-1000, 1000], 'both fail limits drawn');
  t.same(warn.map((l) => Number(l.attrs['data-value-ms'])).sort((a, b) => a - b), [-100, 100], 'both warn limits drawn');
  const y = (l: XmlElement) => Number(l.attrs.y1);
  const y0 = y(zero);
  const [f1, f2] = fail.map(y) as [number, number];
  t.ok(Math.abs(f1 - y0 + (f2 - y0)) < 0.2, 'fail lines symmetric around zero');
  const [w1] = warn.map(y) as [number];
  t.ok(Math.abs(Math.abs(w1 - y0) * 10 - Math.abs(f1 - y0)) < 1.5, 'warn lines at a tenth of the fail distance (linear scale)');
  t.ok(fail.every((l) => l.attrs['stroke-dasharray'] === undefined) && warn.every((l) => l.attrs['stroke-dasharray'] !== undefined), 'fail solid, warn dashed');
  t.equal(all(root, 'band').length, 1);
  t.equal(all(root, 'offset').length, 1);
  t.equal(all(root, 'zone-fail').length, 2);
  t.equal(all(root, 'zone-warn').length, 2);
  const line = all(root, 'offset')[0] as XmlElement;
  const ys = (line.attrs.points as string).split(' ').map((p) => Number(p.split(',')[1]));
  t.ok((ys[0] as number) > (ys[ys.length - 1] as number), 'a rising offset goes up the plot');
  t.match(svg, /<title>Offset over the period, with the warn and fail limits<\/title>/);
});

t.test('the scale covers the data and the fail limit', async (t) => {
  const svg = renderOffsetPlot({ points: pts(10, () => 28_800_000, 3), fromMs: FROM, toMs: TO, warnMs: 100, failMs: 1000 });
  const root = parseXml(svg);
  const line = all(root, 'offset')[0] as XmlElement;
  const ys = (line.attrs.points as string).split(' ').map((p) => Number(p.split(',')[1]));
  t.ok(ys.every((v) => v >= 10 && v <= 164), 'inside the plot area');
  t.ok(all(root, 'ylabel').some((l) => /^\+8 h$/.test(l.text)), `labels in hours: ${all(root, 'ylabel').map((l) => l.text).join(', ')}`);
  t.same(all(root, 'limit-fail').map((l) => Number(l.attrs['data-value-ms'])).sort((a, b) => a - b), [-1000, 1000], 'the limits are brought in (within twice the data), squeezed near zero');
  t.match(all(root, 'plot-note')[0]?.text, /^offset \+28800 s … \+28800 s, uncertainty ±3 ms … ±3 ms · limits on the chart$/, 'the numbers are stated');
});

t.test('a small offset gets an axis of its own size, with the band visible and the limits named', async (t) => {
  // The case of issue 13: +0.04 ms ± 0.2 ms used to be a flat line on a ±1.25 s axis.
  const svg = renderOffsetPlot({ points: pts(288, (i) => 0.04 + 0.01 * Math.sin(i / 5), 0.2), fromMs: FROM, toMs: TO, warnMs: 100, failMs: 1000 });
  const root = parseXml(svg);
  t.equal(all(root, 'limit-warn').length + all(root, 'limit-fail').length, 0, 'no limit line squeezed in: they are far off the chart');
  t.match(all(root, 'plot-note')[0]?.text, /offset \+0\.03 ms … \+0\.05 ms, uncertainty ±0\.2 ms … ±0\.2 ms · off the chart: warn \+100 ms, warn −100 ms, fail \+1 s, fail −1 s/);
  const band = all(root, 'band')[0] as XmlElement;
  const bandYs = (band.attrs.points as string).split(' ').map((p) => Number(p.split(',')[1]));
  t.ok(Math.max(...bandYs) - Math.min(...bandYs) > 60, `the ±0.2 ms band spans most of the plot height (${(Math.max(...bandYs) - Math.min(...bandYs)).toFixed(0)} px)`);
  const labels = all(root, 'ylabel').map((l) => l.text);
  t.ok(labels.includes('0') && labels.some((l) => /^\+0\.\d+ ms$/.test(l)), `sub-ms tick labels with zero: ${labels.join(', ')}`);
  t.ok(all(root, 'zero').length === 1, 'the zero line is on the chart');
});

t.test('a gap breaks the line; a lone point is a dot with an error bar', async (t) => {
  const p = pts(96, () => 10).filter((x) => x.atMs < FROM + 8 * 3_600_000 || x.atMs > FROM + 12 * 3_600_000);
  p.push({ atMs: TO - 1, offsetMs: 500, uncertaintyMs: 20 });
  p.splice(0, 0); // keep order irrelevant: the plot sorts
  const root = parseXml(renderOffsetPlot({ points: p.reverse(), fromMs: FROM, toMs: TO, warnMs: 100, failMs: 1000 }));
  const lines = all(root, 'offset');
  t.equal(lines.filter((l) => l.name === 'polyline').length, 2, 'two runs either side of the gap');
  t.ok(lines.length >= 2);
});

t.test('long series are reduced per pixel without hiding excursions', async (t) => {
  const n = 50_000;
  const p = pts(n, (i) => (i === 31_337 ? 2500 : 1), 0.5);
  const svg = renderOffsetPlot({ points: p, fromMs: FROM, toMs: TO, warnMs: 100, failMs: 1000, width: 720 });
  t.ok(svg.length < 60_000, `small (${svg.length} characters)`);
  const root = parseXml(svg);
  const line = all(root, 'offset')[0] as XmlElement;
  const ys = (line.attrs.points as string).split(' ').map((q) => Number(q.split(',')[1]));
  t.ok(ys.length <= 720, `${ys.length} vertices`);
  t.ok(Math.min(...ys) < 30, 'the +2500 ms spike is still at the top');
});

t.test('no data, points outside the period, hostile title', async (t) => {
  const root = parseXml(renderOffsetPlot({ points: [{ atMs: FROM - 1000, offsetMs: 5, uncertaintyMs: 1 }], fromMs: FROM, toMs: TO, warnMs: 100, failMs: 1000, title: '<b>"x"</b>&' }));
  t.equal(all(root, 'no-data')[0]?.text, 'no offset samples in this period');
  t.equal(all(root, 'offset').length, 0);
  t.equal(root.attrs['aria-label'], 'Offset of <b>"x"</b>&', 'escaped in the markup, intact once parsed');
  t.equal(all(root, 'limit-fail').length, 2, 'limits drawn even without data');
  t.match(all(root, 'plot-note')[0]?.text, /no data · limits on the chart/);
});

t.test('axis labels', async (t) => {
  t.equal(formatAxisMs(0), '0');
  t.equal(formatAxisMs(100), '+100 ms');
  t.equal(formatAxisMs(-1250), '−1.25 s');
  t.equal(formatAxisMs(90_000), '+90 s');
  t.equal(formatAxisMs(600_000), '+10 min');
  t.equal(formatAxisMs(28_800_000), '+8 h');
});
