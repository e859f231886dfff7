/**
 * What the fleet page needs from the collector, through inject() over a real in-memory SQLite
 * store: GET / and /agents/:id serve the built app under the strict CSP, the assets are cached by
 * content hash, GET /v1/agents pages worst first (?sort=severity) and filters by label, answers
 * carry the collector's name and the agent's offset limits, and polls are conditional (ETag,
 * If-None-Match → 304).
 */
import t from 'tap';
import { fixedClock } from '@clockwatch/collector';
import { appWith, makeReport } from '../collector/helpers.js';
import { PAGE_CSP } from '../../packages/collector/dist/routes/page.js';
import { noneMatch, weakEtag } from '../../packages/collector/dist/etag.js';

const NOW = Date.now();

async function seeded() {
  const clock = fixedClock(NOW);
  const { app, close } = await appWith({ name: 'collector-test', clock });
  const reports = [
    // ok (compliant), far ahead (offset fail), a tsc guest (clocksource fail), every 10 s and then silent (stale).
    makeReport({ agentId: 'b-ok', hostname: 'zz-ok', atMs: NOW - 1000, labels: { site: 'par1', role: 'web' } }),
    makeReport({ agentId: 'a-ahead', hostname: 'mm-ahead', atMs: NOW - 1000, offsetMs: 5000, labels: { site: 'par1' } }),
    makeReport({ agentId: 'c-tsc', hostname: 'aa-tsc', atMs: NOW - 1000, clocksource: 'tsc', labels: { site: 'sha1' } }),
    makeReport({ agentId: 'd-gone', hostname: 'gone', atMs: NOW - 1000, intervalS: 10, labels: { site: 'par1', role: 'db' } }),
  ];
  const res = await app.inject({ method: 'POST', url: '/v1/reports', payload: reports, headers: { 'content-type': 'application/json' } });
  if (res.statusCode !== 200) throw new Error(res.body);
  // 40 s later: past 3 × 10 s for d-gone, within 3 × 60 s for the others.
  clock.advance(40_000);
  return { app, close, clock };
}

