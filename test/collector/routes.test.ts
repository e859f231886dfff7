/**
 * Route tests with inject() over a real (in-memory) SQLite store: every route's answers and every
 * error path's status and stable code. The codes seen are collected and checked against the
 * catalog at the end, so a code nobody can trigger (or an untested one) shows up.
 */
import t from 'tap';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { ERROR_CODES, fixedClock, newToken, parseTokensText, staticHostClock, type SqliteStore } from '@clockwatch/collector';
import { appWith, HOST_UNSYNCED, makeReport, parsePrometheus, sampleCount } from './helpers.js';

const seen = new Set<string>();

async function call(app: FastifyInstance, opts: InjectOptions) {
  const res = await app.inject(opts);
  const body = res.headers['content-type']?.toString().startsWith('application/json') ? res.json() : res.body;
  if (res.statusCode >= 400) {
    // Every error is {statusCode, code, error, message} with a catalog code.
    if (typeof body !== 'object' || body === null) throw new Error(`error without a JSON body: ${res.statusCode} ${res.body}`);
    const b = body as { statusCode: number; code: string; error: string; message: string };
    if (b.statusCode !== res.statusCode || !/^CW_ERR_[A-Z_]+$/.test(b.code) || typeof b.error !== 'string' || typeof b.message !== 'string') {
      throw new Error(`malformed error body: ${res.body}`);
    }
    seen.add(b.code);
  }
  return { status: res.statusCode, body: body as any, headers: res.headers };
}

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  ({ method: 'POST', url, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json', ...headers } }) as InjectOptions;

t.test('POST /v1/time', async (t) => {
  const { app, close } = await appWith();
  t.teardown(close);
  const before = Date.now();
  const r = await call(app, post('/v1/time', { t1: 1_700_000_000_000.25 }));
  const after = Date.now();
  t.equal(r.status, 200);
  t.equal(r.body.t1, 1_700_000_000_000.25, 't1 echoed exactly');
  t.ok(r.body.t2 >= before - 1 && r.body.t2 <= after + 1, `t2 ${r.body.t2} is the OS clock (${before}..${after})`);
  t.ok(r.body.t3 >= r.body.t2, 't3 ≥ t2');
  t.ok(r.body.t3 <= after + 1, `t3 is taken before the reply arrives (t3 − t2 = ${(r.body.t3 - r.body.t2).toFixed(3)} ms)`);
  t.not(r.body.t2 % 1, 0, 'sub-millisecond');
  t.equal(r.headers['cache-control'], 'no-store');

  for (const bad of [{}, { t1: 'now' }, { t1: -1 }, { t1: 5e12 }, [1], null]) {
    const e = await call(app, post('/v1/time', bad));
    t.equal(e.status, 400, JSON.stringify(bad));
    t.equal(e.body.code, 'CW_ERR_VALIDATION');
  }
  t.equal((await call(app, post('/v1/time', '{"t1":'))).body.code, 'CW_ERR_BAD_JSON');
  const ct = await call(app, { method: 'POST', url: '/v1/time', payload: 't1=1', headers: { 'content-type': 'text/plain' } });
  t.equal(ct.status, 415);
  t.equal(ct.body.code, 'CW_ERR_CONTENT_TYPE');
  const cs = await call(app, { method: 'POST', url: '/v1/time', payload: '{"t1":1}', headers: { 'content-type': 'application/json; charset=iso-8859-1' } });
  t.equal(cs.status, 415, 'a charset other than UTF-8 (issue 11, item 6)');
  t.equal(cs.body.code, 'CW_ERR_CHARSET');
  const big = await call(app, post('/v1/time', { t1: 1, pad: 'x'.repeat(2000) }));
  t.equal(big.status, 413);
  t.equal(big.body.code, 'CW_ERR_BODY_TOO_LARGE');
});

t.test('POST /v1/time takes t2 and t3 from the injected clock', async (t) => {
  const clock = fixedClock(1_795_600_000_000.125);
  const { app, close } = await appWith({ clock });
  t.teardown(close);
  const r = await call(app, post('/v1/time', { t1: 1_795_600_000_100 }));
  t.same(r.body, { t1: 1_795_600_000_100, t2: 1_795_600_000_000.125, t3: 1_795_600_000_000.125 });
});

t.test('POST /v1/reports: one report', async (t) => {
  const { app, store, close } = await appWith();
  t.teardown(close);
  const report = makeReport({ agentId: 'vm-1', atMs: Date.now() - 50, offsetMs: 3.5 });
  const r = await call(app, post('/v1/reports', report));
  t.equal(r.status, 200);
  t.equal(r.body.accepted, 1);
  t.equal(r.body.rejected, undefined, 'no rejected list for a single report');
  const res = r.body.results[0];
  t.match(res, { reportId: report.reportId, agentId: 'vm-1', stored: true, duplicate: false });
  t.ok(Math.abs(res.offsetMs - 3.5) < 1e-9, 'offset recomputed from the samples');
  t.ok(Math.abs(res.uncertaintyMs - 0.2) < 0.01);
  t.equal(res.verdict.status, 'compliant');
  t.same(res.verdict.checks.map((c: { id: string }) => c.id), ['clocksource', 'offset', 'rtc', 'timezone', 'ntp', 'reporting']);
  t.equal(sampleCount(store), 1);

  const dup = await call(app, post('/v1/reports', report));
  t.equal(dup.status, 200);
  t.match(dup.body.results[0], { stored: false, duplicate: true });
  // The same JSON with other spacing is the same report.
  t.match((await call(app, post('/v1/reports', JSON.stringify(report, null, 2)))).body.results[0], { duplicate: true });
  t.equal(sampleCount(store), 1, 'stored once');

  const conflict = await call(app, post('/v1/reports', { ...report, seq: report.seq + 1 }));
  t.equal(conflict.status, 409);
  t.equal(conflict.body.code, 'CW_ERR_REPORT_CONFLICT');
  t.equal(sampleCount(store), 1);
});

t.test('POST /v1/reports: malformed requests are 4xx with a code and write nothing', async (t) => {
  const { app, store, close } = await appWith({ maxBatch: 3, bodyLimit: 64 * 1024 });
  t.teardown(close);
  const good = makeReport({ agentId: 'vm-1', atMs: Date.now() });
  const cases: [string, InjectOptions, number, string][] = [
    ['invalid report', post('/v1/reports', { ...good, clocksource: { current: 7 } }), 400, 'CW_ERR_VALIDATION'],
    ['not an object', post('/v1/reports', '"hello"'), 400, 'CW_ERR_VALIDATION'],
    ['unknown schema version', post('/v1/reports', { ...good, schemaVersion: 2 }), 400, 'CW_ERR_SCHEMA_VERSION'],
    ['bad JSON', post('/v1/reports', '{"schemaVersion":1,'), 400, 'CW_ERR_BAD_JSON'],
    ['empty JSON body', post('/v1/reports', ''), 400, 'CW_ERR_EMPTY_BODY'],
    ['no body at all', { method: 'POST', url: '/v1/reports' }, 400, 'CW_ERR_VALIDATION'],
    ['empty array', post('/v1/reports', []), 400, 'CW_ERR_VALIDATION'],
    ['too many reports', post('/v1/reports', [good, good, good, good]), 413, 'CW_ERR_BATCH_TOO_LARGE'],
    ['body too large', post('/v1/reports', { ...good, pad: 'x'.repeat(70 * 1024) }), 413, 'CW_ERR_BODY_TOO_LARGE'],
    ['wrong content type', { method: 'POST', url: '/v1/reports', payload: 'x', headers: { 'content-type': 'text/plain' } }, 415, 'CW_ERR_CONTENT_TYPE'],
    ['prototype poisoning', post('/v1/reports', '{"__proto__":{"x":1}}'), 400, 'CW_ERR_BAD_JSON'],
    ['not from loopback without --tokens', { ...post('/v1/reports', good), remoteAddress: '10.1.2.3' }, 403, 'CW_ERR_NOT_LOOPBACK'],
  ];
  for (const [name, opts, status, code] of cases) {
    const r = await call(app, opts);
    t.equal(r.status, status, `${name}: status`);
    t.equal(r.body.code, code, `${name}: code`);
  }
  t.equal(sampleCount(store), 0, 'nothing written');
  const v = await call(app, post('/v1/reports', { ...good, schemaVersion: 2 }));
  t.match(v.body.message, /schemaVersion 2/);
});

t.test('POST /v1/reports: an array is stored report by report, rejections named by index', async (t) => {
  const { app, store, close } = await appWith();
  t.teardown(close);
  const now = Date.now();
  const a = makeReport({ agentId: 'vm-1', atMs: now - 120_000 });
  const b = makeReport({ agentId: 'vm-1', atMs: now - 60_000 });
  await call(app, post('/v1/reports', b));
  const bad = { ...makeReport({ agentId: 'vm-2', atMs: now }), rtc: 'broken' };
  const bChanged = { ...b, seq: 999 };
  const c = makeReport({ agentId: 'vm-2', atMs: now });
  const r = await call(app, post('/v1/reports', [a, bad, bChanged, b, c, { schemaVersion: 3 }]));
  t.equal(r.status, 200);
  t.equal(r.body.accepted, 3);
  t.same(
    r.body.results.map((x: { reportId: string; stored: boolean; duplicate: boolean }) => [x.reportId, x.stored, x.duplicate]),
    [
      [a.reportId, true, false],
      [b.reportId, false, true],
      [c.reportId, true, false],
    ],
  );
  t.same(
    r.body.rejected.map((x: { index: number; reportId: string | null; statusCode: number; code: string }) => [x.index, x.reportId, x.statusCode, x.code]),
    [
      [1, bad.reportId, 400, 'CW_ERR_VALIDATION'],
      [2, b.reportId, 409, 'CW_ERR_REPORT_CONFLICT'],
      [5, null, 400, 'CW_ERR_SCHEMA_VERSION'],
    ],
  );
  t.match(r.body.rejected[0].message, /^reports\[1\]: /);
  t.equal(sampleCount(store), 3, 'b once, a and c');
});

t.test('agent tokens: 401 missing, 401 unknown, 403 bound elsewhere; nothing written', async (t) => {
  const web = newToken('web-*');
  const site = newToken('site=paris');
  const any = newToken();
  const { app, store, close } = await appWith({ agentTokens: parseTokensText([web.line, site.line, any.line].join('\n')) });
  t.teardown(close);
  const now = Date.now();
  const webReport = makeReport({ agentId: 'web-01', atMs: now, labels: { site: 'berlin' } });
  const dbReport = makeReport({ agentId: 'db-01', atMs: now, labels: { site: 'berlin' } });
  const parisReport = makeReport({ agentId: 'db-02', atMs: now, labels: { site: 'paris' } });
  const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });

  const missing = await call(app, post('/v1/reports', webReport));
  t.equal(missing.status, 401);
  t.equal(missing.body.code, 'CW_ERR_TOKEN_MISSING');
  t.match(missing.headers['www-authenticate'], /^Bearer/);
  const notBearer = await call(app, post('/v1/reports', webReport, { authorization: `Basic ${web.token}` }));
  t.equal(notBearer.body.code, 'CW_ERR_TOKEN_MISSING');
  const unknown = await call(app, post('/v1/reports', webReport, bearer(newToken().token)));
  t.equal(unknown.status, 401);
  t.equal(unknown.body.code, 'CW_ERR_TOKEN_INVALID');
  const elsewhere = await call(app, post('/v1/reports', dbReport, bearer(web.token)));
  t.equal(elsewhere.status, 403);
  t.equal(elsewhere.body.code, 'CW_ERR_FORBIDDEN');
  t.match(elsewhere.body.message, /agents 'web-\*'.*db-01/);
  // One report of another agent in an array refuses the whole request.
  const mixed = await call(app, post('/v1/reports', [webReport, dbReport], bearer(web.token)));
  t.equal(mixed.status, 403);
  t.equal((await call(app, post('/v1/reports', dbReport, bearer(site.token)))).status, 403, 'label binding: berlin is not paris');
  t.equal(sampleCount(store), 0, 'no failed request wrote a row');

  // Tokens work from any address.
  t.equal((await call(app, { ...post('/v1/reports', webReport, bearer(web.token)), remoteAddress: '10.9.8.7' })).status, 200);
  t.equal((await call(app, post('/v1/reports', parisReport, bearer(site.token)))).status, 200);
  t.equal((await call(app, post('/v1/reports', dbReport, bearer(any.token)))).status, 200);
  t.equal(sampleCount(store), 3);
});

