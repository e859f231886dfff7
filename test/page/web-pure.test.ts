/**
 * The pure parts of the browser app, in Node: text formats (every offset with its uncertainty,
 * RTC offsets in days), the plot's data-scaled axis and which limits are on it, the page's URL
 * query for a filter, and the libvirt <clock> text.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../agent/helpers/paths.js';
import { ageText, driftText, offsetText, parseLabels, rtcText, spanText } from '../../packages/collector/web/src/format.js';
import { limitLines, niceStep, offsetAxis } from '../../packages/collector/web/src/plot-scale.js';
import { apiPathOf, filterFromQuery, queryOf } from '../../packages/collector/web/src/fleet.js';
import { clockXml, prettyXml, runbookHref } from '../../packages/collector/web/src/agent.js';

t.test('formats', async (t) => {
  t.equal(offsetText(0.04, 0.2), '+0.040 ms ± 0.200 ms');
  t.equal(offsetText(-1.5, 0.201), '\u22121.50 ms ± 0.201 ms');
  t.equal(offsetText(5000.002, 0.18), '+5000 ms ± 0.180 ms');
  t.equal(offsetText(-30_000, 2), '\u221230.00 s ± 2.00 ms');
  t.equal(offsetText(null, null), '—');
  t.equal(rtcText(-505025.4), '\u22125.8 d', 'days, not −505025.4 s');
  t.equal(rtcText(28800.2), '+8.0 h');
  t.equal(rtcText(0.4), '+0.4 s');
  t.equal(rtcText(null), '—');
  t.equal(ageText(1000, 13_000), '12 s ago');
  t.equal(ageText(0, 22_000_000), '6.1 h ago');
  t.equal(spanText(23_000), '23 s');
  t.equal(driftText(5.4731, null), '+5.473 ppm');
  t.equal(driftText(-12.34, 0.52), '\u221212.3 ± 0.5 ppm');
  t.same(parseLabels('site=par1, role=web'), { labels: ['site=par1', 'role=web'], bad: null });
  t.same(parseLabels('site=par1 nope'), { labels: ['site=par1'], bad: 'nope' });
  t.same(parseLabels('=x'), { labels: [], bad: '=x' });
});

t.test('the axis is scaled to the data and names the limits off the chart', async (t) => {
  // The export's old complaint: +0.04 ms ± 0.2 ms drawn flat on a ±1.25 s axis.
  const tiny = offsetAxis([{ atMs: 0, offsetMs: 0.04, uncertaintyMs: 0.2 }, { atMs: 1, offsetMs: 0.05, uncertaintyMs: 0.2 }]);
  t.ok(tiny.minMs < -0.16 && tiny.minMs > -0.3 && tiny.maxMs > 0.25 && tiny.maxMs < 0.4, `axis ${tiny.minMs}..${tiny.maxMs}`);
  t.ok(tiny.ticks.length >= 3 && tiny.ticks.length <= 8, `ticks ${tiny.ticks}`);
  const off = limitLines(tiny, { warnMs: 100, failMs: 1000 });
  t.same(off.inside, []);
  t.equal(off.outside.length, 4, '±warn and ±fail all off the chart');
  const wide = offsetAxis([{ atMs: 0, offsetMs: 0, uncertaintyMs: 0.2 }, { atMs: 1, offsetMs: 5000, uncertaintyMs: 0.2 }]);
  const lines = limitLines(wide, { warnMs: 100, failMs: 1000 });
  t.same(lines.inside.map((l) => l.valueMs).sort((a, b) => a - b), [-100, 100, 1000]);
  t.same(lines.outside, [{ kind: 'fail', valueMs: -1000 }]);
  t.same(limitLines(wide, null), { inside: [], outside: [] });
  const flat = offsetAxis([{ atMs: 0, offsetMs: 3, uncertaintyMs: 0 }]);
  t.ok(flat.maxMs - flat.minMs >= 0.02, 'a zero-width band still gets an axis');
  t.equal(niceStep(1), 0.2);
  t.equal(niceStep(5200), 1000);
});

t.test('filters and URLs', async (t) => {
  const f = filterFromQuery('?status=stale&label=site%3Dpar1&label=role%3Dweb&q=db&page=3');
  t.same(f, { status: 'stale', label: 'site=par1, role=web', q: 'db', page: 3 });
  t.equal(queryOf(f), '?status=stale&label=site%3Dpar1&label=role%3Dweb&q=db&page=3', 'the same link back');
  t.equal(apiPathOf(f), '/v1/agents?sort=severity&offset=200&limit=100&status=stale&label=site%3Dpar1&label=role%3Dweb&q=db');
  t.same(filterFromQuery('?status=bogus&page=-4'), { status: '', label: '', q: '', page: 1 });
  t.equal(queryOf(filterFromQuery('')), '');
});

t.test('libvirt clock text and runbook links', async (t) => {
  t.equal(
    clockXml({ offset: 'localtime', adjustment: null, timers: [{ name: 'rtc', tickpolicy: 'catchup', present: null }, { name: 'hpet', present: 'no' }] }),
    "<clock offset='localtime'>\n  <timer name='rtc' tickpolicy='catchup'/>\n  <timer name='hpet' present='no'/>\n</clock>",
  );
  t.equal(clockXml({ offset: 'utc', timers: [] }), "<clock offset='utc'/>");
  t.equal(prettyXml("<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer name='hpet' present='no'/></clock>"), "<clock offset='utc'>\n  <timer name='rtc' tickpolicy='catchup'/>\n  <timer name='hpet' present='no'/>\n</clock>");
  t.equal(runbookHref({ id: 'rtc', status: 'fail', reason: '' }), '/docs/checks/rtc');
  t.equal(runbookHref({ id: 'rtc', status: 'fail', reason: '', runbookUrl: '/docs/checks/rtc#linux' }), '/docs/checks/rtc#linux', 'the API\'s link when it gives one');
});

/** WCAG 2.1 relative luminance and contrast ratio (§1.4.3, definitions "relative luminance", "contrast ratio"). */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
const contrast = (a: string, b: string) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
};

