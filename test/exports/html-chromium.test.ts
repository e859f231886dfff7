/**
 * The HTML export in a real browser: Debian's headless Chromium loads the file, the DOM holds the
 * table and the plots, and the browser logs no console message for it (no error, no
 * Content-Security-Policy violation: nothing tried to load or run). A control page proves the
 * console capture works. Skipped where /usr/bin/chromium is absent (Debian package: chromium).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderHtml } from '@clockwatch/collector/exports';
import { dayOfData } from './data.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium package (apt-get install chromium) to run this test`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function chromium(dir: string, args: string[]): Promise<Run> {
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--no-default-browser-check',
    `--user-data-dir=${join(dir, 'profile')}`,
    '--enable-logging=stderr',
    '--v=0',
  ];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: dir, XDG_CACHE_HOME: dir, LANG: 'C.UTF-8', TZ: 'UTC' };
  return new Promise((resolve) => {
    execFile(CHROMIUM, [...flags, ...args], { env, timeout: 90_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Console messages Chromium logged for one page: `[...:INFO:CONSOLE:1] "message", source: file:///... (1)`. */
function consoleMessages(stderr: string, url: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => /:CONSOLE[:\]]/.test(l) && l.includes(`source: ${url}`))
    .map((l) => /\]\s+"(.*)", source: /.exec(l)?.[1] ?? l);
}

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
  writeFileSync(file, renderHtml(data));
  const url = pathToFileURL(file).href;
  const r = await chromium(dir, ['--dump-dom', url]);
  t.equal(r.code, 0, r.stderr.slice(-2000));
  const dom = r.stdout;
  t.match(dom, /<table id="agents">/);
  const rows = [...dom.matchAll(/<tr class="agent-row [^"]*" data-agent-id="([^"]+)">/g)].map((m) => m[1]);
  t.same(rows, data.rows.map((r) => r.id), 'every agent row is in the rendered DOM');
  t.equal((dom.match(/<svg /g) ?? []).length, 3, 'three plots rendered');
  t.equal((dom.match(/class="limit-fail"/g) ?? []).length, 6, 'each with both fail limits');
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