t.test('per-agent rate limit', async (t) => {
  const { app, store, close } = await appWith({ rateLimit: { perMinute: 2 } });
  t.teardown(close);
  const now = Date.now();
  const send = (agentId: string, i: number) => call(app, post('/v1/reports', makeReport({ agentId, atMs: now - 1000 + i })));
  t.equal((await send('vm-1', 1)).status, 200);
  t.equal((await send('vm-1', 2)).status, 200);
  const limited = await send('vm-1', 3);
  t.equal(limited.status, 429);
  t.equal(limited.body.code, 'CW_ERR_RATE_LIMITED');
  t.ok(Number(limited.headers['retry-after']) >= 1);
  t.equal((await send('vm-2', 1)).status, 200, 'other agents are not affected');
  t.equal(sampleCount(store), 3);
});

t.test('store failures are 503 CW_ERR_STORE (the agent retries)', async (t) => {
  const { app, store, close } = await appWith();
  t.teardown(close);
  (store as SqliteStore).db.exec('DROP TABLE rollups');
  const r = await call(app, post('/v1/reports', makeReport({ agentId: 'vm-1', atMs: Date.now() })));
  t.equal(r.status, 503);
  t.equal(r.body.code, 'CW_ERR_STORE');
  t.equal(sampleCount(store as SqliteStore), 0, 'rolled back');
});

