/**
 * The store contract on SQLite files, plus what is SQLite's own: WAL, durability pragmas, schema
 * migrations by user_version, and the on-disk cost of a sample.
 */
import t from 'tap';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, SCHEMA_VERSION, type SampleRecord } from '@clockwatch/collector';
import { storeContract } from './store-contract.js';
import { makeReport, recordOf } from './helpers.js';

storeContract(t, 'sqlite file', async (t) => {
  const path = join(t.testdir(), 'sub', 'clockwatch.db');
  let store = openSqliteStore({ path });
  t.teardown(() => store.close());
  return {
    store,
    async reopen() {
      await store.close();
      store = openSqliteStore({ path });
      return store;
    },
  };
});

storeContract(t, 'sqlite file, durability full', async (t) => {
  const path = join(t.testdir(), 'clockwatch.db');
  let store = openSqliteStore({ path, durability: 'full' });
  t.teardown(() => store.close());
  return {
    store,
    async reopen() {
      await store.close();
      store = openSqliteStore({ path, durability: 'full' });
      return store;
    },
  };
});

storeContract(t, 'sqlite file, background checkpoints', async (t) => {
  const path = join(t.testdir(), 'clockwatch.db');
  let store = openSqliteStore({ path, backgroundCheckpoint: true, checkpointEveryMs: 5 });
  t.teardown(() => store.close());
  return {
    store,
    async reopen() {
      await store.close();
      store = openSqliteStore({ path, backgroundCheckpoint: true, checkpointEveryMs: 5 });
      return store;
    },
  };
});

t.test('background checkpoints copy the WAL while the writer goes on; close ends the worker', async (t) => {
  const path = join(t.testdir(), 'clockwatch.db');
  const store = openSqliteStore({ path, backgroundCheckpoint: true, checkpointEveryMs: 5 });
  const initial = statSync(path).size;
  const T = Date.UTC(2026, 10, 20, 10);
  for (let b = 0; b < 20; b++) {
    await store.write(Array.from({ length: 50 }, (_, i) => recordOf(makeReport({ agentId: `bg-${i}`, reportId: `bg-${b}-${i}-abcdef`, seq: b, atMs: T + b * 60_000 }), T + b * 60_000 + 50)));
  }
  // The writer's own checkpoint waits for 4000 pages of WAL, far more than this: pages that reach
  // the database file before close() were copied by the worker.
  const walBytes = statSync(`${path}-wal`).size;
  t.ok(walBytes < 4000 * 4096, `below the writer's checkpoint size (${walBytes} bytes of WAL)`);
  // The worker thread may start late on a loaded machine: wait for its first copy (bounded wait,
  // not a timed assertion).
  let size = initial;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && size <= initial; ) {
    await new Promise((r) => setTimeout(r, 20));
    size = statSync(path).size;
  }
  t.ok(size > initial, `the worker copied the WAL into the database file: ${initial} → ${size} bytes`);
  await t.resolves(store.close(), 'close waits for the worker and ends it');
  const reopened = openSqliteStore({ path });
  t.equal((await reopened.stats()).samples, 1000);
  await reopened.close();
});

t.test('WAL, synchronous per durability, schema version', async (t) => {
  const dir = t.testdir();
  const normal = openSqliteStore({ path: join(dir, 'n.db') });
  const full = openSqliteStore({ path: join(dir, 'f.db'), durability: 'full' });
  t.teardown(async () => {
    await normal.close();
    await full.close();
  });
  t.equal(normal.db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(normal.db.pragma('synchronous', { simple: true }), 1, 'NORMAL');
  t.equal(full.db.pragma('synchronous', { simple: true }), 2, 'FULL');
  t.equal(normal.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
});

t.test('a database from a newer collector is refused, not damaged', async (t) => {
  const path = join(t.testdir(), 'new.db');
  const db = new Database(path);
  db.pragma('user_version = 99');
  db.close();
  t.throws(() => openSqliteStore({ path }), /schema version 99 is newer/);
  const again = new Database(path);
  t.equal(again.pragma('user_version', { simple: true }), 99);
  again.close();
});

t.test('on-disk cost of a sample (target ≤ 200 bytes)', async (t) => {
  const path = join(t.testdir(), 'size.db');
  const store = openSqliteStore({ path });
  t.teardown(() => store.close());
  const agents = 100;
  const perAgent = 200;
  const t0 = Date.UTC(2026, 10, 1);
  const template = (i: number, k: number): SampleRecord => {
    const at = t0 + k * 60_000 + i * 13;
    const r = makeReport({ agentId: `vm-${String(i).padStart(4, '0')}`, atMs: at, offsetMs: Math.sin(k + i) * 5, delayMs: 0.3 + (k % 7) * 0.01 });
    // The agent's reportIds are 32 hex digits (randomUUID without dashes).
    r.reportId = `${i.toString(16).padStart(8, '0')}${k.toString(16).padStart(8, '0')}${'ab'.repeat(8)}`;
    return recordOf(r, at + 50);
  };
  // First sample of every agent: the per-agent rows (latest state, static version, documents).
  await store.write(Array.from({ length: agents }, (_, i) => template(i, 0)));
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const pages = () => (store.db.pragma('page_count', { simple: true }) as number) - (store.db.pragma('freelist_count', { simple: true }) as number);
  const before = pages();
  for (let k = 1; k < perAgent; k++) await store.write(Array.from({ length: agents }, (_, i) => template(i, k)));
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const pageSize = store.db.pragma('page_size', { simple: true }) as number;
  const added = agents * (perAgent - 1);
  const bytesPerSample = ((pages() - before) * pageSize) / added;
  const tables = store.db
    .prepare("SELECT name, sum(pgsize) AS bytes FROM dbstat WHERE name IN ('samples', 'samples_rid', 'rollups', 'steps') GROUP BY name")
    .all() as { name: string; bytes: number }[];
  const n = agents * perAgent;
  t.comment(`bytes per sample on disk: ${bytesPerSample.toFixed(1)} (growth over ${added} samples); by structure: ${tables.map((x) => `${x.name} ${(x.bytes / n).toFixed(1)}`).join(', ')}`);
  t.ok(bytesPerSample <= 200, `≤ 200 bytes per sample (${bytesPerSample.toFixed(1)})`);
  t.equal((await store.stats()).samples, n);
  t.equal((await store.stats()).statics, agents, 'one static version per agent, not per sample');
});
