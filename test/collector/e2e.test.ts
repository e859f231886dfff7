/**
 * End to end over real HTTP: a collector listening on 127.0.0.1:0 over a SQLite file, an undici
 * client doing the time exchange on a kept-alive connection and posting reports, the API queried,
 * the collector restarted on the same file.
 */
import t from 'tap';
import { join } from 'node:path';
import { Pool } from 'undici';
import { newToken, parseTokensText } from '@clockwatch/collector';
import type { Sample } from '@clockwatch/shared';
import Database from 'better-sqlite3';
import { anchoredClock, appWith, FIXTURE_BASE_MS, loadCase, makeReport, recordOf, sampleCount, shift } from './helpers.js';

async function start(dbPath: string, tokensText: string) {
  const h = await appWith({ dbPath, agentTokens: parseTokensText(tokensText) });
  const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
  const pool = new Pool(address, { connections: 2 });
  const json = async (method: 'GET' | 'POST', path: string, body?: unknown, token?: string) => {
    const res = await pool.request({
      method,
      path,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.statusCode, body: (await res.body.json()) as any };
  };
  return {
    ...h,
    address,
    json,
    async stop() {
      await pool.close();
      await h.close();
    },
  };
}

t.test('collector over HTTP with a SQLite file', async (t) => {
  const dir = t.testdir();
  const dbPath = join(dir, 'data', 'clockwatch.db');
  const fleet = newToken('vm-local-*');
  const other = newToken('vm-remote-*');
  const tokens = `# agents of this host\n${fleet.line}\n${other.line}\n`;
  let c = await start(dbPath, tokens);
  t.teardown(() => c.stop());

  // A real time exchange: eight samples on one kept-alive connection, as the agent does.
  const now = anchoredClock();
  const samples: Sample[] = [];
  for (let i = 0; i < 8; i++) {
    const t1 = now();
    const r = await c.json('POST', '/v1/time', { t1 });
    const t4 = now();
    t.equal(r.status, 200);
    samples.push({ t1, t2: r.body.t2, t3: r.body.t3, t4 });
  }
  const ok = makeReport({ agentId: 'vm-local-ok', atMs: Date.now() });
  ok.timeProbe = { samples, resolutionMs: 0.001 };
  ok.systemTime.epochMs = now();

  // The RTC-in-local-time guest (fixture), moved to now.
  const sh = shift(loadCase('rtc-localtime-shanghai').report, Date.now() - FIXTURE_BASE_MS - 100);
  sh.agent.id = 'vm-local-sh';

  // Auth: missing 401, unknown 401, token bound to other agents 403; none writes a row.
  t.equal((await c.json('POST', '/v1/reports', sh)).status, 401);
  t.equal((await c.json('POST', '/v1/reports', sh, newToken().token)).status, 401);
  const forbidden = await c.json('POST', '/v1/reports', sh, other.token);
  t.equal(forbidden.status, 403);
  t.equal(forbidden.body.code, 'CW_ERR_FORBIDDEN');
  t.equal(sampleCount(c.store), 0, 'no row written by refused requests');
  t.equal((await c.json('GET', '/v1/agents')).body.total, 0);

  const r1 = await c.json('POST', '/v1/reports', ok, fleet.token);
  t.equal(r1.status, 200);
  const m = r1.body.results[0];
  // Both clocks are this machine's OS clock: the true offset is 0, so the bound must hold it
  // (plus the two sub-ms anchors' own error, ≤ 0.02 ms each).
  t.ok(Math.abs(m.offsetMs) <= m.uncertaintyMs + 0.05, `|offset| ${m.offsetMs.toFixed(4)} ms ≤ uncertainty ${m.uncertaintyMs.toFixed(4)} ms`);
  t.ok(m.uncertaintyMs < 5, 'loopback uncertainty is small');
  t.equal(m.verdict.status, 'compliant');

  const r2 = await c.json('POST', '/v1/reports', sh, fleet.token);
  t.equal(r2.status, 200);
  const v = r2.body.results[0].verdict;
  t.equal(v.status, 'noncompliant');
  const rtc = v.checks.find((x: { id: string }) => x.id === 'rtc');
  t.equal(rtc.status, 'fail');
  t.match(rtc.reason, /keeps the guest's local time/);
  t.match(rtc.reason, /<clock offset='utc'>/);

  // Duplicate delivery (the spool resends both in an array): stored once.
  const again = await c.json('POST', '/v1/reports', [ok, sh], fleet.token);
  t.equal(again.status, 200);
  t.same(again.body.results.map((x: { duplicate: boolean }) => x.duplicate), [true, true]);
  t.same(again.body.rejected, []);
  t.equal(sampleCount(c.store), 2);

  const list = await c.json('GET', '/v1/agents');
  t.same(list.body.agents.map((a: { id: string; status: string }) => [a.id, a.status]), [
    ['vm-local-ok', 'compliant'],
    ['vm-local-sh', 'noncompliant'],
  ]);
  const detail = await c.json('GET', '/v1/agents/vm-local-sh');
  t.match(detail.body.verdict.checks.find((x: { id: string }) => x.id === 'rtc').reason, /local time.*<clock offset='utc'>/);
  t.ok(Math.abs(detail.body.agent.rtcOffsetS - 28800) < 1);
  const history = (await c.json('GET', '/v1/agents/vm-local-ok/history')).body;
  t.equal(history.points.length, 1);
  const fleetBefore = list.body;

  // Restart on the same file: the same history and fleet, and the duplicate is still known.
  await c.stop();
  c = await start(dbPath, tokens);
  t.same((await c.json('GET', '/v1/agents/vm-local-ok/history')).body.points, history.points, 'same history after restart');
  const after = (await c.json('GET', '/v1/agents')).body;
  t.same(after.agents.map((a: { id: string; offsetMs: number }) => [a.id, a.offsetMs]), fleetBefore.agents.map((a: { id: string; offsetMs: number }) => [a.id, a.offsetMs]));
  t.match((await c.json('POST', '/v1/reports', sh, fleet.token)).body.results[0], { duplicate: true, stored: false });
  t.equal(sampleCount(c.store), 2);
});

t.test('many concurrent requests share group commits; every reply follows its commit', async (t) => {
  const dbPath = join(t.testdir(), 'gc.db');
  const c = await (async () => {
    const h = await appWith({ dbPath });
    const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
    return { ...h, address };
  })();
  const pool = new Pool(c.address, { connections: 20 });
  // A second connection sees only committed rows.
  const reader = new Database(dbPath, { readonly: true });
  const committed = reader.prepare('SELECT 1 FROM samples WHERE report_id = ?');
  t.teardown(async () => {
    reader.close();
    await pool.close();
    await c.close();
  });
  const n = 200;
  const now = Date.now();
  const reports = Array.from({ length: n }, (_, i) => makeReport({ agentId: `vm-${i % 40}`, atMs: now - n + i }));
  const results = await Promise.all(
    reports.map(async (r) => {
      const res = await pool.request({ method: 'POST', path: '/v1/reports', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r) });
      const body = (await res.body.json()) as { results: { reportId: string; stored: boolean }[] };
      // When the reply arrives, the row is already committed (visible to another connection).
      return { status: res.statusCode, id: body.results[0]?.reportId, committed: committed.get(r.reportId) !== undefined };
    }),
  );
  t.ok(results.every((r) => r.status === 200 && r.committed), 'all 200, all committed before the reply');
  t.equal(sampleCount(c.store), n);
  const metrics = await c.app.inject({ method: 'GET', url: '/metrics' });
  const count = Number(/^clockwatch_store_commit_reports_count (\d+)$/m.exec(metrics.body)?.[1]);
  t.ok(count < n, `${n} reports in ${count} transactions`);
});


t.test('automatic pruning runs on its timer', async (t) => {
  const { app, store, close } = await appWith({
    dbPath: join(t.testdir(), 'prune.db'),
    retention: { retentionDays: 30, rollupRetentionDays: 400, everyMs: 60_000, firstAfterMs: 20 },
  });
  t.teardown(close);
  // Written before the app is ready (the timer starts when it is).
  const now = Date.now();
  const old = recordOf(makeReport({ agentId: 'vm-1', atMs: now - 31 * 86_400_000 }), now - 1000);
  const fresh = recordOf(makeReport({ agentId: 'vm-1', atMs: now - 1000 }), now - 900);
  t.same(await store.write([old, fresh]), ['stored', 'stored']);
  t.equal(sampleCount(store), 2);
  await app.ready();
  const until = Date.now() + 5000;
  while (sampleCount(store) > 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  t.equal(sampleCount(store), 1, 'the sample older than 30 days was pruned');
  const rollups = (await app.inject({ method: 'GET', url: '/v1/agents/vm-1/rollups?from=0' })).json().rollups;
  t.equal(rollups.length, 2, 'its hourly rollup is kept');
});
