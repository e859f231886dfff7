/**
 * The collector on PostgreSQL, faults of the store itself, with the real CLIs and a private cluster
 * (test/helpers/pg.ts): unreachable at start (one clear line naming --db, a non-zero exit), and
 * lost while running (ingest answers 503 CW_ERR_STORE, the agent keeps its spool, the collector
 * reconnects by itself once the server is back, and every report lands once, in order).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { makeReport } from '../collector/helpers.js';
import { clusterOrSkip, freshDatabase, reportIdsIn, startCluster, withDatabase } from '../helpers/pg.js';
import { baseEnv, collectorCli, fixtureRoot, spooled, startAgent, startCollector, waitFor } from './helpers.js';

const admin = clusterOrSkip(t);
if (admin) {
  t.test('PostgreSQL unreachable at start: one line naming --db, exit 2', async (t) => {
    const r = spawnSync(process.execPath, [collectorCli, 'serve', '--listen', '127.0.0.1:0', '--db', 'postgresql://cw:secret@localhost/none?host=/nonexistent'], { env: baseEnv(), encoding: 'utf8', timeout: 30_000 });
    t.equal(r.status, 2, 'non-zero exit');
    const lines = r.stderr.trim().split('\n');
    t.equal(lines.length, 1, `one line: ${r.stderr}`);
    t.match(lines[0], /--db: cannot open postgresql:\/\/cw:\*\*\*@localhost/, 'names the option, hides the password');
    t.notMatch(r.stderr + r.stdout, /secret/, 'the password is never printed');
  });

  t.test('PostgreSQL lost while running: 503 with a code, the agent spools, the collector reconnects, every report lands once', async (t) => {
    // A cluster of its own: this test stops and starts the server.
    const cluster = startCluster();
    t.teardown(() => cluster.stop());
    const adminC = new pg.Client({ connectionString: cluster.url });
    await adminC.connect();
    await adminC.query('CREATE DATABASE outage');
    await adminC.end();
    const url = withDatabase(cluster.url, 'outage');
    const c = await startCollector(t, { db: url, args: ['--rate-limit', '0'] });
    const dir = t.testdir();
    const spool = join(dir, 'spool');
    const id = 'pg-outage';
    const agent = startAgent(t, ['--collector', c.url, '--interval', '1', '--spool', spool, '--root', fixtureRoot('kvm-guest'), '--id', id, '--samples', '2', '--timeout-ms', '1000']);
    await waitFor('two reports stored', async () => (await reportIdsIn(url)).length >= 2, 30_000);

    cluster.pause();
    const res = await fetch(`${c.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(makeReport({ agentId: 'direct', reportId: 'during-outage-1', atMs: Date.now() })) });
    const body = (await res.json()) as { code: string };
    t.equal(res.status, 503, 'ingest answers 503 while the store is gone');
    t.equal(body.code, 'CW_ERR_STORE', 'with a stable code');
    await waitFor('the agent to spool during the outage', () => spooled(spool).length >= 3, 30_000);
    t.ok(c.alive(), 'the collector keeps running');

    cluster.resume();
    await waitFor('the spool to drain after the server is back', () => spooled(spool).length === 0, 40_000);
    const stop = await agent.kill('SIGTERM');
    t.equal(stop.code, 0);
    await new Promise((r) => setTimeout(r, 500));
    const rows = (await reportIdsIn(url)).filter((r) => r.agentId === id);
    t.equal(new Set(rows.map((r) => r.reportId)).size, rows.length, 'each report stored once');
    const seqs = rows.map((r) => r.seq);
    t.ok(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1), `in order without a gap: ${seqs.join(' ')}`);
    t.ok(rows.length >= 5, `${rows.length} reports, including those of the outage`);
    await c.kill('SIGTERM');
  });

}
