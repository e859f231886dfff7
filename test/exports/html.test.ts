/**
 * HTML export: one self-contained file (no external reference, nothing that runs), every
 * agent-supplied string escaped, the fleet summary, one table row per agent, and a plot for each
 * agent that is not compliant.
 */
import t from 'tap';
import { needsPlot, plotRows, renderHtml, buildExportData } from '@clockwatch/collector/exports';
import { HOSTILE_HOSTNAME, dayOfData } from './data.js';

const html = renderHtml(dayOfData());

t.test('self-contained: no external assets, no scripts', async (t) => {
  t.ok(html.startsWith('<!DOCTYPE html>'));
  // Agent-supplied text is escaped, so every '<' left in the file starts markup we wrote: check
  // the markup itself (tag names and attributes) rather than text that merely mentions a URL.
  const tags = html.match(/<[A-Za-z][^>]*>/g) ?? [];
  const names = new Set(tags.map((x) => (/^<([A-Za-z][A-Za-z0-9]*)/.exec(x) as RegExpExecArray)[1]!.toLowerCase()));
  const allowed = ['html', 'head', 'meta', 'title', 'style', 'body', 'header', 'div', 'h1', 'h2', 'h3', 'p', 'ol', 'code', 'section', 'ul', 'li', 'span', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'strong', 'br', 'a', 'figure', 'figcaption', 'footer', 'svg', 'rect', 'line', 'text', 'polygon', 'polyline', 'circle', 'g'];
  t.same([...names].filter((n) => !allowed.includes(n)), [], 'only inert elements: no script, link, img, iframe, object, embed');
  const attrs = tags.flatMap((x) => [...x.matchAll(/\s([A-Za-z:-]+)(?:="[^"]*"|='[^']*')?/g)].map((m) => m[1]!.toLowerCase()));
  t.notOk(attrs.some((a) => a === 'src' || a === 'srcset' || a === 'xlink:href' || a === 'action' || a.startsWith('on')), 'no src, no event handler');
  const hrefs = [...html.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]);
  t.ok(hrefs.length > 0 && hrefs.every((h) => /^#(plot-\d+|agent-[^"]+)$/.test(h as string)), 'links only point inside the file');
  const urlsInMarkup = tags.flatMap((x) => [...x.matchAll(/[a-z]+:\/\/[^\s"']*/gi)].map((m) => m[0]));
  t.same([...new Set(urlsInMarkup)], ['http://www.w3.org/2000/svg'], 'the only URL in markup is the SVG namespace name (never fetched)');
  const css = (/<style>([\s\S]*?)<\/style>/.exec(html) as RegExpExecArray)[1] as string;
  t.notMatch(css, /url\(|@import/i, 'CSS loads nothing');
  t.equal((html.match(/<style>/g) ?? []).length, 1);
  t.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/);
});

t.test('hostile strings are escaped', async (t) => {
  t.notOk(html.includes(HOSTILE_HOSTNAME), 'the raw hostname never appears');
  t.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'), 'it appears escaped');
  t.ok(html.includes('offset &lt;img src=x onerror=alert(1)&gt; ms'), 'reasons are escaped');
  t.ok(html.includes('note==HYPERLINK(&quot;http://attacker.example&quot;,&quot;click&quot;)'), 'labels are escaped');
  t.notOk(/<img/i.test(html));
  const nul = renderHtml(buildExportData({ ...dayOfData(), rows: [{ ...dayOfData().rows[0]!, hostname: 'a\u0000b\u001bc' }] }));
  t.ok(nul.includes('a\ufffdb\ufffdc'), 'control characters are replaced');
});

t.test('summary, table and plots', async (t) => {
  const data = dayOfData();
  t.match(html, /<li class="agents"><span class="n">5<\/span>agents<\/li>/);
  t.match(html, /<li class="noncompliant"><span class="n">1<\/span>non-compliant<\/li>/);
  t.match(html, /<li class="compliant"><span class="n">2<\/span>compliant<\/li>/);
  t.match(html, /<li class="stale"><span class="n">1<\/span>stale<\/li>/);
  const rows = [...html.matchAll(/<tr class="agent-row s-row-(\w+)" id="agent-[^"]+" data-agent-id="([^"]+)">/g)].map((m) => [m[2], m[1]]);
  t.same(rows, data.rows.map((r) => [r.id, r.status]), 'one row per agent, in order');
  const figures = [...html.matchAll(/<figure id="plot-(\d+)" data-agent-id="([^"]+)">/g)].map((m) => m[2]);
  t.same([...figures].sort(), data.rows.filter(needsPlot).map((r) => r.id).sort(), 'a plot for every agent that is not compliant (under the cap)');
  t.same(figures, ['db-alma9', 'old-build', 'evil-1'], 'worst first: by status, then the largest |offset|');
  t.equal((html.match(/<svg /g) ?? []).length, 3);
  t.match(html, /Agents needing attention \(3\)/);
  t.match(html, /<td class="num">\+1544\.792 ms<br><span class="small">±8\.000 ms<\/span><\/td>/, 'offsets carry their uncertainty');
  const offsetCells = [...html.matchAll(/<td class="num">([+-]\d+\.\d{3} ms)(.*?)<\/td>/g)];
  t.ok(offsetCells.length >= 8 && offsetCells.every((m) => /^<br><span class="small">±\d+\.\d{3} ms<\/span>$/.test(m[2] as string)), 'every offset in the table has its ±');
  t.match(html, /31\.3 %/, 'compliant share');
  t.match(html, /it counts reports, not time/, 'the footer says what the compliant share counts');
  t.match(html, /of reports compliant \(mean over agents\)/);
  t.match(html, /17\.36 ppm/);
  t.match(html, /no offset samples in this period/, 'the stale agent has an empty plot that says so');
  t.match(html, /Period 2026-11-24 00:00:00Z → 2026-11-25 00:00:00Z \(UTC\)/);
});

t.test('an empty fleet still renders', async (t) => {
  const d = dayOfData();
  const empty = renderHtml(buildExportData({ period: d.period, generatedAtMs: d.generatedAtMs, limits: d.limits, rows: [] }));
  t.match(empty, /No agent reported in this period/);
  t.match(empty, /Every agent was compliant/);
});

t.test('the plot cap: the worst get a plot, the rest are listed with a link to their row', async (t) => {
  const d = dayOfData();
  const about = {
    collector: { hostname: 'kvm-host-01', version: '9.9.9' },
    policy: { source: 'policy.json', sha256: 'ab'.repeat(32) },
    signerKeyId: 'sha256:' + 'cd'.repeat(32),
    plotCap: 2,
    detail: { file: null, command: 'clockwatch-collector export --detail --from A --to B' },
  };
  const capped = renderHtml(buildExportData({ ...d, about }));
  const figures = [...capped.matchAll(/<figure id="plot-(\d+)" data-agent-id="([^"]+)">/g)].map((m) => m[2]);
  t.same(figures, plotRows(d.rows, 2).map((r) => r.id), 'the two worst');
  t.equal(figures.length, 2);
  const listed = [...capped.matchAll(/<li><a href="#agent-([^"]+)">/g)].map((m) => m[1]);
  t.same(listed, ['evil-1'], 'the third is listed, linking to its table row');
  t.ok(capped.includes('id="agent-evil-1"'), 'the link target exists');
  t.match(capped, /Not plotted \(1\)/);
  t.match(capped, /clockwatch-collector export --detail --from A --to B/, 'says where every sample is');
  t.match(capped, /Collector <strong>kvm-host-01<\/strong> \(clockwatch-collector 9\.9\.9\)/, 'names the collector');
  t.match(capped, new RegExp(`policy policy\\.json, SHA-256 <span class="id">${'ab'.repeat(32)}</span>`), 'names the policy and its hash');
  t.match(capped, new RegExp(`signed by key <span class="id">sha256:${'cd'.repeat(32)}</span>`), "names the signer's key id");
});
