/**
 * The collector on PostgreSQL under load and shared, with the real CLIs and a private cluster
 * (test/helpers/pg.ts): SIGKILL under load (every acknowledged report is stored, re-sends store
 * nothing twice), and two collectors on one database with real agents reporting to each (both
 * answer the same fleet; each agent is kept with the collector that measured it).
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
  t.test('two collectors, one database: real agents report to each, both views equal', async (t) => {
    const url = await freshDatabase(t, admin);
    const a = await startCollector(t, { db: url, args: ['--name', 'host-a'] });
    const b = await startCollector(t, { db: url, args: ['--name', 'host-b', '--metrics-scope', 'fleet'] });
    const dir = t.testdir();
    const run = async (c: { url: string }, id: string) => {
      const ag = startAgent(t, ['--once', '--collector', c.url, '--spool', join(dir, id), '--root', fixtureRoot('kvm-guest'), '--id', id, '--samples', '2']);
      const e = await ag.exited;
      t.equal(e.code, 0, `${id}: --once accepted`);
      if (e.code !== 0) t.comment(ag.out());
    };
    await run(a, 'guest-on-a1');
    await run(a, 'guest-on-a2');
    await run(b, 'guest-on-b1');
    const view = async (c: { url: string }) => (await (await fetch(`${c.url}/v1/agents`)).json()) as { agents?: { id: string; status: string; checks: unknown }[]; rows?: unknown[] };
    const va = await view(a);
    const vb = await view(b);
    const rowsOf = (v: Record<string, unknown>) => (v.agents ?? v.rows ?? v.items) as { id: string; status: string; checks: unknown; lastSeenMs: number }[];
    t.same(rowsOf(va).map((r) => r.id).sort(), ['guest-on-a1', 'guest-on-a2', 'guest-on-b1'], 'collector a answers the whole fleet');
    t.same(
      rowsOf(va).map((r) => [r.id, r.status, r.checks]),
      rowsOf(vb).map((r) => [r.id, r.status, r.checks]),
      'collector b answers the same fleet with the same verdicts',
    );
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const measured = (await c.query('SELECT agent_id, collector FROM agent_latest ORDER BY agent_id')).rows;
    await c.end();
    t.same(measured, [
      { agent_id: 'guest-on-a1', collector: 'host-a' },
      { agent_id: 'guest-on-a2', collector: 'host-a' },
      { agent_id: 'guest-on-b1', collector: 'host-b' },
    ], 'each agent is kept with the collector that measured it');
    const cols = (await (await fetch(`${b.url}/v1/collectors`)).json()) as { store: string; collectors: { name: string; self: boolean; hostSynchronized: boolean | null }[] };
    t.equal(cols.store, 'postgres');
    t.same(cols.collectors.map((x) => [x.name, x.self]).sort(), [['host-a', false], ['host-b', true]], "every collector of the fleet is listed, with its own NTP state");
    const agentsIn = async (c: { url: string }) =>
      [...(await (await fetch(`${c.url}/metrics`)).text()).matchAll(/^clockwatch_agent_info\{agent="([^"]+)"[^}]*collector="([^"]+)"/gm)].map((m) => `${m[1]}@${m[2]}`).sort();
    t.same(await agentsIn(a), ['guest-on-a1@host-a', 'guest-on-a2@host-a'], '/metrics of a collector: the agents it measured (--metrics-scope own, the default)');
    t.same(await agentsIn(b), ['guest-on-a1@host-a', 'guest-on-a2@host-a', 'guest-on-b1@host-b'], '/metrics with --metrics-scope fleet: the whole fleet');
    await a.kill('SIGTERM');
    await b.kill('SIGTERM');
  });

  t.test('SIGKILL under load on PostgreSQL: nothing acknowledged is lost, re-sends store once', async (t) => {
    const url = await freshDatabase(t, admin);
    const sent = new Map<string, string>();
    let k = 0;
    const newBody = () => {
      const n = k % 3 === 0 ? 3 : 1;
      const reports = Array.from({ length: n }, (_, i) => makeReport({ agentId: `pgk-${k % 10}`, reportId: `pgkill-${k}-${i}-${process.pid}`, seq: k * 3 + i, atMs: Date.now() - 1000 + i }));
      k++;
      const body = JSON.stringify(n === 1 ? reports[0] : reports);
      for (const r of reports) sent.set(r.reportId, body);
      return { body, ids: reports.map((r) => r.reportId) };
    };
    for (let round = 0; round < 2; round++) {
      const c = await startCollector(t, { db: url, args: ['--rate-limit', '0'] });
      const pool = new Pool(c.url, { connections: 8 });
      const acked = new Set<string>();
      const unacked: { body: string; ids: string[] }[] = [];
      let killed = false;
      const killAt = 100 + round * 80;
      const worker = async () => {
        for (let i = 0; i < 1000 && !killed; i++) {
          const s = newBody();
          try {
            const res = await pool.request({ method: 'POST', path: '/v1/reports', headers: { 'content-type': 'application/json' }, body: s.body });
            const reply = (await res.body.json()) as { results?: { reportId: string }[] };
            if (res.statusCode !== 200) {
              unacked.push(s);
              continue;
            }
            for (const r of reply.results ?? []) acked.add(r.reportId);
            if (!killed && acked.size >= killAt) {
              killed = true;
              c.child.kill('SIGKILL');
            }
          } catch {
            unacked.push(s);
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const exit = await c.exited;
      await pool.destroy();
      t.equal(exit.signal, 'SIGKILL', `round ${round + 1}: killed after ${acked.size} acknowledgements`);
      const stored = new Set((await reportIdsIn(url)).map((r) => r.reportId));
      t.same([...acked].filter((id) => !stored.has(id)), [], `round ${round + 1}: every acknowledged report is stored`);
      const c2 = await startCollector(t, { db: url, args: ['--rate-limit', '0'] });
      for (const s of unacked) {
        const res = await fetch(`${c2.url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: s.body });
        if (res.status !== 200) t.fail(`re-send answered ${res.status}`);
        await res.arrayBuffer();
      }
      const rows = await reportIdsIn(url);
      t.equal(new Set(rows.map((r) => r.reportId)).size, rows.length, 'no report stored twice');
      t.equal(rows.length, sent.size, `every one of the ${sent.size} reports sent is stored exactly once`);
      await c2.kill('SIGTERM');
    }
  });
}
