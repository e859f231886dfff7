// Benchmark: one agent's day through the store call alone, 1,440 points, on an existing database,
// read-only: SqliteStore.history (the row form) and SqliteStore.historyColumns (the columns form the
// history route answers with ?format=columns, without detail), each over its own agents. First
// touch after the file's pages are dropped from the page cache (posix_fadvise DONTNEED through GNU
// dd iflag=nocache, which needs no privilege; before the file is opened), each agent read once,
// then cached. Median and max over `agents` agents per call.
//
//   node bench/store-history.mjs DB [--agents 20] [--collector packages/collector/dist/index.js]
//
// A build without historyColumns (before it) times history() alone.
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
const calls = {
  history: (id, range) => store.history(id, range).then((p) => p.rows.length),
  ...(typeof store.historyColumns === 'function' ? { columns: (id, range) => store.historyColumns(id, range, false).then((p) => p.columns.atMs.length) } : {}),
};
const nCalls = Object.keys(calls).length;
// Agents spread over the file, a different set per call (none read before by another).
const step = Math.max(1, Math.floor(ids.length / (agents * nCalls)));
const [from, to] = store.db.prepare('SELECT min(at_ms), max(at_ms) FROM samples').raw().get();
const range = { fromMs: from, toMs: to, limit: 1440 };
const warmup = ids[1];
const f = (x) => Number(x.toFixed(2));
const out = { db: path.basename(db) };
for (const [name, call] of Object.entries(calls)) await call(warmup, range); // statements prepared, code warm, the B-tree's upper levels read (another agent)
let k = 0;
for (const [name, call] of Object.entries(calls)) {
  const picked = ids.filter((_, i) => i % step === 0 && (i / step) % nCalls === k).slice(0, agents);
  k++;
  const time = async (id) => {
    const t0 = performance.now();
    const n = await call(id, range);
    return { ms: performance.now() - t0, n };
  };
  const cold = [];
  for (const id of picked) cold.push(await time(id));
  const cached = [];
  for (const id of picked) {
    const runs = [];
    for (let r = 0; r < 5; r++) runs.push((await time(id)).ms);
    cached.push(median(runs));
  }
  out[name] = { agents: picked.length, points: cold[0].n, firstTouchMs: { median: f(median(cold.map((c) => c.ms))), max: f(Math.max(...cold.map((c) => c.ms))) }, cachedMs: { median: f(median(cached)), max: f(Math.max(...cached)) } };
}
await store.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
