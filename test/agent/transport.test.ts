import t, { type Test } from 'tap';
import { Client } from 'undici';
import { backoffMs, deliverSpool, parseRetryAfterMs, pushReports, silentLogger, Spool, type PushOutcome } from '@clockwatch/agent';
import type { Report } from '@clockwatch/shared';
import { makeReport } from './helpers/reports.js';
import { startTestCollector, type TestCollector } from './helpers/test-collector.js';

async function setup(t: Test, n: number, opts: { token?: string } = {}) {
  const c = await startTestCollector();
  const client = new Client(c.url);
  t.teardown(async () => {
    await client.close();
    await c.close();
  });
  const spool = await Spool.open({ dir: t.testdir() });
  const reports: Report[] = [];
  for (let i = 0; i < n; i++) {
    const r = makeReport(await spool.nextSeq());
    reports.push(r);
    await spool.add(r);
  }
  const sleeps: number[] = [];
  const deliver = (o: { deadlineMs?: number; batchSize?: number } = {}) =>
    deliverSpool({
      spool,
      push: (rs) => pushReports(rs, { dispatcher: client, token: opts.token ?? null }),
      log: silentLogger,
      deadlineMs: o.deadlineMs ?? Date.now() + 600_000,
      batchSize: o.batchSize,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    });
  return { c, spool, reports, sleeps, deliver, client };
}

const ids = (rs: readonly Report[]) => rs.map((r) => r.reportId);

t.test('delivers the spool oldest first, in batches, and empties it', async (t) => {
  const { c, spool, reports, deliver } = await setup(t, 7);
  const d = await deliver({ batchSize: 3 });
  t.match(d, { status: 'done', sent: 7, rejected: 0 });
  t.same(c.pushes, [3, 3, 1]);
  t.same(ids(c.stored), ids(reports), 'in order');
  t.same(spool.counts(), { pending: 0, dropped: 0, rejected: 0 });
  t.equal(d.results.get(reports[0]!.reportId)?.stored, true);
});

t.test('5xx and network errors: backoff with jitter, then success', async (t) => {
  const { c, reports, sleeps, deliver } = await setup(t, 2);
  c.failures.push({ status: 503, code: 'CW_ERR_UNAVAILABLE' }, { status: 502, code: 'BAD_GATEWAY' });
  const d = await deliver();
  t.equal(d.status, 'done');
  t.same(sleeps, [750, 1500], 'equal jitter: half fixed, half random (random=0.5)');
  t.same(ids(c.stored), ids(reports));
});

t.test('429 Retry-After is honoured; beyond the deadline the spool waits for the next cycle', async (t) => {
  const { c, spool, sleeps, deliver } = await setup(t, 1);
  c.failures.push({ status: 429, code: 'CW_ERR_RATE', retryAfter: '3' });
  t.equal((await deliver()).status, 'done');
  t.same(sleeps, [3000]);

  c.failures.push({ status: 429, code: 'CW_ERR_RATE', retryAfter: '120' });
  await spool.add(makeReport(await spool.nextSeq()));
  const before = Date.now();
  const d = await deliver({ deadlineMs: Date.now() + 10_000 });
  t.equal(d.status, 'deferred');
  t.ok(d.notBeforeMs! >= before + 119_000, 'not before Retry-After');
  t.equal(spool.counts().pending, 1, 'kept');
});

t.test('collector refused connections: deferred after the retries, nothing lost', async (t) => {
  const { c, spool, sleeps, deliver } = await setup(t, 2);
  await c.down();
  const d = await deliver();
  t.equal(d.status, 'deferred');
  t.equal(sleeps.length, 4, 'four retries');
  t.ok(sleeps.every((ms, i) => i === 0 || ms > sleeps[i - 1]!), `growing: ${sleeps.join(', ')}`);
  t.match(d.lastError, /ECONNREFUSED/);
  t.equal(spool.counts().pending, 2);
});

t.test('a 4xx drops only the culprit (old collector: 400 for the batch, then one by one)', async (t) => {
  const { c, spool, reports, deliver } = await setup(t, 3);
  c.failures.push({ status: 400, code: 'CW_ERR_VALIDATION' }, { status: 400, code: 'CW_ERR_VALIDATION' });
  const d = await deliver();
  t.match(d, { status: 'done', sent: 2, rejected: 1 });
  t.same(c.pushes, [3, 1, 1, 1]);
  t.same(ids(c.stored), ids(reports.slice(1)));
  t.same(spool.counts(), { pending: 0, dropped: 0, rejected: 1 });
  t.match(d.lastError, /400 CW_ERR_VALIDATION/);
});