t.test('the stylesheet meets WCAG AA contrast for its text and focus colours', async (t) => {
  const css = readFileSync(join(repoRoot, 'packages/collector/web/src/app.css'), 'utf8');
  const vars = Object.fromEntries([...css.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/g)].map((m) => [m[1], m[2]]));
  const c = (v: string) => (v.startsWith('#') ? v : (vars[v] as string));
  // [text, background, minimum]: 4.5:1 for text (1.4.3), 3:1 for the focus ring against the page (1.4.11).
  const pairs: [string, string, number][] = [
    ['fg', 'bg', 4.5], ['fg', 'panel', 4.5], ['muted', 'bg', 4.5], ['muted', 'panel', 4.5], ['link', 'bg', 4.5],
    ['#ffffff', 'fail', 4.5], ['#ffffff', 'stale', 4.5], ['#ffffff', 'unk', 4.5], ['#ffffff', 'pass', 4.5], ['#1b1b1f', '#f1c14b', 4.5],
    ['fail', 'fail-bg', 4.5], ['warn', 'warn-bg', 4.5], ['unk', 'unk-bg', 4.5], ['pass', 'pass-bg', 4.5], ['fail', 'bg', 4.5],
    ['focus', 'bg', 3], ['focus', '#eaf1fb', 3],
  ];
  for (const [fg, bg, min] of pairs) {
    const ratio = contrast(c(fg), c(bg));
    t.ok(ratio >= min, `${fg} on ${bg}: ${ratio.toFixed(2)}:1 (≥ ${min}:1)`);
  }
  t.ok(css.includes('#f1c14b'), 'the warning badge colour checked above is the one the stylesheet uses');
  t.match(css, /:focus-visible \{ outline: 3px solid var\(--focus\)/, 'focus is always visible');
});