t.test('read API: fleet, one agent, history, rollups, compliance', async (t) => {
  const clock = fixedClock(Date.UTC(2026, 10, 20, 12));
  const { app, close } = await appWith({ clock });
  t.teardown(close);
  const t0 = clock.now();
  // vm-1 drifts +10 ppm: +0.6 ms per minute, with one step of +50 ms between minutes 5 and 6.
  for (let i = 0; i < 10; i++) {
    clock.set(t0 + i * 60_000 + 100);
    const steps = i === 6 ? [{ atMs: t0 + 5.5 * 60_000, stepMs: 50 }] : [];
    const off = 1 + i * 0.6 + (i >= 6 ? 50 : 0);
    const r = await call(app, post('/v1/reports', makeReport({ agentId: 'vm-1', hostname: 'web-1', atMs: t0 + i * 60_000, offsetMs: off, steps })));
    t.equal(r.status, 200);
  }
  clock.set(t0 + 9 * 60_000 + 200);
  await call(app, post('/v1/reports', makeReport({ agentId: 'vm-2', hostname: 'db-1', atMs: t0 + 9 * 60_000, clocksource: 'tsc' })));
  clock.set(t0 + 10 * 60_000);

  const list = await call(app, { method: 'GET', url: '/v1/agents' });
  t.equal(list.status, 200);
  t.match(list.body, { total: 2, offset: 0, limit: 1000 });
  t.same(list.body.agents.map((a: { id: string; status: string }) => [a.id, a.status]), [
    ['vm-1', 'compliant'],
    ['vm-2', 'noncompliant'],
  ]);
  const row = list.body.agents[0];
  t.same(Object.keys(row).sort(), ['atMs', 'checks', 'clocksource', 'hostname', 'id', 'intervalS', 'labels', 'lastSeenMs', 'ntpSynchronized', 'offsetMs', 'rtcOffsetS', 'status', 'systemUuid', 'timezone', 'uncertaintyMs'].sort());
  t.same((await call(app, { method: 'GET', url: '/v1/agents?status=noncompliant,stale' })).body.agents.map((a: { id: string }) => a.id), ['vm-2']);
  t.same((await call(app, { method: 'GET', url: '/v1/agents?q=WEB' })).body.agents.map((a: { id: string }) => a.id), ['vm-1']);
  t.match((await call(app, { method: 'GET', url: '/v1/agents?offset=1&limit=1' })).body, { total: 2, offset: 1, limit: 1, agents: [{ id: 'vm-2' }] });
  for (const q of ['status=bogus', 'limit=0', 'limit=abc', 'offset=-1', 'limit=10001', 'color=red']) {
    const e = await call(app, { method: 'GET', url: `/v1/agents?${q}` });
    t.equal(e.status, 400, q);
    t.equal(e.body.code, 'CW_ERR_BAD_PARAM', q);
  }

  const one = await call(app, { method: 'GET', url: '/v1/agents/vm-1' });
  t.equal(one.status, 200);
  t.equal(one.body.agent.id, 'vm-1');
  t.equal(one.body.report.agent.id, 'vm-1', 'the latest report');
  t.equal(one.body.verdict.checks.length, 6);
  t.ok(one.body.verdict.checks.every((c: { reason: string }) => c.reason.length > 0), 'every check has its reason');
  t.match(one.body.verdict.checks.find((c: { id: string }) => c.id === 'reporting').reason, /last report 60 s ago/);
  t.ok(one.body.drift, 'drift computed');
  t.ok(Math.abs(one.body.drift.ppm - 10) < 0.01, `drift ${one.body.drift.ppm} ppm ≈ 10 (the step is not drift)`);
  t.equal(one.body.drift.segments, 2);
  t.equal(one.body.drift.steps, 1);
  t.equal(one.body.changes.length, 1);
  t.match(one.body.measurement, { offsetMs: Number, uncertaintyMs: Number, rtcInference: 'utc' });
  const nf = await call(app, { method: 'GET', url: '/v1/agents/nobody' });
  t.equal(nf.status, 404);
  t.equal(nf.body.code, 'CW_ERR_AGENT_NOT_FOUND');

  const hist = await call(app, { method: 'GET', url: `/v1/agents/vm-1/history?from=${t0 + 120_000}&to=${new Date(t0 + 300_000).toISOString()}` });
  t.equal(hist.status, 200);
  t.same(hist.body.points.map((p: { atMs: number }) => p.atMs), [2, 3, 4, 5].map((i) => t0 + i * 60_000));
  t.equal(hist.body.truncated, false);
  t.same(Object.keys(hist.body.points[0]).sort(), ['atMs', 'checks', 'guestEpochMs', 'ntpOffsetMs', 'ntpSynchronized', 'offsetMs', 'placedBy', 'receivedAtMs', 'reportId', 'rtcOffsetS', 'seq', 'status', 'stepCount', 'uncertaintyMs'].sort());
  const lim = await call(app, { method: 'GET', url: '/v1/agents/vm-1/history?limit=2' });
  t.same(lim.body.points.map((p: { atMs: number }) => p.atMs), [8, 9].map((i) => t0 + i * 60_000));
  t.equal(lim.body.truncated, true);
  for (const q of ['from=yesterday', `from=${t0}&to=${t0 - 1}`, 'limit=0']) {
    const e = await call(app, { method: 'GET', url: `/v1/agents/vm-1/history?${q}` });
    t.equal(e.status, 400, q);
    t.equal(e.body.code, 'CW_ERR_BAD_PARAM', q);
  }
  t.equal((await call(app, { method: 'GET', url: '/v1/agents/nobody/history' })).body.code, 'CW_ERR_AGENT_NOT_FOUND');

  const roll = await call(app, { method: 'GET', url: '/v1/agents/vm-1/rollups' });
  t.equal(roll.status, 200);
  t.equal(roll.body.rollups.length, 1);
  t.match(roll.body.rollups[0], { hourMs: t0, reports: 10, measured: 10, compliantShare: 1 });
  t.equal((await call(app, { method: 'GET', url: '/v1/agents/nobody/rollups' })).body.code, 'CW_ERR_AGENT_NOT_FOUND');

  const comp = await call(app, { method: 'GET', url: '/v1/compliance' });
  t.equal(comp.status, 200);
  t.match(comp.body, { agents: 2, byStatus: { compliant: 1, noncompliant: 1, stale: 0 }, host: { synchronized: true, daemon: 'chronyd' } });
  t.same(comp.body.byCheck.clocksource, { fail: 1, warn: 0, unknown: 0 });

  // Fifteen minutes later nobody reported: both stale, at query time, with nothing rewritten.
  clock.set(t0 + 25 * 60_000);
  const later = await call(app, { method: 'GET', url: '/v1/agents?status=stale' });
  t.equal(later.body.total, 2);
  const lone = await call(app, { method: 'GET', url: '/v1/agents/vm-1' });
  t.equal(lone.body.verdict.status, 'stale');
  t.match(lone.body.verdict.checks.find((c: { id: string }) => c.id === 'reporting'), { status: 'fail', reason: /no report for 16 min/ });
  t.equal((await call(app, { method: 'GET', url: '/v1/compliance' })).body.byCheck.reporting.fail, 2);
});

