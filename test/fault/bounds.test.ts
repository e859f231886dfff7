/**
 * Issue 11, items 5 and 8, against the real collector CLI and its SQLite file:
 * - 5: `seq` and every other integer of a report must be an integer JSON carries exactly, in
 *   [0, 2^53 − 1]: 1e308 (an "integer" to JSON Schema, stored as REAL 1.0e+308 before) and
 *   2^53 + 1 (silently 2^53 after JSON.parse) are refused with 400 CW_ERR_VALIDATION, and nothing is
 *   stored; 2^53 − 1 is stored as an SQLite INTEGER, exactly;
 * - 8: every numeric query parameter is bounded: `offset=1e19` (a 500 "datatype mismatch" before),
 *   huge limits and instants get 400 CW_ERR_BAD_PARAM.
 */
import t from 'tap';
import { join } from 'node:path';
import { makeReport } from '../collector/helpers.js';
import { readDb, startCollector } from './helpers.js';

const post = (url: string, body: string) => fetch(`${url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

t.test('integers of a report outside [0, 2^53 − 1] are refused with a code; the edge is stored exactly', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 'c.db');
  const c = await startCollector(t, { db });
  const base = makeReport({ agentId: 'bounds', atMs: Date.now() - 100 });
  const withSeq = (seqText: string, id: string) => JSON.stringify({ ...base, reportId: id, seq: 424242 }).replace('"seq":424242', `"seq":${seqText}`);
  const cases: [string, string][] = [
    ['1e308', withSeq('1e308', 'bad-seq-00000001')],
    ['2^53+1', withSeq('9007199254740993', 'bad-seq-00000002')],
    ['2^53', withSeq('9007199254740992', 'bad-seq-00000003')],
    ['-1', withSeq('-1', 'bad-seq-00000004')],
    ['1.5', withSeq('1.5', 'bad-seq-00000005')],
    ['spool.dropped 1e300', JSON.stringify({ ...base, reportId: 'bad-spool-0000001', agent: { ...base.agent, spool: { pending: 0, dropped: 1e300, rejected: 0 } } })],
    ['spool.pending 2^53', JSON.stringify({ ...base, reportId: 'bad-spool-0000002', agent: { ...base.agent, spool: { pending: 2 ** 53, dropped: 0, rejected: 0 } } })],
  ];
  for (const [what, body] of cases) {
    const r = await post(c.url, body);
    const e = (await r.json()) as { code: string; message: string };
    t.equal(r.status, 400, `${what}: 400`);
    t.equal(e.code, 'CW_ERR_VALIDATION', `${what}: ${e.message}`);
    const arr = await post(c.url, `[${body}]`);
    const a = (await arr.json()) as { accepted: number; rejected?: { code: string }[] };
    t.equal(a.accepted, 0, `${what} in an array: not accepted`);
    t.equal(a.rejected?.[0]?.code, 'CW_ERR_VALIDATION', `${what} in an array: refused with the code`);
  }
  t.equal(readDb(db, (d) => d.prepare('SELECT count(*) FROM samples').pluck().get()), 0, 'nothing stored');

  const edge = await post(c.url, withSeq('9007199254740991', 'edge-seq-0000001'));
  t.equal(edge.status, 200, '2^53 − 1 is accepted');
  const row = readDb(db, (d) => d.prepare('SELECT seq, typeof(seq) AS type FROM samples').get()) as { seq: number; type: string };
  t.same(row, { seq: Number.MAX_SAFE_INTEGER, type: 'integer' }, 'and stored as an INTEGER, exactly');
  await c.kill('SIGTERM');
});

t.test('numeric query parameters are bounded: 400 CW_ERR_BAD_PARAM, never a 500', async (t) => {
  const dir = t.testdir();
  const c = await startCollector(t, { db: join(dir, 'c.db') });
  const base = makeReport({ agentId: 'q', atMs: Date.now() - 100 });
  t.equal((await post(c.url, JSON.stringify(base))).status, 200);
  const bad = [
    '/v1/agents?offset=1e19',
    '/v1/agents?offset=9007199254740992',
    '/v1/agents?offset=-1',
    '/v1/agents?limit=1e19',
    '/v1/agents?limit=0',
    '/v1/agents?limit=abc',
    '/v1/agents/q/history?limit=1e19',
    '/v1/agents/q/history?from=1e19',
    `/v1/agents/q/history?from=${'9'.repeat(400)}`,
    '/v1/agents/q/history?to=-1e17',
    '/v1/agents/q?driftHours=1e308',
    '/v1/agents/q?driftHours=-1',
  ];
  for (const url of bad) {
    const r = await fetch(`${c.url}${url}`);
    const e = (await r.json()) as { code: string; message: string };
    t.equal(r.status, 400, `${url}: 400 (${e.message})`);
    t.equal(e.code, 'CW_ERR_BAD_PARAM', `${url}: CW_ERR_BAD_PARAM`);
  }
  const ok = await fetch(`${c.url}/v1/agents?offset=9007199254740991&limit=10000`);
  t.equal(ok.status, 200, 'the largest offset is an empty page');
  t.same(((await ok.json()) as { agents: unknown[] }).agents, []);
  t.ok(c.alive(), 'the collector is up');
  await c.kill('SIGTERM');
});
