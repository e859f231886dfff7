/// <reference lib="dom" />
/**
 * The live fleet page in a real browser: Debian's headless Chromium (playwright-core, never a
 * downloaded browser) against a real collector (`clockwatch-collector serve` on 127.0.0.1:0, a
 * temp SQLite file) that real agents (`clockwatch-agent --once` on fixture roots, one under
 * faketime 5 s ahead) report to. The page lists them worst first, the filter narrows the list and
 * stays in the URL, opening an agent shows its plot, an agent whose state changes is updated in
 * place without a reload, and the browser logs no console error and asks nothing of any host but
 * the collector. Screenshots go to .tap/screenshots/.
 */
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { newToken } from '@clockwatch/collector';
import { repoRoot } from '../agent/helpers/paths.js';
import { serve } from '../integration/helpers.js';
import { faketimePath, recordRequests, reportOnce, SCREENSHOTS, watchedPage, type AgentSpec } from './helpers.js';

// Real agents and a real browser on a shared 2-core machine: more than .taprc's 120 s per file.
t.setTimeout(360_000);

const skip = chromiumSkip || (faketimePath() ? false : 'faketime is not installed (Debian package faketime)');

// A lab rule leaves only clocksource (kvm-clock or tsc), offset, timezone and reporting to judge,
// so the lab agent is not noncompliant until its clock runs 5 s ahead.
const POLICY = {
  version: 1,
  rules: [{ name: 'lab', match: { labels: { role: 'lab' } }, set: { ntp: { enabled: false }, rtc: { enabled: false }, clocksource: { allowed: ['kvm-clock', 'tsc'] } } }],
};

const AGENTS: AgentSpec[] = [
  { id: 'web-par1', root: 'kvm-guest', labels: { site: 'par1', role: 'web' } },
  { id: 'app-sha1', root: 'rtc-localtime', labels: { site: 'sha1', role: 'app' } },
  { id: 'ahead-5s', root: 'no-rtc', labels: { site: 'par1', role: 'db' }, faketime: '+5s' },
  { id: 'legacy-c6', root: 'centos6', labels: { site: 'sha1', role: 'batch' } },
  { id: 'lab-flip', root: 'no-rtc', labels: { site: 'lab', role: 'lab' } },
];
/** How the page writes an offset of +5 s measured on a loaded machine (whole ms at this size; the uncertainty may pass 1 ms). */
const AHEAD = /\+(4999|5000|5001) ms ± \d+(\.\d+)? ms/;
const RANK = ['noncompliant', 'stale', 'unknown', 'warning', 'compliant'];
/** The kvm-guest fixture's SMBIOS UUID (sys/class/dmi/id/product_uuid): its libvirt domain keeps the RTC in local time. */
const KVM_GUEST_UUID = '8d2f7c1e-5b3a-4f6e-9c0d-1a2b3c4d5e6f';
const domainXml = () => readFileSync(join(repoRoot, 'test/fixtures/libvirt/linux-localtime.xml'), 'utf8').replace(/<uuid>[^<]+<\/uuid>/, `<uuid>${KVM_GUEST_UUID}</uuid>`).replace(/<name>[^<]+<\/name>/, '<name>web-par1</name>');