t.test('read tokens guard reads; /healthz stays open', async (t) => {
  const reader = newToken();
  const agent = newToken();
  const { app, close } = await appWith({ readTokens: parseTokensText(reader.line), agentTokens: parseTokensText(agent.line) });
  t.teardown(close);
  for (const url of ['/v1/agents', '/v1/agents/x', '/v1/agents/x/history', '/v1/compliance', '/metrics']) {
    const r = await call(app, { method: 'GET', url });
    t.equal(r.status, 401, url);
    t.equal(r.body.code, 'CW_ERR_TOKEN_MISSING', url);
    t.equal((await call(app, { method: 'GET', url, headers: { authorization: `Bearer ${agent.token}` } })).body.code, 'CW_ERR_TOKEN_INVALID', `${url}: an agent token is not a read token`);
  }
  t.equal((await call(app, { method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${reader.token}` } })).status, 200);
  t.equal((await call(app, { method: 'GET', url: '/healthz' })).status, 200);
});

t.test('/healthz shows the host clock; an unsynchronised host makes verdicts say so', async (t) => {
  const { app, close } = await appWith({ hostClock: staticHostClock(HOST_UNSYNCED, 1_795_600_000_000) });
  t.teardown(close);
  const h = await call(app, { method: 'GET', url: '/healthz' });
  t.equal(h.status, 200);
  t.match(h.body, { status: 'ok', store: 'sqlite', auth: { reports: 'loopback-only', reads: 'open' }, host: { synchronized: false, daemon: 'chronyd', checkedAtMs: 1_795_600_000_000 } });
  t.match(h.body.host.note, /not NTP-synchronised/);
  const r = await call(app, post('/v1/reports', makeReport({ agentId: 'vm-1', atMs: Date.now() })));
  const offset = r.body.results[0].verdict.checks.find((c: { id: string }) => c.id === 'offset');
  t.equal(offset.status, 'warn');
  t.match(offset.reason, /reference unreliable/);
  t.equal(r.body.results[0].verdict.status, 'warning');
});

t.test('/metrics is valid Prometheus exposition with per-agent and collector series', async (t) => {
  const { app, close } = await appWith();
  t.teardown(close);
  const now = Date.now();
  await call(app, post('/v1/reports', makeReport({ agentId: 'vm-1', atMs: now - 10, offsetMs: 250, rtcOffsetS: 0.5 })));
  const odd = makeReport({ agentId: 'vm-2', hostname: 'web "2" \\ x', atMs: now - 10 });
  await call(app, post('/v1/reports', odd));
  await call(app, post('/v1/reports', { ...odd, clocksource: { current: 7 } }));
  await call(app, post('/v1/time', { t1: now }));
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const samples = parsePrometheus(res.body);
  const get = (name: string, labels: Record<string, string> = {}) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  t.equal(get('clockwatch_agent_offset_seconds', { agent: 'vm-1' }), 0.25);
  t.ok(Math.abs((get('clockwatch_agent_offset_uncertainty_seconds', { agent: 'vm-1' }) as number) - 0.000201) < 1e-6);
  t.ok(Math.abs((get('clockwatch_agent_rtc_offset_seconds', { agent: 'vm-1' }) as number) - 0.5) < 0.01);
  t.equal(get('clockwatch_agent_check_status', { agent: 'vm-1', check: 'offset', status: 'warn' }), 1, 'offset 250 ms warns');
  t.equal(get('clockwatch_agent_check_status', { agent: 'vm-1', check: 'clocksource', status: 'pass' }), 1);
  t.equal(get('clockwatch_agent_clocksource_info', { agent: 'vm-1', clocksource: 'kvm-clock' }), 1);
  t.equal(get('clockwatch_agent_status', { agent: 'vm-1', status: 'warning' }), 1);
  t.ok((get('clockwatch_agent_last_report_timestamp_seconds', { agent: 'vm-1' }) as number) > now / 1000 - 5);
  t.equal(get('clockwatch_agent_info', { agent: 'vm-2', hostname: 'web "2" \\ x' }), 1, 'label values escaped and read back');
  t.equal(get('clockwatch_fleet_agents', { status: 'warning' }), 1);
  t.equal(get('clockwatch_fleet_agents', { status: 'compliant' }), 1);
  t.equal(get('clockwatch_ingest_reports_total', { result: 'stored' }), 2);
  t.equal(get('clockwatch_ingest_rejected_total', { code: 'CW_ERR_VALIDATION' }), 1);
  t.equal(get('clockwatch_store_commit_reports_count'), 2);
  t.equal(get('clockwatch_ingest_request_duration_seconds_count', { result: 'ok' }), 2);
  t.equal(get('clockwatch_ingest_request_duration_seconds_count', { result: '400' }), 1);
  t.equal(get('clockwatch_time_requests_total'), 1);
  t.equal(get('clockwatch_host_ntp_synchronized', { daemon: 'chronyd' }), 1);
  t.equal(get('clockwatch_host_ntp_offset_seconds', { daemon: 'chronyd' }), 0.00001);
  t.equal(get('clockwatch_host_ntp_info', { daemon: 'chronyd', server: '10.0.0.1' }), 1);
});

t.test('/docs, unknown routes, malformed URLs', async (t) => {
  const { app, close } = await appWith();
  t.teardown(close);
  const docs = await call(app, { method: 'GET', url: '/docs' });
  t.equal(docs.status, 200);
  t.equal(docs.body.openapi, '3.0.3');
  for (const p of ['/v1/time', '/v1/reports', '/v1/agents', '/v1/agents/{id}', '/v1/agents/{id}/history', '/v1/compliance', '/healthz', '/metrics']) {
    t.ok(docs.body.paths[p], `documents ${p}`);
  }
  const nf = await call(app, { method: 'GET', url: '/v2/nothing' });
  t.equal(nf.status, 404);
  t.equal(nf.body.code, 'CW_ERR_ROUTE_NOT_FOUND');
  t.equal((await call(app, { method: 'DELETE', url: '/v1/agents' })).body.code, 'CW_ERR_ROUTE_NOT_FOUND');
  const bad = await call(app, { method: 'GET', url: '/v1/agents/%E0%A4%A' });
  t.equal(bad.status, 400);
  t.equal(bad.body.code, 'CW_ERR_BAD_REQUEST');
});

t.test('mutated reports never get a 5xx', async (t) => {
  const { app, close } = await appWith();
  t.teardown(close);
  // Deterministic pseudo-random mutations of a valid report: every leaf replaced, one at a time,
  // by values of other types and extreme values; all must be answered 200 or 4xx with a code.
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const values: unknown[] = [null, -1, 0, 1e308, -1e308, 4.1e12, 9.5e11, '', 'x'.repeat(300), 'Asia/Nowhere', true, [], {}, [1, 2], { error: { code: 'X', message: 'm' } }];
  const base = makeReport({ agentId: 'vm-fuzz', atMs: Date.now() });
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...path, Array.isArray(v) ? Number(k) : k]);
    paths.push(path);
  };
  walk(base, []);
  const statuses = new Map<number, number>();
  for (let i = 0; i < 400; i++) {
    const r = JSON.parse(JSON.stringify(base));
    r.reportId = `fuzz-${i}-abcdef`;
    const path = paths[Math.floor(rnd() * paths.length)] as (string | number)[];
    if (path.length === 0) continue;
    let o = r;
    for (const k of path.slice(0, -1)) o = o[k];
    o[path[path.length - 1] as string] = values[Math.floor(rnd() * values.length)];
    const res = await call(app, post('/v1/reports', i % 2 ? r : [r, base]));
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) t.fail(`5xx for ${path.join('.')}: ${JSON.stringify(res.body)}`);
  }
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  t.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0, 'both accepted and refused variants');
});

t.test('/v1/exports and /v1/libvirt without --export-dir and the libvirt options', async (t) => {
  const { app, close } = await appWith();
  t.teardown(close);
  for (const [method, url] of [['GET', '/v1/exports'], ['GET', '/v1/exports/clockwatch-x.csv'], ['POST', '/v1/exports']] as const) {
    const r = await call(app, { method, url });
    t.equal(r.status, 404, `${method} ${url}`);
    t.equal(r.body.code, 'CW_ERR_EXPORTS_NOT_CONFIGURED');
    t.match(r.body.message, /--export-dir/);
  }
  const lv = await call(app, { method: 'GET', url: '/v1/libvirt' });
  t.equal(lv.status, 404);
  t.equal(lv.body.code, 'CW_ERR_LIBVIRT_NOT_CONFIGURED');
  const docs = await app.inject({ method: 'GET', url: '/docs' });
  const paths = Object.keys(docs.json().paths);
  for (const p of ['/v1/exports', '/v1/exports/{name}', '/v1/libvirt']) t.ok(paths.includes(p), `${p} in the OpenAPI document`);
});

t.test('/v1/exports: run now, list, download; names that are not export files; one run at a time; failures', async (t) => {
  const dir = t.testdir({ 'notes.txt': 'not part of any export', '.hidden.csv': 'x' });
  const now = Date.now();
  const { app, close } = await appWith({ exports: { dir, schedule: false, keep: 5 } });
  t.teardown(close);
  for (const id of ['vm-exp-1', 'vm-exp-2']) {
    t.equal((await call(app, post('/v1/reports', makeReport({ agentId: id, atMs: now - 60_000, offsetMs: id.endsWith('2') ? 5000 : 1 })))).status, 200);
  }
  const period = { fromMs: now - 3_600_000, toMs: Math.floor(now) };
  const run = await call(app, post('/v1/exports', period));
  t.equal(run.status, 200, JSON.stringify(run.body));
  t.equal(run.body.period.fromMs, period.fromMs);
  t.same(run.body.files.map((f: { name: string }) => f.name.replace(/^.*\./, '')), ['csv', 'json', 'html']);
  t.equal(run.body.signature, null, 'no key, no signature');

  const list = await call(app, { method: 'GET', url: '/v1/exports' });
  t.equal(list.status, 200);
  t.equal(list.body.exports.length, 1);
  t.equal(list.body.exports[0].name, run.body.name);
  t.equal(list.body.running, false);
  t.equal(list.body.everyMs, 86_400_000);
  const { createHash } = await import('node:crypto');
  for (const f of list.body.exports[0].files as { name: string; url: string; sha256: string; bytes: number }[]) {
    const res = await app.inject({ method: 'GET', url: f.url });
    t.equal(res.statusCode, 200, f.url);
    t.equal(createHash('sha256').update(res.rawPayload).digest('hex'), f.sha256, `${f.name}: the bytes the manifest lists`);
    t.match(res.headers['content-type'], f.name.endsWith('.csv') ? /^text\/csv/ : f.name.endsWith('.json') ? /^application\/json/ : /^text\/html/);
    t.match(res.headers['content-disposition'], /^attachment; filename="/);
    t.equal(res.headers['x-content-type-options'], 'nosniff');
  }
  const csv = await app.inject({ method: 'GET', url: list.body.exports[0].files[0].url });
  t.match(csv.body, /^agent_id,hostname,/);
  t.match(csv.body, /\r\nvm-exp-2,.*,noncompliant,/, 'the agent 5 s ahead is non-compliant');
  const manifest = await call(app, { method: 'GET', url: list.body.exports[0].manifestUrl });
  t.equal(manifest.status, 200);
  t.equal(manifest.body.name, run.body.name, 'the manifest downloads too');

  // Anything that is not a file some manifest lists: 400 for names that are not one plain file name, 404 otherwise.
  const bad: [string, number, string][] = [
    ['/v1/exports/..%2F..%2Fetc%2Fpasswd', 400, 'CW_ERR_BAD_PARAM'],
    ['/v1/exports/..%2fclockwatch.db', 400, 'CW_ERR_BAD_PARAM'],
    ['/v1/exports/..%5C..%5Cwin.ini', 400, 'CW_ERR_BAD_PARAM'],
    ['/v1/exports/x%00.csv', 400, 'CW_ERR_BAD_PARAM'],
    ['/v1/exports/.hidden.csv', 400, 'CW_ERR_BAD_PARAM'],
    ['/v1/exports/notes.txt', 404, 'CW_ERR_EXPORT_NOT_FOUND'],
    ['/v1/exports/clockwatch-19700101T000000Z-19700102T000000Z.csv', 404, 'CW_ERR_EXPORT_NOT_FOUND'],
  ];
  for (const [url, status, code] of bad) {
    const r = await call(app, { method: 'GET', url });
    t.equal(r.status, status, url);
    t.equal(r.body.code, code, url);
    t.notMatch(JSON.stringify(r.body), /root:|not part of any export/, 'nothing of the file leaks');
  }
  for (const url of ['/v1/exports/../../etc/passwd', '/v1/exports/%2E%2E', '/v1/exports/%2E%2E%2Fclockwatch.db']) {
    const r = await call(app, { method: 'GET', url });
    t.ok(r.status === 404 || r.status === 400, `${url} never reaches a file (${r.status} ${r.body.code})`);
    t.notMatch(r.body.code, /^CW_ERR_EXPORT_NOT_FOUND$|^CW_ERR_INTERNAL$/);
  }

  // Bodies.
  for (const [body, why] of [
    [{ fromMs: now - 1000 }, 'one bound'],
    [{ fromMs: now, toMs: now - 1000 }, 'backwards'],
    [{ fromMs: now - 1000, toMs: now + 86_400_000 }, 'in the future'],
    [{ fromMs: now - 400 * 86_400_000, toMs: now - 1000 }, 'over a year'],
    [{ fromMs: 'yesterday', toMs: now }, 'not a number'],
    [{ format: 'xml' }, 'unknown property'],
  ] as const) {
    const r = await call(app, post('/v1/exports', body));
    t.equal(r.status, 400, why);
    t.equal(r.body.code, 'CW_ERR_VALIDATION', why);
  }
  const dflt = await call(app, { method: 'POST', url: '/v1/exports' });
  t.equal(dflt.status, 200, 'no body: the last full day');
  t.equal(dflt.body.period.toMs % 86_400_000, 0);
  t.equal(dflt.body.period.toMs - dflt.body.period.fromMs, 86_400_000);

  // Two at once: one runs, the other is told so.
  const both = await Promise.all([call(app, post('/v1/exports', period)), call(app, post('/v1/exports', period))]);
  t.same(both.map((r) => r.status).sort(), [200, 409]);
  t.equal(both.find((r) => r.status === 409)?.body.code, 'CW_ERR_EXPORT_IN_PROGRESS');

  // The directory cannot be written (it is a file): 500 with its code, and the collector goes on.
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const notADir = join(t.testdir(), 'file');
  writeFileSync(notADir, 'x');
  const broken = await appWith({ exports: { dir: notADir, schedule: false } });
  t.teardown(broken.close);
  const fail = await call(broken.app, post('/v1/exports', period));
  t.equal(fail.status, 500);
  t.equal(fail.body.code, 'CW_ERR_EXPORT_FAILED');
  t.equal((await call(broken.app, { method: 'GET', url: '/healthz' })).status, 200);
});

t.test('/v1/libvirt lists domains, their verdicts, and what has no partner', async (t) => {
  const { cpSync, readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { repoRoot } = await import('./helpers.js');
  const dir = t.testdir();
  const src = join(repoRoot, 'test', 'fixtures', 'libvirt');
  for (const f of readdirSync(src).filter((n) => n.endsWith('.xml'))) cpSync(join(src, f), join(dir, f));
  const { app, close } = await appWith({ libvirt: { xmlDir: dir } });
  t.teardown(close);
  await app.ready();
  const report = makeReport({ agentId: 'vm-nodomain', atMs: Date.now() - 100 });
  report.agent.systemUuid = '00000000-1111-4222-8333-444444444444';
  await call(app, post('/v1/reports', report));
  const r = await call(app, { method: 'GET', url: '/v1/libvirt' });
  t.equal(r.status, 200);
  t.equal(r.body.domains.length, 7, 'every fixture domain');
  t.equal(r.body.domainsWithoutAgent.length, 7);
  t.same(r.body.agentsWithoutDomain.map((a: { id: string }) => a.id), ['vm-nodomain']);
  t.same(r.body.errors, []);
  t.ok(r.body.refreshedAtMs > 0);
  const localtime = r.body.domains.find((d: { name: string }) => d.name === 'db-alma9');
  t.equal(localtime.check.status, 'fail', 'Linux (libosinfo) under offset=localtime');
  t.equal(localtime.check.familySource, 'libosinfo');
  t.match(localtime.check.recommendedXml, /^<clock offset='utc'>/);
});

t.test('runbooks: an unknown check id is a coded 404 (test/collector/runbooks.test.ts serves the rest)', async (t) => {
  const { app, close } = await appWith();
  t.teardown(close);
  const r = await call(app, { method: 'GET', url: '/docs/checks/no-such-check' });
  t.equal(r.status, 404);
  t.equal(r.body.code, 'CW_ERR_RUNBOOK_NOT_FOUND');
  t.equal((await call(app, { method: 'GET', url: '/docs/checks/rtc' })).status, 200);
});

t.test('identity binding, the admin right to run an export, a database file gone (issue 11)', async (t) => {
  const a = newToken();
  const b = newToken();
  const tokens = parseTokensText(`${a.line}\n${b.line}\n`);
  const dir = t.testdir();
  const { unlinkSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dbPath = join(dir, 'c.db');
  const { app, close } = await appWith({ agentTokens: tokens, dbPath, exports: { dir: join(dir, 'exports'), schedule: false } });
  t.teardown(close);
  const r = makeReport({ agentId: 'vm-owned', atMs: Date.now() - 100 });
  t.equal((await call(app, post('/v1/reports', r, { authorization: `Bearer ${a.token}` }))).status, 200, 'the first token owns vm-owned');
  const other = await call(app, post('/v1/reports', { ...r, reportId: 'other-report-1' }, { authorization: `Bearer ${b.token}` }));
  t.equal(other.status, 403);
  t.equal(other.body.code, 'CW_ERR_AGENT_BOUND');

  const remote = await call(app, { ...post('/v1/exports', {}), remoteAddress: '10.1.2.3' });
  t.equal(remote.status, 403, 'without --admin-tokens a remote client may not run an export');
  t.equal(remote.body.code, 'CW_ERR_ADMIN_REQUIRED');

  unlinkSync(dbPath);
  const gone = await call(app, post('/v1/reports', { ...r, reportId: 'after-unlink-1' }, { authorization: `Bearer ${a.token}` }));
  t.equal(gone.status, 503);
  t.equal(gone.body.code, 'CW_ERR_DB_GONE');
  t.equal((await call(app, { method: 'GET', url: '/healthz' })).status, 503, '/healthz fails');
});

t.test('every error code of the catalog is produced by some test above', async (t) => {
  // Server-side codes that no request can produce on purpose; CW_ERR_REQUEST_TIMEOUT needs a real
  // socket that stalls (test/fault/abusive.test.ts), which inject() has not.
  const untestable = new Set(['CW_ERR_INTERNAL', 'CW_ERR_SHUTTING_DOWN', 'CW_ERR_REQUEST_TIMEOUT']);
  const missing = ERROR_CODES.filter((c) => !untestable.has(c) && !seen.has(c));
  t.same(missing, [], 'codes never produced');
});
