/**
 * The database file's identity is looked at with one stat(2), throttled in SqliteStore.health():
 * before a report request the answer may be up to storeRecheckMs old, so the write itself must
 * find a file that went away in between, answer 503 CW_ERR_DB_GONE, commit nothing, and the
 * collector must still say so in exactly one error line (app.ts checkStore is its only logger).
 */
import t from 'tap';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { openSqliteStore } from '@clockwatch/collector';
import { appWith, makeReport, recordOf, sampleCount } from './helpers.js';

t.test('SqliteStore.health(): a throttled answer may be old, the write looks afresh', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'c.db');
  const store = openSqliteStore({ path });
  t.teardown(() => store.close());
  const now = Date.now();
  t.same(await store.write([recordOf(makeReport({ agentId: 'a', atMs: now - 1000 }), now)]), ['stored']);
  unlinkSync(path);
  t.same(store.health(60_000), { ok: true }, 'an answer up to a minute old: from the last look (the write just looked)');
  const fresh = store.health(0);
  t.equal(fresh.ok, false, 'a fresh look finds the file gone');
  t.match(fresh, { code: 'DB_GONE', message: /was deleted/ });
  t.same(store.health(60_000), fresh, 'and once gone it stays gone, throttled or not');
  await t.rejects(store.write([recordOf(makeReport({ agentId: 'a', atMs: now - 500 }), now)]), { code: 'CW_ERR_DB_GONE' });
  t.equal(sampleCount(store), 1, 'nothing was written to the file nobody will open again');
});

t.test('the check before the request said ok; the write finds the file gone: 503 CW_ERR_DB_GONE, logged once', async (t) => {
  const dir = t.testdir();
  const dbPath = join(dir, 'c.db');
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter((l) => l.length > 0));
      cb();
    },
  });
  // A minute: the check before each request answers from its first look, only the write looks again.
  const { app, store, close } = await appWith({ dbPath, storeRecheckMs: 60_000, storeCheckMs: 3_600_000, logger: { level: 'info', stream } });
  t.teardown(close);
  const post = (reportId: string) =>
    app.inject({ method: 'POST', url: '/v1/reports', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(makeReport({ agentId: 'vm', atMs: Date.now() - 100, reportId })), remoteAddress: '127.0.0.1' });
  t.equal((await post('before-0001')).statusCode, 200);
  unlinkSync(dbPath);
  t.equal(store.health(60_000).ok, true, 'the throttled answer still says ok');
  for (const id of ['after-0001', 'after-0002']) {
    const r = await post(id);
    t.equal(r.statusCode, 503, `${id}: not acknowledged`);
    t.equal(r.json().code, 'CW_ERR_DB_GONE', r.json().message);
    t.match(r.json().message, /was deleted/);
    t.equal(r.headers['retry-after'], '60', 'the agent is told when to retry');
  }
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 503, '/healthz fails');
  t.equal(sampleCount(store), 1, 'only the report before');
  const errors = lines.filter((l) => /"level":50/.test(l) && l.includes('CW_ERR_DB_GONE'));
  t.equal(errors.length, 1, `one error line: ${errors.join('\n')}`);
  t.notOk(lines.some((l) => l.includes('group commit failed')), 'not also as a failed group commit');
});
