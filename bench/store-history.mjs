// Benchmark: one agent's day through the store call alone (SqliteStore.history, 1,440 points, the
// columns the history route reads), on an existing database, read-only: first touch after the
// file's pages are dropped from the page cache (posix_fadvise DONTNEED through GNU dd
// iflag=nocache, which needs no privilege; before the file is opened), each agent read once, then
// cached. Median and max over `agents` agents.
//
//   node bench/store-history.mjs DB [--agents 20] [--collector packages/collector/dist/index.js]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? dflt : process.argv[i + 1];
};
const db = process.argv[2];
const agents = Number(arg('agents', 20));
const collector = path.resolve(arg('collector', new URL('../packages/collector/dist/index.js', import.meta.url).pathname));
const { openSqliteStore } = await import(pathToFileURL(collector).href);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dropCache = () => {
  for (const f of [db, `${db}-wal`]) {
    try {
      execFileSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none']);
    } catch {
      // no WAL file
    }
  }
};

// Dropped before the file is opened: pages this process maps stay resident whatever the advice.
dropCache();
const store = openSqliteStore({ path: db, readonly: true });
const ids = store.db.prepare('SELECT agent_id FROM agents ORDER BY agent_key').pluck().all();
const step = Math.max(1, Math.floor(ids.length / agents));
const picked = ids.filter((_, i) => i % step === 0).slice(0, agents);
const warmup = ids.find((_, i) => i % step === 1) ?? picked[0];
const [from, to] = store.db.prepare('SELECT min(at_ms), max(at_ms) FROM samples').raw().get();
const range = { fromMs: from, toMs: to, limit: 1440 };
const time = async (id) => {
  const t0 = performance.now();
  const page = await store.history(id, range);
  return { ms: performance.now() - t0, n: page.rows.length };
};
await store.history(warmup, range); // statements prepared, code warm, the B-tree's upper levels read (another agent)
const cold = [];
for (const id of picked) cold.push(await time(id));
const cached = [];
for (const id of picked) {
  const runs = [];
  for (let k = 0; k < 5; k++) runs.push((await time(id)).ms);
  cached.push(median(runs));
}
await store.close();
const f = (x) => Number(x.toFixed(2));
process.stdout.write(
  `${JSON.stringify({ db: path.basename(db), agents: picked.length, points: cold[0].n, firstTouchMs: { median: f(median(cold.map((c) => c.ms))), max: f(Math.max(...cold.map((c) => c.ms))) }, cachedMs: { median: f(median(cached)), max: f(Math.max(...cached)) } })}\n`,
);
