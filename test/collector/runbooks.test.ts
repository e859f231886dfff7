/**
 * Runbooks: every check id has docs/checks/<id>.md with the sections an operator needs, the shared
 * runbookUrl/runbookFile give stable links, and the collector serves each one at
 * GET /docs/checks/:id (markdown, or HTML for a browser under a strict CSP), with a coded 404 for
 * an unknown id.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECK_IDS, runbookFile, runbookUrl } from '@clockwatch/shared';
import { newToken, parseTokensText } from '@clockwatch/collector';
import { appWith, repoRoot } from './helpers.js';
import { headingSlug, markdownToHtml } from '../../packages/collector/dist/runbook-html.js';

t.test('runbookUrl and runbookFile', async (t) => {
  t.equal(runbookUrl('rtc'), '/docs/checks/rtc');
  t.equal(runbookUrl('libvirt-clock', 'http://c1:7070'), 'http://c1:7070/docs/checks/libvirt-clock');
  t.equal(runbookUrl('ntp', 'https://proxy.example/clockwatch/'), 'https://proxy.example/clockwatch/docs/checks/ntp');
  t.equal(runbookUrl('ntp', ''), '/docs/checks/ntp');
  t.equal(runbookFile('offset'), 'docs/checks/offset.md');
  t.throws(() => runbookUrl('../etc/passwd'), RangeError);
  t.throws(() => runbookFile('Offset'), RangeError);
});

t.test('every check id has a runbook with the sections an operator needs', async (t) => {
  for (const id of CHECK_IDS) {
    const file = join(repoRoot, runbookFile(id));
    t.ok(existsSync(file), `${runbookFile(id)} exists`);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    t.match(text, new RegExp(`^# ${id}: `), `${id}: titled with its id`);
    for (const section of ['## What the check means', '## Why it matters in a KVM fleet', '## Fix on Linux', '## Fix on Windows', '## Fix in libvirt']) {
      t.ok(text.includes(section), `${id}: ${section}`);
    }
    // Links between runbooks point at runbooks that exist.
    for (const [, target] of text.matchAll(/\]\(([a-z-]+)\.md(?:#[a-z-]+)?\)/g)) {
      t.ok((CHECK_IDS as readonly string[]).includes(target as string), `${id}: link to ${target}.md`);
    }
  }
  // The anchors the alert rules link to exist.
  const anchors = (id: string) => [...readFileSync(join(repoRoot, runbookFile(id)), 'utf8').matchAll(/^#+ (.*)$/gm)].map((m) => headingSlug(m[1] as string));
  const rules = readFileSync(join(repoRoot, 'deploy', 'prometheus', 'clockwatch-rules.yml'), 'utf8');
  for (const [, id, anchor] of rules.matchAll(/\/docs\/checks\/([a-z-]+)#([a-z-]+)/g)) {
    t.ok(anchors(id as string).includes(anchor as string), `rules link to ${id}#${anchor}, which exists`);
  }
});

t.test('GET /docs/checks/:id serves each runbook', async (t) => {
  const { app, close } = await appWith();
  t.teardown(close);
  for (const id of CHECK_IDS) {
    const md = await app.inject({ method: 'GET', url: runbookUrl(id) });
    t.equal(md.statusCode, 200, `${id}: 200`);
    t.match(md.headers['content-type'], /^text\/markdown; charset=utf-8/);
    t.equal(md.body, readFileSync(join(repoRoot, runbookFile(id)), 'utf8'), `${id}: the file as it is`);
    const html = await app.inject({ method: 'GET', url: runbookUrl(id), headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' } });
    t.equal(html.statusCode, 200);
    t.match(html.headers['content-type'], /^text\/html; charset=utf-8/);
    t.match(html.headers['content-security-policy'], /default-src 'none'/);
    t.match(html.body, new RegExp(`<h1 id="${id}-[^"]*">${id}: `), `${id}: rendered with its title`);
    t.notMatch(html.body, /<script/i);
    const raw = await app.inject({ method: 'GET', url: `${runbookUrl(id)}.md`, headers: { accept: 'text/html' } });
    t.match(raw.headers['content-type'], /^text\/markdown/, `${id}.md is always the markdown`);
  }
  const html = (await app.inject({ method: 'GET', url: '/docs/checks/rtc', headers: { accept: 'text/html' } })).body;
  t.match(html, /<a href="libvirt-clock">libvirt-clock<\/a>/, 'links between runbooks point at the served paths');
  t.match(html, /<pre><code>[^<]*since_epoch/, 'code blocks');
  const ntp = (await app.inject({ method: 'GET', url: '/docs/checks/ntp', headers: { accept: 'text/html' } })).body;
  t.match(ntp, /<h2 id="the-collector-host">/, 'the anchor the host alert links to');

  const index = await app.inject({ method: 'GET', url: '/docs/checks' });
  t.equal(index.statusCode, 200);
  for (const id of CHECK_IDS) t.match(index.body, `- [${id}](${id}): `);

  for (const bad of ['nope', 'RTC', '..%2F..%2Fpackage.json', 'offset.txt']) {
    const r = await app.inject({ method: 'GET', url: `/docs/checks/${bad}` });
    t.equal(r.statusCode, 404, `${bad}: 404`);
    t.equal(r.json().code, 'CW_ERR_RUNBOOK_NOT_FOUND');
    t.match(r.json().message, /the checks are clocksource, offset, rtc/);
  }
});

t.test('runbooks are open on a collector with --read-tokens (they hold no fleet data)', async (t) => {
  const { app, close } = await appWith({ readTokens: parseTokensText(newToken().line) });
  t.teardown(close);
  t.equal((await app.inject({ method: 'GET', url: '/v1/agents' })).statusCode, 401, 'the fleet needs the token');
  t.equal((await app.inject({ method: 'GET', url: '/docs/checks/ntp' })).statusCode, 200, 'a runbook does not');
});

t.test('the markdown renderer escapes and keeps only safe links', async (t) => {
  const { body, title } = markdownToHtml('# a <b> & `c<d>`\n\ntext with [x](javascript:alert) and [y](https://e.example/) **bold** `<i>`\n\n- one\n  more\n- two\n\n1. first\n');
  t.equal(title, 'a <b> & c<d>');
  t.match(body, /<h1 id="a-b--cd">a &lt;b&gt; &amp; <code>c&lt;d&gt;<\/code><\/h1>/);
  t.notMatch(body, /javascript:/);
  t.match(body, /text with x and <a href="https:\/\/e\.example\/">y<\/a> <strong>bold<\/strong> <code>&lt;i&gt;<\/code>/);
  t.match(body, /<ul><li>one more<\/li><li>two<\/li><\/ul>\n<ol><li>first<\/li><\/ol>/);
});