t.test('the fleet page against a live collector and real agents', { skip, timeout: 240_000 }, async (t) => {
  const dir = t.testdir({ 'policy.json': JSON.stringify(POLICY), xml: { 'web-par1.xml': domainXml() } });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const served = await serve(['--db', join(dir, 'c.db'), '--policy', join(dir, 'policy.json'), '--name', 'collector-a', '--libvirt-xml-dir', join(dir, 'xml')]);
  t.teardown(() => served.stop());
  const base = served.url;
  const spool = join(dir, 'spool');
  await Promise.all(AGENTS.map((a) => reportOnce(base, spool, a)));
  // Two more samples of the agent 5 s ahead and of the libvirt guest, so their plots have a line and a band.
  await Promise.all(
    ([AGENTS[2], AGENTS[0]] as AgentSpec[]).map(async (a) => {
      await reportOnce(base, spool, a);
      await reportOnce(base, spool, a);
    }),
  );

  const api = async <T>(path: string) => (await (await fetch(`${base}${path}`)).json()) as T;
  const fleet = await api<{ agents: { id: string; status: string }[] }>('/v1/agents?sort=severity');
  t.equal(fleet.agents.length, AGENTS.length, 'every agent reported');
  const labBefore = fleet.agents.find((a) => a.id === 'lab-flip')?.status;
  t.not(labBefore, 'noncompliant', `the lab agent starts ${labBefore}`);

  const session = await launchChromium();
  t.teardown(() => session.close());
  const requests: string[] = [];
  recordRequests(session.context, requests);
  const w = await watchedPage(session.context);
  const { page } = w;

  await t.test('the page lists every agent, worst first, with counts and the collector', async (t) => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#agents tbody tr');
    const rows = await page.$$eval('#agents tbody tr', (trs) => trs.map((tr) => ({ id: tr.getAttribute('data-agent-id'), status: tr.getAttribute('data-status'), text: (tr as HTMLElement).innerText })));
    t.same(rows.map((r) => r.id).sort(), AGENTS.map((a) => a.id).sort(), 'one row per agent');
    t.same(rows.map((r) => r.id), fleet.agents.map((a) => a.id), 'in the API order (sort=severity)');
    const ranks = rows.map((r) => RANK.indexOf(r.status as string));
    t.same(ranks, [...ranks].sort((a, b) => a - b), `worst first: ${rows.map((r) => r.status).join(', ')}`);
    const aheadRow = rows.find((r) => r.id === 'ahead-5s');
    t.match(aheadRow?.text, AHEAD, 'the offset with its uncertainty');
    t.match(aheadRow?.text, /offset\s+fail/, 'each check');
    t.ok(rows.every((r) => /collector-a/.test(r.text)), 'the collector that measured each agent');
    const counts = await page.$$eval('.counts .count[data-status]', (bs) => Object.fromEntries(bs.map((b) => [b.getAttribute('data-status'), Number(b.querySelector('.n')?.textContent)])));
    const summary = await api<{ byStatus: Record<string, number> }>('/v1/compliance');
    t.same(counts, summary.byStatus, 'counts by status as /v1/compliance has them');
    t.equal(await page.getAttribute('html', 'lang'), 'en');
    // Keyboard: the first row takes focus with Tab from the table's neighbourhood and shows it.
    await page.focus('#agents tbody tr');
    const outline = await page.$eval('#agents tbody tr:focus', (el) => getComputedStyle(el).outlineStyle);
    t.equal(outline, 'solid', 'a focused row has a visible outline');
    await page.screenshot({ path: join(SCREENSHOTS, 'fleet-page.png'), fullPage: true });
    // A poll with the same counts keeps a focused count button focused (keyboard users filter by them).
    await page.focus('.count[data-status="stale"]');
    const stamp = await page.textContent('#updated');
    await page.waitForFunction((before) => document.getElementById('updated')?.textContent !== before, stamp, { timeout: 30_000 });
    t.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-status')), 'stale', 'focus kept across a poll');
  });

  await t.test('the filter narrows the list and stays in the URL', async (t) => {
    await page.fill('#f-label', 'site=par1');
    await page.waitForFunction(() => document.querySelectorAll('#agents tbody tr').length === 2);
    t.same((await page.$$eval('#agents tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-agent-id')))).sort(), ['ahead-5s', 'web-par1'], 'label site=par1');
    t.match(new URL(page.url()).search, /label=site%3Dpar1/, 'the label is in the URL');
    await page.fill('#f-q', 'ahead');
    await page.waitForFunction(() => document.querySelectorAll('#agents tbody tr').length === 1);
    t.equal(await page.getAttribute('#agents tbody tr', 'data-agent-id'), 'ahead-5s', 'label and text');
    await page.fill('#f-q', 'no-such-agent');
    await page.waitForSelector('#no-agents');
    t.match(await page.textContent('#no-agents'), /No agent matches/);
    // The filtered view is a link: loading it fresh gives the same list and the same fields.
    await page.goto(`${base}/?label=site%3Dsha1&q=legacy`);
    await page.waitForFunction(() => document.querySelectorAll('#agents tbody tr').length === 1);
    t.equal(await page.getAttribute('#agents tbody tr', 'data-agent-id'), 'legacy-c6');
    t.equal(await page.inputValue('#f-label'), 'site=sha1');
    t.equal(await page.inputValue('#f-q'), 'legacy');
    await page.goto(`${base}/`);
    await page.waitForSelector('#agents tbody tr');
    const noncompliant = fleet.agents.filter((a) => a.status === 'noncompliant').length;
    await page.selectOption('#f-status', 'noncompliant');
    await page.waitForFunction((n) => document.querySelectorAll('#agents tbody tr').length === n, noncompliant);
    t.ok((await page.$$eval('#agents tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-status')))).every((s) => s === 'noncompliant'), 'status filter');
    t.match(page.url(), /status=noncompliant/);
  });

  await t.test('opening an agent shows its verdict and its offset plot', async (t) => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#agents tbody tr[data-agent-id="ahead-5s"]');
    await page.focus('#agents tbody tr[data-agent-id="ahead-5s"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('svg.offset-plot');
    t.equal(new URL(page.url()).pathname, '/agents/ahead-5s', 'a stable URL');
    t.equal(await page.$$eval('svg.offset-plot circle.dot', (c) => c.length), 3, 'one dot per stored sample');
    t.equal(await page.$$eval('svg.offset-plot polygon.band', (c) => c.length), 1, 'the uncertainty band');
    t.match(await page.textContent('.plot figcaption'), /fail limit ±1000 ms are off the chart|warn limit ±100 ms and fail limit ±1000 ms are off the chart/, 'the limits, off the chart at +5 s, are named');
    const labels = await page.$$eval('svg.offset-plot text.label', (ts) => ts.map((x) => x.textContent ?? ''));
    t.ok(labels.some((l) => /^\+5000(\.\d+)? ms$/.test(l)), `the axis is scaled to the data: ${labels.join(' | ')}`);
    const checks = await page.$$eval('#verdict li', (lis) => lis.map((li) => ({ id: li.getAttribute('data-check'), href: li.querySelector('a')?.getAttribute('href'), text: (li as HTMLElement).innerText })));
    const offset = checks.find((c) => c.id === 'offset');
    t.equal(offset?.href, '/docs/checks/offset', 'each reason links to its runbook');
    t.match(offset?.text, /fail[\s\S]*beyond the 1000 ms limit/, 'the reason');
    t.ok(checks.length >= 5, 'every check');
    t.match(await page.textContent('#offset'), AHEAD);
    t.match(await page.textContent('.agent-head'), /measured by collector-a/);
    await page.screenshot({ path: join(SCREENSHOTS, 'agent-view.png'), fullPage: true });
    // A poll that brings nothing new keeps the view: focus stays on the runbook link, ages move on.
    await page.focus('#verdict a[href="/docs/checks/offset"]');
    const stamp = await page.textContent('#updated');
    await page.waitForFunction((before) => document.getElementById('updated')?.textContent !== before, stamp, { timeout: 30_000 });
    t.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), '/docs/checks/offset', 'focus kept across a poll');
    // The deep link serves the same app, opened on that agent.
    await page.goto(`${base}/agents/web-par1`);
    await page.waitForSelector('#agent-title');
    t.match(await page.textContent('#agent-title'), /kvm-guest-01/);
    // Its libvirt domain: the clock as configured, the verdict and the <clock> to write instead.
    await page.waitForSelector('#libvirt');
    t.match(await page.textContent('#clock-current'), /<clock offset='localtime'>[\s\S]*<timer name='rtc' tickpolicy='catchup'\/>/, "the domain's clock config");
    t.match(await page.textContent('#clock-recommended'), /<clock offset='utc'>/, 'the recommended XML');
    t.match(await page.textContent('#libvirt'), /web-par1 \(8d2f7c1e-/);
    await page.screenshot({ path: join(SCREENSHOTS, 'agent-libvirt.png'), fullPage: true });
    await page.click('.back a');
    await page.waitForSelector('#agents tbody tr');
    t.equal(new URL(page.url()).pathname, '/');
  });

  await t.test('an agent whose state changes is updated without a reload', async (t) => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#agents tbody tr[data-agent-id="lab-flip"]');
    t.equal(await page.getAttribute('tr[data-agent-id="lab-flip"]', 'data-status'), labBefore);
    await page.evaluate(() => ((window as unknown as { cwMarker: number }).cwMarker = 42));
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    const verdict = await reportOnce(base, spool, { ...(AGENTS[4] as AgentSpec), faketime: '+5s' });
    t.equal(verdict.status, 'noncompliant', 'the collector judged the lab agent noncompliant at +5 s');
    await page.waitForSelector('tr[data-agent-id="lab-flip"][data-status="noncompliant"]', { timeout: 30_000 });
    t.match(await page.innerText('tr[data-agent-id="lab-flip"]'), AHEAD, 'its new offset');
    t.equal(await page.evaluate(() => (window as unknown as { cwMarker?: number }).cwMarker), 42, 'the same document: no reload');
    t.equal(navigations, 0, 'no navigation');
    t.match(await page.textContent('#live'), /Fleet updated at/, 'announced in the aria-live region');
    // Its plot now spans 0 to +5 s: the warn limits and +1000 ms are drawn, −1000 ms is named.
    await page.click('tr[data-agent-id="lab-flip"]');
    await page.waitForSelector('svg.offset-plot');
    t.equal(await page.$$eval('svg.offset-plot line.limit-warn', (l) => l.length), 2, '±100 ms drawn');
    t.equal(await page.$$eval('svg.offset-plot line.limit-fail', (l) => l.length), 1, '+1000 ms drawn');
    const limitLabels = await page.$$eval('svg.offset-plot text.limit-label', (ts) => ts.map((x) => x.textContent));
    t.same(limitLabels.sort(), ['fail +1000 ms', 'warn ±100 ms'], 'labelled, the close ± pair once');
    t.match(await page.textContent('.plot figcaption'), /fail limit \u22121000 ms is off the chart/);
    await page.screenshot({ path: join(SCREENSHOTS, 'agent-limits.png'), fullPage: true });
  });

  await t.test('no console error, nothing asked of any other host', async (t) => {
    t.same(w.problems, [], `console: ${JSON.stringify(w.console)}`);
    const origin = new URL(base).origin;
    t.ok(requests.length > 10, `${requests.length} requests recorded`);
    t.same(requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:')), [], 'every request went to the collector on 127.0.0.1');
    writeFileSync(join(SCREENSHOTS, 'requests.txt'), `${requests.join('\n')}\n`);
  });
});