t.test('a 4xx per report in an array answer (IngestResponse.rejected) drops that report', async (t) => {
  const { c, spool, reports, deliver } = await setup(t, 3);
  c.refuse.add(reports[1]!.reportId);
  const d = await deliver();
  t.match(d, { status: 'done', sent: 2, rejected: 1 });
  t.same(c.pushes, [3], 'one request');
  t.same(ids(c.stored), [reports[0]!.reportId, reports[2]!.reportId]);
  t.equal(spool.counts().rejected, 1);
});

t.test('401: the token is wrong for every report, so all stay and nothing is retried in a loop', async (t) => {
  const { c, spool, deliver } = await setup(t, 2, { token: 'wrong' });
  c.requireToken = 'right';
  const d = await deliver();
  t.equal(d.status, 'auth');
  t.same(c.pushes, [2]);
  t.same(c.authorization, ['Bearer wrong']);
  t.same(spool.counts(), { pending: 2, dropped: 0, rejected: 0 });
});

t.test('a resend is harmless: the collector answers duplicate, the spool forgets it', async (t) => {
  const { c, spool, reports, client } = await setup(t, 1);
  t.equal((await pushReports(reports, { dispatcher: client })).kind, 'ok');
  const d = await deliverSpool({ spool, push: (rs) => pushReports(rs, { dispatcher: client }), log: silentLogger, deadlineMs: Date.now() + 10_000 });
  t.equal(d.results.get(reports[0]!.reportId)?.duplicate, true);
  t.equal(c.stored.length, 1);
  t.equal(c.duplicates, 1);
  t.equal(spool.counts().pending, 0);
});

t.test('stopping (SIGTERM): the request in flight goes, no retry and no further batch', async (t) => {
  const { c, spool } = await setup(t, 3);
  const client = new Client(c.url);
  t.teardown(() => client.close());
  c.failures.push({ status: 503, code: 'CW_ERR_UNAVAILABLE' });
  const d = await deliverSpool({ spool, push: (rs) => pushReports(rs, { dispatcher: client }), log: silentLogger, deadlineMs: Date.now() + 60_000, stopped: () => true, batchSize: 1 });
  t.equal(d.status, 'deferred');
  t.same(c.pushes, [1], 'one request, not retried');
  t.equal(spool.counts().pending, 3, 'kept for the next start');
  const ok = await deliverSpool({ spool, push: (rs) => pushReports(rs, { dispatcher: client }), log: silentLogger, deadlineMs: Date.now() + 60_000, stopped: () => true, batchSize: 1 });
  t.equal(ok.status, 'stopped');
  t.equal(ok.sent, 1, 'the first batch went, the others wait');
});

t.test('retry classification and helpers', async (t) => {
  t.equal(parseRetryAfterMs('120', 0), 120_000);
  t.equal(parseRetryAfterMs('Wed, 25 Nov 2026 12:00:30 GMT', Date.UTC(2026, 10, 25, 12, 0, 0)), 30_000);
  t.equal(parseRetryAfterMs('soon', 0), null);
  t.equal(parseRetryAfterMs('999999', 0), 3_600_000, 'capped');
  t.equal(backoffMs(0, () => 0), 500);
  t.equal(backoffMs(0, () => 1), 1000);
  t.equal(backoffMs(20, () => 1), 60_000);
  const c = await startTestCollector();
  const client = new Client(c.url);
  t.teardown(async () => {
    await client.close();
    await c.close();
  });
  const kinds: Array<[number, PushOutcome['kind']]> = [
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [401, 'auth'],
    [403, 'auth'],
    [400, 'reject'],
    [413, 'reject'],
    [422, 'reject'],
  ];
  for (const [status, kind] of kinds) {
    c.failures.push({ status, code: `X${status}` });
    const o = await pushReports([makeReport(1)], { dispatcher: client });
    t.equal(o.kind, kind, `${status} → ${kind}`);
    if (o.kind === 'reject') t.equal(o.code, `X${status}`, 'the collector code is kept');
  }
});
