/// <reference lib="dom" />
/**
 * The fleet page with 10,000 agents: the collector pages and sorts (worst first) and the browser
 * holds one page of 100 rows; Next, a deep link to the last page and a filter all ask the
 * collector for one page. The store is written directly (the ingest path's own records), then a
 * real `serve` reads it and Debian's Chromium loads the page.
 */
import t from 'tap';
import { join } from 'node:path';
import { openSqliteStore } from '@clockwatch/collector';
import { makeReport, recordOf } from '../collector/helpers.js';
import { chromiumSkip, launchChromium } from '../helpers/chromium.js';
import { serve } from '../integration/helpers.js';
import { watchedPage } from './helpers.js';

t.setTimeout(360_000);
const N = 10_000;

t.test('10,000 agents: one page of 100 rows at a time, worst first', { skip: chromiumSkip }, async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  const store = openSqliteStore({ path: db });
  const now = Date.now();
  // Every 17th agent is 5 s ahead (offset fail: noncompliant), the others compliant.
  for (let b = 0; b < N; b += 1000) {
    const batch = [];
    for (let i = b; i < b + 1000; i++) {
      const r = makeReport({ agentId: `vm-${String(i).padStart(5, '0')}`, hostname: `guest-${String(i).padStart(5, '0')}`, atMs: now - 2000, offsetMs: i % 17 === 0 ? 5000 : 0.5, intervalS: 3600, labels: { site: `s${i % 4}` } });
      batch.push(recordOf(r, now - 1900));
    }
    await store.write(batch);
  }
  await store.close();
  const noncompliant = Math.ceil(N / 17);

  const served = await serve(['--db', db]);
  t.teardown(() => served.stop());
  const session = await launchChromium();
  t.teardown(() => session.close());
  const w = await watchedPage(session.context);
  const { page } = w;
  const agentCalls: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/v1/agents') agentCalls.push(new URL(r.url()).search);
  });

  await page.goto(`${served.url}/`);
  await page.waitForSelector('#agents tbody tr');
  t.equal(await page.$$eval('#agents tbody tr', (r) => r.length), 100, 'one page of rows in the DOM');
  t.equal(await page.textContent('#range'), `1–100 of 10,000 (page 1 of 100)`);
  t.ok((await page.$$eval('#agents tbody tr', (r) => r.map((x) => x.getAttribute('data-status')))).every((s) => s === 'noncompliant'), 'the worst first: page 1 is all noncompliant');
  t.equal(await page.textContent('.count[data-status="noncompliant"] .n'), String(noncompliant));
  t.match(agentCalls[0], /sort=severity&offset=0&limit=100/, 'asked the collector for one page');

  await page.click('.pager button:has-text("Next")');
  await page.waitForFunction(() => document.querySelector('#range')?.textContent?.startsWith('101–200'));
  t.match(page.url(), /[?&]page=2/, 'the page number is in the URL');
  t.equal(await page.$$eval('#agents tbody tr', (r) => r.length), 100);

  // The boundary between noncompliant and compliant falls on page 6 (589 noncompliant agents).
  await page.goto(`${served.url}/?page=6`);
  await page.waitForSelector('#agents tbody tr');
  const statuses = await page.$$eval('#agents tbody tr', (r) => r.map((x) => x.getAttribute('data-status')));
  t.equal(statuses.filter((s) => s === 'noncompliant').length, noncompliant - 500, 'noncompliant rows end on page 6');
  t.same(statuses.slice(noncompliant - 500).every((s) => s === 'compliant'), true, 'then compliant');

  await page.goto(`${served.url}/?page=100`);
  await page.waitForSelector('#agents tbody tr');
  t.equal(await page.textContent('#range'), '9,901–10,000 of 10,000 (page 100 of 100)', 'a deep link to the last page');
  t.ok(await page.isDisabled('.pager button:has-text("Next")'), 'no page after the last');

  await page.goto(`${served.url}/?label=site%3Ds1&status=noncompliant`);
  await page.waitForSelector('#agents tbody tr');
  const filtered = await page.textContent('#range');
  // i % 17 === 0 and i % 4 === 1 for i < 10,000: i ≡ 17 (mod 68).
  const expected = Array.from({ length: N }, (_, i) => i).filter((i) => i % 17 === 0 && i % 4 === 1).length;
  t.equal(filtered, `1–100 of ${expected} (page 1 of ${Math.ceil(expected / 100)})`, 'filtered in the collector');
  t.same(w.problems, [], 'no console error');
});
