/**
 * Issue 11, item 11: `prune` (the CLI, a second process) beside a `serve` under load waits for the
 * write lock (BEGIN IMMEDIATE + busy timeout), deletes in small transactions and succeeds, while
 * every report of the load is acknowledged. Before, it failed with "database is locked".
 */
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeReport } from '../collector/helpers.js';
import { cli, readDb, startCollector, waitFor } from './helpers.js';

const post = (url: string, body: unknown) => fetch(`${url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

t.test('prune beside a serve under load: waits, succeeds; every report of the load is acknowledged', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  let c = await startCollector(t, { db });
  t.equal((await post(c.url, makeReport({ agentId: 'old', atMs: Date.now() - 40 * 86_400_000 }))).status, 200);
  await c.kill('SIGTERM');
  // 60,000 samples 40 days old (copies of the real row), so that the prune has work to do.
  const OLD = 60_000;
  const w = new Database(db);
  w.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${OLD - 1})
     INSERT INTO samples (agent_key, at_ms, tie, seq, recv_d_ms, guest_d_ms, rid_h, content_h, static_key, flags, steps,
       offset_n, unc_n, rtc_n, ntp_off_n, ntp_last_sync_s, rid)
     SELECT agent_key, at_ms - i, tie, seq + i, recv_d_ms + i, guest_d_ms, rid_h + i, content_h + i, static_key, flags, steps,
       offset_n, unc_n, rtc_n, ntp_off_n, ntp_last_sync_s, report_id || '-' || i
     FROM samples, n`,
  ).run();
  w.close();

  c = await startCollector(t, { db, args: ['--rate-limit', '0'] });
  let stop = false;
  const statuses = new Map<number, number>();
  const load = Array.from({ length: 6 }, async (_, k) => {
    let seq = 0;
    while (!stop) {
      const batch = Array.from({ length: 20 }, () => makeReport({ agentId: `load-${k}`, seq: seq++, atMs: Date.now() - 100 }));
      const r = await post(c.url, batch);
      await r.arrayBuffer();
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
  });
  await waitFor('the load to run', () => (statuses.get(200) ?? 0) >= 20);
  const pruned = await cli(['prune', '--db', db, '--retention-days', '30']);
  stop = true;
  await Promise.all(load);
  t.equal(pruned.code, 0, `prune succeeds beside the loaded serve: ${pruned.stderr.trim()}`);
  t.match(pruned.stdout, new RegExp(`pruned .*: ${OLD} samples`), pruned.stdout.trim());
  t.same([...statuses.keys()], [200], `every request of the load was acknowledged: ${JSON.stringify([...statuses])}`);
  t.equal(readDb(db, (d) => d.prepare('SELECT count(*) FROM samples WHERE at_ms < ?').pluck().get(Date.now() - 30 * 86_400_000)), 0, 'nothing old is left');
  await c.kill('SIGTERM');
});
