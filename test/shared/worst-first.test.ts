/**
 * The one worst-first order (shared worst-first.ts) sorts hostnames and ids as the stores do:
 * SQLite's BINARY collation (memcmp of UTF-8) — so the fleet page, `status` and the exports list a
 * fleet in the API's `?sort=severity` order for any hostname, not only ASCII ones.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { compareHostThenId, compareUtf8, compareWorstFirst, type AgentStatus } from '@clockwatch/shared';

// U+FF01 (fullwidth !) and U+E000 (private use) sort before U+1F600 (an astral smiley) in UTF-8 and
// code points, after it in UTF-16 code units (its high surrogate is 0xD83D).
const hostnames = ['db-\u{1F600}', 'db-\uFF01', 'db-\uE000', 'db-a', 'db-', 'db-\u00E9', 'Db-a', 'db-\u{10FFFF}', 'db-\uFFFF'];

t.test('hostnames in the order SQLite gives them', async (t) => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE h (name TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO h VALUES (?)');
  for (const h of hostnames) insert.run(h);
  const sqlite = (db.prepare('SELECT name FROM h ORDER BY name').pluck().all() as string[]);
  db.close();
  const agents = hostnames.map((hostname, i) => ({ status: 'stale' as AgentStatus, hostname, id: `vm-${i}` }));
  t.same([...agents].sort(compareWorstFirst).map((a) => a.hostname), sqlite, 'compareWorstFirst within one status');
  t.same([...agents].sort(compareHostThenId).map((a) => a.hostname), sqlite, 'compareHostThenId');
  t.not(JSON.stringify([...hostnames].sort()), JSON.stringify(sqlite), 'the code-unit order differs here (the case this guards)');
});

t.test('status first, then hostname, then id; ids in the same text order', async (t) => {
  const a = { status: 'compliant' as AgentStatus, hostname: 'a', id: 'x' };
  const b = { status: 'noncompliant' as AgentStatus, hostname: 'z', id: 'x' };
  t.ok(compareWorstFirst(b, a) < 0, 'noncompliant before compliant whatever the hostname');
  const c = { status: 'stale' as AgentStatus, hostname: 'h', id: 'id-\uFF01' };
  const d = { status: 'stale' as AgentStatus, hostname: 'h', id: 'id-\u{1F600}' };
  t.ok(compareWorstFirst(c, d) < 0, 'id U+FF01 before U+1F600, as UTF-8 bytes order them');
  t.equal(compareUtf8('abc', 'abc'), 0);
  t.ok(compareUtf8('ab', 'abc') < 0, 'a prefix first');
});