t.test('GET / and /agents/:id serve the app under the strict CSP; assets by hash', async (t) => {
  const { app, close } = await appWith();
  t.teardown(close);
  for (const url of ['/', '/agents/some%20agent']) {
    const r = await app.inject({ url });
    t.equal(r.statusCode, 200, url);
    t.match(r.headers['content-type'], /^text\/html/);
    t.equal(r.headers['content-security-policy'], PAGE_CSP);
    t.equal(r.headers['content-security-policy'], "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'");
    t.equal(r.headers['x-content-type-options'], 'nosniff');
    t.notMatch(r.body, /<script>|style=|https?:\/\//, 'no inline script or style, no absolute URL');
  }
  const html = (await app.inject({ url: '/' })).body;
  const js = /src="\/assets\/(app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
  const css = /href="\/assets\/(app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
  t.ok(js && css, `hashed asset names: ${js}, ${css}`);
  const a = await app.inject({ url: `/assets/${js}` });
  t.equal(a.statusCode, 200);
  t.match(a.headers['content-type'], /^text\/javascript/);
  t.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.notMatch(a.body, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'the bundle names no other host (the SVG namespace is a name, not a request)');
  const again = await app.inject({ url: `/assets/${js}`, headers: { 'if-none-match': a.headers.etag as string } });
  t.equal(again.statusCode, 304);
  t.equal((await app.inject({ url: `/assets/${css}` })).headers['content-type'], 'text/css; charset=utf-8');
  for (const bad of ['nope.js', 'index.html', '..%2Fpackage.json']) {
    const r = await app.inject({ url: `/assets/${bad}` });
    t.equal(r.statusCode, 404, bad);
    t.equal(r.json().code, 'CW_ERR_ROUTE_NOT_FOUND');
  }
});

t.test('GET /v1/agents?sort=severity pages worst first; label filters; the collector is named', async (t) => {
  const { app, close } = await seeded();
  t.teardown(close);
  const ids = async (q: string) => {
    const r = await app.inject({ url: `/v1/agents?${q}` });
    t.equal(r.statusCode, 200, q);
    const b = r.json() as { collector: string; total: number; agents: { id: string; status: string }[] };
    t.equal(b.collector, 'collector-test');
    return { total: b.total, ids: b.agents.map((a) => a.id), statuses: b.agents.map((a) => a.status) };
  };
  t.same((await ids('')).ids, ['a-ahead', 'b-ok', 'c-tsc', 'd-gone'], 'default: by id');
  const worst = await ids('sort=severity');
  // noncompliant first (hostname order: aa-tsc, mm-ahead), then stale, then compliant.
  t.same(worst.ids, ['c-tsc', 'a-ahead', 'd-gone', 'b-ok'], `worst first: ${worst.statuses.join(', ')}`);
  t.same(worst.statuses, ['noncompliant', 'noncompliant', 'stale', 'compliant']);
  const p2 = await ids('sort=severity&offset=1&limit=2');
  t.same(p2, { total: 4, ids: ['a-ahead', 'd-gone'], statuses: ['noncompliant', 'stale'] }, 'a page of the worst-first order');
  t.same((await ids('label=site%3Dpar1&sort=severity')).ids, ['a-ahead', 'd-gone', 'b-ok'], 'label site=par1');
  t.same((await ids('label=site%3Dpar1&label=role%3Dweb')).ids, ['b-ok'], 'two labels: both hold');
  t.same((await ids('label=site%3Dnowhere')).total, 0);
  t.same((await ids('label=role%3D')).total, 0, 'an empty value matches only an empty label');
  t.same((await ids('label=site%3Dpar1&status=stale')).ids, ['d-gone'], 'with a status filter');
  for (const bad of ['label=noequals', 'sort=random', 'label=%3Dv']) {
    const r = await app.inject({ url: `/v1/agents?${bad}` });
    t.equal(r.statusCode, 400, bad);
    t.match(r.json().code, /^CW_ERR_(BAD_PARAM|VALIDATION)$/, bad);
  }
});

t.test('GET /v1/agents/:id names the collector and the offset limits of the agent', async (t) => {
  const { app, close } = await seeded();
  t.teardown(close);
  const d = (await app.inject({ url: '/v1/agents/a-ahead' })).json() as { collector: string; limits: unknown };
  t.equal(d.collector, 'collector-test');
  t.same(d.limits, { offset: { enabled: true, warnMs: 100, failMs: 1000 } }, 'the default policy');
});

t.test('conditional polls: ETag on the read API, 304 when unchanged, a new tag after a report', async (t) => {
  const { app, close, clock } = await seeded();
  t.teardown(close);
  for (const url of ['/v1/agents?sort=severity', '/v1/compliance', '/v1/agents/a-ahead', '/v1/agents/a-ahead/history']) {
    const first = await app.inject({ url });
    const etag = first.headers.etag as string;
    t.match(etag, /^W\/"[A-Za-z0-9_-]+"$/, `${url}: a weak ETag`);
    const same = await app.inject({ url, headers: { 'if-none-match': etag } });
    t.equal(same.statusCode, 304, `${url}: unchanged → 304`);
    t.equal(same.body, '', 'no body');
    t.equal((await app.inject({ url, headers: { 'if-none-match': 'W/"other"' } })).statusCode, 200, 'another tag → 200');
  }
  const url = '/v1/agents?sort=severity';
  const before = (await app.inject({ url })).headers.etag as string;
  await app.inject({ method: 'POST', url: '/v1/reports', payload: makeReport({ agentId: 'b-ok', hostname: 'zz-ok', atMs: clock.now() - 500, offsetMs: 400 }), headers: { 'content-type': 'application/json' } });
  const after = await app.inject({ url, headers: { 'if-none-match': before } });
  t.equal(after.statusCode, 200, 'the fleet changed: the full answer');
  t.not(after.headers.etag, before);
  t.equal((await app.inject({ url: '/metrics', headers: { 'if-none-match': '*' } })).statusCode, 200, 'metrics are not conditional');
  t.equal((await app.inject({ url: '/v1/agents/nope', headers: { 'if-none-match': '*' } })).statusCode, 404, 'errors are never 304');
});

t.test('weak comparison of If-None-Match (RFC 9110 §8.8.3.2)', async (t) => {
  const tag = weakEtag('{"a":1}');
  t.equal(tag, weakEtag(Buffer.from('{"a":1}')), 'string and bytes alike');
  t.not(tag, weakEtag('{"a":2}'));
  t.ok(noneMatch(tag, tag));
  t.ok(noneMatch(tag.slice(2), tag), 'the strong form of the same tag matches weakly');
  t.ok(noneMatch(`"x", ${tag}`, tag), 'a list');
  t.ok(noneMatch('*', tag));
  t.notOk(noneMatch(undefined, tag));
  t.notOk(noneMatch('"x"', tag));
});
