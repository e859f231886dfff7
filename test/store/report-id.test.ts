/**
 * The reportId's stored form (sqlite-report-id.ts): the JS encoder, the migration's SQL encoder
 * and the virtual column's SQL decoder agree, every id reads back byte for byte, case counts, and
 * each form is idempotent through the store.
 */
import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '@clockwatch/collector';
import { stringHash64 } from './old-schema.js';
import { DECODE_REPORT_ID_SQL, ENCODE_REPORT_ID_SQL, encodeReportId, reportIdHash32 } from '../../packages/collector/src/store/sqlite-report-id.js';
import { makeReport, recordOf } from '../collector/helpers.js';

const UUID = '3f2b8c4e-9a1d-4e7f-b6c5-0d1e2f3a4b5c';
const IDS = [
  UUID.replace(/-/g, ''), // the agent's form
  UUID.replace(/-/g, '').toUpperCase(),
  UUID,
  UUID.toUpperCase(),
  '3F2b8c4e9a1d4e7fb6c50d1e2f3a4b5c', // mixed case: TEXT
  '3f2b8c4e-9a1d-4e7f-b6c5-0d1e2f3a4b5C',
  '3f2b8c4e9a1d4e7fb6c50d1e2f3a4b5', // 31 digits
  '3f2b8c4e9a1d4e7fb6c50d1e2f3a4b5c0', // 33 digits
  '3f2b8c4e9a1d-4e7f-b6c5-0d1e2f3a4b5c', // dashes elsewhere
  '00000000000000000000000000000000', // all digits: both cases at once
  '12345678', // numeric-looking text keeps its leading digits and type
  '00001234',
  '1e10abcd',
  'rep-0001_x',
  'A'.repeat(64),
];

t.test('encoders and decoder agree; forms and sizes', async (t) => {
  const db = new Database(':memory:');
  const sqlEncode = db.prepare(`SELECT ${ENCODE_REPORT_ID_SQL} FROM (SELECT ? AS report_id)`).pluck();
  const sqlDecode = db.prepare(`SELECT ${DECODE_REPORT_ID_SQL} FROM (SELECT ? AS rid)`).pluck();
  for (const id of IDS) {
    const js = encodeReportId(id);
    const sql = sqlEncode.get(id) as Buffer | string;
    t.same(typeof sql === 'string' ? sql : Buffer.from(sql).toString('hex'), typeof js === 'string' ? js : js.toString('hex'), `${id}: SQL encodes as JS does`);
    t.equal(typeof sql, typeof js, `${id}: same storage class`);
    const back = sqlDecode.get(js) as string;
    t.equal(back, id, `${id}: reads back byte for byte`);
  }
  t.equal((encodeReportId(IDS[0]!) as Buffer).length, 16, "the agent's id in 16 bytes");
  for (const id of IDS.slice(1, 4)) t.equal((encodeReportId(id) as Buffer).length, 17, `${id}: 17 bytes`);
  for (const id of IDS.slice(4, 9)) t.equal(encodeReportId(id), id, `${id}: kept as text`);
  const encodings = new Set(IDS.map((id) => { const e = encodeReportId(id); return typeof e === 'string' ? `t:${e}` : `b:${e.toString('hex')}`; }));
  t.equal(encodings.size, IDS.length, 'one encoding per id: comparing encodings compares ids');
  for (const id of IDS) t.equal(BigInt(reportIdHash32(id)), stringHash64(id) >> 32n, `${id}: rid_h is the top half of the 64-bit hash`);
  db.close();
});

t.test('through the store: byte-identical history, case is part of the id, every form idempotent', async (t) => {
  const store = openSqliteStore({ path: join(t.testdir(), 'ids.db') });
  t.teardown(() => store.close());
  const T0 = Date.UTC(2026, 10, 1, 12);
  const recs = IDS.map((id, i) => recordOf(makeReport({ agentId: 'vm-ids', reportId: id, seq: i + 1, atMs: T0 + i * 60_000 }), T0 + i * 60_000 + 40));
  t.same(await store.write(recs), recs.map(() => 'stored'), 'upper and lower case of one UUID are different reports');
  const page = await store.history('vm-ids', { fromMs: 0, toMs: T0 + 86_400_000, limit: 100 });
  t.same(page.rows.map((r) => r.reportId), IDS, 'history gives every id back as it was sent');
  t.same(await store.write(recs), recs.map(() => 'duplicate'), 'each resent: a duplicate');
  t.same(await store.write(recs.map((r) => ({ ...r, contentHash: 'e'.repeat(64) }))), recs.map(() => 'conflict'), 'other content: a conflict');
  t.equal((await store.stats()).samples, IDS.length);
  const forms = store.db.prepare('SELECT typeof(rid) AS t, length(rid) AS n FROM samples ORDER BY at_ms').raw().all() as [string, number][];
  t.same(forms.slice(0, 4), [['blob', 16], ['blob', 17], ['blob', 17], ['blob', 17]]);
  t.same(forms[10], ['text', 8], 'a numeric-looking id stays text (BLOB column: no numeric affinity)');
});
