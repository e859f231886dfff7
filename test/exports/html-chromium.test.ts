/**
 * The HTML export in a real browser: Debian's headless Chromium loads the file, the DOM holds the
 * table and the plots, and the browser logs no console message for it (no error, no
 * Content-Security-Policy violation: nothing tried to load or run). A control page proves the
 * console capture works. Skipped where /usr/bin/chromium is absent (Debian package: chromium).
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderHtml } from '@clockwatch/collector/exports';
import { dayOfData } from './data.js';
import { chromiumSkip, consoleMessages, runChromium } from '../helpers/chromium.js';

const skip = chromiumSkip;
const chromium = runChromium;

t.test('control: the harness sees console errors and uncaught exceptions', { skip }, async (t) => {
  const dir = t.testdir({ 'control.html': `<!DOCTYPE html><html><body><p id="c">x</p><script>console.error('boom-marker'); throw new Error('thrown-marker');</script></body></html>` });
  const url = pathToFileURL(join(dir, 'control.html')).href;
  const r = await chromium(dir, ['--dump-dom', url]);
  t.equal(r.code, 0, r.stderr.slice(-2000));
  t.match(r.stdout, /<p id="c">x<\/p>/);
  const msgs = consoleMessages(r.stderr, url);
  t.ok(msgs.some((m) => m.includes('boom-marker')), `console.error captured: ${JSON.stringify(msgs)}`);
  t.ok(msgs.some((m) => m.includes('Uncaught') && m.includes('thrown-marker')), 'uncaught exception captured');
});

t.test('the HTML export loads in Chromium with no console message', { skip }, async (t) => {
  const data = dayOfData();
  const dir = t.testdir({});
  const file = join(dir, 'export.html');
  const source = renderHtml(data);
  writeFileSync(file, source);
  const url = pathToFileURL(file).href;
  const r = await chromium(dir, ['--dump-dom', url]);
  t.equal(r.code, 0, r.stderr.slice(-2000));
  const dom = r.stdout;
  t.match(dom, /<table id="agents">/);
  const rows = [...dom.matchAll(/<tr class="agent-row [^"]*" id="[^"]*" data-agent-id="([^"]+)">/g)].map((m) => m[1]);
  t.same(rows, data.rows.map((r) => r.id), 'every agent row is in the rendered DOM');
  t.equal((dom.match(/<svg /g) ?? []).length, 3, 'three plots rendered');
  const failLines = (source.match(/class="limit-fail"/g) ?? []).length;
  t.ok(failLines >= 3, `fail limits drawn where they are in range (${failLines})`);
  t.equal((dom.match(/class="limit-fail"/g) ?? []).length, failLines, 'every limit line the file holds is in the DOM');
  t.equal((dom.match(/class="plot-note"/g) ?? []).length, 3, 'each plot states its numbers and what is off the chart');
  t.notMatch(dom, /<script/i, 'the hostile hostname stayed text');
  t.match(dom, /&lt;script&gt;alert\("x"\)&lt;\/script&gt;/);
  t.same(consoleMessages(r.stderr, url), [], 'no console error, no CSP violation, nothing blocked');
  t.notMatch(r.stderr, /Uncaught|ERR_FILE_NOT_FOUND|net::ERR_/);
});

t.test('screenshot: Chromium paints the export', { skip }, async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'export.html');
  writeFileSync(file, renderHtml(dayOfData()));
  const png = join(dir, 'export.png');
  const r = await chromium(dir, ['--hide-scrollbars', '--window-size=1280,1600', `--screenshot=${png}`, pathToFileURL(file).href]);
  t.equal(r.code, 0, r.stderr.slice(-2000));
  const buf = readFileSync(png);
  t.same([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  t.equal(buf.readUInt32BE(16), 1280, 'width');
  t.equal(buf.readUInt32BE(20), 1600, 'height');
  t.ok(buf.length > 20_000, `not blank (${buf.length} bytes)`);
});
