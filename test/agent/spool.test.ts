import t from 'tap';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readKeptAgentId, Spool } from '@clockwatch/agent';
import { makeReport } from './helpers/reports.js';
import { tmpdir } from './helpers/tmp.js';

t.test('reports are kept in creation order, one file each, across reopen', async (t) => {
  const dir = path.join(t.testdir(), 'spool');
  const s = await Spool.open({ dir });
  const seqs: number[] = [];
  for (let i = 0; i < 12; i++) {
    const seq = await s.nextSeq();
    seqs.push(seq);
    await s.add(makeReport(seq));
  }
  t.same(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  t.same(s.list().map((e) => e.seq), seqs, 'seq 10 sorts after seq 9 (zero-padded names)');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'state.json');
  t.equal(files.length, 12);
  t.ok(files.every((f) => /^\d{12}-[A-Za-z0-9_-]+\.json$/.test(f)));

  const again = await Spool.open({ dir });
  t.same(again.list().map((e) => e.seq), seqs);
  t.equal(await again.nextSeq(), 13, 'the sequence continues after a restart');
  const first = again.list()[0]!;
  const r = await again.read(first);
  t.equal(r?.seq, 1);
  t.ok(await again.ack(first.reportId));
  t.notOk(await again.ack(first.reportId), 'acked once');
  t.equal((await Spool.open({ dir })).list().length, 11, 'an ack is durable');
});

t.test('the sequence never repeats, even after every report was acknowledged', async (t) => {
  const dir = t.testdir();
  const s = await Spool.open({ dir });
  const used: number[] = [];
  for (let round = 0; round < 3; round++) {
    const sp = round === 0 ? s : await Spool.open({ dir });
    for (let i = 0; i < 3; i++) {
      const r = makeReport(await sp.nextSeq());
      used.push(r.seq);
      await sp.add(r);
      await sp.ack(r.reportId);
    }
    t.equal(sp.list().length, 0);
  }
  t.same(used, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'contiguous across restarts, never repeated');
  t.same(readdirSync(dir).sort(), ['last.json'], 'only the marker of the last report is left');
});

t.test('leftover temporary files are writes that never happened', async (t) => {
  const dir = t.testdir({ '000000000001-abcdefgh12.json.1234.tmp': '{"trunc' });
  const s = await Spool.open({ dir });
  t.same(s.list(), []);
  t.notOk(readdirSync(dir).some((f) => f.endsWith('.tmp')));
});

t.test('an unreadable report is dropped and counted, never sent', async (t) => {
  const dir = t.testdir({ '000000000007-corruptfile1.json': '{not json' });
  const s = await Spool.open({ dir });
  t.equal(s.list().length, 1);
  t.equal(await s.read(s.list()[0]!), null);
  t.same(s.counts(), { pending: 0, dropped: 1, rejected: 0 });
  t.equal(await s.nextSeq(), 8, 'the seq is recovered from the file names when state.json is missing');
});

t.test('bounded by count and by bytes: the oldest go, counted', async (t) => {
  const s = await Spool.open({ dir: t.testdir(), maxReports: 3 });
  for (let i = 1; i <= 5; i++) await s.add(makeReport(i));
  t.same(s.list().map((e) => e.seq), [3, 4, 5]);
  t.same(s.counts(), { pending: 3, dropped: 2, rejected: 0 });

  const big = await Spool.open({ dir: tmpdir(t), maxBytes: 64 * 1024 });
  const pad = 'x'.repeat(20 * 1024);
  for (let i = 1; i <= 5; i++) await big.add(makeReport(i, { agent: { id: 'a', hostname: pad, version: '1', systemUuid: null, labels: {}, intervalS: 60 } }));
  t.ok(big.bytes() <= 64 * 1024, `${big.bytes()} bytes kept`);
  t.same(big.list().map((e) => e.seq), [3, 4, 5]);
  t.equal(big.counts().dropped, 2);
  t.equal((await Spool.open({ dir: big.dir })).counts().dropped, 2, 'counters survive a restart');
});

t.test('rejections are counted and persisted; the generated id is kept', async (t) => {
  const dir = t.testdir();
  const s = await Spool.open({ dir });
  const r = makeReport(await s.nextSeq());
  await s.add(r);
  await s.reject(r.reportId);
  t.same((await Spool.open({ dir })).counts(), { pending: 0, dropped: 0, rejected: 1 });
  t.equal(await readKeptAgentId(dir), null);
  const id = await s.keptAgentId(true);
  t.match(id, /^[0-9a-f-]{36}$/);
  t.equal(await (await Spool.open({ dir })).keptAgentId(true), id, 'the same id after a restart');
  t.equal(await readKeptAgentId(dir), id);
  writeFileSync(path.join(dir, 'agent-id'), '../../etc/passwd\n');
  t.equal(await readKeptAgentId(dir), null, 'a tampered id is ignored');
});
