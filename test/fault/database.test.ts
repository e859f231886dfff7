/**
 * Issue 11, items 9, 10 and 11: the database file under a running collector, with the real CLI.
 * - 9: the file deleted (or replaced) while `serve` runs: reports get 503 CW_ERR_DB_GONE (the agent
 *   keeps its spool), /healthz fails, one error line says why;
 * - 10: a second `serve` on the same file refuses to start with one line and a non-zero exit, while
 *   `status`, `export` and an online backup work beside the first; after a SIGKILL the lock is gone;
 * Item 11 (prune beside a loaded serve) is test/fault/prune-under-load.test.ts.
 */
import t from 'tap';
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeReport } from '../collector/helpers.js';
import { cli, fixtureRoot, readDb, spooled, startAgent, startCollector, waitFor } from './helpers.js';

const post = (url: string, body: unknown) => fetch(`${url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });


for (const how of ['deleted', 'replaced'] as const) {
  t.test(`the database file ${how} under a running serve: 503 CW_ERR_DB_GONE, /healthz fails, logged; the agent keeps its report`, async (t) => {
    const dir = t.testdir();
    const db = join(dir, 'c.db');
    const c = await startCollector(t, { db });
    t.equal((await post(c.url, makeReport({ agentId: 'before', atMs: Date.now() - 100 }))).status, 200, 'stored before');
    if (how === 'deleted') {
      for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    } else {
      copyFileSync(db, join(dir, 'copy.db'));
      renameSync(join(dir, 'copy.db'), db);
    }
    // Detected on the next write, whatever the watchdog's timing.
    const r = await post(c.url, makeReport({ agentId: 'after', atMs: Date.now() - 100 }));
    t.equal(r.status, 503, 'a report is not acknowledged');
    const body = (await r.json()) as { code: string; message: string };
    t.equal(body.code, 'CW_ERR_DB_GONE', body.message);
    t.match(body.message, how === 'deleted' ? /was deleted/ : /was replaced/);
    const h = await fetch(`${c.url}/healthz`);
    t.equal(h.status, 503, '/healthz fails');
    t.equal(((await h.json()) as { code: string }).code, 'CW_ERR_DB_GONE');
    await waitFor('the error line', () => /"level":50[^\n]*CW_ERR_DB_GONE/.test(c.out()));
    t.equal(c.out().match(/"level":50[^\n]*CW_ERR_DB_GONE/g)?.length, 1, 'logged once');

    const spool = join(dir, 'spool');
    const a = startAgent(t, ['--once', '--collector', c.url, '--spool', spool, '--root', fixtureRoot('kvm-guest'), '--id', 'agent-during', '--samples', '2', '--timeout-ms', '1000']);
    const exit = await a.exited;
    t.not(exit.code, 0, 'the agent says its report was not delivered');
    t.equal(spooled(spool).length, 1, 'and keeps it in its spool');
    await c.kill('SIGTERM');
  });
}

t.test('a second serve on one database refuses to start; status, export and a backup work beside the first; SIGKILL frees the lock', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  const c = await startCollector(t, { db });
  t.equal((await post(c.url, makeReport({ agentId: 'one', atMs: Date.now() - 100 }))).status, 200);

  const second = await cli(['serve', '--db', db, '--listen', '127.0.0.1:0'], 20_000);
  t.not(second.code, 0, 'the second serve exits non-zero');
  t.equal(second.stderr.trim().split('\n').length, 1, `with one line: ${second.stderr.trim()}`);
  t.match(second.stderr, /another clockwatch-collector serve is running on/);
  t.ok(c.alive(), 'the first keeps running');
  t.equal((await post(c.url, makeReport({ agentId: 'two', atMs: Date.now() - 100 }))).status, 200, 'and keeps storing');

  const status = await cli(['status', '--db', db, '--json']);
  t.equal(status.code, 0, `status works beside it ${status.stderr}`);
  t.match(status.stdout, /"two"/);
  const exp = await cli(['export', '--db', db, '--format', 'json', '--from', String(Date.now() - 3_600_000), '--to', String(Date.now())]);
  t.equal(exp.code, 0, `export works beside it ${exp.stderr}`);
  t.match(exp.stdout, /"one"/);
  const src = new Database(db, { readonly: true });
  await src.backup(join(dir, 'backup.db'));
  src.close();
  t.equal(readDb(join(dir, 'backup.db'), (d) => d.prepare('SELECT count(*) FROM samples').pluck().get()), 2, 'an online backup has both reports');

  await c.kill('SIGKILL');
  const again = await startCollector(t, { db });
  t.equal((await post(again.url, makeReport({ agentId: 'three', atMs: Date.now() - 100 }))).status, 200, 'after SIGKILL a new serve starts on the file');
  t.ok(existsSync(`${db}.serve-lock`), 'the lock file is next to the database');
  await again.kill('SIGTERM');
});
