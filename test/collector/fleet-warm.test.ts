/**
 * The collector renders the fleet's rows before it answers (app.ts warmFleetRows): the first
 * fleet view and the first /metrics scrape after a start read no row from the table and render
 * no row's JSON — they are answered from what the start-up put in the row cache
 * (store/sqlite-fleet-rows.ts), and they are the same answer a fresh read gives.
 */
import t from 'tap';
import { join } from 'node:path';
import { openSqliteStore } from '@clockwatch/collector';
import { appWith, makeReport, recordOf } from './helpers.js';

const N = 300;

t.test('the first fleet view and scrape after a start come from the rows rendered at start', async (t) => {
  const path = join(t.testdir(), 'fleet.db');
  const t0 = Date.now();
  const seed = openSqliteStore({ path });
  await seed.write(Array.from({ length: N }, (_, k) => recordOf(makeReport({ agentId: `vm-${String(k).padStart(3, '0')}`, hostname: `h-${k}`, atMs: t0 - 5_000 + k, intervalS: 60 }), t0 - 4_000 + k)));
  await seed.close();

  const store = openSqliteStore({ path });
  t.same(store.rowCacheStats(), { rows: 0, read: 0, rendered: 0 }, 'a store just opened holds no rows');
  const { app, close } = await appWith({ store, name: 'c1' });
  t.teardown(close);
  await app.ready();
  const warm = store.rowCacheStats();
  t.same(warm, { rows: N, read: N, rendered: N }, 'started: every row read and rendered once');

  const list = await app.inject({ url: '/v1/agents?limit=10000' });
  t.equal(list.statusCode, 200);
  t.equal((JSON.parse(list.body) as { agents: unknown[] }).agents.length, N, `${N} agents`);
  const metrics = await app.inject({ url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.same(store.rowCacheStats(), warm, 'the first fleet view and scrape read and rendered nothing more');

  // The same answer a fresh read gives (another connection, its own empty cache).
  const reader = openSqliteStore({ path, readonly: true });
  const fresh = await reader.listAgents({ nowMs: Date.now(), offset: 0, limit: 10_000 });
  await reader.close();
  t.same((JSON.parse(list.body) as { agents: unknown[] }).agents, JSON.parse(`[${fresh.rowsJson!().join(',')}]`), 'the rows a fresh read gives');
});

t.test('an empty store starts as before', async (t) => {
  const { app, store, close } = await appWith({});
  t.teardown(close);
  await app.ready();
  t.same(store.rowCacheStats(), { rows: 0, read: 0, rendered: 0 });
  t.equal((await app.inject({ url: '/v1/agents' })).statusCode, 200);
});