t.test('with --read-tokens the page asks for the token once and sends it as a Bearer header', { skip, timeout: 120_000 }, async (t) => {
  const read = newToken();
  const dir = t.testdir({ 'read-tokens': `${read.line}\n` });
  const served = await serve(['--db', join(dir, 'c.db'), '--read-tokens', join(dir, 'read-tokens'), '--name', 'collector-b']);
  t.teardown(() => served.stop());
  await reportOnce(served.url, join(dir, 'spool'), AGENTS[0] as AgentSpec);
  const session = await launchChromium();
  t.teardown(() => session.close());
  const requests: { url: string; authorization: string | undefined }[] = [];
  session.context.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers().authorization }));
  const w = await watchedPage(session.context);
  const { page } = w;
  await page.goto(`${served.url}/`);
  await page.waitForSelector('#token');
  t.match(await page.textContent('.token-form'), /needs a read token[\s\S]*CW_ERR_TOKEN_MISSING/);
  await page.fill('#token', 'not-the-token');
  await page.press('#token', 'Enter');
  await page.waitForFunction(() => /CW_ERR_TOKEN_INVALID/.test(document.querySelector('.token-form')?.textContent ?? ''));
  await page.fill('#token', read.token);
  await page.press('#token', 'Enter');
  await page.waitForSelector('#agents tbody tr[data-agent-id="web-par1"]');
  t.equal(await page.evaluate(() => sessionStorage.getItem('clockwatch.readToken')), read.token, 'kept in sessionStorage');
  // Another view of the same tab does not ask again.
  await page.goto(`${served.url}/agents/web-par1`);
  await page.waitForSelector('#agent-title');
  t.notOk(await page.$('#token'), 'not asked twice');
  const api = requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/'));
  t.ok(api.some((r) => r.authorization === `Bearer ${read.token}`), 'sent as Authorization: Bearer');
  t.ok(requests.every((r) => !r.url.includes(read.token)), 'never in a URL');
  await page.click('#forget-token');
  await page.waitForSelector('#token');
  t.equal(await page.evaluate(() => sessionStorage.getItem('clockwatch.readToken')), null, 'forgotten');
  // The two refused tokens are answered 401: Chromium logs "Failed to load resource" for each; nothing else.
  t.same(w.problems.filter((p) => !/401 \(Unauthorized\)/.test(p)), [], `console: ${JSON.stringify(w.console)}`);
});
