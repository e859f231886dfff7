/**
 * The writer's whole-fleet listing through its row cache (store/sqlite-fleet-rows.ts), as /metrics
 * reads it every scrape, is always what a fresh connection reads by SQL at the same instant —
 * after a few agents report (read by key), after many report (one pass), after another connection
 * to the file writes rows and a new agent, when agents go stale with time alone, and when prune
 * forgets agents — and a row whose state and status did not change is the previous answer's very
 * object (the metrics renderer skips those by identity).
 */
import t from 'tap';
import { join } from 'node:path';
import { openSqliteStore, type AgentSummary } from '@clockwatch/collector';
import { makeReport, recordOf } from './helpers.js';

t.test('the whole-fleet listing follows every change and keeps what did not change', async (t) => {
  const path = join(t.testdir(), 'store.db');
  const store = openSqliteStore({ path });
  t.teardown(() => store.close());
  const t0 = Date.now();
  const id = (k: number) => `agent-${String(k).padStart(3, '0')}`;
  const report = (k: number, atMs: number, offsetMs = k / 10) => recordOf(makeReport({ agentId: id(k), hostname: `h-${k}`, atMs, offsetMs, intervalS: 60 }), atMs + 50);
  await store.write(Array.from({ length: 200 }, (_, k) => report(k, t0 - 60_000 + k)));

  let prev: { rows: AgentSummary[] } | null = null;
  const check = async (label: string, nowMs: number) => {
    const before = prev;
    const got = await store.listAgents({ nowMs, offset: 0, limit: 100_000 });
    // A fresh render: another connection's SQL path, with its own empty cache.
    const reader = openSqliteStore({ path, readonly: true });
    const want = (await reader.listAgents({ nowMs, offset: 0, limit: 100_000 })).rows;
    await reader.close();
    t.same(got.rows, want, `${label}: = a fresh read`);
    t.equal(got.rows.length, want.length, `${label}: ${want.length} agents`);
    prev = got;
    if (!before) return { kept: 0, read: got.rows.length };
    const old = new Set(before.rows);
    const kept = got.rows.filter((r) => old.has(r)).length;
    return { kept, read: got.rows.length - kept };
  };

  t.same(await check('first call', t0), { kept: 0, read: 200 });
  t.same(await check('nothing changed', t0), { kept: 200, read: 0 }, 'every row the same object');

  await store.write([3, 50, 199].map((k) => report(k, t0 + 1000, -k)));
  t.same(await check('three reported (read by key)', t0 + 2000), { kept: 197, read: 3 });

  await store.write(Array.from({ length: 100 }, (_, i) => report(i * 2, t0 + 3000, i)));
  t.same(await check('a hundred reported (one pass)', t0 + 4000), { kept: 100, read: 100 });

  // Another connection to the same file: its versions come from its own counter.
  const other = openSqliteStore({ path });
  await other.write([report(7, t0 + 5000, 99), report(8, t0 + 5000, 98), recordOf(makeReport({ agentId: 'agent-new', atMs: t0 + 5000 }), t0 + 5050)]);
  await other.close();
  t.same(await check('another connection wrote two rows and a new agent', t0 + 6000), { kept: 198, read: 3 });

  // Time alone: the agents that did not report since t0 - 60 s go stale (status and the reporting check).
  const later = t0 + 30 * 60_000;
  const stale = await check('half an hour later, nobody reported', later);
  t.ok(prev!.rows.every((r) => r.status === 'stale'), 'all stale');
  t.same(stale, { kept: 0, read: 201 }, 'a row whose status changed is a new object');
  t.same(await check('and again', later), { kept: 201, read: 0 });

  // Prune forgets the agents not seen since a time: they leave the answer.
  await store.write([report(10, later, 1), report(11, later, 2)]);
  const pruned = await store.prune({ samplesBeforeMs: later - 1000, rollupsBeforeMs: later - 1000 });
  t.equal(pruned.agents, 199, 'prune forgot 199 agents');
  t.same(await check('after prune', later + 1000), { kept: 0, read: 2 });
  t.same(prev!.rows.map((r) => r.id), [id(10), id(11)]);
  t.same(await check('limit', later + 1000), { kept: 2, read: 0 });
  t.same((await store.listAgents({ nowMs: later + 1000, offset: 0, limit: 1 })).rows.map((r) => r.id), [id(10)], 'at most limit rows');
});
