/**
 * The store contract on PostgreSQL (a private cluster, test/helpers/pg.ts), plus what is its own:
 * daily partitions and retention by partition, idempotency across two collectors sharing one
 * database, and the migration run once when collectors start together.
 */
import t from 'tap';
import pg from 'pg';
import { openPostgresStore, type PostgresStore } from '@clockwatch/collector';
import { storeContract } from './store-contract.js';
import { makeReport, recordOf } from './helpers.js';
import { clusterOrSkip, freshDatabase, twoCollectors } from '../helpers/pg.js';

const admin = clusterOrSkip(t);
if (admin) {
  storeContract(t, 'postgresql', async (t) => {
    const url = await freshDatabase(t, admin);
    let store: PostgresStore = await openPostgresStore({ url, collector: 'host-a' });
    t.teardown(() => store.close());
    return {
      store,
      async reopen() {
        await store.close();
        store = await openPostgresStore({ url, collector: 'host-a' });
        return store;
      },
    };
  });

  const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
  const DAY = 86_400_000;

  t.test('samples live in daily partitions and retention drops whole ones', async (t) => {
    const url = await freshDatabase(t, admin);
    const store = await openPostgresStore({ url });
    t.teardown(() => store.close());
    const recs = [0, 1, 2, 3].map((d) => recordOf(makeReport({ agentId: 'vm-a', atMs: T0 + d * DAY, offsetMs: d }), T0 + d * DAY + 100));
    t.same(await store.write(recs), ['stored', 'stored', 'stored', 'stored']);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    t.teardown(() => c.end());
    const parts = async () =>
      (await c.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'samples' ORDER BY 1")).rows.map((r) => r.relname);
    t.same(await parts(), ['samples_d20261120', 'samples_d20261121', 'samples_d20261122', 'samples_d20261123'], 'one partition per day');
    const r = await store.prune({ samplesBeforeMs: T0 + 2 * DAY, rollupsBeforeMs: T0 - DAY });
    t.equal(r.samples, 2);
    t.same(await parts(), ['samples_d20261122', 'samples_d20261123'], 'whole days before the cutoff are dropped');
    t.equal((await store.stats()).samples, 2);
    // A late report for a dropped day gets its partition back.
    t.same(await store.write([recordOf(makeReport({ agentId: 'vm-a', atMs: T0, offsetMs: 9 }), T0 + 4 * DAY)]), ['stored']);
    t.equal((await store.stats()).samples, 3);
  });

  t.test('two collectors on one database: one fleet, idempotency fleet-wide, the measuring collector kept', async (t) => {
    const url = await freshDatabase(t, admin);
    // Both start at once: the migration runs once (advisory lock).
    const [a, b] = await Promise.all([openPostgresStore({ url, collector: 'host-a' }), openPostgresStore({ url, collector: 'host-b' })]);
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    const r1 = recordOf(makeReport({ agentId: 'vm-1', atMs: T0, offsetMs: 1, reportId: 'spooled-0001' }), T0 + 100);
    // The same spooled report reaches both collectors at the same moment.
    const [oa, ob] = await Promise.all([a.write([r1]), b.write([r1])]);
    t.same([...oa, ...ob].sort(), ['duplicate', 'stored'], 'stored once, the other answers duplicate');
    t.same(await b.write([{ ...r1, contentHash: 'e'.repeat(64) }]), ['conflict'], 'different content under the same id is a conflict on any collector');
    await b.write([recordOf(makeReport({ agentId: 'vm-2', atMs: T0, offsetMs: 2 }), T0 + 100)]);
    const va = await a.listAgents({ nowMs: T0 + 1000, offset: 0, limit: 10 });
    const vb = await b.listAgents({ nowMs: T0 + 1000, offset: 0, limit: 10 });
    t.same(va, vb, 'both collectors answer the same fleet');
    t.same(va.rows.map((r) => [r.id, (r as { collector?: string }).collector]).sort(), [
      ['vm-1', oa[0] === 'stored' ? 'host-a' : 'host-b'],
      ['vm-2', 'host-b'],
    ]);
    await a.recordCollector({ nowMs: T0, hostSynchronized: false });
    await b.recordCollector({ nowMs: T0, hostSynchronized: true });
    t.same(await a.collectors(), [
      { name: 'host-a', lastSeenMs: T0, hostSynchronized: false },
      { name: 'host-b', lastSeenMs: T0, hostSynchronized: true },
    ], "each collector's own NTP state is kept");
    // Exports and retention once per period: the lock is exclusive across collectors.
    let inner: unknown = null;
    const outer = await a.withExclusive('exports', async () => {
      inner = await b.withExclusive('exports', async () => 'b ran');
      return 'a ran';
    });
    t.same(outer, { ran: true, value: 'a ran' });
    t.same(inner, { ran: false }, 'the other collector does not run it at the same time');
    t.same(await b.withExclusive('exports', async () => 'b ran'), { ran: true, value: 'b ran' }, 'and runs it once the lock is free');
  });

  t.test('a new agent first written by two collectors at once: both reports stored once, the newest is the latest', async (t) => {
    const { url, a, b } = await twoCollectors(t, admin);
    const rounds = 25;
    for (let i = 0; i < rounds; i++) {
      // The agent's spool went to both hosts: seq 1 reaches one collector, seq 2 the other, at once.
      const id = `new-${i}`;
      const older = recordOf(makeReport({ agentId: id, atMs: T0 + i * 1000, offsetMs: 1, seq: 1 }), T0 + i * 1000 + 100);
      const newer = recordOf(makeReport({ agentId: id, atMs: T0 + i * 1000 + 500, offsetMs: 2, seq: 2 }), T0 + i * 1000 + 600);
      const [x, y] = i % 2 === 0 ? [a, b] : [b, a];
      const out = await Promise.all([x.write([older]), y.write([newer])]);
      t.same(out, [['stored'], ['stored']], `${id}: both stored, no unique violation`);
      const latest = await a.getAgent(id, T0 + rounds * 1000);
      t.equal(latest?.seq, 2, `${id}: the latest is seq 2 whichever committed first`);
      t.same((await a.history(id, { fromMs: 0, toMs: 8e12, limit: 10 })).rows.map((r) => r.seq), [1, 2], `${id}: each report once`);
    }
    // Two batches with the same new agents in opposite orders take turns instead of deadlocking.
    for (let i = 0; i < rounds; i++) {
      const ids = [`pair-${i}-p`, `pair-${i}-q`];
      const batch = (order: string[], seq: number) => order.map((id) => recordOf(makeReport({ agentId: id, atMs: T0 + seq * 1000, seq }), T0 + seq * 1000 + 100));
      const out = await Promise.all([a.write(batch(ids, 1)), b.write(batch([...ids].reverse(), 2))]);
      t.same(out, [['stored', 'stored'], ['stored', 'stored']], `pair ${i}: both batches committed`);
    }
    // The same, forced: a third session holds one of the two new ids until both batches wait, so
    // both go on at the same moment (unordered locking would deadlock about half of these rounds).
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    t.teardown(() => raw.end());
    const waiting = async (n: number) => {
      for (;;) {
        const r = await raw.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        if (r.rows[0].n >= n) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const forced = 8;
    for (let i = 0; i < forced; i++) {
      const ids = [`held-${i}-p`, `held-${i}-q`];
      const batch = (order: string[], seq: number) => order.map((id) => recordOf(makeReport({ agentId: id, atMs: T0 + seq * 1000, seq }), T0 + seq * 1000 + 100));
      await raw.query('BEGIN');
      await raw.query('INSERT INTO agents (agent_id, first_seen_ms) VALUES ($1, 0)', [ids[1]]);
      const both = Promise.allSettled([a.write(batch(ids, 1)), b.write(batch([...ids].reverse(), 2))]);
      await waiting(2);
      await raw.query('ROLLBACK');
      const out = await both;
      t.same(out.map((o) => (o.status === 'fulfilled' ? o.value : String(o.reason))), [['stored', 'stored'], ['stored', 'stored']], `held ${i}: both batches committed`);
    }
    t.equal((await a.stats()).samples, 2 * rounds + 4 * rounds + 4 * forced, 'every report once');
    const page = await b.listAgents({ nowMs: T0, q: 'pair-', offset: 0, limit: 1000 });
    t.ok(page.rows.every((r) => r.atMs === T0 + 2000), 'every pair agent shows its seq-2 report');
  });

  t.test('fleet-wide jobs run once per period across collectors', async (t) => {
    const { a, b } = await twoCollectors(t, admin);
    const HOUR = 3_600_000;
    let runs = 0;
    const job = async () => ++runs;
    t.same(await a.oncePerPeriod('retention', HOUR, T0, job), { ran: true, value: 1 });
    t.same(await b.oncePerPeriod('retention', HOUR, T0 + 60_000, job), { ran: false }, 'another collector within the period does not run it again');
    t.same(await b.oncePerPeriod('retention', HOUR, T0 + HOUR, job), { ran: true, value: 2 }, 'the next period runs on whichever collector comes first');
    t.equal(runs, 2);
  });

  t.test('unreachable server: open fails with a clear error', async (t) => {
    await t.rejects(openPostgresStore({ url: 'postgresql://postgres@localhost/postgres?host=/nonexistent-dir', connectTimeoutMs: 2000 }), /ENOENT|connect|no such file/i);
  });
}
